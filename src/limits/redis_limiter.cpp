// RedisLimiter: builds the keys and arguments of the limit scripts and reads their replies.
#include "llmgw/limits/redis_limiter.hpp"

#include <algorithm>
#include <utility>
#include <vector>

#include "limit_scripts.hpp"
#include "llmgw/limits/redis_usage.hpp"

namespace llmgw::limits {

namespace {

using config::Limit;

// The admission's part of the script's header (see limit_scripts.hpp).
constexpr std::size_t admission_header = 7;

// The script's grant modes.
constexpr const char* no_grant = "0";
constexpr const char* grant_with_request = "1";
constexpr const char* grant_only = "2";

// Amounts are clamped to what a Lua number (a double) holds exactly.
constexpr std::uint64_t max_exact = (std::uint64_t{1} << 53) - 1;

std::string exact(std::uint64_t n) { return std::to_string(std::min(n, max_exact)); }

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

const char* unit_name(const Limit& limit) {
    switch (limit.unit) {
        case Limit::Unit::tokens: return "tokens";
        case Limit::Unit::cost: return "cost";
        default: return "requests";
    }
}

// What LocalLimiter calls the same shape: the state keeps its meaning when amount or burst change.
std::string shape(const Limit& limit) {
    std::string out = unit_name(limit);
    if (limit.kind == Limit::Kind::rate) return out + ".rate." + std::to_string(limit.period.count()) + "ms";
    return out + ".quota." + (limit.window == Limit::Window::day ? "day" : "month");
}

// The 5 script arguments of one limit (see limit_scripts.hpp).
void append_args(std::vector<std::string>& args, const Limit& limit) {
    const bool rate = limit.kind == Limit::Kind::rate;
    args.emplace_back(rate ? "rate" : "quota");
    args.emplace_back(unit_name(limit));
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

// The admit script's reply as a Decision; nullopt when it has another shape. `grants`: how many
// granted slices follow the states.
std::optional<Decision> to_decision(const redis::Reply& reply, const config::Tier& tier,
                                    std::size_t grants = 0) {
    const auto& e = reply.elements;
    const auto count = tier.limits.size();
    if (!reply.is_array() || e.size() != 3 + 2 * count + grants) return std::nullopt;
    if (!std::all_of(e.begin(), e.end(), [](const redis::Reply& r) { return r.is_integer(); }))
        return std::nullopt;
    Decision decision;
    decision.admitted = e[0].integer == 1;
    const auto refused = e[1].integer;  // -1: the concurrency cap
    if (decision.admitted != (refused == 0) || refused < -1 || refused > static_cast<long long>(count))
        return std::nullopt;
    if (!decision.admitted) {
        decision.over_concurrency = refused == -1;
        if (refused > 0) decision.refused_by = &tier.limits[static_cast<std::size_t>(refused) - 1];
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

std::string RedisLimiter::concurrency_key(const std::string& consumer) const {
    return prefix_ + "cc:{" + escape(consumer) + "}";
}

namespace {
void move_append(std::vector<std::string>& to, std::vector<std::string>& from) {
    to.insert(to.end(), std::make_move_iterator(from.begin()), std::make_move_iterator(from.end()));
}
void copy_append(std::vector<std::string>& to, const std::vector<std::string>& from) {
    to.insert(to.end(), from.begin(), from.end());
}
}  // namespace

void RedisLimiter::queue_settle(Backlog& backlog, const std::string& consumer,
                                const config::Tier& tier, const Charge& reserved,
                                const Charge& actual, Clock::time_point reserved_at) const {
    if (reserved == actual) return;
    const auto metered = static_cast<std::size_t>(
        std::count_if(tier.limits.begin(), tier.limits.end(), [](const Limit& limit) { return !counts_requests(limit); }));
    if (metered == 0) return;
    const auto at = static_cast<std::uint64_t>(std::max<long long>(
        std::chrono::duration_cast<std::chrono::seconds>(reserved_at.time_since_epoch()).count(), 0));
    auto first_key = [&] {
        for (std::size_t i = 0; i < tier.limits.size(); ++i)
            if (!counts_requests(tier.limits[i])) return key(consumer, tier, i);
        return std::string{};
    }();
    auto [found, added] = backlog.settle_index.try_emplace(first_key + '\n' + std::to_string(at),
                                                          backlog.settles.size());
    if (added) {
        auto& settle = backlog.settles.emplace_back();
        settle.reserved_at = at;
        for (std::size_t i = 0; i < tier.limits.size(); ++i) {
            if (counts_requests(tier.limits[i])) continue;
            settle.keys.push_back(key(consumer, tier, i));
            append_args(settle.limit_args, tier.limits[i]);
        }
    }
    auto& settle = backlog.settles[found->second];
    settle.reserved_tokens += reserved.tokens;
    settle.reserved_cost += reserved.cost;
    settle.used_tokens += actual.tokens;
    settle.used_cost += actual.cost;
}

void RedisLimiter::queue_usage(Backlog& backlog, const std::string& consumer,
                               const std::string& day, const UsageRecord& record) const {
    auto usage_key_of = usage_key(prefix_, consumer, day);
    auto [found, added] = backlog.usage_index.try_emplace(usage_key_of, backlog.usages.size());
    if (added) backlog.usages.push_back({std::move(usage_key_of)});
    backlog.usages[found->second].totals.add(record);
}

void RedisLimiter::queue_release(Backlog& backlog, const std::string& key,
                                 const std::string& member) const {
    backlog.lease_keys.push_back(key);
    backlog.lease_args.insert(backlog.lease_args.end(), {"release", member, "0"});
    ++backlog.leases;
}

void RedisLimiter::queue_renew(Backlog& backlog, const std::string& key, const std::string& member,
                               std::chrono::milliseconds lease) const {
    backlog.lease_keys.push_back(key);
    backlog.lease_args.insert(backlog.lease_args.end(),
                              {"renew", member, std::to_string(lease.count())});
    ++backlog.leases;
}

void RedisLimiter::queue_return(Backlog& backlog, const std::string& consumer,
                                const config::Tier& tier, std::size_t index, std::uint64_t amount,
                                Clock::time_point granted_at) const {
    if (amount == 0) return;
    const auto at = std::chrono::duration_cast<std::chrono::seconds>(granted_at.time_since_epoch());
    backlog.return_keys.push_back(key(consumer, tier, index));
    append_args(backlog.return_args, tier.limits.at(index));
    backlog.return_args.push_back(exact(amount));
    backlog.return_args.push_back(std::to_string(std::max<long long>(at.count(), 0)));
    ++backlog.returns;
}

// The batch script's arguments: the header, the carried operations, then `keys` and `args`
// (an admission's, or nothing).
redis::Task<std::optional<redis::Reply>> RedisLimiter::call(const Backlog& carried,
                                                            std::vector<std::string> keys,
                                                            std::vector<std::string> args) {
    std::vector<std::string> all_keys;
    std::vector<std::string> all_args{std::to_string(carried.settles.size()),
                                      std::to_string(carried.usages.size()),
                                      std::to_string(carried.leases), std::to_string(carried.returns)};
    // The header: the counts and the admission's (limit count, reserved tokens and cost, the
    // concurrency cap, lease member and duration, grant mode).
    const auto header = std::min<std::size_t>(args.size(), admission_header);
    for (std::size_t i = 0; i < header; ++i) all_args.push_back(std::move(args[i]));
    for (const auto& settle : carried.settles) {
        copy_append(all_keys, settle.keys);
        for (const auto n : {std::uint64_t{settle.keys.size()}, settle.reserved_tokens,
                             settle.reserved_cost, settle.used_tokens, settle.used_cost,
                             settle.reserved_at})
            all_args.push_back(exact(n));
        copy_append(all_args, settle.limit_args);
    }
    for (const auto& usage : carried.usages) {
        all_keys.push_back(usage.key);
        const auto& t = usage.totals;
        for (const auto n : {t.requests, t.prompt_tokens, t.completion_tokens, t.estimated_requests,
                             t.cached, t.cost, static_cast<std::uint64_t>(usage_ttl_seconds)})
            all_args.push_back(exact(n));
    }
    copy_append(all_keys, carried.lease_keys);
    copy_append(all_keys, carried.return_keys);
    move_append(all_keys, keys);
    copy_append(all_args, carried.lease_args);
    copy_append(all_args, carried.return_args);
    all_args.insert(all_args.end(),
                    std::make_move_iterator(args.begin() + static_cast<std::ptrdiff_t>(header)),
                    std::make_move_iterator(args.end()));
    auto result = co_await client_.eval(detail::batch_script(), std::move(all_keys), std::move(all_args));
    if (!result) co_return std::nullopt;
    co_return std::move(*result);
}

redis::Task<std::optional<Decision>> RedisLimiter::admit(const std::string& consumer,
                                                         const config::Tier& tier, const Charge& reserve,
                                                         const Backlog& carried, const Lease& lease,
                                                         Slices* slices) {
    if (tier.limits.empty() && lease.cap == 0) co_return Decision{};
    const char* mode = slices == nullptr ? no_grant
                       : slices->with_request ? grant_with_request
                                              : grant_only;
    std::vector<std::string> keys;
    std::vector<std::string> args{std::to_string(tier.limits.size()), exact(reserve.tokens),
                                  exact(reserve.cost), std::to_string(lease.cap), lease.member,
                                  std::to_string(lease.duration.count()), mode};
    keys.reserve(tier.limits.size() + 1);
    args.reserve(admission_header + 6 * tier.limits.size());
    if (lease.cap != 0) keys.push_back(lease.key);
    for (std::size_t i = 0; i < tier.limits.size(); ++i) {
        keys.push_back(key(consumer, tier, i));
        append_args(args, tier.limits[i]);
    }
    if (slices != nullptr) {
        slices->want.resize(tier.limits.size());
        for (const auto want : slices->want) args.push_back(exact(want));
    }
    auto reply = co_await call(carried, std::move(keys), std::move(args));
    if (!reply) co_return std::nullopt;
    const auto count = tier.limits.size();
    auto decision = to_decision(*reply, tier, slices == nullptr ? 0 : count);
    if (!decision || slices == nullptr) co_return decision;
    const auto& granted = reply->elements;
    slices->granted.clear();
    for (std::size_t i = 0; i < count; ++i)
        slices->granted.push_back(std::min(as_count(granted[3 + 2 * count + i]), slices->want[i]));
    co_return decision;
}

redis::Task<std::optional<std::vector<LimitState>>> RedisLimiter::peek(
    const std::string& consumer, const config::Tier& tier) {
    if (tier.limits.empty()) co_return std::vector<LimitState>{};
    std::vector<std::string> keys;
    std::vector<std::string> args{std::to_string(tier.limits.size())};
    for (std::size_t i = 0; i < tier.limits.size(); ++i) {
        keys.push_back(key(consumer, tier, i));
        append_args(args, tier.limits[i]);
    }
    auto reply = co_await client_.eval(detail::peek_script(), std::move(keys), std::move(args));
    if (!reply) co_return std::nullopt;
    auto decision = to_decision(*reply, tier);
    if (!decision) co_return std::nullopt;
    co_return std::move(decision->states);
}

redis::Task<bool> RedisLimiter::flush(const Backlog& carried) {
    if (carried.empty()) co_return true;
    std::vector<std::string> no_keys;
    std::vector<std::string> no_admission{"0", "0", "0", "0", "", "0", no_grant};
    auto reply = co_await call(carried, std::move(no_keys), std::move(no_admission));
    co_return reply.has_value();
}

redis::Task<std::optional<Decision>> RedisLimiter::admit(const std::string& consumer,
                                                         const config::Tier& tier) {
    const Charge nothing;
    const Backlog none;
    const ConcurrencyLease no_lease;
    auto decision = co_await admit(consumer, tier, nothing, none, no_lease);
    co_return decision;
}

redis::Task<bool> RedisLimiter::settle(const std::string& consumer, const config::Tier& tier,
                                       std::uint64_t tokens) {
    Backlog backlog;
    queue_settle(backlog, consumer, tier, Charge{}, Charge{tokens, 0}, Clock::now());
    const bool ok = co_await flush(backlog);
    co_return ok;
}

}  // namespace llmgw::limits
