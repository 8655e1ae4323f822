// The in-process limiter: per-consumer token buckets and UTC window counters, sharded by consumer.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <functional>
#include <limits>
#include <mutex>
#include <unordered_map>

#include "llmgw/limits/limiter.hpp"

namespace llmgw::limits {

namespace {

using config::Limit;
using Seconds = std::chrono::duration<double>;

constexpr std::size_t shard_count = 64;
// How often a shard forgets consumers whose state equals a fresh one (full buckets, windows over).
constexpr auto sweep_interval = std::chrono::minutes(1);
// Slack for the rounding of continuous refills: a bucket refilled to 0.9999999999 holds a request.
constexpr double epsilon = 1e-9;
// Waits are clamped (about 30 years) so that a huge token debt cannot overflow a time_point.
constexpr double max_wait_seconds = 1e9;

// Where one limit of one consumer stands.
struct Slot {
    Limit limit;                   // what this counts for; a limit of another shape starts afresh
    double level = 0;              // rate: what the bucket holds (a token bucket may be in debt)
    Clock::time_point refilled{};  // rate: when `level` was last brought up to date
    Clock::time_point window{};    // quota: start of the window `used` counts in
    std::uint64_t used = 0;        // quota: requests or tokens used in that window
};

bool is_rate(const Limit& limit) {
    return limit.kind == Limit::Kind::rate;
}
bool counts_requests(const Limit& limit) {
    return limit.unit == Limit::Unit::requests;
}

double capacity(const Limit& limit) {
    return static_cast<double>(limit.burst != 0 ? limit.burst : limit.amount);
}

// The config only has 1s and 1m periods; the floor keeps a hand-made zero period finite.
double period_seconds(const Limit& limit) {
    return std::max(Seconds(limit.period).count(), 1e-3);
}

// Seconds it takes the bucket to refill `amount`.
double seconds_for(const Limit& limit, double amount) {
    return amount * period_seconds(limit) /
           static_cast<double>(std::max<std::uint64_t>(limit.amount, 1));
}

// The bucket's level at `now`; the clock never refills backwards.
double level_at(const Slot& slot, Clock::time_point now) {
    const double elapsed = std::max(Seconds(now - slot.refilled).count(), 0.0);
    // elapsed * amount / period, in this order: whole seconds refill whole amounts (30 s of 100/min
    // is exactly 50).
    const double refill =
        elapsed * static_cast<double>(slot.limit.amount) / period_seconds(slot.limit);
    return std::min(capacity(slot.limit), slot.level + refill);
}

// A request bucket admits with a whole request in it; a token or cost bucket when the
// reservation fits (`need`), or with nothing to reserve while anything is left.
bool bucket_admits(const Limit& limit, double level, double need) {
    if (counts_requests(limit)) return level >= 1.0 - epsilon;
    if (need <= 0) return level > 0.0;
    return level >= needed(need, capacity(limit)) - epsilon;
}

bool admits(const Slot& slot, std::uint64_t need) {
    if (is_rate(slot.limit)) return bucket_admits(slot.limit, slot.level, static_cast<double>(need));
    if (counts_requests(slot.limit) || need == 0) return slot.used < slot.limit.amount;
    const auto fits = std::min(need, slot.limit.amount);
    return slot.used <= slot.limit.amount - fits;
}

// The end of the window `used` counts in (the stored one is later if the clock stepped back).
Clock::time_point counted_window_end(const Slot& slot, Clock::time_point now) {
    return window_end(slot.limit.window, std::max(now, slot.window));
}

// Rounds up, but not for a rounding error: 28.9999999 s and 29.0000001 s both become 29 s.
std::chrono::seconds whole_seconds_up(double seconds) {
    const double slack = 1e-6;
    return std::chrono::seconds(
        static_cast<std::int64_t>(std::ceil(std::clamp(seconds - slack, 0.0, max_wait_seconds))));
}

std::chrono::seconds whole_seconds_up(Clock::duration duration) {
    return std::max(std::chrono::ceil<std::chrono::seconds>(duration), std::chrono::seconds(0));
}

// Whole seconds until a refusing slot admits `need`, at least 1.
std::chrono::seconds wait_until_admitted(const Slot& slot, std::uint64_t need,
                                         Clock::time_point now) {
    const std::chrono::seconds one(1);
    if (!is_rate(slot.limit))
        return std::max(whole_seconds_up(counted_window_end(slot, now) - now), one);
    const double want = static_cast<double>(need);
    const double target =
        counts_requests(slot.limit) ? 1.0 : (need > 0 ? needed(want, capacity(slot.limit)) : 0.0);
    auto wait = std::max(whole_seconds_up(seconds_for(slot.limit, target - slot.level)), one);
    // A token bucket needs strictly more than 0, so a whole-second wait to exactly 0 is one short;
    // checking with the refill's own arithmetic also catches a wait rounded a second short.
    for (int i = 0; i < 2 && !bucket_admits(slot.limit, level_at(slot, now + wait), want); ++i)
        wait += one;
    return wait;
}

LimitState state_of(const Slot& slot, const Limit& limit, Clock::time_point now) {
    LimitState state;
    state.limit = &limit;
    if (is_rate(slot.limit)) {
        state.remaining =
            slot.level > 0 ? static_cast<std::uint64_t>(std::floor(slot.level + epsilon)) : 0;
        state.reset = whole_seconds_up(seconds_for(slot.limit, capacity(slot.limit) - slot.level));
    } else {
        state.remaining = slot.limit.amount > slot.used ? slot.limit.amount - slot.used : 0;
        state.reset = whole_seconds_up(counted_window_end(slot, now) - now);
    }
    return state;
}

Slot fresh_slot(const Limit& limit, Clock::time_point now) {
    Slot slot;
    slot.limit = limit;
    if (is_rate(limit)) {
        slot.level = capacity(limit);
        slot.refilled = now;
    } else {
        slot.window = window_start(limit.window, now);
    }
    return slot;
}

// Same shape: the state still means the same thing when only the amount (or burst) changed.
bool same_shape(const Limit& a, const Limit& b) {
    return a.unit == b.unit && a.kind == b.kind && a.period == b.period && a.window == b.window;
}

void bring_up_to_date(Slot& slot, Clock::time_point now) {
    if (is_rate(slot.limit)) {
        slot.level = level_at(slot, now);
        slot.refilled = std::max(slot.refilled, now);
        return;
    }
    const auto start = window_start(slot.limit.window, now);
    if (start > slot.window) {
        slot.window = start;
        slot.used = 0;
    }
}

// True when a fresh slot would behave the same: nothing is lost by forgetting it.
bool is_idle(const Slot& slot, Clock::time_point now) {
    if (is_rate(slot.limit)) return level_at(slot, now) >= capacity(slot.limit);
    return slot.used == 0 || window_start(slot.limit.window, now) > slot.window;
}

std::uint64_t saturating_add(std::uint64_t a, std::uint64_t b) {
    constexpr auto max = std::numeric_limits<std::uint64_t>::max();
    return a > max - b ? max : a + b;
}

// An admitted request takes one from request limits and its reservation from the others.
void take_from(std::vector<Slot>& slots, const Charge& reserve) {
    for (auto& slot : slots) {
        const auto take = counts_requests(slot.limit) ? 1 : amount_in(slot.limit, reserve);
        if (is_rate(slot.limit))
            slot.level -= static_cast<double>(take);
        else
            slot.used = saturating_add(slot.used, take);
    }
}

}  // namespace

// State is created on a consumer's first request. Consumers are bounded by the config (API
// keys) and by the JWT subjects the identity provider signs; still, each shard forgets, at most
// once a minute, the consumers whose buckets are full and whose quota windows are over.
struct LocalLimiter::Shard {
    std::mutex mutex;
    std::unordered_map<std::string, std::vector<Slot>> consumers;  // one slot per limit of the tier
    Clock::time_point next_sweep{};

