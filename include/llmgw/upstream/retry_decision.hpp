// Whether a failed attempt goes again on another endpoint: a pure function of the outcome, the
// policy and where the request stands, so it is tested alone (as Envoy's RetryState).
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string_view>

#include "llmgw/config/config.hpp"
#include "llmgw/upstream/failure.hpp"

namespace llmgw::upstream {

// Where the request stands when an attempt has failed (or answered 502/503).
struct RetryStanding {
    unsigned attempts_made = 1;     // this one included
    bool other_endpoint = false;    // an untried endpoint is available now
    bool holds_budget = false;      // a retry of this request is already counted in the budget
    bool budget_left = false;       // the backend's retry budget admits one more retry
    std::chrono::steady_clock::duration time_left{};  // before the total deadline
};

enum class RetryVerdict {
    retry,
    no_attempts_left,
    not_retryable,     // `retries.on` does not name this failure
    no_endpoint_left,
    budget_exhausted,
    deadline,
};

// For a failure without an answer, or an upstream 502/503 (`status`) held back.
RetryVerdict decide_retry(const config::RetryPolicy& policy, const RetryStanding& standing,
                          std::optional<config::RetryOn> condition);

// Before an attempt: whether its 502/503 answer may be held back for a retry. Only when one can
// really happen; otherwise the upstream's own answer goes to the client unchanged.
bool may_hold_back_answer(const config::RetryPolicy& policy, const RetryStanding& standing);

// RFC 9112 §9.3.1: a request goes again by itself on a fresh connection (a pooled one having
// failed before any answer) only when none of its bytes were written, its method is
// idempotent (GET, HEAD, OPTIONS), or the client sent Idempotency-Key. Otherwise a model
// server that read it and dropped the connection would run it twice.
bool may_resend(std::string_view method, bool has_idempotency_key, std::size_t bytes_written);

// The pause before retry number `retry` (0-based): 25 ms doubling up to 800 ms, ±50 % jitter
// from `random` (any 32-bit value), so retries from many clients spread out.
std::chrono::milliseconds retry_backoff(unsigned retry, unsigned random);

}  // namespace llmgw::upstream
