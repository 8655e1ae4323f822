// The retry decision: conditions, attempts, endpoints, budget and time, in that order.
#include "llmgw/upstream/retry_decision.hpp"

#include <algorithm>

namespace llmgw::upstream {

namespace {
bool time_and_endpoint(const RetryStanding& standing) {
    return standing.other_endpoint && standing.time_left > std::chrono::steady_clock::duration::zero();
}
}  // namespace

RetryVerdict decide_retry(const config::RetryPolicy& policy, const RetryStanding& standing,
                          std::optional<config::RetryOn> condition) {
    if (standing.attempts_made > policy.attempts) return RetryVerdict::no_attempts_left;
    if (!condition || !policy.allows(*condition)) return RetryVerdict::not_retryable;
    if (!standing.other_endpoint) return RetryVerdict::no_endpoint_left;
    if (!standing.holds_budget && !standing.budget_left) return RetryVerdict::budget_exhausted;
    if (standing.time_left <= std::chrono::steady_clock::duration::zero())
        return RetryVerdict::deadline;
    return RetryVerdict::retry;
}

bool may_hold_back_answer(const config::RetryPolicy& policy, const RetryStanding& standing) {
    return standing.attempts_made <= policy.attempts && time_and_endpoint(standing) &&
           (standing.holds_budget || standing.budget_left);
}

bool may_resend(std::string_view method, bool has_idempotency_key, std::size_t bytes_written) {
    if (bytes_written == 0 || has_idempotency_key) return true;
    return method == "GET" || method == "HEAD" || method == "OPTIONS";
}

std::chrono::milliseconds retry_backoff(unsigned retry, unsigned random) {
    const unsigned base = 25u << std::min(retry, 5u);
    return std::chrono::milliseconds(base / 2 + random % base);
}

}  // namespace llmgw::upstream
