// The llmgw binary on a Redis Cluster made at test time (three masters, a replica each): the
// limits of consumers whose keys live on different masters hold exactly, cached answers spread
// over the masters, and a master killed under load costs no request more than redis.timeout.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <iostream>
#include <map>
#include <set>
#include <thread>

#include "harness.hpp"
#include "llmgw/redis/cluster_slot.hpp"
#include "support/ports.hpp"
#include "support/redis_cluster.hpp"
#include "support/temp_dir.hpp"

using namespace std::chrono_literals;
using namespace llmgw::testing;

namespace {

using clock_type = std::chrono::steady_clock;

std::string key_of(const std::string& consumer) { return "sk-cluster-" + consumer; }

// Consumers named team-N, two on each master (their keys' hash tag is the name).
std::vector<std::string> two_per_master(RedisCluster& cluster) {
    std::map<std::size_t, int> per_master;
    std::vector<std::string> names;
    for (int i = 0; names.size() < 6 && i < 200; ++i) {
        const auto name = "team-" + std::to_string(i);
        auto& count = per_master[cluster.master_of(llmgw::redis::key_slot(name))];
        if (count == 2) continue;
        ++count;
        names.push_back(name);
    }
    return names;
}

std::string redis_section(RedisCluster& cluster, const std::string& rest) {
    // The url names a node that is down: the nodes are seeds too.
    return "redis:\n  url: \"redis://:secret@127.0.0.1:" + std::to_string(free_port()) +
           "\"\n  nodes: [\"redis://127.0.0.1:" + std::to_string(cluster.seed_port()) +
           "\"]\n  cluster: true\n" + rest;
}

std::string consumers(const std::vector<std::string>& names, const std::string& limits) {
    std::string out = "tiers:\n  metered: " + limits + "\nconsumers:\n";
    for (const auto& name : names)
        out += "  - { name: " + name + ", tier: metered, keys: [ { sha256: \"" +
               sha256_hex(key_of(name)) + "\" } ] }\n";
    return out;
}

HttpResponse chat(const RunningGateway& gateway, const std::string& consumer,
                  const std::string& question = "hello") {
    return gateway.post("/v1/chat/completions",
                        {{"model", "fake-model"},
                         {"messages", {{{"role", "user"}, {"content", question}}}}},
                        {{"authorization", "Bearer " + key_of(consumer)}});
}

class RedisClusterGateway : public ::testing::Test {
protected:
    static void SetUpTestSuite() { cluster_ = RedisCluster::start({"--requirepass", "secret"}); }
    static void TearDownTestSuite() { cluster_.reset(); }
    static RedisCluster& cluster() { return *cluster_; }
    // A gateway failing closed on the cluster, for `names` on one tier of `limits`.
    static RunningGateway gateway_for(const std::vector<std::string>& names,
                                      const std::string& limits, const FakeModel& model) {
        return RunningGateway::start(
            redis_section(cluster(), "  timeout: 2s\n  failure_mode: closed\n") +
            consumers(names, limits) + backend_and_route(model));
    }
    static std::unique_ptr<RedisCluster> cluster_;
};
std::unique_ptr<RedisCluster> RedisClusterGateway::cluster_;

}  // namespace

// Requests of six consumers interleaved: each admission carries the usage records of its own
// slot only, the others' go in calls of their own (one script may not cross slots).
TEST_F(RedisClusterGateway, LimitsOfConsumersOnEveryMasterHoldExactly) {
    const auto names = two_per_master(cluster());
    ASSERT_EQ(names.size(), 6u);
    auto model = FakeModel::start("m1");
    auto gateway = gateway_for(names, "{ quota: { requests_per_day: 3 } }", model);
    std::map<std::string, std::map<int, int>> statuses;
    for (int round = 0; round < 5; ++round)
        for (const auto& name : names) ++statuses[name][chat(gateway, name).status];
    for (const auto& name : names) {
        EXPECT_EQ(statuses[name][200], 3) << name;
        EXPECT_EQ(statuses[name][429], 2) << name;
    }
    EXPECT_EQ(model.stats()["requests_total"], 18);
    // The usage records reach Redis, each on its consumer's master.
    for (const auto& name : names) {
        const auto master = cluster().master_of(llmgw::redis::key_slot(name));
        EXPECT_TRUE(eventually(
            [&] {
                const auto keys = cluster().cli(master, {"--scan", "--pattern", "llmgw:usage:{" + name + "}:*"});
                return !keys.empty() && cluster().cli(master, {"HGET", keys, "requests"}) == "3";
            },
            5s))
            << name;
    }
}

