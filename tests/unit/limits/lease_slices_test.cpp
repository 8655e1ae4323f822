// LeaseSlices: slice sizes, admitting from slices all or nothing, top-ups, quota windows, and
// what is given back (idle, reload, drain).
#include "llmgw/limits/lease_slices.hpp"

#include <gtest/gtest.h>

#include <chrono>

#include "test_limits.hpp"

namespace {

using namespace std::chrono_literals;
using namespace llmgw::limits::testing;
using llmgw::limits::Charge;
using llmgw::limits::Clock;
using llmgw::limits::LeaseSlices;
using llmgw::limits::LimitState;

const auto now = Clock::time_point{} + std::chrono::days(20000) + 10h;  // 2024-10-04 10:00 UTC

// Grants `amounts` to acme's slices of `tier`, Redis reporting `left` remaining of each limit.
void grant(LeaseSlices& slices, const Tier& tier, std::vector<std::uint64_t> amounts,
           std::uint64_t left = 1000, Clock::time_point at = now) {
    std::vector<LimitState> states;
    for (const auto& limit : tier.limits) states.push_back({&limit, left, 30s});
    slices.add("acme", tier, slices.ask("acme", tier, at), amounts, states, at);
}

TEST(LeaseSlices, ASliceIsTheFractionOfTheLimitOrOfItsSmallerBurst) {
    EXPECT_EQ(LeaseSlices::slice_size(rate(requests, 600, 1min), 0.02), 12u);
    EXPECT_EQ(LeaseSlices::slice_size(rate(requests, 600, 1min, 100), 0.02), 2u);
    EXPECT_EQ(LeaseSlices::slice_size(quota(tokens, 1'000'000, Limit::Window::day), 0.01), 10'000u);
    EXPECT_EQ(LeaseSlices::slice_size(quota(requests, 10, Limit::Window::day), 0.02), 0u);
}

TEST(LeaseSlices, SmallLimitsCappedTiersAndLargeReservationsStayExact) {
    LeaseSlices slices(0.02);
    EXPECT_TRUE(slices.leasable(tier_of({rate(requests, 600, 1min)}), {}));
    EXPECT_FALSE(slices.leasable(tier_of({}), {}));
    EXPECT_FALSE(slices.leasable(tier_of({quota(requests, 10, Limit::Window::day)}), {}));
    auto capped = tier_of({rate(requests, 600, 1min)});
    capped.max_concurrent = 2;
    EXPECT_FALSE(slices.leasable(capped, {}));
    const auto token_rate = tier_of({rate(tokens, 100'000, 1min)});  // slices of 2,000 tokens
    EXPECT_TRUE(slices.leasable(token_rate, Charge{2000, 0}));
    EXPECT_FALSE(slices.leasable(token_rate, Charge{2001, 0}));
}

TEST(LeaseSlices, AdmitsFromEverySliceOrFromNone) {
    LeaseSlices slices(0.02);
    const auto tier = tier_of({rate(requests, 600, 1min), rate(tokens, 100'000, 1min)});
    EXPECT_FALSE(slices.take("acme", tier, Charge{500, 0}, now));  // nothing granted yet
    grant(slices, tier, {12, 1000});
    const auto top_up = slices.ask("acme", tier, now);
    EXPECT_EQ(top_up, (std::vector<std::uint64_t>{0, 1000}));
    // Asked for by a call under way: a second call asks for nothing more.
    EXPECT_EQ(slices.ask("acme", tier, now), (std::vector<std::uint64_t>{0, 0}));
    slices.cancel("acme", tier, top_up);  // that call failed
    const auto first = slices.take("acme", tier, Charge{500, 0}, now);
    ASSERT_TRUE(first);
    EXPECT_TRUE(first->admitted);
    ASSERT_EQ(first->states.size(), 2u);
    EXPECT_EQ(first->states[0].limit, &tier.limits[0]);
    EXPECT_EQ(first->states[0].remaining, 1000u + 11);  // Redis's figure + what is still held
    EXPECT_EQ(first->states[1].remaining, 1000u + 500);
    EXPECT_TRUE(slices.take("acme", tier, Charge{500, 0}, now));
    // The token slice is empty: nothing is taken from the request slice either.
    EXPECT_FALSE(slices.take("acme", tier, Charge{1, 0}, now));
    EXPECT_EQ(slices.ask("acme", tier, now), (std::vector<std::uint64_t>{2, 2000}));
    EXPECT_FALSE(slices.take("other", tier, Charge{1, 0}, now));  // slices are per consumer
}

TEST(LeaseSlices, RunsLowAtHalfAndRenewsOneAtATime) {
    LeaseSlices slices(0.02);
    const auto tier = tier_of({rate(requests, 600, 1min)});
    grant(slices, tier, {12});
    for (int i = 0; i < 5; ++i) ASSERT_TRUE(slices.take("acme", tier, {}, now));
    EXPECT_FALSE(slices.low("acme", tier));
    ASSERT_TRUE(slices.take("acme", tier, {}, now));
    EXPECT_TRUE(slices.low("acme", tier));  // 6 of 12 left
    EXPECT_TRUE(slices.begin_renewal("acme", tier));
    EXPECT_FALSE(slices.begin_renewal("acme", tier));
    slices.end_renewal("acme", tier);
    EXPECT_TRUE(slices.begin_renewal("acme", tier));
}

TEST(LeaseSlices, AQuotaSliceDiesWithItsWindowAndIsNotGivenBack) {
    LeaseSlices slices(0.02);
    const auto tier = tier_of({quota(requests, 1000, Limit::Window::day)});
    grant(slices, tier, {20});
    ASSERT_TRUE(slices.take("acme", tier, {}, now + 13h));  // 23:00, the same UTC day
    EXPECT_FALSE(slices.take("acme", tier, {}, now + 14h));  // the next day
    EXPECT_TRUE(slices.take_all().empty());
}

TEST(LeaseSlices, GivesBackWhatAChangedTierHeldWithTheLimitsItWasGrantedFor) {
    LeaseSlices slices(0.02);
    const auto before = tier_of({rate(requests, 600, 1min)});
    grant(slices, before, {12});
    ASSERT_TRUE(slices.take("acme", before, {}, now));
    const auto after = tier_of({rate(requests, 1200, 1min)});
    EXPECT_FALSE(slices.take("acme", after, {}, now));
    const auto stale = slices.take_stale();
    ASSERT_EQ(stale.size(), 1u);
    EXPECT_EQ(stale[0].consumer, "acme");
    EXPECT_EQ(stale[0].amount, 11u);
    EXPECT_EQ(stale[0].tier.limits, before.limits);
    EXPECT_EQ(stale[0].granted_at, now);
    EXPECT_TRUE(slices.take_stale().empty());
}

TEST(LeaseSlices, IdleSlicesAndAllSlicesAtDrainAreGivenBack) {
    LeaseSlices slices(0.02);
    const auto tier = tier_of({rate(requests, 600, 1min)});
    grant(slices, tier, {12});
    ASSERT_TRUE(slices.take("acme", tier, {}, now));
    grant(slices, tier, {12}, 1000, now);
    std::vector<LimitState> no_states;
    slices.add("busy", tier, slices.ask("busy", tier, now + 10s), {12}, no_states, now + 10s);
    EXPECT_TRUE(slices.take_idle(now).empty());  // used at `now`: not idle before it
    const auto idle = slices.take_idle(now + 5s);
    ASSERT_EQ(idle.size(), 1u);
    EXPECT_EQ(idle[0].consumer, "acme");
    EXPECT_EQ(idle[0].amount, 23u);
    EXPECT_FALSE(slices.take("acme", tier, {}, now + 6s));  // given back: gone here
    const auto all = slices.take_all();
    ASSERT_EQ(all.size(), 1u);
    EXPECT_EQ(all[0].consumer, "busy");
    EXPECT_EQ(all[0].amount, 12u);
}

}  // namespace
