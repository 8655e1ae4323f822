// Tiers in the configuration: each rate or quota key is one limit; mistakes name key and line.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>

#include "llmgw/config/loader.hpp"
#include "load_error.hpp"

using namespace std::chrono_literals;
using llmgw::config::ConfigError;
using llmgw::config::Limit;
using llmgw::config::load_string;
using testing::HasSubstr;

using llmgw::config::testing::load_error;

namespace {

// Two lines, so the tiers start on line 3.
const std::string base = R"(backends: { b: { endpoints: [ { url: "http://127.0.0.1:1" } ] } }
routes: [ { name: chat, backend: b } ]
)";

void expect_limit(const Limit& limit, Limit::Unit unit, Limit::Kind kind, std::uint64_t amount) {
    EXPECT_EQ(limit.unit, unit);
    EXPECT_EQ(limit.kind, kind);
    EXPECT_EQ(limit.amount, amount);
}

}  // namespace

TEST(TierConfig, EveryRateAndQuotaKeyBecomesOneLimit) {
    const auto config = load_string(base + R"(tiers:
  free:
    rate:  { requests_per_minute: 100, tokens_per_minute: 20000 }
    quota: { requests_per_day: 100 }
  pro:
    rate:  { requests_per_minute: 1000, burst: 50 }
    quota: { requests_per_day: 10000, tokens_per_month: 5000000 }
  enterprise: {}
)");
    ASSERT_EQ(config.tiers.size(), 3u);
    const auto& free = config.tiers[0];
    EXPECT_EQ(free.name, "free");
    ASSERT_EQ(free.limits.size(), 3u);
    expect_limit(free.limits[0], Limit::Unit::requests, Limit::Kind::rate, 100);
    EXPECT_EQ(free.limits[0].period, 1min);
    EXPECT_EQ(free.limits[0].burst, 100u);  // the amount per period, by default
    expect_limit(free.limits[1], Limit::Unit::tokens, Limit::Kind::rate, 20000);
    EXPECT_EQ(free.limits[1].period, 1min);
    expect_limit(free.limits[2], Limit::Unit::requests, Limit::Kind::quota, 100);
    EXPECT_EQ(free.limits[2].window, Limit::Window::day);

    const auto& pro = config.tiers[1];
    ASSERT_EQ(pro.limits.size(), 3u);
    expect_limit(pro.limits[0], Limit::Unit::requests, Limit::Kind::rate, 1000);
    EXPECT_EQ(pro.limits[0].burst, 50u);
    expect_limit(pro.limits[1], Limit::Unit::requests, Limit::Kind::quota, 10000);
    expect_limit(pro.limits[2], Limit::Unit::tokens, Limit::Kind::quota, 5000000);
    EXPECT_EQ(pro.limits[2].window, Limit::Window::month);

    EXPECT_EQ(config.tiers[2].name, "enterprise");
    EXPECT_TRUE(config.tiers[2].limits.empty());
}

TEST(TierConfig, LimitsAreOrderedRatesFirstWhateverTheFileOrder) {
    const auto config = load_string(base + R"(tiers:
  t:
    quota: { tokens_per_month: 4, tokens_per_day: 3, requests_per_month: 2, requests_per_day: 1 }
    rate: { tokens_per_minute: 8, tokens_per_second: 7, requests_per_minute: 6, requests_per_second: 5 }
)");
    const auto& limits = config.tiers[0].limits;
    ASSERT_EQ(limits.size(), 8u);
    for (std::size_t i = 0; i < 8; ++i) EXPECT_EQ(limits[i].amount, i < 4 ? i + 5 : i - 3) << i;
    EXPECT_EQ(limits[0].period, 1s);
    EXPECT_EQ(limits[1].period, 1min);
    EXPECT_EQ(limits[2].period, 1s);
    EXPECT_EQ(limits[3].period, 1min);
    EXPECT_EQ(limits[4].window, Limit::Window::day);
    EXPECT_EQ(limits[5].window, Limit::Window::month);
    EXPECT_EQ(limits[6].window, Limit::Window::day);
    EXPECT_EQ(limits[7].window, Limit::Window::month);
}

