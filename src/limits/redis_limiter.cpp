// RedisLimiter: builds the keys and arguments of the limit scripts and reads their replies.
#include "llmgw/limits/redis_limiter.hpp"

#include <algorithm>
#include <utility>
#include <vector>

#include "limit_scripts.hpp"

namespace llmgw::limits {

namespace {

using config::Limit;

// Settled tokens are clamped to what a Lua number (a double) holds exactly.
constexpr std::uint64_t max_tokens = (std::uint64_t{1} << 53) - 1;

// %-escapes every byte but a few safe ones, so ':' and '{' '}' in a name cannot collide or
// break the hash tag; the result is still readable for the usual names.
std::string escape(const std::string& name) {
    static constexpr char hex[] = "0123456789ABCDEF";
    std::string out;
    out.reserve(name.size());
    for (const char c : name) {
        const auto byte = static_cast<unsigned char>(c);
        const bool safe = (byte >= 'a' && byte <= 'z') || (byte >= 'A' && byte <= 'Z') ||
                          (byte >= '0' && byte <= '9') || c == '-' || c == '_' || c == '.' || c == '@';
        if (safe) {
            out += c;
        } else {
            out += '%';
            out += hex[byte >> 4];
            out += hex[byte & 0x0f];
        }
    }
    return out;
}

bool counts_requests(const Limit& limit) { return limit.unit == Limit::Unit::requests; }

// What LocalLimiter calls the same shape: the state keeps its meaning when amount or burst change.
std::string shape(const Limit& limit) {
    std::string out = counts_requests(limit) ? "requests" : "tokens";
    if (limit.kind == Limit::Kind::rate) return out + ".rate." + std::to_string(limit.period.count()) + "ms";
    return out + ".quota." + (limit.window == Limit::Window::day ? "day" : "month");
}

// The 5 script arguments of one limit (see limit_scripts.hpp).
void append_args(std::vector<std::string>& args, const Limit& limit) {
    const bool rate = limit.kind == Limit::Kind::rate;
    args.emplace_back(rate ? "rate" : "quota");
    args.emplace_back(counts_requests(limit) ? "requests" : "tokens");
    args.push_back(std::to_string(limit.amount));
    if (rate) {
        args.push_back(std::to_string(limit.period.count()));
        args.push_back(std::to_string(limit.burst != 0 ? limit.burst : limit.amount));
    } else {
        args.emplace_back(limit.window == Limit::Window::day ? "day" : "month");
        args.emplace_back();
    }
}

std::uint64_t as_count(const redis::Reply& reply) {
    return reply.integer > 0 ? static_cast<std::uint64_t>(reply.integer) : 0;
}

// The admit script's reply as a Decision; nullopt when it has another shape.
std::optional<Decision> to_decision(const redis::Reply& reply, const config::Tier& tier) {
    const auto& e = reply.elements;
    const auto count = tier.limits.size();
    if (!reply.is_array() || e.size() != 3 + 2 * count) return std::nullopt;
    if (!std::all_of(e.begin(), e.end(), [](const redis::Reply& r) { return r.is_integer(); }))
        return std::nullopt;
    Decision decision;
    decision.admitted = e[0].integer == 1;
    const auto refused = e[1].integer;
    if (decision.admitted != (refused == 0) || refused < 0 || static_cast<std::size_t>(refused) > count)
        return std::nullopt;
    if (!decision.admitted) {
        decision.refused_by = &tier.limits[static_cast<std::size_t>(refused) - 1];
        decision.retry_after = std::chrono::seconds(std::max<long long>(e[2].integer, 1));
    }
    decision.states.reserve(count);
    for (std::size_t i = 0; i < count; ++i) {
        LimitState state;
        state.limit = &tier.limits[i];
        state.remaining = as_count(e[3 + 2 * i]);
        state.reset = std::chrono::seconds(std::max<long long>(e[4 + 2 * i].integer, 0));
        decision.states.push_back(state);
    }
    return decision;
}

}  // namespace

RedisLimiter::RedisLimiter(redis::Client& client, std::string key_prefix)
    : client_(client), prefix_(std::move(key_prefix)) {}

std::string RedisLimiter::key(const std::string& consumer, const config::Tier& tier, std::size_t index) const {
    return prefix_ + "rl:{" + escape(consumer) + "}:" + escape(tier.name) + ":" + std::to_string(index) + ":" +
           shape(tier.limits.at(index));
}

redis::Task<std::optional<Decision>> RedisLimiter::admit(const std::string& consumer, const config::Tier& tier) {
    if (tier.limits.empty()) co_return Decision{};
    std::vector<std::string> keys, args;
    keys.reserve(tier.limits.size());
    args.reserve(5 * tier.limits.size());
    for (std::size_t i = 0; i < tier.limits.size(); ++i) {
        keys.push_back(key(consumer, tier, i));
        append_args(args, tier.limits[i]);
    }
    auto result = co_await client_.eval(detail::admit_script(), std::move(keys), std::move(args));
    if (!result) co_return std::nullopt;
    co_return to_decision(*result, tier);
}

redis::Task<bool> RedisLimiter::settle(const std::string& consumer, const config::Tier& tier, std::uint64_t tokens) {
    std::vector<std::string> keys;
    std::vector<std::string> args{std::to_string(std::min(tokens, max_tokens))};
    for (std::size_t i = 0; i < tier.limits.size(); ++i) {
        if (counts_requests(tier.limits[i])) continue;
        keys.push_back(key(consumer, tier, i));
        append_args(args, tier.limits[i]);
    }
    if (tokens == 0 || keys.empty()) co_return true;
    auto result = co_await client_.eval(detail::settle_script(), std::move(keys), std::move(args));
    co_return result.has_value();
}

}  // namespace llmgw::limits
