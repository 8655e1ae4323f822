// LocalLimiter: buckets and UTC quotas per consumer, all-or-nothing, at injected times.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "llmgw/limits/limiter.hpp"
#include "test_limits.hpp"

using namespace std::chrono;
using llmgw::config::Limit;
using llmgw::config::Tier;
using llmgw::limits::Clock;
using llmgw::limits::Decision;
using llmgw::limits::LocalLimiter;

using namespace llmgw::limits::testing;

namespace {

Clock::time_point at(year_month_day date, Clock::duration time_of_day = {}) {
    return Clock::time_point(sys_days(date)) + time_of_day;
}

const Clock::time_point t0 = at(2024y / March / 10, 12h);


// How many of `attempts` admits at `now` pass.
int admitted(LocalLimiter& limiter, const Tier& tier, Clock::time_point now, int attempts,
             const std::string& consumer = "acme") {
    int count = 0;
    for (int i = 0; i < attempts; ++i) count += limiter.admit(consumer, tier, now).admitted ? 1 : 0;
    return count;
}

}  // namespace

TEST(LimiterRequestRate, RefusesThe101stRequestOfAMinute) {
    LocalLimiter limiter;
    const auto tier = tier_of({rate(requests, 100, minutes(1))});
    EXPECT_EQ(admitted(limiter, tier, t0, 100), 100);
    const auto refused = limiter.admit("acme", tier, t0);
    EXPECT_FALSE(refused.admitted);
    EXPECT_EQ(refused.refused_by, &tier.limits[0]);
    EXPECT_EQ(refused.retry_after, 1s);  // one request refills in 0.6 s
}

TEST(LimiterRequestRate, RefillsContinuously) {
    LocalLimiter limiter;
    const auto tier = tier_of({rate(requests, 100, minutes(1))});
    EXPECT_EQ(admitted(limiter, tier, t0, 100), 100);
    EXPECT_EQ(admitted(limiter, tier, t0 + 30s, 60), 50);
}

TEST(LimiterRequestRate, AdmitsAgainAfterRetryAfter) {
    LocalLimiter limiter;
    const auto tier = tier_of({rate(requests, 1, minutes(1))});
    EXPECT_TRUE(limiter.admit("acme", tier, t0).admitted);
    const auto refused = limiter.admit("acme", tier, t0);
    EXPECT_EQ(refused.retry_after, 60s);
    EXPECT_FALSE(limiter.admit("acme", tier, t0 + 59s).admitted);
    EXPECT_TRUE(limiter.admit("acme", tier, t0 + refused.retry_after).admitted);
}

TEST(LimiterRequestRate, BurstIsTheBucketCapacity) {
    LocalLimiter limiter;
    const auto tier = tier_of({rate(requests, 1000, minutes(1), 50)});
    EXPECT_EQ(admitted(limiter, tier, t0, 60), 50);
    EXPECT_EQ(limiter.admit("acme", tier, t0).retry_after, 1s);
    // However long the consumer waits, the bucket holds no more than the burst.
    EXPECT_EQ(admitted(limiter, tier, t0 + 10min, 60), 50);
}

TEST(LimiterRequestRate, EnforcesPerSecondAndPerMinuteTogether) {
    LocalLimiter limiter;
    const auto tier = tier_of({rate(requests, 10, seconds(1)), rate(requests, 12, minutes(1))});
    EXPECT_EQ(admitted(limiter, tier, t0, 11), 10);
    const auto per_second = limiter.admit("acme", tier, t0);
    EXPECT_EQ(per_second.refused_by, &tier.limits[0]);
    EXPECT_EQ(per_second.retry_after, 1s);
    // The second bucket is full again, the minute bucket holds 2 + 0.2.
    EXPECT_EQ(admitted(limiter, tier, t0 + 1s, 11), 2);
    const auto per_minute = limiter.admit("acme", tier, t0 + 1s);
    EXPECT_EQ(per_minute.refused_by, &tier.limits[1]);
    EXPECT_EQ(per_minute.retry_after, 4s);  // 0.8 of a request at 0.2 a second
    EXPECT_TRUE(limiter.admit("acme", tier, t0 + 5s).admitted);
}

