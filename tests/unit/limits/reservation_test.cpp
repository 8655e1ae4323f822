// Reservations: the settle arithmetic, the request-side estimate, and both limiters admitting
// only what fits and giving back what was not used.
#include <gtest/gtest.h>

#include <chrono>
#include <utility>
#include <nlohmann/json.hpp>

#include "llmgw/limits/limiter.hpp"
#include "llmgw/limits/reservation.hpp"
#include "llmgw/limits/reservation_estimate.hpp"
#include "test_limits.hpp"

using namespace std::chrono;
using llmgw::limits::Charge;
using llmgw::limits::Clock;
using Shape = llmgw::usage::EndpointShape;
using llmgw::limits::LocalLimiter;
using namespace llmgw::limits;
using namespace llmgw::limits::testing;

namespace {
const Clock::time_point t0 = Clock::time_point(sys_days(2024y / March / 10)) + 12h;
constexpr auto cost = llmgw::config::Limit::Unit::cost;
}  // namespace

TEST(ReservationArithmetic, ABucketGetsBackWhatWasNotUsedButNeverAboveItsCapacity) {
    EXPECT_DOUBLE_EQ(settled_level(100, 1000, 500, 200), 400);  // 300 back
    EXPECT_DOUBLE_EQ(settled_level(900, 1000, 500, 0), 1000);   // capped
    EXPECT_DOUBLE_EQ(settled_level(100, 1000, 500, 800), -200);  // extra debit: debt
}

TEST(ReservationArithmetic, AQuotaRefundsOnlyIntoTheWindowThatHeldTheReservation) {
    EXPECT_EQ(settled_used(700, 500, 200, true), 400u);
    EXPECT_EQ(settled_used(100, 500, 0, true), 0u);    // never below zero
    EXPECT_EQ(settled_used(700, 500, 800, true), 1000u);
    EXPECT_EQ(settled_used(50, 500, 200, false), 50u);  // the new window never saw it
    EXPECT_EQ(settled_used(50, 500, 800, false), 350u);  // only the extra lands there
}

TEST(ReservationArithmetic, NeverNeedsMoreThanTheLimitHolds) {
    EXPECT_DOUBLE_EQ(needed(500, 10000), 500);
    EXPECT_DOUBLE_EQ(needed(50000, 10000), 10000);
}

TEST(RequestEstimate, ChatPromptIsTextBytesOverFourPlusFourPerMessage) {
    const auto body = nlohmann::json::parse(
        R"({"model":"m","max_tokens":100,"messages":[{"role":"system","content":"12345678"},
            {"role":"user","content":[{"type":"text","text":"abcd"}]}]})");
    const auto estimate = estimate_request(&body, 0, Shape::chat_completions, 512);
    EXPECT_EQ(estimate.prompt_tokens, 3u + 2 * tokens_per_message);  // 12 bytes → 3
    EXPECT_EQ(estimate.completion_tokens, 100u);
}

TEST(RequestEstimate, ReadsTheEndpointsMaxOutputFieldAndMultipliesByChoices) {
    const std::pair<Shape, const char*> fields[] = {{Shape::completions, "max_tokens"},
                                                    {Shape::chat_completions, "max_completion_tokens"},
                                                    {Shape::responses, "max_output_tokens"}};
    for (const auto& [shape, field] : fields) {
        nlohmann::json body = {{"prompt", "abcdefgh"}, {field, 64}, {"n", 3}};
        const auto estimate = estimate_request(&body, 0, shape, 512);
        EXPECT_EQ(estimate.prompt_tokens, 2u) << field;
        EXPECT_EQ(estimate.completion_tokens, 192u) << field;
    }
    // A field the endpoint does not read is no cap: the default is reserved.
    nlohmann::json body = {{"input", "abcd"}, {"max_tokens", 64}};
    EXPECT_EQ(estimate_request(&body, 0, Shape::responses, 512).completion_tokens, 512u);
}

