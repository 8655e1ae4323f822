// RedisLimiter against a real redis-server: parity with LocalLimiter, keys, concurrency, failures, UTC windows.
#include "llmgw/limits/redis_limiter.hpp"
#include "llmgw/limits/redis_usage.hpp"

#include "test_limits.hpp"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdio>
#include <functional>
#include <memory>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "../../../src/limits/limit_scripts.hpp"
#include "support/redis_server.hpp"
#include "support/run_until.hpp"

using namespace llmgw::limits::testing;

namespace {

namespace asio = boost::asio;
using namespace std::chrono;
using namespace std::chrono_literals;
using llmgw::config::Limit;
using llmgw::config::Tier;
using llmgw::limits::Decision;
using llmgw::limits::LocalLimiter;
using llmgw::limits::RedisLimiter;
using llmgw::redis::Client;
using llmgw::redis::Task;
using llmgw::testing::RedisServer;
using Wall = llmgw::limits::Clock;
using Steady = std::chrono::steady_clock;


Client::Options options_for(uint16_t port) {
    Client::Options o;
    o.host = "127.0.0.1";
    o.port = port;
    o.timeout = 1s;  // generous: a loaded test machine must not turn into failures
    o.reconnect_min = 20ms;
    o.reconnect_max = 200ms;
    return o;
}

using llmgw::testing::run_until;

// The seconds until the UTC window holding `now` ends, as LocalLimiter rounds them.
seconds until_window_end(Limit::Window window, Wall::time_point now = Wall::now()) {
    return ceil<seconds>(llmgw::limits::window_end(window, now) - now);
}

std::string utc_suffix(Limit::Window window, Wall::time_point now = Wall::now()) {
    const year_month_day date{floor<days>(now)};
    char text[16];
    if (window == Limit::Window::day)
        std::snprintf(text, sizeof text, "d%04d%02u%02u", static_cast<int>(date.year()),
                      static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()));
    else
        std::snprintf(text, sizeof text, "m%04d%02u", static_cast<int>(date.year()), static_cast<unsigned>(date.month()));
    return text;
}

void expect_near(seconds actual, seconds expected, seconds tolerance, const char* what) {
    EXPECT_LE(actual, expected + tolerance) << what;
    EXPECT_GE(actual, expected - tolerance) << what;
}

// The same decision, allowing `tolerance` on times (real time passes between the two calls).
void expect_same(const Decision& redis, const Decision& local, seconds tolerance = 1s) {
    EXPECT_EQ(redis.admitted, local.admitted);
    EXPECT_EQ(redis.refused_by, local.refused_by);
    expect_near(redis.retry_after, local.retry_after, tolerance, "retry_after");
    ASSERT_EQ(redis.states.size(), local.states.size());
    for (std::size_t i = 0; i < redis.states.size(); ++i) {
        EXPECT_EQ(redis.states[i].limit, local.states[i].limit) << "limit " << i;
        EXPECT_EQ(redis.states[i].remaining, local.states[i].remaining) << "remaining of limit " << i;
        expect_near(redis.states[i].reset, local.states[i].reset, tolerance, "reset");
    }
}

class RedisLimiterTest : public ::testing::Test {
  protected:
    RedisServer server = RedisServer::start();
    asio::io_context io;
    asio::executor_work_guard<asio::io_context::executor_type> work = asio::make_work_guard(io);
    std::unique_ptr<Client> client = started();
    RedisLimiter limiter{*client};
    LocalLimiter local;

    std::unique_ptr<Client> started() {
        auto c = std::make_unique<Client>(io.get_executor(), options_for(server.port()));
        c->start();
        if (!run_until(io, [&] { return c->connected(); })) throw std::runtime_error("never connected");
        return c;
    }

    // Runs one task to completion, pumping the io_context.
    template <typename T>
    T run(Task<T> task) {
        auto out = std::make_shared<std::optional<T>>();
        asio::co_spawn(io, std::move(task), [out](std::exception_ptr error, T value) {
            if (error) std::rethrow_exception(error);
            *out = std::move(value);
        });
        if (!run_until(io, [&] { return out->has_value(); })) throw std::runtime_error("call never finished");
        return std::move(**out);
    }

    // A limit's state in acme's hash: its field `<field>:p`, two little-endian doubles (decoded
    // by Redis); {-1, -1} when missing.
    std::pair<double, double> packed(const Tier& tier, std::size_t index) {
        static const std::string decode =
            "local p = redis.call('HGET', KEYS[1], ARGV[1]) if not p then return '-1 -1' end "
            "local a, b = struct.unpack('<dd', p) return string.format('%.17g %.17g', a, b)";
        std::istringstream text(server.cli({"EVAL", decode, "1", limiter.key("acme", tier),
                                            RedisLimiter::field(tier, index) + ":p"}));
        std::pair<double, double> numbers{-2, -2};
        text >> numbers.first >> numbers.second;
        return numbers;
    }

    Decision admit(const Tier& tier, const std::string& consumer = "acme") {
        auto decision = run(limiter.admit(consumer, tier));
        if (!decision) throw std::runtime_error("admit failed");
        return *decision;
    }

    // Admits on both limiters and expects the same decision; returns Redis's.
    Decision both(const Tier& tier, const std::string& consumer = "acme") {
        const auto redis = admit(tier, consumer);
        expect_same(redis, local.admit(consumer, tier, Wall::now()));
        return redis;
    }

    void settle_both(const Tier& tier, std::uint64_t used, const std::string& consumer = "acme") {
        EXPECT_TRUE(run(limiter.settle(consumer, tier, used)));
        local.settle(consumer, tier, used, Wall::now());
    }

    int admitted_both(const Tier& tier, int attempts, const std::string& consumer = "acme") {
        int count = 0;
        for (int i = 0; i < attempts; ++i) count += both(tier, consumer).admitted ? 1 : 0;
        return count;
    }
};

class RedisLimiterParity : public RedisLimiterTest {};
class RedisLimiterAllOrNothing : public RedisLimiterTest {};
class RedisLimiterKeys : public RedisLimiterTest {};
class RedisLimiterConcurrency : public RedisLimiterTest {
protected:
    // One ask of `consumer` per tier in `tiers` (reserving nothing), all in one call: each with
    // its decision.
    std::vector<RedisLimiter::Ask> admit_in_one_call(
        std::initializer_list<const llmgw::config::Tier*> tiers, const std::string& consumer) {
        static const llmgw::limits::ConcurrencyLease no_lease;
        std::vector<RedisLimiter::Ask> asks;
        for (const auto* tier : tiers)
            asks.push_back({&consumer, tier, llmgw::limits::Charge{}, &no_lease, nullptr, std::nullopt});
        std::vector<RedisLimiter::Ask*> pointers;
        for (auto& ask : asks) pointers.push_back(&ask);
        const RedisLimiter::Backlog nothing;
        EXPECT_TRUE(run(limiter.admit_all(nothing, pointers)));
        return asks;
    }
};
class RedisLimiterFailure : public RedisLimiterTest {};
class RedisLimiterWindows : public RedisLimiterTest {};

TEST_F(RedisLimiterParity, RequestRateAdmitsExactlyTheBucketThenRetryAfterOne) {
    const auto tier = tier_of({rate(requests, 100, minutes(1))});
    EXPECT_EQ(admitted_both(tier, 100), 100);
    const auto refused = both(tier);
    EXPECT_FALSE(refused.admitted);
    EXPECT_EQ(refused.refused_by, &tier.limits[0]);
    EXPECT_EQ(refused.retry_after, 1s);  // one request refills in 0.6 s
    EXPECT_EQ(refused.states[0].remaining, 0u);
}

TEST_F(RedisLimiterParity, BurstIsTheBucketCapacity) {
    const auto tier = tier_of({rate(requests, 1000, minutes(1), 50)});
    EXPECT_EQ(admitted_both(tier, 60), 50);
    EXPECT_EQ(both(tier).retry_after, 1s);
}

