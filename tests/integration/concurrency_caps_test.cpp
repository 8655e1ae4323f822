// Tier max_concurrent against the real llmgw and the fake model server: in process, and across
// two instances sharing a real redis-server (leases that come back after an instance is killed).
#include <gtest/gtest.h>

#include <csignal>
#include <future>
#include <optional>
#include <string>

#include "harness.hpp"
#include "support/redis_server.hpp"

using namespace std::chrono_literals;
using namespace llmgw::testing;

namespace {

constexpr const char* acme_key = "sk-caps-acme";
constexpr const char* globex_key = "sk-caps-globex";

// Tier `capped` (max_concurrent `cap`) for acme and globex; `redis_port` 0: no Redis.
std::string config(const FakeModel& model, unsigned cap, uint16_t redis_port = 0,
                   const std::string& failure_mode = "closed") {
    std::string yaml;
    if (redis_port != 0)
        yaml += "redis: { url: \"redis://127.0.0.1:" + std::to_string(redis_port) +
                "/0\", timeout: 2s, failure_mode: " + failure_mode + " }\n";
    yaml += "tiers: { capped: { max_concurrent: " + std::to_string(cap) +
            ", quota: { requests_per_day: 1000 } } }\n"
            "consumers:\n"
            "  - { name: acme, tier: capped, keys: [ { sha256: \"" +
            sha256_hex(acme_key) +
            "\" } ] }\n"
            "  - { name: globex, tier: capped, keys: [ { sha256: \"" +
            sha256_hex(globex_key) + "\" } ] }\n";
    return yaml + backend_and_route(model);
}

HttpHeaders as(const char* key, HttpHeaders more = {}) {
    more.emplace_back("authorization", std::string("Bearer ") + key);
    return more;
}

// A quick chat request of `key`'s consumer.
HttpResponse quick(const RunningGateway& gateway, const char* key) {
    return gateway.post("/v1/chat/completions", chat_body(), as(key));
}

// A streamed answer of `events` events, one a second: a request that stays in flight until
// it ends or its client leaves. Returns once its head arrived; nullopt when it was refused.
std::optional<RawConnection> try_long_stream(const RunningGateway& gateway, const char* key,
                                             int events = 60) {
    RawConnection connection(gateway.port());
    HttpRequest request{"POST", "/v1/chat/completions",
                        as(key, {{"content-type", "application/json"},
                                 {"x-fake-chunks", std::to_string(events)},
                                 {"x-fake-chunk-interval-ms", "1000"}}),
                        chat_body("fake-model", true).dump()};
    if (!connection.send(serialize_request(request, gateway.port())))
        throw HttpError("could not send the streamed request");
    const auto head = connection.read_some(10s);
    if (head.find("200 OK") == std::string::npos) return std::nullopt;
    return connection;
}

RawConnection long_stream(const RunningGateway& gateway, const char* key) {
    auto stream = try_long_stream(gateway, key);
    if (!stream) throw HttpError("stream not admitted");
    return std::move(*stream);
}

struct Admitted {
    HttpResponse response;
    std::chrono::steady_clock::duration after;
};

// The first request of `key` that gets 200 within `deadline`, polling; nullopt when none.
std::optional<Admitted> admitted_within(const RunningGateway& gateway, const char* key,
                                        std::chrono::milliseconds deadline) {
    const auto started = std::chrono::steady_clock::now();
    HttpResponse last;
    if (eventually([&] { return (last = quick(gateway, key)).status == 200; }, deadline))
        return Admitted{last, std::chrono::steady_clock::now() - started};
    return std::nullopt;
}

void expect_concurrency_limit(const HttpResponse& response) {
    EXPECT_EQ(response.status, 429);
    EXPECT_EQ(response.header("retry-after"), "1");
    if (response.status == 429) {
        EXPECT_EQ(response.json()["error"]["code"], "concurrency_limit");
        EXPECT_EQ(response.json()["error"]["type"], "rate_limit_error");
    }
}

}  // namespace

