// How a limit decision is told to clients: RateLimit-* and OpenAI's x-ratelimit-* headers,
// and the 429 answer with Retry-After.
#pragma once

#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "llmgw/http/gateway_error.hpp"
#include "llmgw/limits/limiter.hpp"

namespace llmgw::limits {

using Headers = std::vector<std::pair<std::string, std::string>>;

// The figures the headers are written from, kept by an admitted request until its answer's
// head goes out: no string is made before then.
struct HeaderFigures {
    struct Figure {
        bool present = false;
        std::uint64_t limit = 0, remaining = 0;
        std::int64_t reset = 0;  // seconds
    };
    Figure requests, tokens, overall;  // the tightest limit of each unit, and overall
};
HeaderFigures header_figures(const Decision& decision);

// x-ratelimit-{limit,remaining,reset}-{requests,tokens} for the tightest limit of each unit,
// and RateLimit-Limit / -Remaining / -Reset for the tightest limit overall, each given to
// `emit(name, value)` in that order (the value's text lives only during the call).
template <typename Emit>
void write_headers(const HeaderFigures& figures, Emit&& emit) {
    char text[24];
    const auto put = [&](std::string_view name, auto number, std::string_view suffix) {
        auto* end = std::to_chars(text, text + sizeof text - 1, number).ptr;
        for (const char c : suffix) *end++ = c;
        emit(name, std::string_view(text, static_cast<std::size_t>(end - text)));
    };
    if (const auto& f = figures.requests; f.present) {
        put("x-ratelimit-limit-requests", f.limit, "");
        put("x-ratelimit-remaining-requests", f.remaining, "");
        put("x-ratelimit-reset-requests", f.reset, "s");
    }
    if (const auto& f = figures.tokens; f.present) {
        put("x-ratelimit-limit-tokens", f.limit, "");
        put("x-ratelimit-remaining-tokens", f.remaining, "");
        put("x-ratelimit-reset-tokens", f.reset, "s");
    }
    if (const auto& f = figures.overall; f.present) {
        put("ratelimit-limit", f.limit, "");
        put("ratelimit-remaining", f.remaining, "");
        put("ratelimit-reset", f.reset, "");
    }
}

// The same headers as lines ("name: value\r\n" each), written into a buffer on the stack and
// appended to `lines` in one go: the nine lines of an answer cost two thirds of what nine
// appends of a line each did (about 1,500 instructions against 2,400).
void append_header_lines(const HeaderFigures& figures, std::string& lines);

// Whether write_headers writes a header of this name (in any case) for these figures.
bool writes_header(const HeaderFigures& figures, std::string_view name);

// The same headers as strings (a 429 carries them in its GatewayError).
Headers rate_limit_headers(const Decision& decision);

// The 429 for a refused decision: which limit (requests or tokens, rate or quota), when to retry.
http::GatewayError rate_limited(const Decision& decision, const std::string& tier);

// The 429 concurrency_limit for a request over its tier's max_concurrent (`cap`).
http::GatewayError concurrency_limited(const Decision& decision, const std::string& tier,
                                       unsigned cap);

// A stable name for metrics: requests_rate, tokens_rate, requests_quota, tokens_quota.
std::string limit_name(const config::Limit& limit);

}  // namespace llmgw::limits
