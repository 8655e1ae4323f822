// How a limit decision is told to clients: RateLimit-* and OpenAI's x-ratelimit-* headers,
// and the 429 answer with Retry-After.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "llmgw/http/gateway_error.hpp"
#include "llmgw/limits/limiter.hpp"

namespace llmgw::limits {

using Headers = std::vector<std::pair<std::string, std::string>>;

// x-ratelimit-{limit,remaining,reset}-{requests,tokens} for the tightest limit of each unit,
// and RateLimit-Limit / -Remaining / -Reset for the tightest limit overall.
Headers rate_limit_headers(const Decision& decision);

// The 429 for a refused decision: which limit (requests or tokens, rate or quota), when to retry.
http::GatewayError rate_limited(const Decision& decision, const std::string& tier);

// The 429 concurrency_limit for a request over its tier's max_concurrent (`cap`).
http::GatewayError concurrency_limited(const Decision& decision, const std::string& tier,
                                       unsigned cap);

// A stable name for metrics: requests_rate, tokens_rate, requests_quota, tokens_quota.
std::string limit_name(const config::Limit& limit);

}  // namespace llmgw::limits