TEST(TierConfig, BurstSetsTheCapacityOfEveryRequestBucket) {
    const auto config = load_string(base +
                                    "tiers: { t: { rate: { requests_per_second: 10, "
                                    "requests_per_minute: 100, tokens_per_minute: 5, "
                                    "burst: 20 } } }\n");
    const auto& limits = config.tiers[0].limits;
    ASSERT_EQ(limits.size(), 3u);
    EXPECT_EQ(limits[0].burst, 20u);
    EXPECT_EQ(limits[1].burst, 20u);
    EXPECT_EQ(limits[2].burst, 5u);  // token buckets hold their amount
}

TEST(TierConfig, EmptyOrNullTiersAreUnlimited) {
    const auto config = load_string(base + "tiers:\n  a: {}\n  b:\n  c: { rate: {}, quota: {} }\n");
    ASSERT_EQ(config.tiers.size(), 3u);
    for (const auto& tier : config.tiers) EXPECT_TRUE(tier.limits.empty()) << tier.name;
}

TEST(TierConfig, RefusesUnknownKeysNamingKeyAndLine) {
    EXPECT_THAT(load_error(base + "tiers:\n  free:\n    rate: { requests_per_hour: 10 }\n"),
                HasSubstr("t.yaml:5: tiers.free.rate.requests_per_hour: unknown key"));
    EXPECT_THAT(
        load_error(
            base +
            "tiers:\n  free:\n    quota:\n      requests_per_day: 1\n      tokens_per_week: 10\n"),
        HasSubstr("t.yaml:7: tiers.free.quota.tokens_per_week: unknown key"));
    EXPECT_THAT(
        load_error(base +
                   "tiers:\n  free:\n    rate: { requests_per_minute: 1 }\n    limits: {}\n"),
        HasSubstr("t.yaml:6: tiers.free.limits: unknown key"));
    // Quota keys under rate (and the other way round) are not silently accepted.
    EXPECT_THAT(load_error(base + "tiers: { free: { rate: { requests_per_day: 1 } } }\n"),
                HasSubstr("tiers.free.rate.requests_per_day: unknown key"));
    EXPECT_THAT(load_error(base + "tiers: { free: { quota: { burst: 1 } } }\n"),
                HasSubstr("tiers.free.quota.burst: unknown key"));
}

TEST(TierConfig, RefusesAmountsThatAreNotPositiveIntegers) {
    EXPECT_THAT(
        load_error(base + "tiers:\n  free:\n    rate: { requests_per_minute: 0 }\n"),
        HasSubstr("t.yaml:5: tiers.free.rate.requests_per_minute: expected an integer from 1 to "
                  "1000000000000, got \"0\""));
    EXPECT_THAT(load_error(base + "tiers:\n  free:\n    quota:\n      tokens_per_day: 1.5\n"),
                HasSubstr("t.yaml:6: tiers.free.quota.tokens_per_day: expected an integer from 1"));
    EXPECT_THAT(load_error(base + "tiers: { free: { quota: { requests_per_month: -3 } } }\n"),
                HasSubstr("tiers.free.quota.requests_per_month: expected an integer from 1"));
    EXPECT_THAT(load_error(base + "tiers: { free: { rate: { tokens_per_second: lots } } }\n"),
                HasSubstr("tiers.free.rate.tokens_per_second: expected an integer from 1"));
    EXPECT_THAT(
        load_error(base + "tiers: { free: { quota: { tokens_per_month: 1000000000001 } } }\n"),
        HasSubstr("expected an integer from 1 to 1000000000000"));
}

TEST(TierConfig, BurstNeedsARequestRateAndAtLeastOne) {
    EXPECT_THAT(
        load_error(base + "tiers:\n  free:\n    rate: { tokens_per_minute: 100, burst: 5 }\n"),
        HasSubstr(
            "t.yaml:5: tiers.free.rate.burst: needs requests_per_second or requests_per_minute"));
    EXPECT_THAT(
        load_error(base +
                   "tiers:\n  free:\n    rate:\n      requests_per_minute: 100\n      burst: 0\n"),
        HasSubstr("t.yaml:7: tiers.free.rate.burst: expected an integer from 1"));
}

TEST(TierConfig, RateAndQuotaMustBeMappings) {
    EXPECT_THAT(load_error(base + "tiers:\n  free:\n    rate: 100\n"),
                HasSubstr("t.yaml:5: tiers.free.rate: expected a mapping"));
    EXPECT_THAT(load_error(base + "tiers:\n  free:\n    quota: [requests_per_day]\n"),
                HasSubstr("t.yaml:5: tiers.free.quota: expected a mapping"));
}