TEST_F(RedisLimiterParity, TwoRatesTogether) {
    const auto tier = tier_of({rate(requests, 10, minutes(1)), rate(requests, 12, hours(1))});
    EXPECT_EQ(admitted_both(tier, 11), 10);
    const auto refused = both(tier);
    EXPECT_EQ(refused.refused_by, &tier.limits[0]);
    EXPECT_EQ(refused.retry_after, 6s);
    EXPECT_EQ(refused.states[1].remaining, 2u);
}

TEST_F(RedisLimiterParity, NamesTheRefusingLimitWithTheLongestWait) {
    const auto tier = tier_of({rate(requests, 1, seconds(1)), rate(requests, 1, minutes(1))});
    EXPECT_TRUE(both(tier).admitted);
    const auto refused = both(tier);
    EXPECT_EQ(refused.refused_by, &tier.limits[1]);
    EXPECT_EQ(refused.retry_after, 60s);
}

TEST_F(RedisLimiterParity, TokenRateAdmitsWhileTokensAreLeftAndSettleDebtBlocks) {
    // An hour's period: the refill during the test stays far below one token.
    const auto slow = tier_of({rate(tokens, 1000, hours(1))});
    EXPECT_EQ(admitted_both(slow, 5), 5);
    settle_both(slow, 999);
    EXPECT_EQ(both(slow).states[0].remaining, 1u);

    const auto tier = tier_of({rate(tokens, 1000, minutes(1))});
    EXPECT_TRUE(both(tier).admitted);
    settle_both(tier, 5000);  // 4000 in debt: 240 s to reach 0, 241 s to be above it
    const auto refused = both(tier);
    EXPECT_FALSE(refused.admitted);
    EXPECT_EQ(refused.refused_by, &tier.limits[0]);
    EXPECT_EQ(refused.states[0].remaining, 0u);
    EXPECT_GE(refused.retry_after, 240s);
    EXPECT_LE(refused.retry_after, 241s);
}

TEST_F(RedisLimiterParity, RequestQuotaPerUtcDay) {
    const auto tier = tier_of({quota(requests, 3, Limit::Window::day)});
    EXPECT_EQ(admitted_both(tier, 5), 3);
    const auto refused = both(tier);
    EXPECT_EQ(refused.refused_by, &tier.limits[0]);
    expect_near(refused.retry_after, std::max(until_window_end(Limit::Window::day), 1s), 1s, "until midnight");
}

TEST_F(RedisLimiterParity, TokenQuotaCountsSettledTokens) {
    const auto tier = tier_of({quota(tokens, 1000, Limit::Window::month)});
    EXPECT_TRUE(both(tier).admitted);
    settle_both(tier, 600);
    const auto second = both(tier);
    EXPECT_TRUE(second.admitted);
    EXPECT_EQ(second.states[0].remaining, 400u);
    settle_both(tier, 600);
    const auto refused = both(tier);
    EXPECT_FALSE(refused.admitted);
    EXPECT_EQ(refused.states[0].remaining, 0u);
    expect_near(refused.retry_after, until_window_end(Limit::Window::month), 1s, "until the 1st");
}

TEST_F(RedisLimiterParity, StatesReportRemainingAndReset) {
    const auto tier = tier_of({rate(requests, 100, minutes(1)), rate(tokens, 1000, minutes(1)),
                               quota(requests, 10, Limit::Window::day)});
    const auto first = both(tier);
    ASSERT_EQ(first.states.size(), 3u);
    for (std::size_t i = 0; i < 3; ++i) EXPECT_EQ(first.states[i].limit, &tier.limits[i]);
    EXPECT_EQ(first.states[0].remaining, 99u);
    EXPECT_EQ(first.states[0].reset, 1s);  // 0.6 s until full again
    EXPECT_EQ(first.states[1].remaining, 1000u);
    EXPECT_EQ(first.states[1].reset, 0s);  // full
    EXPECT_EQ(first.states[2].remaining, 9u);
    expect_near(first.states[2].reset, until_window_end(Limit::Window::day), 1s, "until midnight");

    settle_both(tier, 1500);
    const auto refused = both(tier);
    EXPECT_FALSE(refused.admitted);
    EXPECT_EQ(refused.refused_by, &tier.limits[1]);
    EXPECT_EQ(refused.states[0].remaining, 99u);  // the refused request took nothing
    EXPECT_EQ(refused.states[1].remaining, 0u);
    expect_near(refused.states[1].reset, 90s, 1s, "1500 tokens to refill");
    EXPECT_EQ(refused.states[2].remaining, 9u);
}

TEST_F(RedisLimiterParity, UnlimitedTiersAdmitWithoutStates) {
    const auto unlimited = tier_of({});
    const auto decision = both(unlimited);
    EXPECT_TRUE(decision.admitted);
    EXPECT_TRUE(decision.states.empty());
    EXPECT_TRUE(run(limiter.settle("acme", unlimited, 1000)));
    EXPECT_EQ(server.cli({"DBSIZE"}), "0");
}

TEST_F(RedisLimiterParity, ChangedAmountsKeepTheStateAndNewLimitsStartFresh) {
    const auto one_per_minute = tier_of({rate(requests, 1, minutes(1)), quota(requests, 5, Limit::Window::day)});
    EXPECT_EQ(admitted_both(one_per_minute, 2), 1);
    const auto two_per_minute = tier_of({rate(requests, 2, minutes(1)), quota(requests, 5, Limit::Window::day)});
    const auto refused = both(two_per_minute);
    EXPECT_FALSE(refused.admitted);
    EXPECT_EQ(refused.states[1].remaining, 4u);
    const auto daily = tier_of({quota(requests, 1, Limit::Window::day)});
    EXPECT_TRUE(both(daily).admitted);
}

TEST_F(RedisLimiterParity, RefillsOverRealTime) {
    const auto tier = tier_of({rate(requests, 4, seconds(1))});
    EXPECT_EQ(admitted_both(tier, 5), 4);
    // One request refills in 250 ms; poll for up to 2 s.
    const auto start = Steady::now();
    bool again = false;
    while (!again && Steady::now() - start < 2s) {
        std::this_thread::sleep_for(20ms);
        again = admit(tier).admitted;
    }
    EXPECT_TRUE(again);
    EXPECT_GE(Steady::now() - start, 50ms);
}

TEST_F(RedisLimiterAllOrNothing, ARequestRefusedByTheQuotaDoesNotConsumeTheRate) {
    const auto tier = tier_of({rate(requests, 10, minutes(1)), quota(requests, 2, Limit::Window::day)});
    EXPECT_EQ(admitted_both(tier, 10), 2);
    const auto refused = both(tier);
    EXPECT_EQ(refused.refused_by, &tier.limits[1]);
    EXPECT_EQ(refused.states[0].remaining, 8u);
    EXPECT_EQ(refused.states[1].remaining, 0u);
}

TEST_F(RedisLimiterAllOrNothing, ARequestRefusedByTheRateDoesNotConsumeTheQuota) {
    const auto tier = tier_of({rate(requests, 2, minutes(1)), quota(requests, 10, Limit::Window::day)});
    EXPECT_EQ(admitted_both(tier, 10), 2);
    EXPECT_EQ(both(tier).states[1].remaining, 8u);
}

TEST_F(RedisLimiterAllOrNothing, TokenDebtBlocksWithoutTakingRequests) {
    const auto tier = tier_of({rate(requests, 10, minutes(1)), rate(tokens, 600, minutes(1))});
    EXPECT_TRUE(both(tier).admitted);
    settle_both(tier, 1200);  // 600 in debt: 60 s
    EXPECT_EQ(admitted_both(tier, 20), 0);
    EXPECT_EQ(both(tier).states[0].remaining, 9u);
}

