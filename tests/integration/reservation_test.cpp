// Reservations through the real binary: concurrent streams cannot overshoot a token rate,
// killed streams give back what they did not use, money budgets, exact admission in Redis
// shared by three instances at one call per request, lease admission and its bound, and the
// fleet's share of each limit while Redis is away.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <future>
#include <regex>

#include "harness.hpp"
#include "support/redis_server.hpp"

using namespace std::chrono_literals;
using namespace llmgw::testing;
using testing::HasSubstr;

namespace {

constexpr const char* key = "sk-reservation-test-key";

std::string config(const FakeModel& model, const std::string& tier, const std::string& extra = "") {
    return extra + metered_acme(model, tier, key);
}

std::string redis_section(const RedisServer& redis) {
    return "redis: { url: \"redis://127.0.0.1:" + std::to_string(redis.port()) +
           "/0\", timeout: 2s, failure_mode: closed }\n";
}

HttpRequest streamed_chat(int max_tokens, int interval_ms) {
    auto body = chat_body("fake-model", true);
    body["max_tokens"] = max_tokens;
    return {"POST",
            "/v1/chat/completions",
            {{"content-type", "application/json"},
             {"authorization", std::string("Bearer ") + key},
             {"x-fake-chunks", std::to_string(max_tokens)},
             {"x-fake-chunk-interval-ms", std::to_string(interval_ms)}},
            body.dump()};
}

std::uint64_t tokens_of(const nlohmann::json& line) {
    return line["prompt_tokens"].get<std::uint64_t>() + line["completion_tokens"].get<std::uint64_t>();
}

nlohmann::json usage_total(const RunningGateway& gateway) {
    return http_request(gateway.admin_port(), {"GET", "/admin/usage?consumer=acme&" + usage_days_around_today()}).json()["total"];
}

// One value of a counter in the /metrics text ("" when absent).
// A counter's value; 0 before it was ever counted.
double metric(const RunningGateway& gateway, const std::string& series) {
    return std::max(0.0, metric_value(metrics_of(gateway), series));
}

}  // namespace

// Without reservations all 50 would be admitted (the bucket holds something) and use ~17,000
// tokens of a 10,000 bucket. With them, the tokens used by the admitted requests stay within the
// bucket, its refill while the test runs, and the prompt estimate's error of those requests.
TEST(Reservations, FiftyConcurrentStreamsCannotOvershootATokenRate) {
    auto model = FakeModel::start("m1", {"--threads", "2"});
    auto gateway = RunningGateway::start(config(model, "{ rate: { tokens_per_minute: 10000 } }"));
    const auto started = std::chrono::steady_clock::now();
    std::vector<std::future<int>> streams;
    for (int i = 0; i < 50; ++i)
        streams.push_back(std::async(std::launch::async, [&] {
            return http_stream(gateway.port(), streamed_chat(300, 2), 20s).status;
        }));
    int admitted = 0;
    for (auto& stream : streams) admitted += stream.get() == 200;
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    ASSERT_TRUE(gateway.wait_for_access_lines(50, 10s));
    std::uint64_t used = 0, estimate_error = 0;
    for (const auto& line : gateway.access_log_lines()) {
        if (line["status"] != 200) continue;
        used += tokens_of(line);
        // Reserved: the prompt estimate ("Say hello": 3 + 4 per message) + max_tokens.
        const std::uint64_t reserved = 7 + 300;
        estimate_error += tokens_of(line) > reserved ? tokens_of(line) - reserved : 0;
    }
    const double refill = 10000.0 / 60 * seconds;
    EXPECT_GT(admitted, 0);
    EXPECT_LT(admitted, 50);
    EXPECT_LE(static_cast<double>(used), 10000 + refill + static_cast<double>(estimate_error))
        << admitted << " admitted in " << seconds << " s";
    // The prompt error is the only error: the answers kept to max_tokens.
    EXPECT_LE(estimate_error, static_cast<std::uint64_t>(admitted) * 60);
    EXPECT_GE(metric(gateway, "llmgw_reservations_total{tier=\"metered\"}"), admitted);
}

