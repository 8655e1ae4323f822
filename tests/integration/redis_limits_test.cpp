// Limits kept in a real redis-server: shared by two gateways, and Redis trouble under both
// failure modes (killed, paused, restarted) with bounded latency.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <sstream>
#include <thread>
#include <vector>

#include "harness.hpp"
#include "support/redis_server.hpp"

using namespace std::chrono_literals;
using namespace llmgw::testing;
using testing::HasSubstr;

namespace {

constexpr const char* key = "sk-redis-limits-test-key";
using clock_type = std::chrono::steady_clock;

// `timeout`: 50 ms where a test wants Redis trouble to show fast; exact counts use a long one,
// so a loaded test machine's slow call never turns into a fail-open admission.
std::string config(const FakeModel& model, uint16_t redis_port, const std::string& limits,
                   const std::string& failure_mode = "open", const std::string& timeout = "50ms") {
    return "redis: { url: \"redis://127.0.0.1:" + std::to_string(redis_port) +
           "/0\", timeout: " + timeout + ", failure_mode: " + failure_mode +
           " }\n" + metered_acme(model, limits, key);
}

int chat(const RunningGateway& gateway) {
    return gateway
        .post("/v1/chat/completions", chat_body(),
              {{"authorization", std::string("Bearer ") + key}})
        .status;
}

}  // namespace

TEST(RedisLimits, TwoGatewaysSharingRedisEnforceOneLimit) {
    auto redis = RedisServer::start();
    auto model = FakeModel::start("m1");
    const auto yaml =
        config(model, redis.port(), "{ quota: { requests_per_day: 10 } }", "open", "2s");
    auto first = RunningGateway::start(yaml);
    auto second = RunningGateway::start(yaml);
    int admitted = 0;
    for (int i = 0; i < 10; ++i) {
        admitted += chat(first) == 200;
        admitted += chat(second) == 200;
    }
    EXPECT_EQ(admitted, 10);
    EXPECT_EQ(model.stats()["requests_total"], 10);
}

TEST(RedisLimits, FailOpenAdmitsOnLocalBucketsWhileRedisIsDownAndLimitsHoldWhenItIsBack) {
    auto redis = RedisServer::start();
    auto model = FakeModel::start("m1");
    auto gateway = RunningGateway::start(
        config(model, redis.port(), "{ rate: { requests_per_second: 1000 } }"));
    ASSERT_EQ(chat(gateway), 200);
    redis.kill();
    for (int i = 0; i < 5; ++i) {
        const auto started = clock_type::now();
        EXPECT_EQ(chat(gateway), 200);
        EXPECT_LT(clock_type::now() - started, 300ms);
    }
    EXPECT_THAT(http_request(gateway.admin_port(), {"GET", "/metrics"}).body,
                HasSubstr("llmgw_redis_fail_open_total"));
    redis.restart();
    // Back within a second or two: the limit state lives in Redis again.
    const auto deadline = clock_type::now() + 5s;
    bool used_redis = false;
    while (clock_type::now() < deadline && !used_redis) {
        EXPECT_EQ(chat(gateway), 200);
        used_redis =
            redis.cli({"--scan", "--pattern", "llmgw:*"}).find("llmgw:") != std::string::npos;
        if (!used_redis) std::this_thread::sleep_for(50ms);
    }
    EXPECT_TRUE(used_redis);
}

TEST(RedisLimits, FailClosedAnswers503WhileRedisIsDown) {
    auto redis = RedisServer::start();
    auto model = FakeModel::start("m1");
    auto gateway = RunningGateway::start(
        config(model, redis.port(), "{ rate: { requests_per_second: 1000 } }", "closed"));
    // Each worker connects to Redis in the background at start, and closed mode refuses until
    // then: wait for a run of successes (new connections land on either worker).
    const auto connected_by = clock_type::now() + 5s;
    int successes = 0;
    while (clock_type::now() < connected_by && successes < 10) {
        successes = chat(gateway) == 200 ? successes + 1 : 0;
        if (successes == 0) std::this_thread::sleep_for(20ms);
    }
    ASSERT_EQ(successes, 10);
    redis.kill();
    const auto started = clock_type::now();
    const auto refused = gateway.post("/v1/chat/completions", chat_body(),
                                      {{"authorization", std::string("Bearer ") + key}});
    EXPECT_EQ(refused.status, 503);
    EXPECT_EQ(refused.json()["error"]["code"], "limits_unavailable");
    EXPECT_LT(clock_type::now() - started, 300ms);
    redis.restart();
    const auto deadline = clock_type::now() + 5s;
    int status = 0;
    while (clock_type::now() < deadline && (status = chat(gateway)) != 200)
        std::this_thread::sleep_for(50ms);
    EXPECT_EQ(status, 200);
}

TEST(RedisLimits, AHungRedisCostsAtMostItsTimeoutAndThenNothing) {
    auto redis = RedisServer::start();
    auto model = FakeModel::start("m1");
    GatewayOptions options;
    options.workers = 1;  // one worker: one Redis connection, one breaker
    auto gateway = RunningGateway::start(
        config(model, redis.port(), "{ rate: { requests_per_second: 1000 } }"), options);
    ASSERT_EQ(chat(gateway), 200);
    redis.pause(3000ms);
    std::vector<clock_type::duration> latencies;
    for (int i = 0; i < 8; ++i) {
        const auto started = clock_type::now();
        EXPECT_EQ(chat(gateway), 200);
        latencies.push_back(clock_type::now() - started);
    }
    for (const auto& latency : latencies) EXPECT_LT(latency, 250ms);
    // After a few timeouts Redis is not asked for a while: the last requests pay nothing.
    EXPECT_LT(latencies.back(), 40ms);
}