TEST_F(RedisLimiterKeys, LayoutWindowsAndExpiry) {
    const auto tier = tier_of({rate(requests, 10, minutes(1)), rate(tokens, 1000, minutes(1)),
                               quota(requests, 5, Limit::Window::day), quota(tokens, 100, Limit::Window::month)});
    const auto now = Wall::now();
    EXPECT_TRUE(admit(tier).admitted);
    EXPECT_TRUE(run(limiter.settle("acme", tier, 10)));
    // One hash for the consumer's tier, whatever the number of limits.
    const auto hash = limiter.key("acme", tier);
    EXPECT_EQ(hash, "llmgw:rl:{acme}:test");
    EXPECT_EQ(server.cli({"DBSIZE"}), "1");
    EXPECT_EQ(RedisLimiter::field(tier, 0), "0:requests.rate.60000ms");
    EXPECT_EQ(RedisLimiter::field(tier, 1), "1:tokens.rate.60000ms");
    EXPECT_EQ(RedisLimiter::field(tier, 2), "2:requests.quota.day");
    EXPECT_EQ(RedisLimiter::field(tier, 3), "3:tokens.quota.month");
    // Each limit one field of two packed numbers: a bucket's level and time, a quota's count
    // and the end of its window; and `x`, when the hash expires.
    const auto end_of = [&](Limit::Window window) {
        return static_cast<double>(floor<seconds>(llmgw::limits::window_end(window, now).time_since_epoch()).count());
    };
    EXPECT_EQ(packed(tier, 0).first, 9.0);  // rounding aside: it refills
    EXPECT_EQ(packed(tier, 2), std::make_pair(1.0, end_of(Limit::Window::day)));
    EXPECT_EQ(packed(tier, 3), std::make_pair(10.0, end_of(Limit::Window::month)));
    EXPECT_EQ(server.cli({"HLEN", hash}), "5");
    // The hash lives as long as its longest need: a day after the month's window ends.
    expect_near(seconds(std::stol(server.cli({"TTL", hash}))), until_window_end(Limit::Window::month, now) + 24h,
                3s, "hash TTL");
}

TEST_F(RedisLimiterKeys, IdleBucketsVanish) {
    const auto tier = tier_of({rate(requests, 10, seconds(1))});
    EXPECT_TRUE(admit(tier).admitted);
    const auto key = limiter.key("acme", tier);
    EXPECT_EQ(server.cli({"EXISTS", key}), "1");
    // Full again after 0.1 s; the hash outlives that by at most 2 s.
    const auto ttl = std::stol(server.cli({"PTTL", key}));
    EXPECT_GT(ttl, 0);
    EXPECT_LE(ttl, 2100);
    const auto start = Steady::now();
    while (server.cli({"EXISTS", key}) == "1" && Steady::now() - start < 5s) std::this_thread::sleep_for(50ms);
    EXPECT_EQ(server.cli({"EXISTS", key}), "0");
}

// Versions before the hash kept each limit in a key of its own: their counts carry on.
TEST_F(RedisLimiterKeys, CountsInTheOldOneKeyPerLimitLayoutCarryOn) {
    const auto tier = tier_of({rate(requests, 10, minutes(1)), quota(requests, 5, Limit::Window::day)});
    const auto hash = limiter.key("acme", tier);
    const auto old_quota = hash + ":" + RedisLimiter::field(tier, 1) + ":" + utc_suffix(Limit::Window::day);
    server.cli({"SET", old_quota, "4"});
    const auto old_bucket = hash + ":" + RedisLimiter::field(tier, 0);
    const auto now_us = std::chrono::duration_cast<std::chrono::microseconds>(Wall::now().time_since_epoch());
    server.cli({"HSET", old_bucket, "level", "2", "at", std::to_string(now_us.count())});
    const auto first = admit(tier);
    EXPECT_TRUE(first.admitted);
    EXPECT_EQ(first.states[0].remaining, 1u);  // 2 in the old bucket, one taken
    EXPECT_EQ(first.states[1].remaining, 0u);  // 4 of 5 in the old key, one taken
    EXPECT_FALSE(admit(tier).admitted);
    EXPECT_EQ(packed(tier, 1).first, 5.0);
}

// The version before kept each limit in two text fields of the hash (`:a` and `:b`): their
// counts carry on, and the fields go once the limit is written in the packed field.
TEST_F(RedisLimiterKeys, CountsInTheTwoTextFieldsLayoutCarryOn) {
    const auto tier = tier_of({rate(requests, 10, minutes(1)), quota(requests, 5, Limit::Window::day),
                               quota(requests, 50, Limit::Window::month)});
    const auto hash = limiter.key("acme", tier);
    const auto now_us = std::chrono::duration_cast<std::chrono::microseconds>(Wall::now().time_since_epoch());
    const auto bucket = RedisLimiter::field(tier, 0), day = RedisLimiter::field(tier, 1);
    const auto month = RedisLimiter::field(tier, 2);
    server.cli({"HSET", hash, bucket + ":a", "2.5", bucket + ":b", std::to_string(now_us.count()), day + ":a", "4",
                day + ":b", utc_suffix(Limit::Window::day), month + ":a", "7", month + ":b", "m200001"});
    const auto first = admit(tier);
    EXPECT_TRUE(first.admitted);
    EXPECT_EQ(first.states[0].remaining, 1u);   // 2.5 in the bucket, one taken
    EXPECT_EQ(first.states[1].remaining, 0u);   // 4 of 5 today, one taken
    EXPECT_EQ(first.states[2].remaining, 49u);  // a count of another month is not this one's
    EXPECT_EQ(server.cli({"HEXISTS", hash, day + ":a"}), "0");
    EXPECT_EQ(server.cli({"HEXISTS", hash, bucket + ":b"}), "0");
    EXPECT_EQ(server.cli({"HLEN", hash}), "4");  // three packed fields and the expiry
    EXPECT_EQ(packed(tier, 1).first, 5.0);
    EXPECT_FALSE(admit(tier).admitted);
}

TEST_F(RedisLimiterKeys, ConsumerNamesAreEscapedSoTheyCannotCollide) {
    const auto tier = tier_of({rate(requests, 5, minutes(1))});
    for (const std::string consumer : {"x:1", "x", "x%3A1", "x}:{1", "caf\xc3\xa9 bar"}) {
        EXPECT_EQ(admitted_both(tier, 10, consumer), 5) << consumer;
    }
    EXPECT_EQ(server.cli({"DBSIZE"}), "5");
    EXPECT_EQ(limiter.key("x:1", tier), "llmgw:rl:{x%3A1}:test");
    EXPECT_EQ(limiter.key("x%3A1", tier), "llmgw:rl:{x%253A1}:test");
    EXPECT_EQ(limiter.key("x}:{1", tier), "llmgw:rl:{x%7D%3A%7B1}:test");
    RedisLimiter prefixed(*client, "other:");
    EXPECT_EQ(prefixed.key("x", tier), "other:rl:{x}:test");
}

// Counts one admit's outcome.
Task<void> count_admit(RedisLimiter& limiter, const std::string& consumer, const Tier& tier, int& admitted,
                       int& failed, int& finished) {
    auto decision = co_await limiter.admit(consumer, tier);
    if (!decision) ++failed;
    else if (decision->admitted) ++admitted;
    ++finished;
}

TEST_F(RedisLimiterConcurrency, ThreeHundredPipelinedAdmitsGetExactlyTheQuota) {
    const auto tier = tier_of({quota(requests, 100, Limit::Window::day)});
    const std::string consumer = "acme";
    int admitted = 0, failed = 0, finished = 0;
    for (int i = 0; i < 300; ++i)
        asio::co_spawn(io, count_admit(limiter, consumer, tier, admitted, failed, finished), asio::detached);
    ASSERT_TRUE(run_until(io, [&] { return finished == 300; }, 10s)) << finished;
    EXPECT_EQ(failed, 0);
    EXPECT_EQ(admitted, 100);
}

