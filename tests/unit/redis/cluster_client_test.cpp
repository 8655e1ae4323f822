// Specification of redis::Client with Redis Cluster, against a real three-master cluster made
// at test time: keys spread over every master, scripts keep to one slot, MOVED and ASK are
// followed while a slot moves, and a master's failover costs no call more than its timeout.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <iostream>
#include <set>
#include <thread>

#include "llmgw/config/pem.hpp"
#include "llmgw/gateway/redis_options.hpp"
#include "llmgw/redis/client.hpp"
#include "llmgw/redis/cluster_slot.hpp"
#include "llmgw/redis/script.hpp"
#include "pumped_io.hpp"
#include "support/ports.hpp"
#include "support/redis_cluster.hpp"
#include "support/temp_dir.hpp"
#include "support/test_pki.hpp"

namespace llmgw::redis {
namespace {

using testing::describe;
using testing::ms_since;
using testing::RedisCluster;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

Client::Options cluster_options(RedisCluster& cluster, std::chrono::milliseconds timeout = 500ms) {
    Client::Options o;
    o.cluster = true;
    o.host = "127.0.0.1";
    o.port = testing::free_port();  // a seed that is down: the next one is asked
    o.cluster_seeds = {{"127.0.0.1", cluster.seed_port(), {}, {}}};
    o.password = "secret";
    o.timeout = timeout;
    o.connect_timeout = 500ms;
    o.reconnect_min = 20ms;
    o.reconnect_max = 200ms;
    return o;
}

// One cluster for the tests that leave its topology as they found it.
class RedisClusterClient : public testing::PumpedIo {
protected:
    static void SetUpTestSuite() { cluster_ = RedisCluster::start({"--requirepass", "secret"}); }
    static void TearDownTestSuite() { cluster_.reset(); }
    static RedisCluster& cluster() { return *cluster_; }

    std::string node_id(std::size_t i) { return cluster().cli(i, {"CLUSTER", "MYID"}); }