    // The consumer's slots, created or reshaped to match `tier` and brought up to date at `now`.
    std::vector<Slot>& slots_for(const std::string& consumer, const config::Tier& tier,
                                 Clock::time_point now) {
        sweep(now);
        auto& slots = consumers[consumer];
        const auto& limits = tier.limits;
        if (slots.size() > limits.size()) slots.resize(limits.size());
        for (std::size_t i = 0; i < limits.size(); ++i) {
            if (i == slots.size()) {
                slots.push_back(fresh_slot(limits[i], now));
            } else if (!same_shape(slots[i].limit, limits[i])) {
                slots[i] = fresh_slot(limits[i], now);
            } else {
                slots[i].limit = limits[i];  // a reload may have changed the amount
                bring_up_to_date(slots[i], now);
            }
        }
        return slots;
    }

    void sweep(Clock::time_point now) {
        // Also sweeps when the clock stepped back by more than the interval.
        if (now < next_sweep && next_sweep - now <= sweep_interval) return;
        next_sweep = now + sweep_interval;
        std::erase_if(consumers, [&](const auto& entry) {
            return std::all_of(entry.second.begin(), entry.second.end(),
                               [&](const Slot& slot) { return is_idle(slot, now); });
        });
    }
};

LocalLimiter::LocalLimiter() {
    shards_.reserve(shard_count);
    for (std::size_t i = 0; i < shard_count; ++i) shards_.push_back(std::make_unique<Shard>());
}

LocalLimiter::~LocalLimiter() = default;

Decision LocalLimiter::admit(const std::string& consumer, const config::Tier& tier,
                             const Charge& reserve, Clock::time_point now) {
    Decision decision;
    if (tier.limits.empty()) return decision;
    decision.states.reserve(tier.limits.size());

    auto& shard = *shards_[std::hash<std::string>{}(consumer) % shards_.size()];
    const std::lock_guard lock(shard.mutex);
    auto& slots = shard.slots_for(consumer, tier, now);

    // All or nothing: a refused request takes from no limit. It cannot pass before every
    // refusing limit admits, so the limit named is the one with the longest wait (the first
    // such in tier order): the 429 then names what Retry-After waits for.
    for (std::size_t i = 0; i < slots.size(); ++i) {
        const auto need = amount_in(slots[i].limit, reserve);
        if (admits(slots[i], need)) continue;
        const auto wait = wait_until_admitted(slots[i], need, now);
        if (decision.admitted || wait > decision.retry_after) {
            decision.refused_by = &tier.limits[i];
            decision.retry_after = wait;
        }
        decision.admitted = false;
    }
    if (decision.admitted) take_from(slots, reserve);
    for (std::size_t i = 0; i < slots.size(); ++i)
        decision.states.push_back(state_of(slots[i], tier.limits[i], now));
    return decision;
}

void LocalLimiter::debit(const std::string& consumer, const config::Tier& tier,
                         const Charge& reserve, Clock::time_point now) {
    if (tier.limits.empty()) return;
    auto& shard = *shards_[std::hash<std::string>{}(consumer) % shards_.size()];
    const std::lock_guard lock(shard.mutex);
    auto& slots = shard.slots_for(consumer, tier, now);
    take_from(slots, reserve);
    for (auto& slot : slots)
        if (is_rate(slot.limit) && counts_requests(slot.limit)) slot.level = std::max(slot.level, 0.0);
}

std::vector<LimitState> LocalLimiter::peek(const std::string& consumer, const config::Tier& tier,
                                           Clock::time_point now) {
    std::vector<LimitState> states;
    if (tier.limits.empty()) return states;
    auto& shard = *shards_[std::hash<std::string>{}(consumer) % shards_.size()];
    const std::lock_guard lock(shard.mutex);
    // Brought up to date (refilled, a new window begun) like an admission, and nothing taken.
    const auto& slots = shard.slots_for(consumer, tier, now);
    states.reserve(slots.size());
    for (std::size_t i = 0; i < slots.size(); ++i)
        states.push_back(state_of(slots[i], tier.limits[i], now));
    return states;
}

void LocalLimiter::settle(const std::string& consumer, const config::Tier& tier,
                          const Charge& reserved, const Charge& actual,
                          Clock::time_point reserved_at, Clock::time_point now) {
    if (reserved == actual || std::all_of(tier.limits.begin(), tier.limits.end(), counts_requests))
        return;

    auto& shard = *shards_[std::hash<std::string>{}(consumer) % shards_.size()];
    const std::lock_guard lock(shard.mutex);
    for (auto& slot : shard.slots_for(consumer, tier, now)) {
        if (counts_requests(slot.limit)) continue;
        const auto r = amount_in(slot.limit, reserved);
        const auto a = amount_in(slot.limit, actual);
        // A bucket may go into debt: the answer was already given; the debt blocks the next.
        if (is_rate(slot.limit))
            slot.level = settled_level(slot.level, capacity(slot.limit), r, a);
        else
            slot.used = settled_used(
                slot.used, r, a, window_start(slot.limit.window, reserved_at) == slot.window);
    }
}

}  // namespace llmgw::limits