// Several requests' admissions in one call are decided in order, each as if alone: the third
// request of a consumer with a quota of two is refused, another consumer's (between them) is
// admitted, and a tier without limits is admitted without being sent.
TEST_F(RedisLimiterConcurrency, AdmissionsSharingOneCallAreDecidedInOrder) {
    const auto tier = tier_of({quota(requests, 2, Limit::Window::day)});
    const auto unlimited = tier_of({});
    const std::string acme = "acme", other = "other";
    const llmgw::limits::ConcurrencyLease no_lease;
    std::vector<RedisLimiter::Ask> asks;
    for (const auto* consumer : {&acme, &other, &acme, &acme})
        asks.push_back({consumer, &tier, llmgw::limits::Charge{}, &no_lease, nullptr, std::nullopt});
    asks.push_back({&acme, &unlimited, llmgw::limits::Charge{}, &no_lease, nullptr, std::nullopt});
    std::vector<RedisLimiter::Ask*> pointers;
    for (auto& ask : asks) pointers.push_back(&ask);
    const RedisLimiter::Backlog nothing;
    admit(tier, "warm-up");  // loads the script
    server.cli({"CONFIG", "RESETSTAT"});
    ASSERT_TRUE(run(limiter.admit_all(nothing, pointers)));
    std::vector<bool> admitted;
    for (const auto& ask : asks) {
        ASSERT_TRUE(ask.decision.has_value());
        admitted.push_back(ask.decision->admitted);
    }
    EXPECT_EQ(admitted, (std::vector<bool>{true, true, true, false, true}));
    EXPECT_EQ(asks[1].decision->states.at(0).remaining, 1u);
    EXPECT_EQ(asks[2].decision->states.at(0).remaining, 0u);
    EXPECT_EQ(asks[3].decision->refused_by, &tier.limits[0]);
    // Redis saw one script call for all five.
    EXPECT_NE(server.cli({"INFO", "commandstats"}).find("cmdstat_fcall:calls=1,"), std::string::npos);
    // The script reads a consumer's hash once for admissions that follow each other and writes
    // it when another consumer's turn comes or the call ends: all of it is in Redis after.
    EXPECT_FALSE(admit(tier, acme).admitted);
    const auto others_second = admit(tier, other);
    EXPECT_TRUE(others_second.admitted);
    EXPECT_EQ(others_second.states.at(0).remaining, 0u);
}

// A reload in the middle of a burst: requests of the old and the new tier (one name, one hash)
// share a call, and each counts what the other took.
TEST_F(RedisLimiterConcurrency, TheOldAndNewTierOfOneNameInOneCallCountTogether) {
    const auto before = tier_of({quota(requests, 3, Limit::Window::day)});
    const auto after = tier_of({quota(requests, 5, Limit::Window::day)});
    ASSERT_EQ(before.name, after.name);
    const std::string acme = "acme";
    const auto asks = admit_in_one_call({&before, &after, &before, &after}, acme);
    std::vector<std::uint64_t> remaining;
    for (const auto& ask : asks) {
        ASSERT_TRUE(ask.decision.has_value());
        EXPECT_TRUE(ask.decision->admitted);
        remaining.push_back(ask.decision->states.at(0).remaining);
    }
    EXPECT_EQ(remaining, (std::vector<std::uint64_t>{2, 3, 0, 1}));
    EXPECT_EQ(admit(after, acme).states.at(0).remaining, 0u) << "four taken, then the fifth";
}

// A burst of one consumer's same ask goes as one admission and repeats of it (limit_scripts.hpp),
// decided by a shorter path: each decision is still LocalLimiter's, across the edge where the
// token bucket runs dry (refused, then a smaller ask that fits).
TEST_F(RedisLimiterConcurrency, ABurstOfTheSameAskIsDecidedAsOneByOne) {
    const auto tier = tier_of({rate(tokens, 100, hours(1)), rate(requests, 10, hours(1)),
                               quota(requests, 8, Limit::Window::day), quota(Limit::Unit::cost, 50, Limit::Window::day)});
    const std::string acme = "acme";
    const llmgw::limits::ConcurrencyLease no_lease;
    std::vector<RedisLimiter::Ask> asks;
    for (int i = 0; i < 6; ++i)
        asks.push_back({&acme, &tier, llmgw::limits::Charge{30, 7}, &no_lease, nullptr, std::nullopt});
    asks.push_back({&acme, &tier, llmgw::limits::Charge{5, 7}, &no_lease, nullptr, std::nullopt});
    asks.push_back({&acme, &tier, llmgw::limits::Charge{5, 7}, &no_lease, nullptr, std::nullopt});
    std::vector<RedisLimiter::Ask*> pointers;
    for (auto& ask : asks) pointers.push_back(&ask);
    const RedisLimiter::Backlog nothing;
    ASSERT_TRUE(run(limiter.admit_all(nothing, pointers)));
    std::vector<bool> admitted;
    for (auto& ask : asks) {
        ASSERT_TRUE(ask.decision.has_value());
        admitted.push_back(ask.decision->admitted);
        expect_same(*ask.decision, local.admit(acme, tier, ask.reserve, Wall::now()));
    }
    EXPECT_EQ(admitted, (std::vector<bool>{true, true, true, false, false, false, true, true}));
    EXPECT_EQ(asks[3].decision->refused_by, &tier.limits[0]);
    EXPECT_EQ(asks[7].decision->states.at(0).remaining, 0u);
    EXPECT_EQ(asks[7].decision->states.at(3).remaining, 15u);
    // All of it was written to the hash: the next call reads it.
    expect_same(admit(tier, acme), local.admit(acme, tier, llmgw::limits::Charge{}, Wall::now()));
}

// Two tiers of the same limits (one consumer, two hashes) in one call: the script keeps parsed
// limits from call to call, and each tier must still hold its own state.
TEST_F(RedisLimiterConcurrency, TwoTiersOfTheSameLimitsInOneCallKeepEachItsOwnCounts) {
    auto gold = tier_of({quota(requests, 2, Limit::Window::day)});
    auto silver = gold;
    gold.name = "gold";
    silver.name = "silver";
    const std::string acme = "acme";
    for (int round = 0; round < 2; ++round) {  // the second: limits parsed by an earlier call
        const auto asks = admit_in_one_call({&gold, &silver, &gold, &silver}, acme);
        std::vector<std::uint64_t> remaining;
        for (const auto& ask : asks) {
            ASSERT_TRUE(ask.decision.has_value());
            EXPECT_EQ(ask.decision->admitted, round == 0);
            remaining.push_back(ask.decision->states.at(0).remaining);
        }
        if (round == 0) EXPECT_EQ(remaining, (std::vector<std::uint64_t>{1, 1, 0, 0}));
        else EXPECT_EQ(remaining, (std::vector<std::uint64_t>{0, 0, 0, 0}));
    }
}

// The batch script is a Redis Function: after FUNCTION FLUSH (or a restart that lost it) the
// next admission loads it again, and the counts in the hash carry on.
TEST_F(RedisLimiterConcurrency, AdmissionsCarryOnAfterTheFunctionIsFlushed) {
    const auto tier = tier_of({quota(requests, 3, Limit::Window::day)});
    EXPECT_EQ(admit(tier).states.at(0).remaining, 2u);
    const auto& function = llmgw::limits::detail::batch_script().function();
    ASSERT_FALSE(function.empty());
    EXPECT_NE(server.cli({"FUNCTION", "LIST"}).find(function), std::string::npos);
    ASSERT_EQ(server.cli({"FUNCTION", "FLUSH"}), "OK");
    EXPECT_EQ(admit(tier).states.at(0).remaining, 1u);
    EXPECT_NE(server.cli({"FUNCTION", "LIST"}).find(function), std::string::npos);
    EXPECT_EQ(admit(tier).states.at(0).remaining, 0u);
    EXPECT_FALSE(admit(tier).admitted);
}