// Clients that hang up in the middle of their streams are charged what was relayed, and the rest
// of each reservation comes back: the day's token quota ends exactly at what usage recorded.
void killed_streams_leave_nothing_reserved(const std::string& extra) {
    auto model = FakeModel::start("m1");
    auto gateway = RunningGateway::start(
        config(model, "{ rate: { tokens_per_minute: 1000000 }, quota: { tokens_per_day: 1000000 } }", extra));
    for (int i = 0; i < 20; ++i) {
        RawConnection connection(gateway.port());
        ASSERT_TRUE(connection.send(serialize_request(streamed_chat(400, 20), gateway.port())));
        // The head and a few events, then the client is gone.
        ASSERT_FALSE(connection.read_some(5s).empty());
    }
    ASSERT_TRUE(gateway.wait_for_access_lines(20, 15s));
    // With Redis, usage records and settles wait for the next call or the idle flush.
    ASSERT_TRUE(eventually([&] { return usage_total(gateway)["requests"] == 20; }, 5s));
    const auto total = usage_total(gateway);
    const auto charged = total["prompt_tokens"].get<std::uint64_t>() + total["completion_tokens"].get<std::uint64_t>();
    EXPECT_GT(charged, 0u);
    EXPECT_LT(charged, 20u * 400);  // cut streams were not charged their whole max_tokens
    auto body = chat_body();
    body["max_tokens"] = 10;
    const auto probe = gateway.post("/v1/chat/completions", body, {{"authorization", std::string("Bearer ") + key}});
    ASSERT_EQ(probe.status, 200);
    // What remains after the probe's own reservation (7 + 10) is the quota minus what was used.
    EXPECT_EQ(probe.header("x-ratelimit-remaining-tokens"), std::to_string(1000000 - charged - 17));
}

TEST(Reservations, KilledStreamsGiveBackWhatTheyDidNotUseInProcess) {
    killed_streams_leave_nothing_reserved("");
}

TEST(Reservations, KilledStreamsGiveBackWhatTheyDidNotUseInRedis) {
    auto redis = RedisServer::start();
    killed_streams_leave_nothing_reserved(redis_section(redis));
}

TEST(Reservations, AMoneyBudgetRefusesWith429AndCostIsMetered) {
    auto model = FakeModel::start("m1");
    // 10 tokens at 1000 per million each way cost 0.01; the budget of 0.05 holds a few requests.
    auto gateway = RunningGateway::start(config(
        model, "{ quota: { cost_per_day: 0.05 } }",
        "prices: { fake-model: { prompt: 1000, completion: 1000 } }\n"
        "limits: { completion_tokens_estimate: 5 }\n"));
    int admitted = 0;
    HttpResponse refused;
    for (int i = 0; i < 20; ++i) {
        auto response = gateway.post("/v1/chat/completions", chat_body(),
                                     {{"authorization", std::string("Bearer ") + key}, {"x-fake-chunks", "5"}});
        if (response.status == 200) {
            ++admitted;
            continue;
        }
        refused = std::move(response);
        break;
    }
    EXPECT_GE(admitted, 1);
    ASSERT_EQ(refused.status, 429) << refused.body;
    EXPECT_EQ(refused.json()["error"]["code"], "budget_exceeded");
    EXPECT_FALSE(refused.header("retry-after").empty());
    const auto total = usage_total(gateway);
    EXPECT_GT(total["cost"].get<double>(), 0.0);
    EXPECT_LE(total["cost"].get<double>(), 0.05 + 0.03);  // at most one answer beyond its estimate
    EXPECT_GT(metric(gateway, "llmgw_cost_total{consumer=\"acme\"}"), 0.0);
}

namespace {

std::string lease_section(const RedisServer& redis) {
    return "redis: { url: \"redis://127.0.0.1:" + std::to_string(redis.port()) +
           "/0\", timeout: 2s, failure_mode: closed, admission: lease, lease_fraction: 0.02 }\n";
}

// Sends `count` chats at once, spread over the gateways; returns how many were admitted, and
// checks that every other one was refused with 429.
int admitted_of_burst(std::vector<RunningGateway>& gateways, int count) {
    std::vector<std::future<int>> requests;
    for (int i = 0; i < count; ++i)
        requests.push_back(std::async(std::launch::async, [&, i] {
            return gateways[static_cast<std::size_t>(i) % gateways.size()]
                .post("/v1/chat/completions", chat_body(), {{"authorization", std::string("Bearer ") + key}})
                .status;
        }));
    int admitted = 0, refused = 0;
    for (auto& request : requests) {
        const auto status = request.get();
        admitted += status == 200;
        refused += status == 429;
    }
    EXPECT_EQ(admitted + refused, count);
    return admitted;
}

// `count` llmgw instances on one config (sharing its Redis).
std::vector<RunningGateway> instances(int count, const std::string& yaml) {
    std::vector<RunningGateway> gateways;
    for (int i = 0; i < count; ++i) gateways.push_back(RunningGateway::start(yaml));
    return gateways;
}

double fleet_metric(const std::vector<RunningGateway>& gateways, const std::string& series) {
    double total = 0;
    for (const auto& gateway : gateways) total += metric(gateway, series);
    return total;
}

// A limit's count (a quota) or level (a bucket) in the one consumer's limits hash
// (llmgw:rl:{consumer}:tier): the first number of its packed field, as "%.17g"; "" when missing.
std::string limit_count(RedisServer& redis, const std::string& field) {
    const auto keys = redis.cli({"KEYS", "llmgw:rl:*"});
    if (keys.empty()) return "";
    static const std::string decode =
        "local p = redis.call('HGET', KEYS[1], ARGV[1]) if not p then return '' end "
        "return string.format('%.17g', (struct.unpack('<d', p)))";
    return redis.cli({"EVAL", decode, "1", keys.substr(0, keys.find('\n')), field + ":p"});
}

void drain_all(std::vector<RunningGateway>& gateways) {
    for (auto& gateway : gateways) kill(gateway.process().pid(), SIGTERM);
    for (auto& gateway : gateways) ASSERT_TRUE(gateway.process().wait_exit(10s).has_value());
}

}  // namespace