TEST(LimiterRequestRate, NamesTheRefusingLimitWithTheLongestWait) {
    LocalLimiter limiter;
    const auto tier = tier_of({rate(requests, 1, seconds(1)), rate(requests, 2, minutes(1))});
    EXPECT_TRUE(limiter.admit("acme", tier, t0).admitted);
    EXPECT_TRUE(limiter.admit("acme", tier, t0 + 1s).admitted);
    // Both are empty: the second bucket holds 1/30 of a request and needs 29 s more.
    const auto refused = limiter.admit("acme", tier, t0 + 1s);
    EXPECT_EQ(refused.refused_by, &tier.limits[1]);  // the per-minute bucket is what takes 29 s
    EXPECT_EQ(refused.retry_after, 29s);
    EXPECT_FALSE(limiter.admit("acme", tier, t0 + 29s).admitted);
    EXPECT_TRUE(limiter.admit("acme", tier, t0 + 1s + refused.retry_after).admitted);
}

TEST(LimiterTokenRate, AdmitsWhileAnyTokenIsLeftAndTakesNothingOnAdmit) {
    LocalLimiter limiter;
    const auto tier = tier_of({rate(tokens, 1000, minutes(1))});
    EXPECT_EQ(admitted(limiter, tier, t0, 5), 5);
    limiter.settle("acme", tier, 999, t0);
    const auto one_left = limiter.admit("acme", tier, t0);
    EXPECT_TRUE(one_left.admitted);
    EXPECT_EQ(one_left.states[0].remaining, 1u);
    limiter.settle("acme", tier, 1, t0);
    const auto empty = limiter.admit("acme", tier, t0);
    EXPECT_FALSE(empty.admitted);
    EXPECT_EQ(empty.refused_by, &tier.limits[0]);
    EXPECT_EQ(empty.retry_after, 1s);  // anything above 0: 0.06 s
}

TEST(LimiterTokenRate, UsageBeyondTheBucketIsADebtThatBlocksUntilRepaid) {
    LocalLimiter limiter;
    const auto tier = tier_of({rate(tokens, 1000, minutes(1))});
    EXPECT_TRUE(limiter.admit("acme", tier, t0).admitted);
    limiter.settle("acme", tier, 5000, t0);  // 4000 in debt: 240 s to reach 0
    const auto refused = limiter.admit("acme", tier, t0);
    EXPECT_FALSE(refused.admitted);
    EXPECT_EQ(refused.states[0].remaining, 0u);
    // At exactly 240 s the bucket holds 0, which is not "above 0".
    EXPECT_EQ(refused.retry_after, 241s);
    EXPECT_FALSE(limiter.admit("acme", tier, t0 + 240s).admitted);
    EXPECT_TRUE(limiter.admit("acme", tier, t0 + 241s).admitted);
}

TEST(LimiterTokenRate, RefusedRequestsTakeNothing) {
    LocalLimiter limiter;
    const auto tier = tier_of({rate(requests, 10, minutes(1)), rate(tokens, 600, minutes(1))});
    EXPECT_TRUE(limiter.admit("acme", tier, t0).admitted);
    limiter.settle("acme", tier, 1200, t0);  // 600 in debt: 60 s
    EXPECT_EQ(admitted(limiter, tier, t0 + 30s, 50), 0);
    const auto after = limiter.admit("acme", tier, t0 + 61s);
    EXPECT_TRUE(after.admitted);
    EXPECT_EQ(after.states[0].remaining, 9u);  // full again, minus this request
}

TEST(LimiterRequestQuota, AdmitsExactlyTheAmountPerUtcDay) {
    LocalLimiter limiter;
    const auto tier = tier_of({quota(requests, 3, Limit::Window::day)});
    EXPECT_EQ(admitted(limiter, tier, at(2024y / March / 10, 1h), 5), 3);
    const auto last_second = limiter.admit("acme", tier, at(2024y / March / 10, 23h + 59min + 59s));
    EXPECT_FALSE(last_second.admitted);
    EXPECT_EQ(last_second.refused_by, &tier.limits[0]);
    EXPECT_EQ(last_second.retry_after, 1s);
    EXPECT_EQ(admitted(limiter, tier, at(2024y / March / 11), 5), 3);
}

TEST(LimiterRequestQuota, RetryAfterRunsToTheEndOfTheDay) {
    LocalLimiter limiter;
    const auto tier = tier_of({quota(requests, 1, Limit::Window::day)});
    EXPECT_TRUE(limiter.admit("acme", tier, at(2024y / March / 10, 18h)).admitted);
    const auto refused = limiter.admit("acme", tier, at(2024y / March / 10, 18h) + 500ms);
    EXPECT_EQ(refused.retry_after, 6h);  // 5 h 59 min 59.5 s, rounded up
}

