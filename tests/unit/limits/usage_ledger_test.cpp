// Usage per consumer and UTC day.
#include "llmgw/limits/usage_ledger.hpp"

#include <gtest/gtest.h>

using namespace std::chrono;
using llmgw::limits::UsageLedger;

TEST(UsageLedger, SumsPerConsumerAndUtcDay) {
    UsageLedger ledger;
    const auto day1 = sys_days{2026y / November / 24} + 23h + 59min;
    const auto day2 = sys_days{2026y / November / 25} + 1min;
    ledger.record("acme", day1, 10, 20, false, false);
    ledger.record("acme", day1, 1, 2, true, false);
    ledger.record("acme", day2, 5, 5, false, true);
    ledger.record("beta", day2, 100, 100, false, false);
    const auto usage = ledger.query("acme", "2026-11-01", "2026-11-30");
    ASSERT_EQ(usage.size(), 2u);
    EXPECT_EQ(usage[0].day, "2026-11-24");
    EXPECT_EQ(usage[0].requests, 2u);
    EXPECT_EQ(usage[0].prompt_tokens, 11u);
    EXPECT_EQ(usage[0].completion_tokens, 22u);
    EXPECT_EQ(usage[0].estimated_requests, 1u);
    EXPECT_EQ(usage[1].day, "2026-11-25");
    EXPECT_EQ(usage[1].cached, 1u);
    EXPECT_EQ(ledger.query("acme", "2026-11-25", "2026-11-25").size(), 1u);
    EXPECT_TRUE(ledger.query("nobody", "2026-01-01", "2026-12-31").empty());
}

TEST(UsageLedger, ForgetsDaysOlderThanItKeeps) {
    UsageLedger ledger;
    const auto long_ago = sys_days{2025y / January / 1};
    ledger.record("acme", long_ago, 1, 1, false, false);
    ledger.record("acme", long_ago + days(UsageLedger::kept_days + 1), 1, 1, false, false);
    EXPECT_TRUE(ledger.query("acme", "2025-01-01", "2025-01-01").empty());
    EXPECT_EQ(ledger.query("acme", "2025-01-01", "2027-12-31").size(), 1u);
}

// The day asked last is kept per thread: asking for another and back again gives each its own.
TEST(UsageLedger, DayOfFollowsEveryChangeOfDay) {
    const auto first = sys_days{2026y / December / 31} + 23h + 59min + 59s;
    const auto second = sys_days{2027y / January / 1};
    EXPECT_EQ(UsageLedger::day_of(first), "2026-12-31");
    EXPECT_EQ(UsageLedger::day_of(first + 1s), "2027-01-01");
    EXPECT_EQ(UsageLedger::day_of(second), "2027-01-01");
    EXPECT_EQ(UsageLedger::day_of(first), "2026-12-31");
    EXPECT_EQ(UsageLedger::day_of(sys_days{1970y / January / 1}), "1970-01-01");
}

// The entry recorded into last is kept for the next record: whatever comes in between (another
// consumer, another day, a day pruned), each record lands on its own consumer and day.
TEST(UsageLedger, EachRecordLandsOnItsConsumerAndDayWhateverCameBefore) {
    UsageLedger ledger;
    const auto day1 = sys_days{2026y / November / 24} + 1h;
    const auto day2 = day1 + days(1);
    ledger.record("acme", day1, 1, 0, false, false);
    ledger.record("acme", day1, 2, 0, false, false);
    ledger.record("beta", day1, 4, 0, false, false);
    ledger.record("acme", day1, 8, 0, false, false);
    ledger.record("acme", day2, 16, 0, false, false);
    ledger.record("acme", day1, 32, 0, false, false);
    ledger.record("beta", day2, 64, 0, false, false);
    const auto acme = ledger.query("acme", "2026-11-01", "2026-11-30");
    ASSERT_EQ(acme.size(), 2u);
    EXPECT_EQ(acme[0].prompt_tokens, 1u + 2 + 8 + 32);
    EXPECT_EQ(acme[0].requests, 4u);
    EXPECT_EQ(acme[1].prompt_tokens, 16u);
    const auto beta = ledger.query("beta", "2026-11-01", "2026-11-30");
    ASSERT_EQ(beta.size(), 2u);
    EXPECT_EQ(beta[0].prompt_tokens, 4u);
    EXPECT_EQ(beta[1].prompt_tokens, 64u);

    // A record far later prunes the day, which is then recorded again: it starts anew.
    const auto later = day1 + days(UsageLedger::kept_days + 1);
    ledger.record("beta", later, 1, 0, false, false);
    ledger.record("acme", day1, 128, 0, false, false);
    ledger.record("acme", day1, 256, 0, false, false);
    const auto again = ledger.query("acme", "2026-11-24", "2026-11-24");
    ASSERT_EQ(again.size(), 1u);
    EXPECT_EQ(again[0].prompt_tokens, 128u + 256);
    EXPECT_EQ(again[0].requests, 2u);
}
