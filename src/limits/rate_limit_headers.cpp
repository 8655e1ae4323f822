// Rate-limit headers and the 429 answer.
#include "llmgw/limits/rate_limit_headers.hpp"

#include "llmgw/headers/header_names.hpp"

#include <algorithm>
#include <cstdio>

namespace llmgw::limits {

namespace {

using Unit = config::Limit::Unit;

// The state closest to exhaustion, by share of the limit left; nullptr when none.
const LimitState* tightest(const Decision& decision, const Unit* unit) {
    const LimitState* best = nullptr;
    double best_share = 0;
    for (const auto& state : decision.states) {
        if (unit != nullptr && state.limit->unit != *unit) continue;
        if (state.limit->unit == Unit::cost) continue;  // money is no rate-limit header
        // Share of what the limit can hold: a bucket's capacity is its burst.
        const auto& limit = *state.limit;
        const auto capacity = limit.kind == config::Limit::Kind::rate && limit.burst != 0 ? limit.burst : limit.amount;
        const double share =
            static_cast<double>(state.remaining) / static_cast<double>(std::max<std::uint64_t>(1, capacity));
        if (best == nullptr || share < best_share) {
            best_share = share;
            best = &state;
        }
    }
    return best;
}

std::string unit_name(Unit unit) {
    switch (unit) {
        case Unit::tokens: return "tokens";
        case Unit::cost: return "cost";
        default: return "requests";
    }
}

std::string describe(const config::Limit& limit) {
    if (limit.unit == Unit::cost) {
        char amount[32];
        std::snprintf(amount, sizeof amount, "%.9g", static_cast<double>(limit.amount) / 1e9);
        return std::string(amount) + " per " +
               (limit.window == config::Limit::Window::day ? "day" : "month") + " (UTC)";
    }
    const std::string unit = unit_name(limit.unit);
    if (limit.kind == config::Limit::Kind::rate)
        return std::to_string(limit.amount) + " " + unit + " per " +
               (limit.period >= std::chrono::minutes(1) ? "minute" : "second");
    return std::to_string(limit.amount) + " " + unit + " per " +
           (limit.window == config::Limit::Window::day ? "day" : "month") + " (UTC)";
}

}  // namespace

void append_header_lines(const HeaderFigures& figures, std::string& lines) {
    // Nine lines at most, each at most a 30-byte name, ": ", 20 digits, "s" and CRLF.
    char text[9 * 56];
    char* out = text;
    write_headers(figures, [&](std::string_view name, std::string_view value) {
        out = std::copy(name.begin(), name.end(), out);
        *out++ = ':';
        *out++ = ' ';
        out = std::copy(value.begin(), value.end(), out);
        *out++ = '\r';
        *out++ = '\n';
    });
    lines.append(text, static_cast<std::size_t>(out - text));
}

std::string limit_name(const config::Limit& limit) {
    return unit_name(limit.unit) + (limit.kind == config::Limit::Kind::rate ? "_rate" : "_quota");
}

HeaderFigures header_figures(const Decision& decision) {
    const auto figure = [](const LimitState* state) {
        if (state == nullptr) return HeaderFigures::Figure{};
        return HeaderFigures::Figure{true, state->limit->amount, state->remaining,
                                     static_cast<std::int64_t>(state->reset.count())};
    };
    const auto requests = Unit::requests;
    const auto tokens = Unit::tokens;
    return {figure(tightest(decision, &requests)), figure(tightest(decision, &tokens)),
            figure(tightest(decision, nullptr))};
}

bool writes_header(const HeaderFigures& figures, std::string_view name) {
    // Every name written starts with "x-ratelimit-" or "ratelimit-": most fields stop here.
    const char first = static_cast<char>(name.empty() ? 0 : name[0] | 0x20);
    if (name.size() < std::string_view("ratelimit-limit").size() || (first != 'x' && first != 'r'))
        return false;
    bool found = false;
    write_headers(figures, [&](std::string_view written, std::string_view) {
        found = found || headers::equals_lower(name, written);
    });
    return found;
}

Headers rate_limit_headers(const Decision& decision) {
    Headers headers;
    write_headers(header_figures(decision), [&](std::string_view name, std::string_view value) {
        headers.emplace_back(std::string(name), std::string(value));
    });
    return headers;
}

http::GatewayError rate_limited(const Decision& decision, const std::string& tier) {
    const auto& limit = *decision.refused_by;
    const bool quota = limit.kind == config::Limit::Kind::quota;
    const bool budget = limit.unit == Unit::cost;
    const auto code = budget  ? http::ErrorCode::budget_exceeded
                      : quota ? http::ErrorCode::quota_exceeded
                              : http::ErrorCode::rate_limit_exceeded;
    auto error = http::make_error(
        code, std::string(budget ? "money budget" : quota ? "quota" : "rate limit") +
                  " reached for tier " + tier + ": " + describe(limit) + "; retry in " +
                  std::to_string(decision.retry_after.count()) + " s");
    // OpenAI's rate-limit errors name the unit as their type.
    error.type = unit_name(limit.unit);
    error.retry_after_seconds =
        static_cast<int>(std::max<std::int64_t>(1, decision.retry_after.count()));
    error.headers = rate_limit_headers(decision);
    return error;
}

http::GatewayError concurrency_limited(const Decision& decision, const std::string& tier,
                                       unsigned cap) {
    auto error = http::make_error(
        http::ErrorCode::concurrency_limit,
        "concurrency limit reached for tier " + tier + ": at most " + std::to_string(cap) +
            " requests in flight per consumer; retry when one of yours has finished");
    error.retry_after_seconds =
        static_cast<int>(std::max<std::int64_t>(1, decision.retry_after.count()));
    error.headers = rate_limit_headers(decision);
    return error;
}

}  // namespace llmgw::limits