TEST(LimiterRequestQuota, MonthlyWindowsFollowTheCalendar) {
    LocalLimiter limiter;
    const auto tier = tier_of({quota(requests, 1, Limit::Window::month)});
    auto exhaust_then_check = [&](Clock::time_point first, Clock::time_point late, seconds wait,
                                  Clock::time_point next_month) {
        EXPECT_TRUE(limiter.admit("acme", tier, first).admitted);
        const auto refused = limiter.admit("acme", tier, late);
        EXPECT_FALSE(refused.admitted);
        EXPECT_EQ(refused.retry_after, wait);
        EXPECT_TRUE(limiter.admit("acme", tier, next_month).admitted);
    };
    exhaust_then_check(at(2023y / January / 31, 1h), at(2023y / January / 31, 23h), 1h,
                       at(2023y / February / 1));
    // Feb 1 was the first request of February.
    const auto feb_28 = limiter.admit("acme", tier, at(2023y / February / 28, 12h));
    EXPECT_EQ(feb_28.retry_after, 12h);
    EXPECT_TRUE(limiter.admit("acme", tier, at(2023y / March / 1)).admitted);

    LocalLimiter leap_year;
    EXPECT_TRUE(leap_year.admit("acme", tier, at(2024y / February / 1)).admitted);
    EXPECT_EQ(leap_year.admit("acme", tier, at(2024y / February / 28, 12h)).retry_after, 36h);
    EXPECT_FALSE(leap_year.admit("acme", tier, at(2024y / February / 29, 23h)).admitted);
    EXPECT_TRUE(leap_year.admit("acme", tier, at(2024y / March / 1)).admitted);

    LocalLimiter new_year;
    EXPECT_TRUE(new_year.admit("acme", tier, at(2024y / December / 1)).admitted);
    EXPECT_EQ(
        new_year.admit("acme", tier, at(2024y / December / 31, 23h + 59min + 59s)).retry_after, 1s);
    EXPECT_TRUE(new_year.admit("acme", tier, at(2025y / January / 1)).admitted);
}

TEST(LimiterTokenQuota, SettledTokensCountAgainstTheMonth) {
    LocalLimiter limiter;
    const auto tier = tier_of({quota(tokens, 1000, Limit::Window::month)});
    const auto day = at(2024y / March / 10);
    EXPECT_TRUE(limiter.admit("acme", tier, day).admitted);
    limiter.settle("acme", tier, 600, day);
    const auto second = limiter.admit("acme", tier, day + 1h);
    EXPECT_TRUE(second.admitted);
    EXPECT_EQ(second.states[0].remaining, 400u);
    limiter.settle("acme", tier, 600, day + 1h);
    const auto refused = limiter.admit("acme", tier, day + 2h);
    EXPECT_FALSE(refused.admitted);
    EXPECT_EQ(refused.states[0].remaining, 0u);
    EXPECT_EQ(refused.retry_after, ceil<seconds>(at(2024y / April / 1) - (day + 2h)));
    const auto april = limiter.admit("acme", tier, at(2024y / April / 1));
    EXPECT_TRUE(april.admitted);
    EXPECT_EQ(april.states[0].remaining, 1000u);
}

TEST(LimiterAllOrNothing, ARequestRefusedByTheQuotaDoesNotConsumeTheRate) {
    LocalLimiter limiter;
    const auto tier =
        tier_of({rate(requests, 10, minutes(1)), quota(requests, 2, Limit::Window::day)});
    EXPECT_EQ(admitted(limiter, tier, t0, 10), 2);
    const auto refused = limiter.admit("acme", tier, t0);
    EXPECT_EQ(refused.refused_by, &tier.limits[1]);
    EXPECT_EQ(refused.states[0].remaining, 8u);
    EXPECT_EQ(refused.states[1].remaining, 0u);
}

TEST(LimiterAllOrNothing, ARequestRefusedByTheRateDoesNotConsumeTheQuota) {
    LocalLimiter limiter;
    const auto tier =
        tier_of({rate(requests, 2, minutes(1)), quota(requests, 10, Limit::Window::day)});
    EXPECT_EQ(admitted(limiter, tier, t0, 10), 2);
    EXPECT_EQ(limiter.admit("acme", tier, t0).states[1].remaining, 8u);
}

TEST(LimiterConcurrency, EightThreadsGetExactlyTheLimitBetweenThem) {
    LocalLimiter limiter;
    const auto tier = tier_of({rate(requests, 100, minutes(1))});
    std::atomic<int> total{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; ++t)
        threads.emplace_back([&] { total += admitted(limiter, tier, t0, 100); });
    for (auto& thread : threads) thread.join();
    EXPECT_EQ(total.load(), 100);
}