TEST(RequestEstimate, UsesTheDefaultWithoutMaxOutputAndNothingForEmbeddings) {
    nlohmann::json body = {{"input", "abcd"}};
    EXPECT_EQ(estimate_request(&body, 0, Shape::completions, 512).completion_tokens, 512u);
    EXPECT_EQ(estimate_request(&body, 0, Shape::embeddings, 512).completion_tokens, 0u);
    EXPECT_EQ(estimate_request(&body, 0, Shape::rerank, 512).completion_tokens, 0u);
    EXPECT_EQ(estimate_request(nullptr, 41, Shape::completions, 7).prompt_tokens, 11u);
}

TEST(RequestEstimate, CostIsPerMillionTokensInNanoUnitsRoundedUp) {
    const llmgw::config::Price price{0.10, 0.30};
    EXPECT_EQ(cost_of(price, 1'000'000, 0), 100'000'000u);  // 0.10
    EXPECT_EQ(cost_of(price, 10, 10), 4'000u);               // 10×100 + 10×300 nano
    EXPECT_EQ(cost_of(price, 0, 0), 0u);
}

TEST(LimiterReservation, ATokenBucketAdmitsOnlyWhatFitsAndTakesItAtOnce) {
    LocalLimiter limiter;
    const auto tier = tier_of({rate(tokens, 10000, minutes(1))});
    int admitted = 0;
    for (int i = 0; i < 50; ++i) admitted += limiter.admit("a", tier, Charge{600, 0}, t0).admitted;
    EXPECT_EQ(admitted, 16);  // 16 × 600 = 9600; a 17th would overshoot
    const auto refused = limiter.admit("a", tier, Charge{600, 0}, t0);
    EXPECT_FALSE(refused.admitted);
    EXPECT_EQ(refused.retry_after, 2s);  // 200 more tokens take 1.2 s
    EXPECT_EQ(refused.states[0].remaining, 400u);
}

TEST(LimiterReservation, SettlingGivesBackTheRestSoNothingLeaks) {
    LocalLimiter limiter;
    const auto tier = tier_of({rate(tokens, 10000, minutes(1)), quota(tokens, 50000, Limit::Window::day)});
    for (int i = 0; i < 10; ++i) {
        const auto decision = limiter.admit("a", tier, Charge{1000, 0}, t0);
        ASSERT_TRUE(decision.admitted);
        limiter.settle("a", tier, Charge{1000, 0}, Charge{0, 0}, t0, t0);  // cut before a token
    }
    const auto after = limiter.admit("a", tier, Charge{1, 0}, t0);
    EXPECT_EQ(after.states[0].remaining, 9999u);
    EXPECT_EQ(after.states[1].remaining, 49999u);
}

TEST(LimiterReservation, AReservationLargerThanTheBucketWaitsForAFullBucket) {
    LocalLimiter limiter;
    const auto tier = tier_of({rate(tokens, 1000, minutes(1))});
    EXPECT_TRUE(limiter.admit("a", tier, Charge{5000, 0}, t0).admitted);  // full: goes into debt
    EXPECT_FALSE(limiter.admit("a", tier, Charge{1, 0}, t0 + 30s).admitted);
}

TEST(LimiterReservation, AMoneyBudgetRefusesWhatDoesNotFitInTheDay) {
    LocalLimiter limiter;
    const auto tier = tier_of({quota(cost, 1'000'000'000, Limit::Window::day)});  // 1.00
    EXPECT_TRUE(limiter.admit("a", tier, Charge{10, 600'000'000}, t0).admitted);
    const auto refused = limiter.admit("a", tier, Charge{10, 600'000'000}, t0);
    EXPECT_FALSE(refused.admitted);
    EXPECT_EQ(refused.refused_by, &tier.limits[0]);
    limiter.settle("a", tier, Charge{10, 600'000'000}, Charge{10, 100'000'000}, t0, t0);
    EXPECT_TRUE(limiter.admit("a", tier, Charge{10, 600'000'000}, t0).admitted);
}

TEST(LimiterReservation, WithNothingToReserveATokenLimitAdmitsWhileAnythingIsLeft) {
    LocalLimiter limiter;
    const auto tier = tier_of({rate(tokens, 1000, minutes(1))});
    limiter.settle("a", tier, 999, t0);
    EXPECT_TRUE(limiter.admit("a", tier, t0).admitted);
    EXPECT_FALSE(limiter.admit("a", tier, Charge{2, 0}, t0).admitted);
}