    static std::unique_ptr<RedisCluster> cluster_;
};
std::unique_ptr<RedisCluster> RedisClusterClient::cluster_;

TEST_F(RedisClusterClient, SpreadsKeysOverEveryMasterAndReadsThemBack) {
    auto client = started(cluster_options(cluster()));
    EXPECT_EQ(client->masters(), 3u);
    for (int i = 0; i < 60; ++i) {
        const auto key = "spread:" + std::to_string(i);
        auto set = run(client->command({"SET", key, std::to_string(i)}));
        ASSERT_TRUE(set) << describe(set);
    }
    for (int i = 0; i < 60; i += 7) {
        const auto key = "spread:" + std::to_string(i);
        EXPECT_EQ(cluster().cli(cluster().master_of(key_slot(key)), {"GET", key}),
                  std::to_string(i))
            << key << " is on the master of its slot";
        auto get = run(client->command({"GET", key}));
        ASSERT_TRUE(get) << describe(get);
        EXPECT_EQ(get->str, std::to_string(i));
    }
    int masters_holding = 0;
    for (std::size_t i = 0; i < cluster().size(); ++i)
        masters_holding += cluster().cli(i, {"--scan", "--pattern", "spread:*"}) != "" &&
                           cluster().cli(i, {"ROLE"}).rfind("master", 0) == 0;
    EXPECT_EQ(masters_holding, 3) << "the keys land on all three masters";
    std::size_t total = 0;
    for (std::size_t m = 0; m < client->masters(); ++m) {
        auto keys = run(client->command_on(m, {"SCAN", "0", "MATCH", "spread:*", "COUNT", "1000"}));
        ASSERT_TRUE(keys) << describe(keys);
        total += keys->elements.at(1).elements.size();
    }
    EXPECT_EQ(total, 60u) << "a SCAN on each master finds each key once";
}

TEST_F(RedisClusterClient, AScriptRunsOnItsSlotsMasterAndKeysOfTwoSlotsFailClearly) {
    auto client = started(cluster_options(cluster()));
    static const Script both(R"lua(
redis.call('SET', KEYS[1], ARGV[1])
redis.call('SET', KEYS[2], ARGV[1])
return redis.call('GET', KEYS[2])
)lua");
    auto tagged = run(client->eval(both, {"script:{tenant}:a", "script:{tenant}:b"}, {"v"}));
    ASSERT_TRUE(tagged) << describe(tagged);
    EXPECT_EQ(tagged->str, "v");
    const auto master = cluster().master_of(key_slot("tenant"));
    EXPECT_EQ(cluster().cli(master, {"GET", "script:{tenant}:a"}), "v");

    const auto started_at = Clock::now();
    auto crossing = run(client->eval(both, {"script:a", "script:b"}, {"v"}));
    ASSERT_FALSE(crossing);
    EXPECT_EQ(crossing.error().kind, Error::Kind::protocol);
    EXPECT_NE(crossing.error().message.find("different redis cluster slots"), std::string::npos)
        << crossing.error().message;
    EXPECT_LT(ms_since(started_at), 50) << "refused without asking Redis";
}

// A script with a function form: each master gets the library when it first lacks it (FUNCTION
// FLUSH on one of them, here), and every call answers.
TEST_F(RedisClusterClient, AScriptsFunctionIsLoadedOnEachMasterThatLacksIt) {
    auto client = started(cluster_options(cluster()));
    static const auto script = Script::with_function(
        "cluster_test", "local function add(k, a) return redis.call('INCRBY', k[1], a[1]) end", "add");
    const std::vector<std::string> keys{"fn:{a}", "fn:{b}", "fn:{c}", "fn:{d}", "fn:{e}", "fn:{f}"};
    for (int round = 1; round <= 2; ++round) {
        for (const auto& key : keys) {
            auto result = run(client->eval(script, {key}, {"1"}));
            ASSERT_TRUE(result) << describe(result);
            EXPECT_EQ(result->integer, round) << key;
        }
        const auto master = cluster().master_of(key_slot(keys[0]));
        EXPECT_NE(cluster().cli(master, {"FUNCTION", "LIST"}).find(script.function()), std::string::npos);
        ASSERT_EQ(cluster().cli(master, {"FUNCTION", "FLUSH"}), "OK");
    }
}

// The slot of a key moves to another master (as a resharding does): the client's map is out of
// date, the old master answers MOVED and the call follows it. While the slot is half-moved, a
// key not yet on the old master is answered ASK, and the call goes to the new one with ASKING.
TEST_F(RedisClusterClient, FollowsAskWhileASlotMovesAndMovedOnceItMoved) {
    auto client = started(cluster_options(cluster()));
    const std::string old_key = "move:{slotted}:old", new_key = "move:{slotted}:new";
    const auto slot = key_slot(old_key);
    ASSERT_TRUE(run(client->command({"SET", old_key, "before"})));
    const auto source = cluster().master_of(slot);
    std::size_t target = source;
    for (std::size_t i = 0; i < cluster().size() && target == source; ++i)
        if (i != source && cluster().cli(i, {"ROLE"}).rfind("master", 0) == 0) target = i;
    ASSERT_NE(target, source);
    const auto s = std::to_string(slot);
    ASSERT_EQ(cluster().cli(target, {"CLUSTER", "SETSLOT", s, "IMPORTING", node_id(source)}), "OK");
    ASSERT_EQ(cluster().cli(source, {"CLUSTER", "SETSLOT", s, "MIGRATING", node_id(target)}), "OK");

    auto asked = run(client->command({"SET", new_key, "asked"}));
    ASSERT_TRUE(asked) << describe(asked);
    auto old_value = run(client->command({"GET", old_key}));
    ASSERT_TRUE(old_value) << describe(old_value);
    EXPECT_EQ(old_value->str, "before") << "still on the old master";

    ASSERT_EQ(cluster().cli(source, {"MIGRATE", "127.0.0.1", std::to_string(cluster().node(target).port()),
                                     "", "0", "5000", "AUTH", "secret", "KEYS", old_key}),
              "OK");
    for (std::size_t i = 0; i < cluster().size(); ++i)
        if (cluster().cli(i, {"ROLE"}).rfind("master", 0) == 0)
            cluster().cli(i, {"CLUSTER", "SETSLOT", s, "NODE", node_id(target)});
    auto moved = run(client->command({"GET", old_key}));
    ASSERT_TRUE(moved) << describe(moved);
    EXPECT_EQ(moved->str, "before");
    auto moved_new = run(client->command({"GET", new_key}));
    ASSERT_TRUE(moved_new) << describe(moved_new);
    EXPECT_EQ(moved_new->str, "asked") << "the ASK write went to the new master";
    EXPECT_EQ(cluster().master_of(slot), target);
}

// A manual failover (CLUSTER FAILOVER on the replica, as an upgrade does): the old master
// stays up as a replica and answers MOVED; the calls follow it to the new master.
TEST_F(RedisClusterClient, FollowsAManualFailoverWithoutAFailedCall) {
    auto client = started(cluster_options(cluster()));
    const std::string key = "manual:{failover}";
    const auto slot = key_slot(key);
    ASSERT_TRUE(run(client->command({"SET", key, "0"})));
    const auto old_master = cluster().master_of(slot);
    const auto old_id = node_id(old_master);
    std::size_t replica = cluster().size();
    for (std::size_t i = 0; i < cluster().size(); ++i)
        if (cluster().cli(i, {"CLUSTER", "MYID"}) != old_id &&
            cluster().cli(i, {"ROLE"}).rfind("slave", 0) == 0 &&
            cluster().cli(i, {"INFO", "replication"}).find(
                "master_port:" + std::to_string(cluster().node(old_master).port())) !=
                std::string::npos)
            replica = i;
    ASSERT_LT(replica, cluster().size());
    std::atomic<bool> switched = false;
    std::thread failover([&] {
        cluster().cli(replica, {"CLUSTER", "FAILOVER"});
        cluster().wait_ok(20s, static_cast<int>(slot), static_cast<int>(replica));
        switched = true;
    });
    long long slowest = 0;
    int failed = 0, calls = 0;
    while (!switched) {
        const auto start = Clock::now();
        failed += !run(client->command({"INCR", key}));
        slowest = std::max(slowest, ms_since(start));
        ++calls;
    }
    failover.join();
    EXPECT_GT(calls, 0);
    EXPECT_EQ(failed, 0) << "the old master answers MOVED, or holds the call while it hands over";
    auto after = run(client->command({"INCR", key}));
    ASSERT_TRUE(after) << describe(after);
    EXPECT_EQ(cluster().cli(replica, {"GET", key}), std::to_string(after->integer));
    EXPECT_LT(slowest, 500 + 250) << "timeout 500 ms, with room for a loaded machine";
    std::cout << "manual failover: " << calls << " calls while it ran, " << failed
              << " failed, slowest " << slowest << " ms\n";
}

// rediss://: the seed and every master are reached over TLS, each certificate checked.
TEST(RedisClusterTls, EveryMasterIsReachedOverTlsWithAuth) {
    testing::TempDir dir;
    const auto pki = testing::make_test_pki(dir);
    // The nodes connect to each other with the client certificate (the server one is only
    // good for serverAuth).
    auto cluster = RedisCluster::start({"--requirepass", "secret", "--tls-client-cert-file",
                                        pki.client_cert, "--tls-client-key-file", pki.client_key},
                                       1000ms,
                                       testing::RedisServer::Tls{pki.server_cert, pki.server_key,
                                                                 pki.ca_cert, {}, {}});
    boost::asio::io_context io;
    auto options = cluster_options(*cluster);
    config::RedisTls settings;
    settings.ca_file = pki.ca_cert;
    settings.ca_certificates = config::read_ca_certificates(pki.ca_cert);
    options.tls = gateway::redis_tls(settings);
    Client client(io.get_executor(), options);
    client.start();
    const auto until = Clock::now() + 10s;
    while (!client.connected() && Clock::now() < until) io.run_one_for(10ms);
    ASSERT_TRUE(client.connected());
    EXPECT_EQ(client.masters(), 3u);
    auto run = [&](Task<Result> task) {
        std::optional<Result> out;
        boost::asio::co_spawn(io, std::move(task), [&](std::exception_ptr, Result r) { out = r; });
        while (!out && Clock::now() < until + 5s) io.run_one_for(10ms);
        return out.value_or(Error{Error::Kind::timeout, "test: no answer"});
    };
    std::set<std::size_t> masters;
    for (int i = 0; i < 30; ++i) {
        const auto key = "tls:" + std::to_string(i);
        auto set = run(client.command({"SET", key, "v"}));
        ASSERT_TRUE(set) << describe(set);
        masters.insert(cluster->master_of(key_slot(key)));
    }
    EXPECT_EQ(masters.size(), 3u) << "calls reached every master over TLS";
    client.stop();
}

class RedisClusterFailover : public testing::PumpedIo {};

// SIGKILL on the master of a key's slot while calls go on: its replica is promoted by the
// cluster (node timeout 1 s), the client finds it in the map and the calls succeed again.
TEST_F(RedisClusterFailover, AKilledMastersReplicaTakesOverAndNoCallOutlivesItsTimeout) {
    auto cluster = RedisCluster::start({"--requirepass", "secret"});
    auto client = started(cluster_options(*cluster, 100ms));
    const std::string key = "failover:{counted}";
    const auto slot = key_slot(key);
    ASSERT_TRUE(run(client->command({"SET", key, "0"})));
    const auto victim = cluster->master_of(slot);

    std::atomic<bool> promoted = false;
    const auto killed_at = Clock::now();
    long long promotion_ms = 0;
    std::thread failover([&] {
        cluster->node(victim).kill();
        cluster->wait_ok(30s, slot);
        promotion_ms = ms_since(killed_at);
        promoted = true;
    });
    long long slowest = 0, served_again_ms = -1;
    int calls = 0, failed = 0;
    while (!promoted) {
        const auto start = Clock::now();
        const bool ok = static_cast<bool>(run(client->command({"INCR", key})));
        failed += !ok;
        if (ok && failed > 0 && served_again_ms < 0) served_again_ms = ms_since(killed_at);
        slowest = std::max(slowest, ms_since(start));
        ++calls;
        run_until([] { return false; }, 10ms);
    }
    failover.join();
    EXPECT_LT(slowest, 100 + 250) << "timeout 100 ms, with room for a loaded machine";
    EXPECT_GT(failed, 0) << "the master was away for a while";

    const auto promoted_at = Clock::now();
    Result incr;
    EXPECT_TRUE(run_until([&] { return static_cast<bool>(incr = run(client->command({"INCR", key}))); },
                          5s))
        << "still failing 5 s after the promotion: " << describe(incr);
    const auto back_ms = ms_since(promoted_at);
    const auto now_master = cluster->master_of(slot);
    EXPECT_NE(now_master, victim);
    EXPECT_EQ(cluster->cli(now_master, {"GET", key}), std::to_string(incr->integer));
    std::cout << "cluster failover: replica promoted " << promotion_ms
              << " ms after the kill; " << calls << " calls meanwhile, " << failed
              << " failed, slowest " << slowest << " ms; served again " << served_again_ms
              << " ms after the kill (-1: after the promotion was seen, " << back_ms
              << " ms later)\n";
}

}  // namespace
}  // namespace llmgw::redis