TEST(LimiterConsumers, AreLimitedIndependently) {
    LocalLimiter limiter;
    const auto tier =
        tier_of({rate(requests, 5, minutes(1)), quota(requests, 5, Limit::Window::day)});
    EXPECT_EQ(admitted(limiter, tier, t0, 10, "alice"), 5);
    EXPECT_EQ(admitted(limiter, tier, t0, 10, "bob"), 5);
    EXPECT_FALSE(limiter.admit("alice", tier, t0).admitted);
}

TEST(LimiterStates, ReportRemainingAndResetPerLimit) {
    LocalLimiter limiter;
    const auto tier = tier_of({rate(requests, 100, minutes(1)), rate(tokens, 1000, minutes(1)),
                               quota(requests, 10, Limit::Window::day)});
    const auto now = at(2024y / March / 10, 18h);
    const auto first = limiter.admit("acme", tier, now);
    ASSERT_EQ(first.states.size(), 3u);
    for (std::size_t i = 0; i < 3; ++i) EXPECT_EQ(first.states[i].limit, &tier.limits[i]);
    EXPECT_EQ(first.states[0].remaining, 99u);
    EXPECT_EQ(first.states[0].reset, 1s);  // 0.6 s until full again
    EXPECT_EQ(first.states[1].remaining, 1000u);
    EXPECT_EQ(first.states[1].reset, 0s);  // full
    EXPECT_EQ(first.states[2].remaining, 9u);
    EXPECT_EQ(first.states[2].reset, 6h);  // until UTC midnight

    limiter.settle("acme", tier, 1500, now);
    EXPECT_EQ(admitted(limiter, tier, now, 1), 0);
    const auto refused = limiter.admit("acme", tier, now + 30s);
    // Refilled to the cap; the refused requests took nothing.
    EXPECT_EQ(refused.states[0].remaining, 100u);
    EXPECT_EQ(refused.states[0].reset, 0s);
    EXPECT_EQ(refused.states[1].remaining, 0u);  // -500 + 500 = 0
    EXPECT_EQ(refused.states[1].reset, 60s);     // 1000 tokens to refill
    EXPECT_EQ(refused.states[2].remaining, 9u);
    EXPECT_EQ(refused.states[2].reset, 6h - 30s);
}

TEST(LimiterTiers, WithoutLimitsAdmitEverythingAndReportNothing) {
    LocalLimiter limiter;
    const auto unlimited = tier_of({});
    for (int i = 0; i < 1000; ++i) {
        const auto decision = limiter.admit("acme", unlimited, t0);
        ASSERT_TRUE(decision.admitted);
        EXPECT_TRUE(decision.states.empty());
        EXPECT_EQ(decision.refused_by, nullptr);
    }
    limiter.settle("acme", unlimited, 1'000'000, t0);
}

TEST(LimiterTiers, ChangedAmountsKeepTheStateAndNewLimitsStartFresh) {
    LocalLimiter limiter;
    const auto one_per_minute =
        tier_of({rate(requests, 1, minutes(1)), quota(requests, 5, Limit::Window::day)});
    EXPECT_EQ(admitted(limiter, one_per_minute, t0, 2), 1);
    // A reload raises the rate: the bucket is still empty, the day's count is kept.
    const auto two_per_minute =
        tier_of({rate(requests, 2, minutes(1)), quota(requests, 5, Limit::Window::day)});
    const auto refused = limiter.admit("acme", two_per_minute, t0);
    EXPECT_FALSE(refused.admitted);
    EXPECT_EQ(refused.states[1].remaining, 4u);
    // Another kind of limit in the same place does not inherit the bucket's state.
    const auto daily = tier_of({quota(requests, 1, Limit::Window::day)});
    EXPECT_TRUE(limiter.admit("acme", daily, t0).admitted);
}

TEST(LimiterMemory, ForgettingIdleConsumersNeverChangesADecision) {
    LocalLimiter limiter;
    const auto tier =
        tier_of({rate(tokens, 1000, minutes(1)), quota(requests, 2, Limit::Window::day)});
    EXPECT_TRUE(limiter.admit("acme", tier, t0).admitted);
    limiter.settle("acme", tier, 5000, t0);  // 4000 in debt
    // Minutes later, shards sweep on access; a debt and a used quota are still there.
    const auto later = limiter.admit("acme", tier, t0 + 2min);
    EXPECT_FALSE(later.admitted);
    EXPECT_EQ(later.retry_after, 121s);
    EXPECT_EQ(later.states[1].remaining, 1u);
    EXPECT_TRUE(limiter.admit("acme", tier, t0 + 5min).admitted);
    EXPECT_FALSE(limiter.admit("acme", tier, t0 + 10min).admitted);  // the day's 2 are used
}
