// A backend at capacity: requests wait in its queue by tier priority and weighted fair share,
// give up with the documented 503s, leave when their client does; fallbacks take what the
// backend cannot, never after the first byte.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <map>
#include <mutex>
#include <thread>

#include "harness.hpp"
#include "support/http_client.hpp"

using namespace llmgw::testing;
using namespace std::chrono_literals;
using testing::HasSubstr;

namespace {

using clock_type = std::chrono::steady_clock;

// Consumers named after their keys ("key-<name>"), each of its own tier.
std::string consumers(const std::vector<std::pair<std::string, std::string>>& name_and_tier) {
    std::string out = "consumers:\n";
    for (const auto& [name, tier] : name_and_tier)
        out += "  - { name: " + name + ", tier: " + tier + ", keys: [ { sha256: \"" +
               sha256_hex("key-" + name) + "\" } ] }\n";
    return out;
}

// One backend whose endpoint takes `slots` requests at once, with a queue, and a route to it.
std::string queued(const FakeModel& model, int slots, const std::string& queue,
                   const std::string& extra = "") {
    return "backends:\n  vllm:\n    endpoints: [ { url: \"" + model.url() +
           "\", max_concurrent: " + std::to_string(slots) + " } ]\n    queue: " + queue + "\n" +
           extra + "routes:\n  - { name: chat, backend: vllm, match: { path_prefix: /v1/ } }\n";
}

HttpHeaders as(const std::string& name, int delay_ms) {
    return {{"authorization", "Bearer key-" + name}, {"x-fake-delay-ms", std::to_string(delay_ms)}};
}

// Keeps `clients` requests of one consumer going until stopped; counts those served.
class Flood {
public:
    Flood(const RunningGateway& gateway, std::string name, int clients, int delay_ms,
          nlohmann::json body = chat_body())
        : name_(std::move(name)) {
        for (int i = 0; i < clients; ++i)
            threads_.emplace_back([this, &gateway, delay_ms, body] {
                while (!stop_) {
                    const auto r = gateway.post("/v1/chat/completions", body, as(name_, delay_ms));
                    if (r.status == 200 && !stop_) ++served_;
                }
            });
    }
    ~Flood() { stop(); }
    void stop() {
        stop_ = true;
        for (auto& t : threads_)
            if (t.joinable()) t.join();
    }
    int served() const { return served_; }

private:
    std::string name_;
    std::atomic<bool> stop_{false};
    std::atomic<int> served_{0};
    std::vector<std::thread> threads_;
};

// Both floods keep the queue busy until 120 are served; `more` must get about 3 times the turns.
void expect_about_three_to_one(Flood& more, Flood& fewer) {
    ASSERT_TRUE(eventually([&] { return more.served() + fewer.served() >= 120; }, 30s));
    more.stop();
    fewer.stop();
    const double ratio = static_cast<double>(more.served()) / std::max(1, fewer.served());
    EXPECT_GT(ratio, 2.2) << more.served() << " vs " << fewer.served();
    EXPECT_LT(ratio, 4.0) << more.served() << " vs " << fewer.served();
}

}  // namespace

TEST(Queue, AHigherPriorityTierIsServedFirst) {
    auto model = FakeModel::start("m");
    auto gateway = RunningGateway::start(
        "tiers:\n  free: {}\n  pro: { priority: 10 }\n" +
        consumers({{"hog", "free"}, {"cheap", "free"}, {"paying", "pro"}}) +
        queued(model, 1, "{ timeout: 10s }"));
    auto busy = std::async(std::launch::async, [&] {
        return gateway.post("/v1/chat/completions", chat_body(), as("hog", 800)).status;
    });
    ASSERT_TRUE(eventually([&] { return model.stats()["in_flight"] == 1; }, 3s));
    std::mutex mutex;
    std::vector<std::string> finished;
    auto send = [&](const std::string& who) {
        return std::async(std::launch::async, [&, who] {
            const auto status = gateway.post("/v1/chat/completions", chat_body(), as(who, 50)).status;
            std::lock_guard lock(mutex);
            finished.push_back(who);
            return status;
        });
    };
    auto cheap = send("cheap");
    ASSERT_TRUE(eventually(
        [&] { return metric_value(metrics_of(gateway), R"(llmgw_queue_depth{backend="vllm",priority="0"})") == 1; },
        3s));
    auto paying = send("paying");
    ASSERT_TRUE(eventually(
        [&] { return metric_value(metrics_of(gateway), R"(llmgw_queue_depth{backend="vllm",priority="10"})") == 1; },
        3s));
    EXPECT_EQ(busy.get(), 200);
    EXPECT_EQ(paying.get(), 200);
    EXPECT_EQ(cheap.get(), 200);
    ASSERT_EQ(finished.size(), 2u);
    EXPECT_EQ(finished[0], "paying");  // it came second, and went first
    ASSERT_TRUE(gateway.wait_for_access_lines(3, 2s));
    const auto line = gateway.access_line_where("consumer", "cheap");
    ASSERT_TRUE(line.contains("queue_ms"));
    EXPECT_GT(line["queue_ms"].get<double>(), 500);
}

