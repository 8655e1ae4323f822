// The llmgw binary with Redis over TLS (rediss://, certificates made at test time) and behind
// Sentinel (a master killed under load: no request waits past redis.timeout, and the limits
// hold again within seconds).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <iostream>
#include <thread>

#include "harness.hpp"
#include "support/ports.hpp"
#include "support/redis_sentinel.hpp"
#include "support/redis_server.hpp"
#include "support/temp_dir.hpp"
#include "support/test_pki.hpp"

using namespace std::chrono_literals;
using namespace llmgw::testing;
using testing::HasSubstr;

namespace {

constexpr const char* key = "sk-redis-topology-test-key";
using clock_type = std::chrono::steady_clock;

std::string config(const FakeModel& model, const std::string& redis, const std::string& limits) {
    return "redis:\n" + redis + metered_acme(model, limits, key);
}

int chat(const RunningGateway& gateway) {
    return gateway
        .post("/v1/chat/completions", chat_body(),
              {{"authorization", std::string("Bearer ") + key}})
        .status;
}

class RedisTopology : public ::testing::Test {
protected:
    RedisTopology() : pki(make_test_pki(dir)) {}
    TempDir dir;
    TestPki pki;
};

}  // namespace

TEST_F(RedisTopology, LimitsLiveInARedisReachedOverTls) {
    auto redis = RedisServer::start_tls({pki.server_cert, pki.server_key, pki.ca_cert, {}, {}});
    auto model = FakeModel::start("m1");
    auto gateway = RunningGateway::start(
        config(model,
               "  url: \"rediss://127.0.0.1:" + std::to_string(redis.port()) +
                   "/0\"\n  timeout: 2s\n  failure_mode: closed\n  tls: { ca_file: \"" +
                   pki.ca_cert + "\" }\n",
               "{ quota: { requests_per_day: 3 } }"));
    EXPECT_EQ(chat(gateway), 200);
    EXPECT_EQ(chat(gateway), 200);
    EXPECT_EQ(chat(gateway), 200);
    EXPECT_EQ(chat(gateway), 429);
    EXPECT_NE(redis.cli({"KEYS", "llmgw:rl:*"}), "") << "the counters are in Redis";
}

TEST_F(RedisTopology, ARefusedCertificateIsCountedAndLimitsFailOpenAsWithRedisDown) {
    auto redis = RedisServer::start_tls({pki.server_cert, pki.server_key, pki.ca_cert, {}, {}});
    auto model = FakeModel::start("m1");
    auto gateway = RunningGateway::start(config(
        model,
        "  url: \"rediss://127.0.0.1:" + std::to_string(redis.port()) +
            "/0\"\n  failure_mode: open\n  tls: { ca_file: \"" + pki.other_ca_cert + "\" }\n",
        "{ quota: { requests_per_day: 3 } }"));
    EXPECT_EQ(chat(gateway), 200) << "open: decided in process while Redis cannot be used";
    const auto metrics = metrics_of(gateway);
    EXPECT_GE(metric_value(metrics, "llmgw_redis_fail_open_total"), 1) << metrics;
    EXPECT_TRUE(eventually(
        [&] { return metric_value(metrics_of(gateway), "llmgw_redis_tls_failures_total") >= 4; },
        5s))
        << "every retry counts: " << metrics_of(gateway);
    EXPECT_TRUE(gateway.process().wait_for_output(
        "TLS handshake failed: certificate verification failed", 2s));
    EXPECT_EQ(redis.cli({"KEYS", "llmgw:*"}), "") << "nothing reached Redis";
}

TEST_F(RedisTopology, TlsFilesThatCannotBeReadFailAtStartNamingTheKey) {
    std::string out, err;
    const auto path =
        dir.write("llmgw.yaml",
                  "redis:\n  url: \"rediss://127.0.0.1:6380/0\"\n  tls:\n    cert_file: \"" +
                      pki.client_cert + "\"\n    key_file: \"" + dir.file("missing.key") +
                      "\"\nbackends: { b: { endpoints: [ { url: \"http://127.0.0.1:1\" } ] } }\n"
                      "routes: [ { name: r, backend: b } ]\n");
    const auto status = run_to_exit(LLMGW_BINARY, {"--config", path, "--check"}, 10s, &out, &err);
    EXPECT_NE(status, 0);
    EXPECT_THAT(out + err, HasSubstr("llmgw.yaml:5: redis.tls.key_file:"));
}

TEST_F(RedisTopology, SentinelFailoverUnderLoadKeepsEveryRequestBoundedAndLimitsHoldAgain) {
    auto set = RedisSentinelSet::start();
    auto model = FakeModel::start("m1");
    auto gateway = RunningGateway::start(
        config(model,
               "  url: \"redis://127.0.0.1:" + std::to_string(free_port()) +
                   "/0\"\n  nodes: [\"redis://127.0.0.1:" + std::to_string(set.sentinel_port()) +
                   "\"]\n  sentinel: { master: " + set.master_name() + " }\n  timeout: 100ms\n",
               "{ quota: { requests_per_day: 100 } }"));
    for (int i = 0; i < 5; ++i) ASSERT_EQ(chat(gateway), 200);

    std::atomic<bool> switched = false;
    const auto killed_at = clock_type::now();
    std::thread failover([&] {
        set.kill_master();
        switched = true;
    });
    auto slowest = clock_type::duration::zero();
    while (!switched) {
        const auto start = clock_type::now();
        const int status = chat(gateway);
        slowest = std::max(slowest, clock_type::now() - start);
        EXPECT_TRUE(status == 200 || status == 429) << status;
        std::this_thread::sleep_for(20ms);
    }
    failover.join();
    const auto failover_took = clock_type::now() - killed_at;
    EXPECT_LT(slowest, 100ms + 400ms) << "redis.timeout 100 ms, with room for a loaded machine";

    // Back on the new master: requests are decided in Redis again (the in-process limiter of
    // failure_mode: open is no longer asked), and the quota, counted there, runs out.
    const auto fail_open = [&] {
        return metric_value(metrics_of(gateway), "llmgw_redis_fail_open_total");
    };
    const auto switched_at = clock_type::now();
    // Ten in a row, so that both workers (each with its own connection) are back.
    EXPECT_TRUE(eventually(
        [&] {
            const auto before = fail_open();
            for (int i = 0; i < 10; ++i) chat(gateway);
            return fail_open() == before;
        },
        10s))
        << "still deciding in process 10 s after the failover";
    const auto back_after = clock_type::now() - switched_at;
    const auto open_before = fail_open();
    int admitted = 0;
    int status = 200;
    while (admitted < 200 && (status = chat(gateway)) == 200) ++admitted;
    EXPECT_EQ(status, 429);
    EXPECT_LE(admitted, 85) << "100 a day, 15 or more of them before: counted in Redis";
    EXPECT_EQ(fail_open(), open_before) << "every one decided in Redis";
    std::cout << "failover under load: the sentinel switched "
              << std::chrono::duration_cast<std::chrono::milliseconds>(failover_took).count()
              << " ms after the kill; slowest answer "
              << std::chrono::duration_cast<std::chrono::milliseconds>(slowest).count()
              << " ms; decided in Redis again "
              << std::chrono::duration_cast<std::chrono::milliseconds>(back_after).count()
              << " ms after the sentinel named the new master\n";
}