// max_concurrent: each admission takes a lease on its consumer's master; the releases of
// several consumers wait in one backlog and go back in a call per slot.
TEST_F(RedisClusterGateway, ConcurrencyLeasesOfConsumersOnEveryMasterAreGivenBack) {
    const auto names = two_per_master(cluster());
    ASSERT_EQ(names.size(), 6u);
    auto model = FakeModel::start("m1");
    auto gateway = gateway_for(names, "{ max_concurrent: 1, quota: { requests_per_day: 1000 } }", model);
    const auto leases_held = [&] {
        int held = 0;
        for (const auto& name : names)
            held += std::stoi(cluster().cli(cluster().master_of(llmgw::redis::key_slot(name)),
                                             {"ZCARD", "llmgw:cc:{" + name + "}"}));
        return held;
    };
    for (int round = 0; round < 3; ++round) {
        for (const auto& name : names) EXPECT_EQ(chat(gateway, name).status, 200) << name;
        EXPECT_TRUE(eventually([&] { return leases_held() == 0; }, 5s))
            << "round " << round << ": " << leases_held() << " leases still held";
    }
}

TEST_F(RedisClusterGateway, CachedAnswersSpreadOverTheMastersAndAPurgeClearsEveryOne) {
    auto model = FakeModel::start("m1");
    const auto yaml = redis_section(cluster(), "  timeout: 2s\n") + "cache: { store: redis }\n" +
                      consumers({"team-0"}, "{}") + "backends: { vllm: { endpoints: [ { url: \"" +
                      model.url() +
                      "\" } ] } }\nroutes:\n  - { name: chat, backend: vllm, match: { "
                      "path_prefix: /v1/ }, cache: { ttl: 10m } }\n";
    auto first = RunningGateway::start(yaml);
    auto second = RunningGateway::start(yaml);
    for (int i = 0; i < 12; ++i)
        ASSERT_EQ(chat(first, "team-0", "question " + std::to_string(i)).header("x-cache"), "MISS");
    ASSERT_TRUE(first.wait_for_access_lines(12, 5s));
    for (int i = 0; i < 12; ++i)
        EXPECT_EQ(chat(second, "team-0", "question " + std::to_string(i)).header("x-cache"), "HIT")
            << i;
    EXPECT_EQ(model.stats()["requests_total"], 12);
    int masters_holding = 0;
    for (std::size_t i = 0; i < cluster().size(); ++i)
        masters_holding += cluster().cli(i, {"ROLE"}).rfind("master", 0) == 0 &&
                           !cluster().cli(i, {"--scan", "--pattern", "llmgw:cache:*"}).empty();
    EXPECT_GE(masters_holding, 2) << "twelve entries, spread by their keys' slots";
    const auto purged = http_request(second.admin_port(), {"DELETE", "/admin/cache"});
    ASSERT_EQ(purged.status, 200) << purged.body;
    EXPECT_EQ(purged.json()["purged"], 12);
    EXPECT_EQ(chat(first, "team-0", "question 0").header("x-cache"), "MISS");
}

