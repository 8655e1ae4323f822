// What one request did: the source of its access-log line and its metrics.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace llmgw::observability {

struct AccessRecord {
    std::chrono::system_clock::time_point time;  // when the request arrived
    std::string request_id;
    // The W3C trace id (lower-case hex) when tracing is configured and the request has one;
    // all '\0' otherwise. A fixed array: no allocation on the plain path.
    std::array<char, 32> trace_id{};
    std::string client;  // peer address
    std::string method;
    std::string path;  // without the query: queries may carry secrets
    std::string consumer;
    std::string issuer;  // the JWT's issuer; empty for API keys
    std::string tier;
    std::string route;
    std::string backend;        // the backend that took the request (a fallback, if one did)
    std::string fallback_from;  // the route's own backend when a fallback took the request
    std::string endpoint;
    int status = 0;
    std::uint64_t bytes_in = 0;   // request body
    std::uint64_t bytes_out = 0;  // response body
    std::chrono::steady_clock::duration duration{};
    std::optional<std::chrono::steady_clock::duration> upstream_first_byte;
    // Time spent in the backend's queue, when the request waited there.
    std::optional<std::chrono::steady_clock::duration> queue_wait;
    // The gateway's own time (llmgw_gateway_overhead_seconds), once the body was read.
    std::optional<std::chrono::steady_clock::duration> overhead;
    unsigned attempts = 0;  // sends of the request upstream, automatic re-sends included
    bool stream = false;  // the answer was relayed with chunked framing
    std::optional<std::uint64_t> prompt_tokens;
    std::optional<std::uint64_t> completion_tokens;
    bool tokens_estimated = false;
    std::string cache;       // "hit", "miss", "bypass", or empty on routes without a cache
    std::string rate_limit;  // "admitted", "refused", or empty when the tier has no limits
    std::string error;       // kind of gateway error, empty when none
};

}  // namespace llmgw::observability