TEST_F(RedisLimiterConcurrency, TwoInstancesShareOneLimit) {
    // An hour's period: nothing refills while the two instances race.
    const auto tier = tier_of({rate(requests, 100, hours(1))});
    const std::string consumer = "acme";
    int admitted[2] = {0, 0}, failed[2] = {0, 0};
    bool done[2] = {false, false};
    auto instance = [&](int n) {
        asio::io_context own;
        auto guard = asio::make_work_guard(own);
        Client c(own.get_executor(), options_for(server.port()));
        c.start();
        if (!run_until(own, [&] { return c.connected(); })) return;
        RedisLimiter l(c);
        int finished = 0;
        for (int i = 0; i < 100; ++i)
            asio::co_spawn(own, count_admit(l, consumer, tier, admitted[n], failed[n], finished), asio::detached);
        done[n] = run_until(own, [&] { return finished == 100; }, 10s);
    };
    std::thread first(instance, 0), second(instance, 1);
    first.join();
    second.join();
    EXPECT_TRUE(done[0] && done[1]);
    EXPECT_EQ(failed[0] + failed[1], 0);
    EXPECT_EQ(admitted[0] + admitted[1], 100);
}

TEST_F(RedisLimiterFailure, RedisDownIsNulloptAtOnce) {
    const auto tier = tier_of({rate(requests, 10, minutes(1))});
    EXPECT_TRUE(admit(tier).admitted);
    server.stop();
    ASSERT_TRUE(run_until(io, [&] { return !client->connected(); }));
    const auto start = Steady::now();
    EXPECT_FALSE(run(limiter.admit("acme", tier)).has_value());
    EXPECT_LT(Steady::now() - start, 50ms);
    const auto token_tier = tier_of({rate(tokens, 10, minutes(1))});
    EXPECT_FALSE(run(limiter.settle("acme", token_tier, 5)));
    EXPECT_TRUE(run(limiter.admit("acme", tier_of({})))->admitted) << "an unlimited tier needs no Redis";
}

TEST_F(RedisLimiterFailure, ScriptErrorIsNullopt) {
    const auto tier = tier_of({rate(tokens, 10, minutes(1))});
    ASSERT_EQ(server.cli({"SET", limiter.key("acme", tier), "not a hash"}), "OK");
    EXPECT_FALSE(run(limiter.admit("acme", tier)).has_value());
    EXPECT_FALSE(run(limiter.settle("acme", tier, 5)));
}

// The Lua calendar against windows.cpp, around every month start of three centuries.
TEST_F(RedisLimiterWindows, LuaCalendarMatchesTheUtcWindows) {
    std::vector<Wall::time_point> times;
    for (int y = 1901; y <= 2199; ++y) {
        for (unsigned m = 1; m <= 12; ++m) {
            const Wall::time_point first = sys_days{year{y} / month{m} / 1};
            times.insert(times.end(), {first - 1s, first, first + 14 * 24h + 13h + 7s});
        }
    }
    std::vector<std::string> args;
    for (const auto t : times) args.push_back(std::to_string(floor<seconds>(t.time_since_epoch()).count()));
    const auto result = run(client->eval(llmgw::limits::detail::utc_window_script(), {}, std::move(args)));
    ASSERT_TRUE(result) << result.error().message;
    ASSERT_EQ(result->elements.size(), 6 * times.size());
    auto unix_seconds = [](Wall::time_point t) { return floor<seconds>(t.time_since_epoch()).count(); };
    int mismatches = 0;
    for (std::size_t i = 0; i < times.size() && mismatches < 5; ++i) {
        const auto* e = &result->elements[6 * i];
        const auto t = times[i];
        const bool same = e[0].integer == unix_seconds(llmgw::limits::window_start(Limit::Window::day, t)) &&
                          e[1].integer == unix_seconds(llmgw::limits::window_end(Limit::Window::day, t)) &&
                          e[2].str == utc_suffix(Limit::Window::day, t) &&
                          e[3].integer == unix_seconds(llmgw::limits::window_start(Limit::Window::month, t)) &&
                          e[4].integer == unix_seconds(llmgw::limits::window_end(Limit::Window::month, t)) &&
                          e[5].str == utc_suffix(Limit::Window::month, t);
        if (!same) ++mismatches;
        EXPECT_TRUE(same) << "at unix " << unix_seconds(t) << ": " << e[2].str << " " << e[5].str;
    }
}

TEST_F(RedisLimiterWindows, QuotasKeepTheEndOfTheirUtcWindow) {
    const auto tier = tier_of({quota(requests, 5, Limit::Window::day), quota(requests, 5, Limit::Window::month)});
    EXPECT_TRUE(admit(tier).admitted);
    const auto now = Wall::now();
    const auto end_of = [&](Limit::Window window) {
        return static_cast<double>(floor<seconds>(llmgw::limits::window_end(window, now).time_since_epoch()).count());
    };
    EXPECT_EQ(packed(tier, 0).second, end_of(Limit::Window::day));
    EXPECT_EQ(packed(tier, 1).second, end_of(Limit::Window::month));
}

// A count of another window (yesterday's, left in the hash) is not today's.
TEST_F(RedisLimiterWindows, ACountOfAnotherWindowStartsAfresh) {
    const auto tier = tier_of({quota(requests, 5, Limit::Window::day)});
    const auto hash = limiter.key("acme", tier);
    const auto yesterday = utc_suffix(Limit::Window::day, Wall::now() - 24h);
    server.cli({"HSET", hash, RedisLimiter::field(tier, 0) + ":a", "5", RedisLimiter::field(tier, 0) + ":b", yesterday});
    const auto decision = admit(tier);
    EXPECT_TRUE(decision.admitted);
    EXPECT_EQ(decision.states[0].remaining, 4u);
}

class RedisReservation : public RedisLimiterTest {
  protected:
    using Charge = llmgw::limits::Charge;
    using Backlog = RedisLimiter::Backlog;
    Decision admit_reserving(const Tier& tier, Charge reserve, const Backlog& carried = {}) {
        const RedisLimiter::Lease no_lease;
        auto decision = run(limiter.admit("acme", tier, reserve, carried, no_lease));
        if (!decision) throw std::runtime_error("admit failed");
        return *decision;
    }
};

TEST_F(RedisReservation, AdmitsOnlyWhatFitsLikeTheLocalLimiter) {
    // A day's quota: no refill between the two limiters' calls, so the states are equal.
    const auto tier = tier_of({quota(tokens, 10000, Limit::Window::day)});
    for (int i = 0; i < 17; ++i)
        expect_same(admit_reserving(tier, Charge{600, 0}), local.admit("acme", tier, Charge{600, 0}, Wall::now()));
    EXPECT_FALSE(admit_reserving(tier, Charge{600, 0}).admitted);
    EXPECT_TRUE(admit_reserving(tier, Charge{400, 0}).admitted);  // 16 × 600 + 400 = the amount
}

TEST_F(RedisReservation, SettlesRideAlongWithTheNextAdmissionAndGiveBackTheRest) {
    const auto tier = tier_of({rate(tokens, 10000, minutes(1)), quota(tokens, 50000, Limit::Window::day)});
    Backlog backlog;
    for (int i = 0; i < 10; ++i) {
        ASSERT_TRUE(admit_reserving(tier, Charge{1000, 0}).admitted);
        limiter.queue_settle(backlog, "acme", tier, Charge{1000, 0}, Charge{10, 0}, Wall::now());
    }
    // Settles of one consumer's tier reserved in the same second are summed into one.
    EXPECT_GE(backlog.settles.size(), 1u);
    EXPECT_LE(backlog.settles.size(), 2u);
    const auto after = admit_reserving(tier, Charge{1, 0}, backlog);  // one call for all of it
    // The bucket also refills while the test runs (167 tokens a second).
    EXPECT_NEAR(static_cast<double>(after.states[0].remaining), 10000 - 100 - 1, 50);
    EXPECT_EQ(after.states[1].remaining, 50000u - 100 - 1);
}