TEST(Queue, ALightConsumerIsServedWithinACoupleOfTurnsWhileAHeavyOneHasFortyWaiting) {
    auto model = FakeModel::start("m");
    auto gateway = RunningGateway::start("tiers:\n  free: {}\n" +
                                         consumers({{"heavy", "free"}, {"light", "free"}}) +
                                         queued(model, 2, "{ timeout: 30s }"));
    constexpr int turn_ms = 150;
    Flood heavy(gateway, "heavy", 42, turn_ms);
    ASSERT_TRUE(eventually(
        [&] { return metric_value(metrics_of(gateway), R"(llmgw_queue_depth{backend="vllm",priority="0"})") >= 40; },
        10s));
    const auto started = clock_type::now();
    const auto light = gateway.post("/v1/chat/completions", chat_body(), as("light", turn_ms));
    const auto took = clock_type::now() - started;
    EXPECT_EQ(light.status, 200);
    // Its own turn plus at most a couple of slot turnovers; first come, first served would
    // have made it wait behind 40 (20 turnovers of two slots: 3 s).
    EXPECT_LT(took, std::chrono::milliseconds(4 * turn_ms + 300)) << "took "
        << std::chrono::duration_cast<std::chrono::milliseconds>(took).count() << " ms";
    heavy.stop();
}

TEST(Queue, WeightThreeAgainstOneGetsAboutThreeTimesTheTurns) {
    auto model = FakeModel::start("m");
    auto gateway = RunningGateway::start(
        "tiers:\n  gold: { weight: 3 }\n  basic: { weight: 1 }\n" +
        consumers({{"gold", "gold"}, {"basic", "basic"}}) + queued(model, 1, "{ timeout: 30s }"));
    Flood gold(gateway, "gold", 6, 20);
    Flood basic(gateway, "basic", 6, 20);
    expect_about_three_to_one(gold, basic);
}

TEST(Queue, RequestsAskingForMoreTokensCountForMore) {
    auto model = FakeModel::start("m");
    auto gateway = RunningGateway::start("tiers:\n  free: {}\n" +
                                         consumers({{"big", "free"}, {"small", "free"}}) +
                                         queued(model, 1, "{ timeout: 30s }"));
    auto big_body = chat_body();
    big_body["max_tokens"] = 3000;
    auto small_body = chat_body();
    small_body["max_tokens"] = 1000;
    Flood big(gateway, "big", 6, 20, big_body);
    Flood small(gateway, "small", 6, 20, small_body);
    // Equal weights share tokens: three small requests for each big one.
    expect_about_three_to_one(small, big);
}

TEST(Queue, AFullQueueAndATimeoutGiveTheDocumented503s) {
    auto model = FakeModel::start("m");
    auto gateway = RunningGateway::start(queued(model, 1, "{ max_waiting: 2, timeout: 500ms }"));
    auto busy = std::async(std::launch::async, [&] {
        return gateway.post("/v1/chat/completions", chat_body(), {{"x-fake-delay-ms", "2500"}}).status;
    });
    ASSERT_TRUE(eventually([&] { return model.stats()["in_flight"] == 1; }, 3s));
    std::vector<std::future<HttpResponse>> waiting;
    const auto started = clock_type::now();
    for (int i = 0; i < 2; ++i)
        waiting.push_back(std::async(std::launch::async, [&] {
            return gateway.post("/v1/chat/completions", chat_body());
        }));
    ASSERT_TRUE(eventually(
        [&] { return metric_value(metrics_of(gateway), R"(llmgw_queue_depth{backend="vllm",priority="0"})") == 2; },
        3s));
    const auto full = gateway.post("/v1/chat/completions", chat_body());
    EXPECT_EQ(full.status, 503);
    EXPECT_EQ(full.json()["error"]["code"], "queue_full");
    EXPECT_GE(std::stoi(full.header("retry-after")), 1);
    for (auto& w : waiting) {
        const auto timed_out = w.get();
        EXPECT_EQ(timed_out.status, 503);
        EXPECT_EQ(timed_out.json()["error"]["code"], "queue_timeout");
        EXPECT_GE(std::stoi(timed_out.header("retry-after")), 1);
    }
    EXPECT_GE(clock_type::now() - started, 500ms);
    EXPECT_LT(clock_type::now() - started, 2000ms);  // not after the busy one finished
    EXPECT_EQ(busy.get(), 200);
    const auto text = metrics_of(gateway);
    EXPECT_EQ(metric_value(text, R"(llmgw_queue_requests_total{backend="vllm",outcome="full"})"), 1);
    EXPECT_EQ(metric_value(text, R"(llmgw_queue_requests_total{backend="vllm",outcome="timeout"})"), 2);
    EXPECT_EQ(model.stats()["requests_total"], 1);  // nothing that waited reached the model
}

