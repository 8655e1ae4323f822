// LeaseSlices: a worker's slices of consumers' limits, taken, topped up and given back.
#include "llmgw/limits/lease_slices.hpp"

#include <algorithm>
#include <cmath>
#include <utility>

namespace llmgw::limits {

namespace {

using config::Limit;

bool is_rate(const Limit& limit) { return limit.kind == Limit::Kind::rate; }


}  // namespace

const std::string& LeaseSlices::key_of(const std::string& consumer, const config::Tier& tier) const {
    // Reused: a lookup on the hot path allocates nothing once the buffer has grown.
    key_.assign(consumer);
    key_ += '\n';
    key_ += tier.name;
    return key_;
}

std::uint64_t LeaseSlices::slice_size(const Limit& limit, double fraction) {
    auto base = limit.amount;
    if (is_rate(limit) && limit.burst != 0) base = std::min(base, limit.burst);
    const double size = std::floor(static_cast<double>(base) * fraction);
    return size > 0 ? static_cast<std::uint64_t>(size) : 0;
}

std::uint64_t LeaseSlices::share(const Limit& limit, const Charge& reserve) {
    if (limit.unit == Limit::Unit::requests) return 1;
    return amount_in(limit, reserve);
}

bool LeaseSlices::leasable(const config::Tier& tier, const Charge& reserve) const {
    if (tier.limits.empty() || tier.max_concurrent != 0) return false;
    return std::all_of(tier.limits.begin(), tier.limits.end(), [&](const Limit& limit) {
        return slice_size(limit, fraction_) >= std::max<std::uint64_t>(share(limit, reserve), 1);
    });
}

LeaseSlices::Entry& LeaseSlices::entry(const std::string& consumer, const config::Tier& tier,
                                       Clock::time_point now) {
    auto [it, added] = entries_.try_emplace(key_of(consumer, tier));
    auto& found = it->second;
    const bool changed = !added && found.tier.limits != tier.limits;
    if (changed) give_back(found, stale_);
    if (added || changed) {
        found.consumer = consumer;
        found.tier = tier;
        found.slices.assign(tier.limits.size(), Slice{});
    }
    // A quota's slice was counted in its window: once that ends, it is worth nothing.
    for (auto& slice : found.slices)
        if (now >= slice.expires) slice = Slice{};
    return found;
}

std::optional<Decision> LeaseSlices::take(const std::string& consumer, const config::Tier& tier,
                                          const Charge& reserve, Clock::time_point now) {
    if (!leasable(tier, reserve)) return std::nullopt;
    auto& found = entry(consumer, tier, now);
    for (std::size_t i = 0; i < tier.limits.size(); ++i) {
        const auto need = share(tier.limits[i], reserve);
        const auto held = found.slices[i].held;
        // Like a bucket: a token or cost slice with nothing to reserve admits while not empty.
        if (held < need || held == 0) return std::nullopt;
    }
    Decision decision;
    decision.states.reserve(tier.limits.size());
    for (std::size_t i = 0; i < tier.limits.size(); ++i) {
        auto& slice = found.slices[i];
        slice.held -= share(tier.limits[i], reserve);
        decision.states.push_back({&tier.limits[i], slice.remaining_in_redis + slice.held, slice.reset});
    }
    found.last_used = now;
    return decision;
}

std::vector<std::uint64_t> LeaseSlices::ask(const std::string& consumer, const config::Tier& tier,
                                            Clock::time_point now) {
    auto& found = entry(consumer, tier, now);
    std::vector<std::uint64_t> want;
    want.reserve(tier.limits.size());
    for (std::size_t i = 0; i < tier.limits.size(); ++i) {
        auto& slice = found.slices[i];
        const auto full = slice_size(tier.limits[i], fraction_);
        const auto has = slice.held + slice.asked;
        want.push_back(full > has ? full - has : 0);
        slice.asked += want.back();
    }
    return want;
}

void LeaseSlices::cancel(const std::string& consumer, const config::Tier& tier,
                         const std::vector<std::uint64_t>& asked) {
    const auto it = entries_.find(key_of(consumer, tier));
    if (it == entries_.end() || it->second.tier.limits != tier.limits) return;
    auto& slices = it->second.slices;
    for (std::size_t i = 0; i < slices.size() && i < asked.size(); ++i)
        slices[i].asked -= std::min(slices[i].asked, asked[i]);
}

void LeaseSlices::add(const std::string& consumer, const config::Tier& tier,
                      const std::vector<std::uint64_t>& asked,
                      const std::vector<std::uint64_t>& granted, std::vector<LimitState>& states,
                      Clock::time_point now) {
    cancel(consumer, tier, asked);
    auto& found = entry(consumer, tier, now);
    for (std::size_t i = 0; i < tier.limits.size() && i < granted.size(); ++i) {
        auto& slice = found.slices[i];
        const auto& limit = tier.limits[i];
        if (granted[i] != 0) {
            slice.held += granted[i];
            slice.granted_at = now;
            slice.expires = is_rate(limit) ? Clock::time_point::max() : window_end(limit.window, now);
        }
        if (i < states.size()) {
            slice.remaining_in_redis = states[i].remaining;
            slice.reset = states[i].reset;
            states[i].remaining += slice.held;
        }
    }
    found.last_used = now;
}

bool LeaseSlices::low(const std::string& consumer, const config::Tier& tier) const {
    const auto it = entries_.find(key_of(consumer, tier));
    if (it == entries_.end() || it->second.tier.limits != tier.limits) return false;
    for (std::size_t i = 0; i < tier.limits.size(); ++i)
        if (it->second.slices[i].held * 2 <= slice_size(tier.limits[i], fraction_)) return true;
    return false;
}

bool LeaseSlices::begin_renewal(const std::string& consumer, const config::Tier& tier) {
    const auto it = entries_.find(key_of(consumer, tier));
    if (it == entries_.end() || it->second.renewing) return false;
    it->second.renewing = true;
    return true;
}

void LeaseSlices::end_renewal(const std::string& consumer, const config::Tier& tier) {
    const auto it = entries_.find(key_of(consumer, tier));
    if (it != entries_.end()) it->second.renewing = false;
}

void LeaseSlices::give_back(Entry& entry, std::vector<Unused>& to) {
    for (std::size_t i = 0; i < entry.slices.size(); ++i) {
        auto& slice = entry.slices[i];
        if (slice.held != 0) to.push_back({entry.consumer, entry.tier, i, slice.held, slice.granted_at});
        slice = Slice{};
    }
}

std::vector<LeaseSlices::Unused> LeaseSlices::take_stale() { return std::exchange(stale_, {}); }

std::vector<LeaseSlices::Unused> LeaseSlices::take_idle(Clock::time_point before) {
    auto out = take_stale();
    for (auto it = entries_.begin(); it != entries_.end();) {
        // An entry with a renewal under way stays: the renewal's grant lands in it.
        if (it->second.last_used >= before || it->second.renewing) {
            ++it;
            continue;
        }
        give_back(it->second, out);
        it = entries_.erase(it);
    }
    return out;
}

std::vector<LeaseSlices::Unused> LeaseSlices::take_all() {
    auto out = take_stale();
    for (auto& [key, found] : entries_) give_back(found, out);
    return out;
}

}  // namespace llmgw::limits