// SIGKILL on the master holding a consumer's limits while requests run: the cluster promotes
// its replica, and the gateway finds it without a restart.
TEST(RedisClusterFailover, AMasterKilledUnderLoadKeepsEveryRequestBoundedAndLimitsHoldAgain) {
    auto cluster = RedisCluster::start({"--requirepass", "secret"});
    auto model = FakeModel::start("m1");
    auto gateway = RunningGateway::start(
        redis_section(*cluster, "  timeout: 200ms\n") +
        consumers({"team-0", "team-1"}, "{ quota: { requests_per_day: 100 } }") +
        backend_and_route(model));
    for (int i = 0; i < 5; ++i) ASSERT_EQ(chat(gateway, "team-0").status, 200);
    const auto slot = llmgw::redis::key_slot("team-0");
    const auto victim = cluster->master_of(slot);

    std::atomic<bool> promoted = false;
    const auto killed_at = clock_type::now();
    std::thread failover([&] {
        cluster->node(victim).kill();
        cluster->wait_ok(30s, static_cast<int>(slot));
        promoted = true;
    });
    auto slowest = clock_type::duration::zero();
    int requests = 0;
    while (!promoted) {
        for (const auto* name : {"team-0", "team-1"}) {
            const auto start = clock_type::now();
            const int status = chat(gateway, name).status;
            slowest = std::max(slowest, clock_type::now() - start);
            EXPECT_TRUE(status == 200 || status == 429) << status;
            ++requests;
        }
        std::this_thread::sleep_for(10ms);  // load, not a wait: the loop ends on `promoted`
    }
    failover.join();
    const auto promotion_took = clock_type::now() - killed_at;
    EXPECT_LT(slowest, 200ms + 400ms) << "redis.timeout 200 ms, with room for a loaded machine";
    EXPECT_TRUE(gateway.process().running());

    const auto fail_open = [&] {
        return metric_value(metrics_of(gateway), "llmgw_redis_fail_open_total");
    };
    const auto promoted_at = clock_type::now();
    EXPECT_TRUE(eventually(
        [&] {
            const auto before = fail_open();
            // Twenty: each lands on either worker, and each worker finds the new master.
            for (int i = 0; i < 20; ++i) chat(gateway, "team-0");
            return fail_open() == before;
        },
        10s))
        << "still deciding in process 10 s after the promotion";
    const auto back_after = clock_type::now() - promoted_at;
    const auto open_before = fail_open();
    int admitted = 0;
    int status = 200;
    while (admitted < 200 && (status = chat(gateway, "team-0").status) == 200) ++admitted;
    EXPECT_EQ(status, 429);
    EXPECT_LE(admitted, 75) << "100 a day, 25 or more of them before: counted in Redis";
    EXPECT_EQ(fail_open(), open_before) << "every one decided in Redis";
    const auto ms = [](auto d) {
        return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
    };
    std::cout << "cluster failover under load: " << requests << " requests; the replica was "
              << "promoted (every node agreeing) " << ms(promotion_took)
              << " ms after the kill; slowest answer " << ms(slowest)
              << " ms; decided in Redis again " << ms(back_after)
              << " ms after the promotion was seen\n";
}

TEST(RedisClusterConfig, CheckStaysOfflineAndClusterWithSentinelFailsNamingTheKey) {
    TempDir dir;
    const std::string rest =
        "backends: { b: { endpoints: [ { url: \"http://127.0.0.1:1\" } ] } }\n"
        "routes: [ { name: r, backend: b } ]\n";
    std::string out, err;
    const auto ok = dir.write("ok.yaml", "redis:\n  url: \"redis://127.0.0.1:" +
                                             std::to_string(free_port()) +
                                             "\"\n  cluster: true\n" + rest);
    EXPECT_EQ(run_to_exit(LLMGW_BINARY, {"--config", ok, "--check"}, 10s, &out, &err), 0)
        << out << err << " (nothing listens there: --check does not connect)";
    const auto both = dir.write("both.yaml",
                                "redis:\n  url: \"redis://127.0.0.1:7000\"\n  cluster: true\n"
                                "  sentinel: { master: m }\n" + rest);
    out.clear();
    err.clear();
    EXPECT_NE(run_to_exit(LLMGW_BINARY, {"--config", both, "--check"}, 10s, &out, &err), 0);
    EXPECT_THAT(out + err, ::testing::HasSubstr("both.yaml:3: redis.cluster: cannot be used with sentinel"));
}