// A Redis that hung is paused for a second (above); one that comes back on a new connection
// (restarted, or a Cluster replica promoted) is asked again from its first ready moment.
TEST(RedisLimits, ARedisReachedAgainAfterAHangIsAskedAtOnce) {
    auto redis = RedisServer::start();
    auto model = FakeModel::start("m1");
    GatewayOptions options;
    options.workers = 1;
    auto gateway = RunningGateway::start(
        config(model, redis.port(), "{ rate: { requests_per_second: 1000 } }"), options);
    ASSERT_EQ(chat(gateway), 200);
    // The gateway's connections that finished their handshake (the PING that makes one
    // ready): every client but redis-cli's own, and none that has sent nothing yet.
    const auto ready_connections = [&] {
        std::istringstream clients(redis.cli({"CLIENT", "LIST"}));
        int ready = 0;
        for (std::string line; std::getline(clients, line);)
            ready += line.find("cmd=client") == std::string::npos &&
                     line.find("cmd=NULL") == std::string::npos;
        return ready;
    };
    // The worker's connection and the admin listener's (usage reports).
    constexpr int connections = 2;
    ASSERT_TRUE(eventually([&] { return ready_connections() == connections; }, 5s));
    redis.pause(3000ms);
    const auto fail_open = [&] {
        return metric_value(metrics_of(gateway), "llmgw_redis_fail_open_total");
    };
    constexpr int failures_before_pause = 3;  // limits::Admission's
    for (int i = 0; i < failures_before_pause; ++i) EXPECT_EQ(chat(gateway), 200);
    ASSERT_EQ(fail_open(), failures_before_pause) << "each one timed out";
    redis.kill();
    redis.restart();
    ASSERT_TRUE(eventually([&] { return ready_connections() == connections; }, 5s));
    const auto open_before = fail_open();
    for (int i = 0; i < 3; ++i) EXPECT_EQ(chat(gateway), 200);
    EXPECT_EQ(fail_open(), open_before) << "decided in Redis, though the pause has not run out";
}

TEST(RedisLimits, UsageFromEveryInstanceIsReportedFromRedis) {
    auto redis = RedisServer::start();
    auto model = FakeModel::start("m1");
    const auto yaml =
        config(model, redis.port(), "{ rate: { requests_per_second: 1000 } }", "open", "2s");
    auto first = RunningGateway::start(yaml);
    auto second = RunningGateway::start(yaml);
    for (int i = 0; i < 3; ++i) ASSERT_EQ(chat(first), 200);
    for (int i = 0; i < 2; ++i) ASSERT_EQ(chat(second), 200);
    // Usage is written after each answer, in the background: wait for all five.
    nlohmann::json usage;
    const auto deadline = clock_type::now() + 5s;
    do {
        // Yesterday to tomorrow: a run across midnight UTC splits its usage over two days.
        usage = http_request(first.admin_port(), {"GET", "/admin/usage?consumer=acme&" + usage_days_around_today()})
                    .json();
        if (usage["total"]["requests"] == 5) break;
        std::this_thread::sleep_for(20ms);
    } while (clock_type::now() < deadline);
    ASSERT_FALSE(usage["days"].empty());
    EXPECT_EQ(usage["total"]["requests"], 5);
    EXPECT_EQ(usage["total"]["completion_tokens"], 5 * 8);  // the fake's default: 8 words
}

// Issue 15's bound for exact admission: three instances, a 600 requests/minute rate, overload
// from 24 clients at once. The bucket starts full (600) and refills 10 a second, so what is
// admitted is exactly 600 plus the refill over the time the test ran: never more.
TEST(RedisLimits, ThreeInstancesUnderOverloadAdmitExactlyTheRate) {
    auto redis = RedisServer::start();
    auto model = FakeModel::start("m1");
    const auto yaml = config(model, redis.port(), "{ rate: { requests_per_minute: 600 } }",
                             "closed", "2s");
    std::vector<RunningGateway> gateways;
    for (int i = 0; i < 3; ++i) gateways.push_back(RunningGateway::start(yaml));
    std::atomic<int> admitted{0};
    std::atomic<int> refused{0};
    std::atomic<int> other{0};
    const auto started = clock_type::now();
    std::vector<std::thread> clients;
    for (int c = 0; c < 24; ++c)
        clients.emplace_back([&, c] {
            for (int i = 0; i < 40; ++i) {
                const auto status = chat(gateways[static_cast<std::size_t>(c % 3)]);
                (status == 200 ? admitted : status == 429 ? refused : other)++;
            }
        });
    for (auto& client : clients) client.join();
    const double seconds = std::chrono::duration<double>(clock_type::now() - started).count();
    EXPECT_EQ(other.load(), 0);
    EXPECT_EQ(admitted + refused, 960);
    EXPECT_GE(admitted.load(), 600);
    // The refill is 10 a second: at most that many more over the run (plus one in progress).
    EXPECT_LE(admitted.load(), 600 + static_cast<int>(10 * seconds) + 1)
        << "in " << seconds << " s";
}
