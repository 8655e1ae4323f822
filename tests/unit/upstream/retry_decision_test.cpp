// The retry decision alone: conditions, attempts, endpoints, budget and time.
#include "llmgw/upstream/retry_decision.hpp"

#include <gtest/gtest.h>

using namespace std::chrono_literals;
using llmgw::config::RetryOn;
using llmgw::config::RetryPolicy;
using namespace llmgw::upstream;

namespace {

RetryPolicy policy(unsigned attempts, std::initializer_list<RetryOn> on) {
    RetryPolicy p;
    p.attempts = attempts;
    p.on = 0;
    for (auto kind : on) p.on |= static_cast<unsigned>(kind);
    return p;
}

RetryStanding first_failure() {
    return RetryStanding{.attempts_made = 1,
                         .other_endpoint = true,
                         .holds_budget = false,
                         .budget_left = true,
                         .time_left = 1s};
}

}  // namespace

TEST(RetryDecision, RetriesAConditionThePolicyNamesOnAnotherEndpoint) {
    EXPECT_EQ(decide_retry(policy(1, {RetryOn::connect_failure}), first_failure(),
                           RetryOn::connect_failure),
              RetryVerdict::retry);
}

TEST(RetryDecision, NeverRetriesAConditionThePolicyLeavesOut) {
    // The default policy leaves `reset` out: a model server that read the request may be
    // running it.
    EXPECT_EQ(decide_retry(RetryPolicy{}, first_failure(), RetryOn::reset),
              RetryVerdict::not_retryable);
    EXPECT_EQ(decide_retry(policy(1, {RetryOn::reset}), first_failure(), std::nullopt),
              RetryVerdict::not_retryable);
}

TEST(RetryDecision, StopsWhenTheAttemptsAreUsedUp) {
    auto standing = first_failure();
    standing.attempts_made = 2;
    EXPECT_EQ(decide_retry(policy(1, {RetryOn::timeout}), standing, RetryOn::timeout),
              RetryVerdict::no_attempts_left);
    EXPECT_EQ(decide_retry(policy(2, {RetryOn::timeout}), standing, RetryOn::timeout),
              RetryVerdict::retry);
}

TEST(RetryDecision, StopsWithoutAnotherEndpointBudgetOrTime) {
    const auto p = policy(3, {RetryOn::status_503});
    auto standing = first_failure();
    standing.other_endpoint = false;
    EXPECT_EQ(decide_retry(p, standing, RetryOn::status_503), RetryVerdict::no_endpoint_left);
    standing = first_failure();
    standing.budget_left = false;
    EXPECT_EQ(decide_retry(p, standing, RetryOn::status_503), RetryVerdict::budget_exhausted);
    standing.holds_budget = true;  // this request's retry is already counted
    EXPECT_EQ(decide_retry(p, standing, RetryOn::status_503), RetryVerdict::retry);
    standing.time_left = 0s;
    EXPECT_EQ(decide_retry(p, standing, RetryOn::status_503), RetryVerdict::deadline);
}

TEST(RetryDecision, HoldsBackAnAnswerOnlyWhenARetryCanHappen) {
    const auto p = policy(1, {RetryOn::status_502});
    EXPECT_TRUE(may_hold_back_answer(p, first_failure()));
    auto standing = first_failure();
    standing.other_endpoint = false;
    EXPECT_FALSE(may_hold_back_answer(p, standing));
    standing = first_failure();
    standing.attempts_made = 2;
    EXPECT_FALSE(may_hold_back_answer(p, standing));
    standing = first_failure();
    standing.budget_left = false;
    EXPECT_FALSE(may_hold_back_answer(p, standing));
}

TEST(RetryDecision, BackoffDoublesWithJitterWithinHalfToOneAndAHalfOfItsBase) {
    for (unsigned retry = 0; retry < 8; ++retry) {
        const auto base = 25u << std::min(retry, 5u);
        for (unsigned random : {0u, 1u, 12345u, 0xffffffffu}) {
            const auto pause = retry_backoff(retry, random).count();
            EXPECT_GE(pause, base / 2);
            EXPECT_LT(pause, base / 2 + base);
        }
    }
}

TEST(ResendRule, ARequestGoesAgainByItselfOnlyWhenItCannotRunTwice) {
    // Nothing written: the server never saw it.
    EXPECT_TRUE(may_resend("POST", false, 0));
    // Idempotent methods, or the client's word that a repeat is harmless.
    EXPECT_TRUE(may_resend("GET", false, 512));
    EXPECT_TRUE(may_resend("HEAD", false, 512));
    EXPECT_TRUE(may_resend("OPTIONS", false, 512));
    EXPECT_TRUE(may_resend("POST", true, 512));
    // A completion the server may have read and started: never sent twice unasked.
    EXPECT_FALSE(may_resend("POST", false, 512));
    EXPECT_FALSE(may_resend("PUT", false, 1));
    EXPECT_FALSE(may_resend("DELETE", false, 1));
}