TEST(Queue, AClientThatLeavesWhileWaitingLeavesTheQueue) {
    auto model = FakeModel::start("m");
    auto gateway = RunningGateway::start(queued(model, 1, "{ timeout: 30s }"));
    auto busy = std::async(std::launch::async, [&] {
        return gateway.post("/v1/chat/completions", chat_body(), {{"x-fake-delay-ms", "1500"}}).status;
    });
    ASSERT_TRUE(eventually([&] { return model.stats()["in_flight"] == 1; }, 3s));
    {
        RawConnection raw(gateway.port());
        const auto body = chat_body().dump();
        ASSERT_TRUE(raw.send("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
                             "Content-Type: application/json\r\nContent-Length: " +
                             std::to_string(body.size()) + "\r\n\r\n" + body));
        ASSERT_TRUE(eventually(
            [&] { return metric_value(metrics_of(gateway), R"(llmgw_queue_depth{backend="vllm",priority="0"})") == 1; },
            3s));
    }  // the client goes
    EXPECT_TRUE(eventually(
        [&] {
            const auto text = metrics_of(gateway);
            return metric_value(text, R"(llmgw_queue_depth{backend="vllm",priority="0"})") == 0 &&
                   metric_value(text, R"(llmgw_queue_requests_total{backend="vllm",outcome="left"})") == 1;
        },
        2s));
    EXPECT_EQ(busy.get(), 200);
    EXPECT_EQ(model.stats()["requests_total"], 1);  // the one that left was never sent
}

TEST(Fallbacks, ABackendWithNoHealthyEndpointFallsBackWithTheModelRewritten) {
    auto small = FakeModel::start("small");
    auto gateway = RunningGateway::start(
        "backends:\n"
        "  big:\n"
        "    endpoints: [ { url: \"http://127.0.0.1:1\" } ]\n"
        "    retries: { attempts: 0 }\n"
        "    circuit_breaker: { failure_threshold: 1 }\n"
        "    fallbacks: [ { backend: small, model: small-model } ]\n"
        "  small: { endpoints: [ { url: \"" + small.url() + "\" } ] }\n"
        "routes:\n  - { name: chat, backend: big, match: { path_prefix: /v1/ } }\n");
    // The dead endpoint fails to connect once, then its circuit is not open yet: the first
    // request gets the connect error; keep asking until the fallback takes one.
    HttpResponse answered;
    ASSERT_TRUE(eventually(
        [&] {
            answered = gateway.post("/v1/chat/completions", chat_body("big-model"));
            return answered.status == 200;
        },
        10s));
    EXPECT_EQ(answered.header("x-fake-server"), "small");
    EXPECT_EQ(small.stats()["last_request"]["model"], "small-model");
    nlohmann::json line;
    ASSERT_TRUE(eventually([&] {  // the access log is written after the answer
        line = gateway.access_line_where("fallback_from", "big");
        return !line.is_null();
    }));
    EXPECT_EQ(line["backend"], "small");
    EXPECT_THAT(metrics_of(gateway),
                HasSubstr(R"(llmgw_fallbacks_total{backend="big",fallback="small",reason="no_healthy_endpoint"})"));
}

TEST(Fallbacks, AQueueTimeoutFallsBackAndACutStreamNever) {
    auto main_model = FakeModel::start("main");
    auto spare = FakeModel::start("spare");
    auto gateway = RunningGateway::start(
        "backends:\n"
        "  main:\n"
        "    endpoints: [ { url: \"" + main_model.url() + "\", max_concurrent: 1 } ]\n"
        "    queue: { timeout: 300ms }\n"
        "    fallbacks: [ spare ]\n"
        "  spare: { endpoints: [ { url: \"" + spare.url() + "\" } ] }\n"
        "routes:\n  - { name: chat, backend: main, match: { path_prefix: /v1/ } }\n");
    auto busy = std::async(std::launch::async, [&] {
        return gateway.post("/v1/chat/completions", chat_body(), {{"x-fake-delay-ms", "1500"}}).status;
    });
    ASSERT_TRUE(eventually([&] { return main_model.stats()["in_flight"] == 1; }, 3s));
    const auto fell_back = gateway.post("/v1/chat/completions", chat_body());
    EXPECT_EQ(fell_back.status, 200);
    EXPECT_EQ(fell_back.header("x-fake-server"), "spare");
    EXPECT_EQ(busy.get(), 200);
    EXPECT_THAT(metrics_of(gateway),
                HasSubstr(R"(llmgw_fallbacks_total{backend="main",fallback="spare",reason="queue_timeout"})"));

    // A stream the main backend cuts after its first events reached the client stays cut.
    const int spare_requests = spare.stats()["requests_total"].get<int>();
    RawConnection raw(gateway.port());
    const auto body = chat_body("fake-model", true).dump();
    ASSERT_TRUE(raw.send("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nx-fake-drop-after: 2\r\n"
                         "Content-Type: application/json\r\nContent-Length: " +
                         std::to_string(body.size()) + "\r\n\r\n" + body));
    const auto cut = raw.read_until_close(5s);
    EXPECT_THAT(cut, HasSubstr("x-fake-server: main"));
    EXPECT_THAT(cut, HasSubstr("tok0"));
    EXPECT_EQ(spare.stats()["requests_total"].get<int>(), spare_requests);
}