TEST_F(RedisReservation, UsageRecordsAndCostRideAlongAndFlushAlone) {
    Backlog backlog;
    limiter.queue_usage(backlog, "acme", "2026-12-04", {10, 20, false, false, 4000});
    limiter.queue_usage(backlog, "acme", "2026-12-04", {1, 2, true, false, 0});
    EXPECT_EQ(backlog.usages.size(), 1u);  // one consumer's day: summed into one record
    EXPECT_TRUE(run(limiter.flush(backlog)));
    const auto key = llmgw::limits::usage_key("llmgw:", "acme", "2026-12-04");
    EXPECT_EQ(server.cli({"HGET", key, "requests"}), "2");
    EXPECT_EQ(server.cli({"HGET", key, "prompt_tokens"}), "11");
    EXPECT_EQ(server.cli({"HGET", key, "cost_nano"}), "4000");
    EXPECT_EQ(server.cli({"HGET", key, "estimated_requests"}), "1");
}

TEST_F(RedisReservation, AMoneyBudgetRefusesWhatDoesNotFit) {
    const auto tier = tier_of({quota(Limit::Unit::cost, 1'000'000'000, Limit::Window::month)});
    EXPECT_TRUE(admit_reserving(tier, Charge{1, 600'000'000}).admitted);
    const auto refused = admit_reserving(tier, Charge{1, 600'000'000});
    EXPECT_FALSE(refused.admitted);
    EXPECT_EQ(refused.refused_by, &tier.limits[0]);
    EXPECT_EQ(refused.states[0].remaining, 400'000'000u);
}

// redis.admission lease: slices granted along with an admission, or alone, and given back.
class RedisSlices : public RedisReservation {
  protected:
    using Slices = RedisLimiter::Slices;
    static Slices wanting(std::vector<std::uint64_t> want, bool with_request = true) {
        Slices slices;
        slices.want = std::move(want);
        slices.with_request = with_request;
        return slices;
    }
    Decision admit_with_slices(const Tier& tier, Slices& slices, Charge reserve = {}) {
        const RedisLimiter::Lease no_lease;
        const Backlog none;
        auto decision = run(limiter.admit("acme", tier, reserve, none, no_lease, &slices));
        if (!decision) throw std::runtime_error("admit failed");
        return *decision;
    }
};

TEST_F(RedisSlices, AnAdmissionTakesSlicesOfWhatIsLeftAfterTheRequest) {
    const auto tier = tier_of({quota(requests, 10, Limit::Window::day)});
    auto first = wanting({4});
    const auto one = admit_with_slices(tier, first);
    EXPECT_TRUE(one.admitted);
    EXPECT_EQ(first.granted, std::vector<std::uint64_t>{4});
    EXPECT_EQ(one.states[0].remaining, 5u);  // 10 - the request - the slice
    auto second = wanting({8});
    EXPECT_TRUE(admit_with_slices(tier, second).admitted);
    EXPECT_EQ(second.granted, std::vector<std::uint64_t>{4});  // all that was left: 5 - 1
    auto third = wanting({8});
    const auto refused = admit_with_slices(tier, third);
    EXPECT_FALSE(refused.admitted);
    EXPECT_EQ(third.granted, std::vector<std::uint64_t>{0});
    EXPECT_EQ(packed(tier, 0).first, 10.0);
}

TEST_F(RedisSlices, ARenewalTakesSlicesAndNoRequest) {
    const auto tier = tier_of({quota(requests, 100, Limit::Window::day), rate(tokens, 1000, minutes(1))});
    auto slices = wanting({5, 300}, /*with_request=*/false);
    const auto renewed = admit_with_slices(tier, slices);
    EXPECT_TRUE(renewed.admitted);
    EXPECT_EQ(slices.granted, (std::vector<std::uint64_t>{5, 300}));
    EXPECT_EQ(renewed.states[0].remaining, 95u);  // the slice, no request
    EXPECT_NEAR(static_cast<double>(renewed.states[1].remaining), 700, 20);
}

TEST_F(RedisSlices, UnusedSlicesGoBackToBucketsAndToTheirOwnQuotaWindowOnly) {
    const auto tier = tier_of({quota(requests, 100, Limit::Window::day), rate(requests, 600, minutes(1))});
    auto slices = wanting({20, 20}, /*with_request=*/false);
    admit_with_slices(tier, slices);
    Backlog backlog;
    limiter.queue_return(backlog, "acme", tier, 0, 15, Wall::now());
    limiter.queue_return(backlog, "acme", tier, 1, 15, Wall::now());
    EXPECT_EQ(backlog.returns, 2u);
    const auto after = admit_reserving(tier, Charge{}, backlog);
    EXPECT_EQ(after.states[0].remaining, 100u - 20 + 15 - 1);
    EXPECT_NEAR(static_cast<double>(after.states[1].remaining), 600 - 20 + 15 - 1, 8);
    // A slice of yesterday's window was counted yesterday: today's quota does not get it.
    Backlog late;
    limiter.queue_return(late, "acme", tier, 0, 5, Wall::now() - days(1));
    EXPECT_EQ(admit_reserving(tier, Charge{}, late).states[0].remaining, 100u - 20 + 15 - 2);
}

// The script's arithmetic on a state planted in the hash, against figures worked out by hand:
// a bucket whose time is in the future is not refilled (exact figures); one 30 s in the past is
// refilled by 30 s of its rate.
class RedisArithmetic : public RedisSlices {
  protected:
    static long long now_us() {
        return duration_cast<microseconds>(Wall::now().time_since_epoch()).count();
    }
    // Writes a limit's packed field: a bucket's level and time (µs), a quota's count and the end
    // of its window (unix s).
    void plant(const Tier& tier, std::size_t index, const std::string& a, long long b) {
        static const std::string pack =
            "return redis.call('HSET', KEYS[1], ARGV[1], struct.pack('<dd', tonumber(ARGV[2]), tonumber(ARGV[3])))";
        server.cli({"EVAL", pack, "1", limiter.key("acme", tier), RedisLimiter::field(tier, index) + ":p", a,
                    std::to_string(b)});
    }
    static long long end_of(Limit::Window window) {
        return floor<seconds>(llmgw::limits::window_end(window, Wall::now()).time_since_epoch()).count();
    }
    double stored(const Tier& tier, std::size_t index) { return packed(tier, index).first; }
};

TEST_F(RedisArithmetic, BucketsRefillFromTheirStoredLevelAndTime) {
    // One token a second: 30 s refill 30 tokens, and the test's own time adds well under one.
    const auto tier = tier_of({rate(tokens, 60, minutes(1))});
    plant(tier, 0, "10.25", now_us() - 30'000'000);
    const auto admitted = admit_reserving(tier, Charge{15, 0});  // 40.25 - 15 = 25.25
    EXPECT_TRUE(admitted.admitted);
    EXPECT_EQ(admitted.states[0].remaining, 25u);
    EXPECT_EQ(admitted.states[0].reset, 35s);  // 34.75 tokens to full, at one a second
    const auto refused = admit_reserving(tier, Charge{30, 0});
    EXPECT_FALSE(refused.admitted);
    EXPECT_EQ(refused.refused_by, &tier.limits[0]);
    EXPECT_EQ(refused.retry_after, 5s);  // 4.75 tokens short
    // A level below 0 (a settle's debt) refills too: -20 + 30 = 10.
    plant(tier, 0, "-20", now_us() - 30'000'000);
    EXPECT_EQ(admit_reserving(tier, Charge{4, 0}).states[0].remaining, 6u);
    // Never above the capacity.
    plant(tier, 0, "50", now_us() - 60'000'000);
    EXPECT_EQ(admit_reserving(tier, Charge{1, 0}).states[0].remaining, 59u);
}

TEST_F(RedisArithmetic, SettlesRefundAndDebitButAQuotaOnlyInItsOwnWindow) {
    const auto tier = tier_of({rate(tokens, 100, hours(1)), quota(tokens, 1000, Limit::Window::day)});
    const auto frozen = now_us() + 60'000'000;  // in the future: no refill
    plant(tier, 0, "20.5", frozen);
    plant(tier, 1, "500", end_of(Limit::Window::day));
    Backlog backlog;
    limiter.queue_settle(backlog, "acme", tier, Charge{10, 0}, Charge{4, 0}, Wall::now());
    EXPECT_TRUE(run(limiter.flush(backlog)));
    EXPECT_EQ(stored(tier, 0), 26.5);  // 6 given back
    EXPECT_EQ(stored(tier, 1), 494.0);
    Backlog more;
    limiter.queue_settle(more, "acme", tier, Charge{10, 0}, Charge{40, 0}, Wall::now());
    EXPECT_TRUE(run(limiter.flush(more)));
    EXPECT_EQ(stored(tier, 0), -3.5);  // 30 more taken
    EXPECT_EQ(stored(tier, 1), 524.0);
    // Reserved yesterday: today's quota gets nothing back but pays what went over.
    Backlog late;
    limiter.queue_settle(late, "acme", tier, Charge{100, 0}, Charge{30, 0}, Wall::now() - days(1));
    limiter.queue_settle(late, "acme", tier, Charge{100, 0}, Charge{130, 0}, Wall::now() - days(2));
    EXPECT_TRUE(run(limiter.flush(late)));
    EXPECT_EQ(stored(tier, 1), 554.0);
    EXPECT_EQ(stored(tier, 0), 36.5);  // a bucket gets back 70 and pays 30
    // A count of another window is a new window's 0.
    plant(tier, 1, "990", 946771200);  // the end of 2000-01-01
    const auto fresh = admit_reserving(tier, Charge{30, 0});
    EXPECT_TRUE(fresh.admitted);
    EXPECT_EQ(fresh.states[0].remaining, 6u);
    EXPECT_EQ(fresh.states[1].remaining, 970u);
}

TEST_F(RedisArithmetic, QuotasAndCostsAdmitWhatFitsAndSlicesTakeWholeUnitsOfTheRest) {
    const auto tier = tier_of({quota(tokens, 1000, Limit::Window::day), rate(requests, 10, hours(1)),
                               quota(Limit::Unit::cost, 5000, Limit::Window::month)});
    plant(tier, 0, "900", end_of(Limit::Window::day));
    plant(tier, 1, "7.5", now_us() + 60'000'000);
    plant(tier, 2, "4000", end_of(Limit::Window::month));
    const auto over = admit_reserving(tier, Charge{101, 0});
    EXPECT_FALSE(over.admitted);
    EXPECT_EQ(over.refused_by, &tier.limits[0]);
    const auto costly = admit_reserving(tier, Charge{100, 1001});
    EXPECT_FALSE(costly.admitted);
    EXPECT_EQ(costly.refused_by, &tier.limits[2]);
    auto slices = wanting({1000, 1000, 1000});
    const auto granted = admit_with_slices(tier, slices, Charge{60, 300});
    EXPECT_TRUE(granted.admitted);
    // What is left after the request: 40 tokens, 6.5 requests (6 whole), 700 in cost.
    EXPECT_EQ(slices.granted, (std::vector<std::uint64_t>{40, 6, 700}));
    EXPECT_EQ(granted.states[0].remaining, 0u);
    EXPECT_EQ(granted.states[1].remaining, 0u);
    EXPECT_EQ(granted.states[2].remaining, 0u);
    EXPECT_EQ(stored(tier, 1), 0.5);
}

// The batch script works out each admission's remaining and reset without math.floor, ceil,
// min and max (comparisons and `x - x % 1`): rounding and clamping as LocalLimiter does them.
// A frozen bucket (its time ahead of now) keeps its level while the test runs.
TEST_F(RedisArithmetic, AdmissionStatesRoundAndClampAtTheEdges) {
    const auto tier = tier_of({rate(tokens, 60, minutes(1))});  // one token a second, 60 at most
    const auto frozen = now_us() + 60'000'000;
    const auto state_at = [&](const std::string& level) {
        plant(tier, 0, level, frozen);
        return admit_reserving(tier, Charge{}).states.at(0);
    };
    auto state = state_at("30");  // 30 s to full: a whole 30, not 31
    EXPECT_EQ(state.remaining, 30u);
    EXPECT_EQ(state.reset, 30s);
    state = state_at("29.5");  // 30.5 s to full: 31
    EXPECT_EQ(state.remaining, 29u);
    EXPECT_EQ(state.reset, 31s);
    state = state_at("29.9999999999");  // a rounding error from 30: both numbers as for 30
    EXPECT_EQ(state.remaining, 30u);
    EXPECT_EQ(state.reset, 30s);
    state = state_at("29.999998");  // 30.000002 s to full, beyond the 1 µs slack: 31
    EXPECT_EQ(state.remaining, 29u);
    EXPECT_EQ(state.reset, 31s);
    state = state_at("30.9999995");  // 29.0000005 s to full: within the slack of 29
    EXPECT_EQ(state.remaining, 30u);
    EXPECT_EQ(state.reset, 29s);
    state = state_at("-2.5");  // a settle's debt: nothing remains, 62.5 s to full
    EXPECT_EQ(state.remaining, 0u);
    EXPECT_EQ(state.reset, 63s);
    state = state_at("60");
    EXPECT_EQ(state.remaining, 60u);
    EXPECT_EQ(state.reset, 0s);
    // Amounts beyond 2^32 travel whole, and remaining is clamped to 2^53 - 1 (what a Lua
    // number holds exactly); a quota's reset is the whole seconds to the end of its window.
    const std::uint64_t huge = std::uint64_t{1} << 60, big = (std::uint64_t{1} << 40) + 7;
    const auto wide = tier_of({rate(requests, huge, hours(1)), quota(Limit::Unit::cost, big, Limit::Window::day)});
    const auto first = admit_reserving(wide, Charge{0, big - 3});
    ASSERT_TRUE(first.admitted);
    EXPECT_EQ(first.states[0].remaining, (std::uint64_t{1} << 53) - 1);
    EXPECT_EQ(first.states[1].remaining, 3u);
    expect_near(first.states[1].reset, until_window_end(Limit::Window::day), 1s, "quota reset");
    EXPECT_FALSE(admit_reserving(wide, Charge{0, 4}).admitted);
    EXPECT_TRUE(admit_reserving(wide, Charge{0, 3}).admitted);
}

}  // namespace

// Tier max_concurrent in Redis: a sorted set of leases per consumer, decided with the limits.
class RedisConcurrency : public RedisLimiterTest {
  protected:
    using Backlog = RedisLimiter::Backlog;
    using Lease = RedisLimiter::Lease;
    Lease lease(const std::string& member, unsigned cap, milliseconds duration = 15s) {
        return Lease{cap, limiter.concurrency_key("acme"), member, duration};
    }
    Decision admit_with(const Tier& tier, const Lease& with, const Backlog& carried = {}) {
        const llmgw::limits::Charge nothing;
        auto decision = run(limiter.admit("acme", tier, nothing, carried, with));
        if (!decision) throw std::runtime_error("admit failed");
        return *decision;
    }
    std::string held() { return server.cli({"ZCARD", limiter.concurrency_key("acme")}); }
};

TEST_F(RedisConcurrency, TheCapRefusesTheNextRequestUntilALeaseIsGivenBack) {
    const auto tier = tier_of({});
    EXPECT_TRUE(admit_with(tier, lease("w:1", 2)).admitted);
    EXPECT_TRUE(admit_with(tier, lease("w:2", 2)).admitted);
    const auto refused = admit_with(tier, lease("w:3", 2));
    EXPECT_FALSE(refused.admitted);
    EXPECT_TRUE(refused.over_concurrency);
    EXPECT_EQ(refused.refused_by, nullptr);
    EXPECT_EQ(refused.retry_after, 1s);
    EXPECT_EQ(held(), "2");
    // The release rides along with the next admission, and is done before it.
    Backlog backlog;
    limiter.queue_release(backlog, limiter.concurrency_key("acme"), "w:1");
    EXPECT_TRUE(admit_with(tier, lease("w:4", 2), backlog).admitted);
    EXPECT_EQ(held(), "2");
    EXPECT_EQ(server.cli({"ZSCORE", limiter.concurrency_key("acme"), "w:1"}), "");
}

TEST_F(RedisConcurrency, ARequestOverTheCapTakesNothingFromTheLimits) {
    const auto tier = tier_of({quota(requests, 10, Limit::Window::day)});
    EXPECT_EQ(admit_with(tier, lease("w:1", 1)).states[0].remaining, 9u);
    const auto refused = admit_with(tier, lease("w:2", 1));
    EXPECT_TRUE(refused.over_concurrency);
    EXPECT_EQ(refused.states[0].remaining, 9u);
}

TEST_F(RedisConcurrency, ARequestALimitRefusesTakesNoLeaseAndIsNamedForTheLimit) {
    const auto tier = tier_of({quota(requests, 1, Limit::Window::day)});
    EXPECT_TRUE(admit_with(tier, lease("w:1", 5)).admitted);
    const auto refused = admit_with(tier, lease("w:2", 5));
    EXPECT_FALSE(refused.admitted);
    EXPECT_FALSE(refused.over_concurrency);
    EXPECT_EQ(refused.refused_by, &tier.limits[0]);
    EXPECT_EQ(held(), "1");
}

TEST_F(RedisConcurrency, AnExpiredLeaseNoLongerCounts) {
    const auto tier = tier_of({});
    ASSERT_TRUE(admit_with(tier, lease("crashed:1", 1, 300ms)).admitted);
    EXPECT_TRUE(admit_with(tier, lease("w:1", 1, 300ms)).over_concurrency);
    // Nobody renews crashed:1: within a little more than its lease it stops counting.
    const auto deadline = Steady::now() + 3s;
    bool admitted = false;
    while (!admitted && Steady::now() < deadline) {
        admitted = admit_with(tier, lease("w:2", 1, 300ms)).admitted;
        if (!admitted) std::this_thread::sleep_for(20ms);
    }
    EXPECT_TRUE(admitted);
    EXPECT_EQ(server.cli({"ZSCORE", limiter.concurrency_key("acme"), "crashed:1"}), "");
}

TEST_F(RedisConcurrency, ARenewalExtendsAHeldLeaseButNeverBringsBackAGivenBackOne) {
    const auto tier = tier_of({});
    const auto key = limiter.concurrency_key("acme");
    ASSERT_TRUE(admit_with(tier, lease("w:1", 5, 1s)).admitted);
    ASSERT_TRUE(admit_with(tier, lease("w:2", 5, 1s)).admitted);
    const auto before = std::stoll(server.cli({"ZSCORE", key, "w:1"}));
    Backlog backlog;
    limiter.queue_renew(backlog, key, "w:1", 60s);
    limiter.queue_release(backlog, key, "w:2");
    limiter.queue_renew(backlog, key, "w:2", 60s);
    ASSERT_TRUE(run(limiter.flush(backlog)));
    EXPECT_GE(std::stoll(server.cli({"ZSCORE", key, "w:1"})), before + 59'000);
    EXPECT_EQ(server.cli({"ZSCORE", key, "w:2"}), "");
    // The set lives as long as its longest lease.
    EXPECT_GT(std::stoll(server.cli({"PTTL", key})), 59'000);
}

TEST_F(RedisConcurrency, ATierWithoutACapMakesNoLeaseSet) {
    const auto tier = tier_of({rate(requests, 10, seconds(1))});
    EXPECT_TRUE(admit_with(tier, Lease{}).admitted);
    EXPECT_EQ(server.cli({"EXISTS", limiter.concurrency_key("acme")}), "0");
}

// What /gateway/me reports: where each limit stands, in Redis and in process alike, read
// without taking anything.
TEST_F(RedisLimiterParity, PeekReportsWhatIsLeftAndTakesNothing) {
    const auto tier = tier_of({rate(requests, 100, minutes(1)), quota(requests, 10, Limit::Window::day)});
    both(tier);
    both(tier);
    for (int i = 0; i < 3; ++i) {
        const auto redis = run(limiter.peek("acme", tier));
        ASSERT_TRUE(redis.has_value());
        const auto in_process = local.peek("acme", tier, Wall::now());
        ASSERT_EQ(redis->size(), 2u);
        ASSERT_EQ(in_process.size(), 2u);
        EXPECT_EQ((*redis)[0].remaining, 98u);
        EXPECT_EQ(in_process[0].remaining, 98u);
        EXPECT_EQ((*redis)[1].remaining, 8u);
        EXPECT_EQ(in_process[1].remaining, 8u);
        expect_near((*redis)[1].reset, until_window_end(Limit::Window::day), 1s, "until midnight");
    }
    // A consumer never seen has everything left.
    const auto fresh = run(limiter.peek("nobody", tier));
    ASSERT_TRUE(fresh.has_value());
    EXPECT_EQ((*fresh)[1].remaining, 10u);
    EXPECT_EQ(both(tier).states[1].remaining, 7u);  // the peeks took nothing
}

namespace {

// One call's admissions: a lease's (the request and slices), then the same consumer's plain
// requests, the second on packed as one run of repeats that crosses the quota's edge: each
// decided as if alone (the run's admitted ones worked out by llmgw, its refused ones copied).
TEST_F(RedisSlices, ARunOfRepeatsAfterASliceGrantCrossesTheQuotaAsOneByOne) {
    const auto tier = tier_of({quota(requests, 10, Limit::Window::day)});
    const std::string acme = "acme";
    const llmgw::limits::ConcurrencyLease no_lease;
    auto slices = wanting({3});
    std::vector<RedisLimiter::Ask> asks;
    asks.push_back({&acme, &tier, llmgw::limits::Charge{}, &no_lease, &slices, std::nullopt});
    for (int i = 0; i < 8; ++i)
        asks.push_back({&acme, &tier, llmgw::limits::Charge{}, &no_lease, nullptr, std::nullopt});
    std::vector<RedisLimiter::Ask*> pointers;
    for (auto& ask : asks) pointers.push_back(&ask);
    const RedisLimiter::Backlog nothing;
    ASSERT_TRUE(run(limiter.admit_all(nothing, pointers)));
    std::vector<bool> admitted;
    std::vector<std::uint64_t> remaining;
    for (const auto& ask : asks) {
        ASSERT_TRUE(ask.decision.has_value());
        admitted.push_back(ask.decision->admitted);
        remaining.push_back(ask.decision->states.at(0).remaining);
    }
    EXPECT_EQ(slices.granted, std::vector<std::uint64_t>{3});
    EXPECT_EQ(admitted, (std::vector<bool>{true, true, true, true, true, true, true, false, false}));
    EXPECT_EQ(remaining, (std::vector<std::uint64_t>{6, 5, 4, 3, 2, 1, 0, 0, 0}));
    EXPECT_EQ(asks[7].decision->refused_by, &tier.limits[0]);
    EXPECT_EQ(asks[8].decision->refused_by, &tier.limits[0]);
    EXPECT_EQ(asks[8].decision->retry_after, asks[7].decision->retry_after);
    EXPECT_EQ(packed(tier, 0).first, 10.0);
}

}  // namespace