TEST(ConcurrencyCaps, AThirdRequestInFlightIsRefusedAndAnotherConsumerIsServed) {
    auto model = FakeModel::start("m1");
    auto gateway = RunningGateway::start(config(model, 2));
    // Two slow answers (3 s) of acme, in flight at the model server.
    auto slow = [&] {
        return gateway.post("/v1/chat/completions", chat_body(),
                            as(acme_key, {{"x-fake-delay-ms", "3000"}}));
    };
    auto first = std::async(std::launch::async, slow);
    auto second = std::async(std::launch::async, slow);
    ASSERT_TRUE(eventually([&] { return model.stats()["in_flight"] == 2; }));
    const auto refused = quick(gateway, acme_key);
    expect_concurrency_limit(refused);
    EXPECT_EQ(quick(gateway, globex_key).status, 200);
    EXPECT_EQ(first.get().status, 200);
    EXPECT_EQ(second.get().status, 200);
    EXPECT_EQ(model.stats()["requests_total"], 3);  // the refused request went nowhere
    // Both slots came back with their answers. A request refused by the cap took nothing from
    // the daily quota: acme's third admitted request leaves 997 of 1000.
    const auto next = admitted_within(gateway, acme_key, 2s);
    ASSERT_TRUE(next);
    EXPECT_EQ(next->response.header("x-ratelimit-remaining-requests"), "997");
    nlohmann::json line;
    ASSERT_TRUE(eventually([&] {
        line = gateway.access_line_where("error", "concurrency_limit");
        return !line.is_null();
    }));
    EXPECT_EQ(line["status"], 429);
    EXPECT_EQ(line["consumer"], "acme");
    EXPECT_EQ(line["rate_limit"], "refused");
    const auto metrics = http_request(gateway.admin_port(), {"GET", "/metrics"}).body;
    EXPECT_NE(metrics.find("llmgw_concurrency_refused_total{tier=\"capped\"} 1"),
              std::string::npos);
}

TEST(ConcurrencyCaps, AStreamHoldsItsSlotUntilItsClientLeaves) {
    auto model = FakeModel::start("m1");
    auto gateway = RunningGateway::start(config(model, 1));
    std::optional<RawConnection> stream = long_stream(gateway, acme_key);
    expect_concurrency_limit(quick(gateway, acme_key));
    stream.reset();  // the client leaves mid-stream
    // Freed once the gateway sees the hang-up (it watches the peer), long before the 60 s end.
    EXPECT_TRUE(admitted_within(gateway, acme_key, 5s));
}

TEST(ConcurrencyCaps, TwoInstancesSharingRedisHoldOneCapAndAKilledInstancesSlotsComeBack) {
    auto redis = RedisServer::start();
    auto model = FakeModel::start("m1");
    const auto yaml = config(model, 2, redis.port());
    auto a = RunningGateway::start(yaml);
    auto b = RunningGateway::start(yaml);
    std::optional<RawConnection> s1 = long_stream(a, acme_key);
    std::optional<RawConnection> s2 = long_stream(a, acme_key);
    expect_concurrency_limit(quick(b, acme_key));
    EXPECT_EQ(quick(b, globex_key).status, 200);
    // A client of A leaves: A gives its lease back as soon as it sees the hang-up; B admits.
    s1.reset();
    EXPECT_TRUE(admitted_within(b, acme_key, 5s));
    // B's request just ended; its lease goes back in the call B sends right after its answer.
    std::optional<RawConnection> s3;
    ASSERT_TRUE(eventually([&] { return (s3 = try_long_stream(a, acme_key)).has_value(); }, 2s));
    expect_concurrency_limit(quick(b, acme_key));
    // A renews its leases (every 5 s, for 15 s): every score moves on.
    const auto key = "llmgw:cc:{acme}";
    auto scores = [&] { return redis.cli({"ZRANGE", key, "0", "-1", "WITHSCORES"}); };
    const auto before = scores();
    ASSERT_TRUE(eventually([&] { return scores() != before; }, 8s)) << before;
    EXPECT_EQ(redis.cli({"ZCARD", key}), "2");
    // A dies holding two slots: nothing gives them back, its leases run out instead.
    a.process().signal(SIGKILL);
    ASSERT_TRUE(a.process().wait_exit(5s));
    expect_concurrency_limit(quick(b, acme_key));
    const auto recovered = admitted_within(b, acme_key, 25s);
    ASSERT_TRUE(recovered);
    EXPECT_GT(recovered->after, 1s);  // not at once: the leases had up to 15 s left
    std::printf("slots of the killed instance back after %.1f s\n",
                std::chrono::duration<double>(recovered->after).count());
}

TEST(ConcurrencyCaps, WithRedisDownFailOpenCountsInProcessAndFailClosedAnswers503) {
    auto redis = RedisServer::start();
    auto model = FakeModel::start("m1");
    auto open = RunningGateway::start(config(model, 1, redis.port(), "open"));
    auto closed = RunningGateway::start(config(model, 1, redis.port(), "closed"));
    redis.kill();
    // Open: the cap still holds, on this instance's own count.
    std::optional<RawConnection> stream = long_stream(open, acme_key);
    expect_concurrency_limit(quick(open, acme_key));
    stream.reset();
    EXPECT_TRUE(admitted_within(open, acme_key, 5s));
    // Closed: no request of a capped tier without its count.
    const auto refused = quick(closed, acme_key);
    EXPECT_EQ(refused.status, 503);
    EXPECT_EQ(refused.json()["error"]["code"], "limits_unavailable");
}