// Three instances, one Redis, a quota of 600 and 900 requests at once: exactly 600 admitted, at
// fewer Redis calls than requests (settles and usage records ride along, and admissions that
// arrive while a worker's call is under way share the next one).
TEST(Reservations, ExactAdmissionAcrossThreeInstancesAtFewerRedisCallsThanRequests) {
    auto redis = RedisServer::start();
    auto model = FakeModel::start("m1", {"--threads", "2"});
    const auto yaml = config(model, "{ quota: { requests_per_day: 600 } }", redis_section(redis));
    auto gateways = instances(3, yaml);
    redis.cli({"CONFIG", "RESETSTAT"});
    EXPECT_EQ(admitted_of_burst(gateways, 900), 600);  // and 300 refused with 429
    // Every usage record reached Redis (the idle flush), and a stopped instance flushes first.
    EXPECT_TRUE(eventually([&] { return usage_total(gateways[0])["requests"] == 600; }, 5s));
    // On the request path, at most one call per request: the admissions, shared by the requests
    // of a burst. Settles and usage records rode along or went in idle flushes.
    const auto calls = [&](const char* kind) {
        return fleet_metric(gateways, "llmgw_redis_admission_calls_total{kind=\"" + std::string(kind) + "\"}");
    };
    // Read around Redis's own count: flushes may still go out while the figures are read.
    const double before = calls("admit") + calls("flush");
    const auto stats = redis.cli({"INFO", "commandstats"});
    const auto errors = redis.cli({"INFO", "errorstats"});
    const double admits = calls("admit");
    const double flushes = calls("flush");
    EXPECT_GT(admits, 0);
    EXPECT_LT(admits, 900);  // 900 at once: requests came while a call was under way
    EXPECT_LT(flushes, 300);
    // Redis agrees: its function calls are those, and the retries of calls that found the
    // function not loaded yet: every call sent on a new connection before the first "Function
    // not found" came back (a burst at start can send dozens).
    const std::regex script_calls("cmdstat_fcall:calls=(\\d+)");
    std::smatch found;
    ASSERT_TRUE(std::regex_search(stats, found, script_calls)) << stats;
    const auto scripts = std::stod(found[1]);
    double noscripts = 0;
    if (std::regex_search(errors, found, std::regex("errorstat_ERR:count=(\\d+)")))
        noscripts = std::stod(found[1]);
    EXPECT_GE(scripts, before);
    EXPECT_LE(scripts, admits + flushes + noscripts) << stats << errors;
}

TEST(Reservations, ADrainingInstanceFlushesWhatWaitsForRedis) {
    auto redis = RedisServer::start();
    auto model = FakeModel::start("m1");
    const auto yaml = config(model, "{}", redis_section(redis));
    auto gateway = RunningGateway::start(yaml);
    for (int i = 0; i < 5; ++i)
        ASSERT_EQ(gateway.post("/v1/chat/completions", chat_body(), {{"authorization", std::string("Bearer ") + key}})
                      .status, 200);
    kill(gateway.process().pid(), SIGTERM);
    ASSERT_TRUE(gateway.process().wait_exit(10s).has_value());
    const auto day = redis.cli({"KEYS", "llmgw:usage:*"});
    ASSERT_FALSE(day.empty());
    EXPECT_EQ(redis.cli({"HGET", day.substr(0, day.find('\n')), "requests"}), "5");
}


// lease: slices are counted in the quota when granted, so the fleet never admits more than the
// quota; most admissions need no Redis call; at drain, every unused slice goes back, and the
// quota in Redis then holds exactly what was admitted.
TEST(Reservations, LeaseAdmissionNeverExceedsAQuotaAndGivesBackEverySliceAtDrain) {
    auto redis = RedisServer::start();
    auto model = FakeModel::start("m1", {"--threads", "2"});
    const auto yaml = config(model, "{ quota: { requests_per_day: 600 } }", lease_section(redis));
    auto gateways = instances(3, yaml);
    const int admitted = admitted_of_burst(gateways, 900);
    EXPECT_LE(admitted, 600);
    // Slices of 6 (600 × 0.02 ÷ 2 workers) may be held unused when the quota runs out.
    EXPECT_GE(admitted, 600 - 3 * 2 * 6);
    // 900 at once against slices of 6: most find their worker's slices empty and go to Redis.
    EXPECT_GT(fleet_metric(gateways, "llmgw_lease_admissions_total"), 0);
    drain_all(gateways);
    EXPECT_EQ(limit_count(redis, "0:requests.quota.day"), std::to_string(admitted));
}

