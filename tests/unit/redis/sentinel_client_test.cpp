// Specification of redis::Client with Sentinel against real servers: the master is found
// through the sentinels (a dead one skipped), and after the master dies the client follows the
// failover within seconds while no call outlives its timeout. Also: a READONLY reply (the
// server became a replica) replaces the connection, with or without Sentinel.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <iostream>
#include <thread>

#include "llmgw/config/pem.hpp"
#include "llmgw/gateway/redis_options.hpp"
#include "llmgw/redis/client.hpp"
#include "pumped_io.hpp"
#include "support/ports.hpp"
#include "support/redis_sentinel.hpp"
#include "support/redis_server.hpp"
#include "support/temp_dir.hpp"
#include "support/test_pki.hpp"

namespace llmgw::redis {
namespace {

using testing::describe;
using testing::ms_since;
using testing::RedisSentinelSet;
using testing::RedisServer;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

Client::Options sentinel_options(RedisSentinelSet& set) {
    Client::Options o;
    o.sentinel_master = set.master_name();
    // A sentinel that is down comes first: the client asks the next.
    o.sentinels = {{"127.0.0.1", testing::free_port(), {}, {}},
                   {"127.0.0.1", set.sentinel_port(), {}, {}}};
    o.timeout = 100ms;
    o.connect_timeout = 500ms;
    o.reconnect_min = 20ms;
    o.reconnect_max = 200ms;
    return o;
}

class RedisSentinel : public testing::PumpedIo {};

TEST_F(RedisSentinel, FindsTheMasterThroughTheSentinels) {
    auto set = RedisSentinelSet::start();
    auto client = started(sentinel_options(set));
    auto set_call = run(client->command({"SET", "where", "master"}));
    ASSERT_TRUE(set_call) << describe(set_call);
    EXPECT_EQ(set.first().cli({"GET", "where"}), "master");
}

TEST_F(RedisSentinel, FollowsAFailoverWithinSecondsAndNoCallOutlivesItsTimeout) {
    auto set = RedisSentinelSet::start();
    auto client = started(sentinel_options(set));
    ASSERT_TRUE(run(client->command({"SET", "n", "0"})));

    // The master dies while calls go on (the kill and the failover run on another thread).
    std::atomic<bool> switched = false;
    std::thread failover([&] {
        set.kill_master();
        switched = true;
    });
    long long slowest = 0;
    int calls = 0;
    while (!switched) {
        const auto start = Clock::now();
        run(client->command({"INCR", "n"}));
        slowest = std::max(slowest, ms_since(start));
        ++calls;
        run_until([] { return false; }, 20ms);
    }
    failover.join();
    EXPECT_LT(slowest, 100 + 250) << "timeout 100 ms, with room for a loaded machine";
    EXPECT_GT(calls, 0);

    const auto switched_at = Clock::now();
    Result incr;
    EXPECT_TRUE(run_until(
        [&] {
            incr = run(client->command({"INCR", "n"}));
            return incr.has_value();
        },
        5s))
        << "still failing 5 s after the failover: " << describe(incr);
    EXPECT_LT(ms_since(switched_at), 5000);
    std::cout << "failover: " << calls << " calls while it ran, the slowest " << slowest
              << " ms; writes went to the new master " << ms_since(switched_at)
              << " ms after the sentinel named it\n";
    EXPECT_NE(set.second().cli({"GET", "n"}), "") << "the write went to the new master";
}

// A sentinel with a password of its own gets it (from its node URL); without it the sentinel
// refuses, and the client says so.
TEST_F(RedisSentinel, ASentinelWithAPasswordIsAskedWithIt) {
    auto set = RedisSentinelSet::start("guarded", "sentinel-secret");
    auto o = sentinel_options(set);
    o.sentinels = {{"127.0.0.1", set.sentinel_port(), {}, {}}};
    Client anonymous(io.get_executor(), o);
    anonymous.start();
    EXPECT_FALSE(run_until([&] { return anonymous.connected(); }, 500ms));
    anonymous.stop();

    o.sentinels.front().password = "sentinel-secret";
    auto client = started(o);
    ASSERT_TRUE(run(client->command({"SET", "k", "v"})));
    EXPECT_EQ(set.first().cli({"GET", "k"}), "v");
}

// rediss:// with Sentinel: the sentinels and the master they name are all reached over TLS,
// each checked against the CA; a sentinel's refused certificate counts as a TLS failure.
TEST_F(RedisSentinel, OverTlsTheSentinelsAndTheMasterAreAllChecked) {
    testing::TempDir dir;
    const auto pki = testing::make_test_pki(dir);
    auto set = RedisSentinelSet::start(
        "secure", "", RedisServer::Tls{pki.server_cert, pki.server_key, pki.ca_cert, {}, {}});
    config::RedisTls tls;
    tls.ca_file = pki.ca_cert;
    tls.ca_certificates = config::read_ca_certificates(pki.ca_cert);
    auto o = sentinel_options(set);
    o.tls = gateway::redis_tls(tls);
    auto client = started(o);
    ASSERT_TRUE(run(client->command({"SET", "k", "over tls"})));
    EXPECT_EQ(set.first().cli({"GET", "k"}), "over tls");

    tls.ca_file = pki.other_ca_cert;
    tls.ca_certificates = config::read_ca_certificates(pki.other_ca_cert);
    o.tls = gateway::redis_tls(tls);
    Client refused(io.get_executor(), o);
    int failures = 0;
    refused.on_tls_failure = [&] { ++failures; };
    refused.start();
    EXPECT_TRUE(run_until([&] { return failures >= 2; }, 3s)) << "the sentinels' are counted";
    EXPECT_FALSE(refused.connected());
}

// A server turned replica answers writes with READONLY: the client replaces the connection
// (and with Sentinel asks again where the master is), instead of failing every write.
TEST_F(RedisSentinel, AReadonlyReplyReplacesTheConnection) {
    auto master = RedisServer::start();
    auto server = RedisServer::start();
    Client::Options o;
    o.host = "127.0.0.1";
    o.port = server.port();
    o.timeout = 1s;
    o.reconnect_min = 20ms;
    o.reconnect_max = 100ms;
    auto client = started(o);
    auto first_id = run(client->command({"CLIENT", "ID"}));
    ASSERT_TRUE(first_id) << describe(first_id);
    server.cli({"REPLICAOF", "127.0.0.1", std::to_string(master.port())});
    auto refused = run(client->command({"SET", "k", "v"}));
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().message.rfind("READONLY", 0), 0u) << describe(refused);
    ASSERT_TRUE(run_until([&] { return client->connected(); }, 2s));
    auto second_id = run(client->command({"CLIENT", "ID"}));
    ASSERT_TRUE(second_id) << describe(second_id);
    EXPECT_NE(second_id->integer, first_id->integer) << "a new connection";
}

}  // namespace
}  // namespace llmgw::redis
