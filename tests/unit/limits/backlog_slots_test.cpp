// Specification of a limiter backlog split by Redis Cluster slot, against a real cluster: a
// backlog of several consumers is refused whole (one script may not cross slots), and its
// groups each run on their consumer's master.
#include "llmgw/limits/backlog_slots.hpp"

#include <gtest/gtest.h>

#include <set>

#include "../redis/pumped_io.hpp"
#include "llmgw/limits/redis_usage.hpp"
#include "llmgw/redis/cluster_slot.hpp"
#include "support/redis_cluster.hpp"
#include "test_limits.hpp"

namespace llmgw::limits {
namespace {

using namespace testing;
using namespace std::chrono_literals;
using llmgw::testing::RedisCluster;
using Backlog = RedisLimiter::Backlog;
using Wall = std::chrono::system_clock;

class BacklogSlots : public llmgw::testing::PumpedIo {
protected:
    template <typename T>
    T wait(redis::Task<T> task) {
        auto out = std::make_shared<std::optional<T>>();
        boost::asio::co_spawn(io, std::move(task), [out](std::exception_ptr error, T value) {
            if (error) std::rethrow_exception(error);
            *out = std::move(value);
        });
        EXPECT_TRUE(run_until([&] { return out->has_value(); }));
        return std::move(**out);
    }
};

TEST_F(BacklogSlots, EachGroupRunsOnItsConsumersMasterAndTheWholeIsRefused) {
    auto cluster = RedisCluster::start();
    redis::Client::Options options;
    options.cluster = true;
    options.host = "127.0.0.1";
    options.port = cluster->seed_port();
    options.timeout = 2s;
    auto client = started(options);
    RedisLimiter limiter(*client);
    const auto tier = tier_of({rate(tokens, 10000, std::chrono::minutes(1))});
    const std::vector<std::string> consumers{"acme", "globex", "initech", "umbrella", "hooli"};

    Backlog backlog;
    for (const auto& consumer : consumers) {
        limiter.queue_usage(backlog, consumer, "2026-12-05", {10, 20, false, false, 0});
        limiter.queue_settle(backlog, consumer, tier, Charge{100, 0}, Charge{10, 0}, Wall::now());
        limiter.queue_renew(backlog, limiter.concurrency_key(consumer), "w1:1", 15s);
        limiter.queue_release(backlog, limiter.concurrency_key(consumer), "w1:2");
        limiter.queue_return(backlog, consumer, tier, 0, 5, Wall::now());
    }
    const auto size = backlog.size();
    EXPECT_FALSE(wait(limiter.flush(backlog))) << "keys of several slots in one script";

    auto groups = split_by_slot(Backlog(backlog));
    std::set<std::uint16_t> slots;
    std::size_t total = 0;
    for (auto& [slot, group] : groups) {
        slots.insert(slot);
        total += group.size();
        EXPECT_EQ(group.since, backlog.since);
        EXPECT_EQ(group.lease_args.size(), 3 * group.leases);
        EXPECT_TRUE(wait(limiter.flush(group))) << "slot " << slot;
    }
    EXPECT_EQ(slots.size(), consumers.size()) << "one group per consumer (each its own tag)";
    EXPECT_EQ(groups.size(), consumers.size());
    EXPECT_EQ(total, size) << "nothing lost, nothing doubled";
    for (const auto& consumer : consumers) {
        const auto key = usage_key("llmgw:", consumer, "2026-12-05");
        const auto master = cluster->master_of(redis::key_slot(key));
        EXPECT_EQ(cluster->cli(master, {"HGET", key, "prompt_tokens"}), "10") << consumer;
    }
}

}  // namespace
}  // namespace llmgw::limits