// lease: a rate bucket refills while instances hold slices, so the fleet may admit up to what
// the slices held beyond the exact figure: instances × lease_fraction × the limit (36 here). The
// worst case is built on purpose: every worker holds slices, then the bucket is full again.
TEST(Reservations, LeaseAdmissionOverARateStaysWithinTheDocumentedBound) {
    auto redis = RedisServer::start();
    auto model = FakeModel::start("m1", {"--threads", "2"});
    const auto yaml = config(model, "{ rate: { requests_per_minute: 600 } }", lease_section(redis));
    auto gateways = instances(3, yaml);
    ASSERT_EQ(admitted_of_burst(gateways, 60), 60);
    const auto limits = redis.cli({"KEYS", "llmgw:rl:*"});
    ASSERT_FALSE(limits.empty());
    redis.cli({"DEL", limits.substr(0, limits.find('\n'))});  // a missing bucket is a full one
    const auto started = std::chrono::steady_clock::now();
    const int admitted = admitted_of_burst(gateways, 900);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    const double refill = 10 * seconds;
    EXPECT_GE(admitted, 600 - 3 * 2 * 6);
    EXPECT_LE(admitted, 600 + refill + 3 * 0.02 * 600) << "in " << seconds << " s";
}

// lease: with slices larger than a request (a quota of 100,000: slices of 1,000 per worker),
// admissions need a Redis call only to take the first slices (and to top them up ahead of need,
// which 200 requests never reach).
TEST(Reservations, LeaseAdmissionAsksRedisOnlyToRenewSlices) {
    auto redis = RedisServer::start();
    auto model = FakeModel::start("m1", {"--threads", "2"});
    std::vector<RunningGateway> gateways;
    gateways.push_back(RunningGateway::start(
        config(model, "{ quota: { requests_per_day: 100000 } }", lease_section(redis))));
    for (int round = 0; round < 50; ++round) ASSERT_EQ(admitted_of_burst(gateways, 4), 4);
    const double calls = metric(gateways[0], "llmgw_redis_admission_calls_total{kind=\"admit\"}") +
                         metric(gateways[0], "llmgw_redis_admission_calls_total{kind=\"renew\"}");
    // At most, on each of the 2 workers: the 4 requests of the first burst it saw, all sent to
    // Redis before its first grant was back (they ask for no slice: one is under way), in at
    // most 4 calls. After that, none.
    const double from_slices = metric(gateways[0], "llmgw_lease_admissions_total");
    EXPECT_GE(from_slices, 200 - 2 * 4);
    EXPECT_LE(calls, 2 * 4) << calls << " calls, " << from_slices << " from slices";
    drain_all(gateways);
    EXPECT_EQ(limit_count(redis, "0:requests.quota.day"), "200");
}

// failure_mode open with 3 instances: each announces itself in Redis, and while Redis is away
// enforces a third of each limit on in-process buckets that followed what Redis admitted. Redis
// killed half-way through a quota of 600: the fleet admits about 600 in all, not 300 + 3 × 600.
TEST(Reservations, WithRedisKilledTheFleetStaysNearItsLimitNotThreeTimesIt) {
    auto redis = RedisServer::start();
    auto model = FakeModel::start("m1", {"--threads", "2"});
    const auto yaml = config(model, "{ quota: { requests_per_day: 600 } }",
                             "redis: { url: \"redis://127.0.0.1:" + std::to_string(redis.port()) +
                                 "/0\", timeout: 2s, failure_mode: open }\n");
    auto gateways = instances(3, yaml);
    for (const auto& gateway : gateways)
        ASSERT_TRUE(eventually([&] { return metric(gateway, "llmgw_redis_instances") == 3; }, 5s));
    int admitted = 0;
    for (int round = 0; round < 10; ++round) admitted += admitted_of_burst(gateways, 30);
    ASSERT_EQ(admitted, 300);
    redis.kill();
    admitted += admitted_of_burst(gateways, 900);
    EXPECT_GE(fleet_metric(gateways, "llmgw_redis_fail_open_total"), 300);
    // Each instance admitted 100 through Redis and has 200 as its share: about 100 more each.
    EXPECT_GE(admitted, 570);
    EXPECT_LE(admitted, 1.2 * 600);
}
