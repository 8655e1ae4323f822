// llmgw against a Redis that misbehaves: one that answers limit scripts with an endless array
// (requests that need Redis answer within its timeout, requests that do not need it never
// notice, and the gateway's memory stays bounded), and one that answers unasked.
#include <cstdlib>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <iostream>

#include "harness.hpp"
#include "support/fake_redis.hpp"

using namespace std::chrono_literals;
using namespace llmgw::testing;

namespace {

constexpr const char* metered_key = "sk-misbehaving-redis-metered";
constexpr const char* unlimited_key = "sk-misbehaving-redis-unlimited";
using clock_type = std::chrono::steady_clock;

std::string config(const FakeModel& model, uint16_t redis_port) {
    return "redis: { url: \"redis://127.0.0.1:" + std::to_string(redis_port) +
           "/0\", timeout: 50ms, failure_mode: open }\n"
           "tiers:\n"
           "  metered: { rate: { requests_per_second: 1000000 } }  # far above this test's pace\n"
           "  unlimited: {}\n"
           "consumers:\n"
           "  - { name: acme, tier: metered, keys: [ { sha256: \"" +
           sha256_hex(metered_key) +
           "\" } ] }\n"
           "  - { name: free, tier: unlimited, keys: [ { sha256: \"" +
           sha256_hex(unlimited_key) +
           "\" } ] }\n"
           "backends: { vllm: { endpoints: [ { url: \"" +
           model.url() +
           "\" } ] } }\n"
           "routes: [ { name: chat, backend: vllm } ]\n";
}

// VmRSS of a process, from /proc/<pid>/status, in bytes.
long long rss_bytes(pid_t pid) {
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    std::string field;
    long long kib = 0;
    while (status >> field)
        if (field == "VmRSS:" && status >> kib) break;
    return kib * 1024;
}

// One chat request as `key`'s consumer: its status and how long it took. A request that
// takes over 2 s throws (a stall is a failure, not a hang).
std::pair<int, clock_type::duration> timed_chat(const RunningGateway& gateway,
                                                const std::string& key) {
    const auto started = clock_type::now();
    const auto response =
        http_request(gateway.port(),
                     {"POST",
                      "/v1/chat/completions",
                      {{"authorization", "Bearer " + key}, {"content-type", "application/json"}},
                      chat_body().dump()},
                     2s);
    return {response.status, clock_type::now() - started};
}

}  // namespace

TEST(MisbehavingRedis, AnEndlessArrayNeitherStallsNorBloatsTheGateway) {
    FakeRedis redis(FakeRedis::Shape::endless_array);
    auto model = FakeModel::start("m1");
    GatewayOptions options;
#if defined(__SANITIZE_ADDRESS__)
    // AddressSanitizer keeps freed memory in a quarantine (256 MiB by default), which would
    // count as growth here: a small one keeps the bound meaningful under the sanitizer too.
    const char* inherited = std::getenv("ASAN_OPTIONS");
    options.env["ASAN_OPTIONS"] =
        std::string(inherited != nullptr ? inherited : "") + ":quarantine_size_mb=8";
#endif
    auto gateway = RunningGateway::start(config(model, redis.port()), options);
    const auto pid = gateway.process().pid();
    const auto rss_before = rss_bytes(pid);
    auto rss_peak = rss_before;  // sampled after every request: memory freed later counts
    // 3 s: past the limiter's 1 s pause after failed calls, so Redis is asked again and again.
    const auto until = clock_type::now() + 3s;
    int i = 0;
    for (; i < 50 || clock_type::now() < until; ++i) {
        const auto [metered_status, metered_took] = timed_chat(gateway, metered_key);
        EXPECT_EQ(metered_status, 200) << "failure_mode open";
        EXPECT_LT(metered_took, 50ms + 300ms) << "request " << i << " needed Redis";
        const auto [unlimited_status, unlimited_took] = timed_chat(gateway, unlimited_key);
        EXPECT_EQ(unlimited_status, 200);
        EXPECT_LT(unlimited_took, 300ms) << "request " << i << " never needs Redis";
        rss_peak = std::max(rss_peak, rss_bytes(pid));
    }
    std::cout << i << " requests of each tier\n";
    const auto grown = rss_peak - rss_before;
    EXPECT_LT(grown, 64ll << 20) << "Redis sent " << (redis.bytes_sent() >> 20) << " MiB";
    std::cout << "llmgw's RSS grew by " << (grown >> 20) << " MiB from " << (rss_before >> 20)
              << " MiB while Redis sent " << (redis.bytes_sent() >> 20) << " MiB\n";
    EXPECT_THAT(gateway.process().stderr_text() + gateway.process().stdout_text(),
                ::testing::HasSubstr("max_reply_elements"))
        << "the log names the bound that was exceeded";
}

// hiredis 0.14 aborts the process on a reply that no command waits for. A Redis that answers
// twice, or speaks before it is asked, has the connection replaced instead, and llmgw serves on.
TEST(MisbehavingRedis, ARedisThatAnswersTwiceOrUnaskedCannotAbortTheGateway) {
    FakeRedis redis(FakeRedis::Shape::twice);
    auto model = FakeModel::start("m1");
    auto gateway = RunningGateway::start(config(model, redis.port()));
    // The metered request asks Redis once (its limit script): the second answer is surplus.
    EXPECT_EQ(timed_chat(gateway, metered_key).first, 200);
    EXPECT_TRUE(gateway.process().wait_for_output("a reply nobody asked for", 5s));
    redis.set_greeting("+PONG\r\n");  // every new connection: a reply before the handshake
    EXPECT_TRUE(gateway.process().wait_for_output("PING answered without its token", 5s));
    EXPECT_TRUE(gateway.process().running());
    EXPECT_EQ(timed_chat(gateway, metered_key).first, 200) << "failure_mode open";
    EXPECT_EQ(timed_chat(gateway, unlimited_key).first, 200);
}
