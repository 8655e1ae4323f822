// Building limits and tiers in tests of both limiters.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "llmgw/config/config.hpp"

namespace llmgw::limits::testing {

using config::Limit;
using config::Tier;

constexpr auto requests = Limit::Unit::requests;
constexpr auto tokens = Limit::Unit::tokens;

inline Limit rate(Limit::Unit unit, std::uint64_t amount, config::Duration period, std::uint64_t burst = 0) {
    Limit limit;
    limit.unit = unit;
    limit.kind = Limit::Kind::rate;
    limit.amount = amount;
    limit.period = period;
    limit.burst = burst;
    return limit;
}

inline Limit quota(Limit::Unit unit, std::uint64_t amount, Limit::Window window) {
    Limit limit;
    limit.unit = unit;
    limit.kind = Limit::Kind::quota;
    limit.amount = amount;
    limit.window = window;
    return limit;
}

inline Tier tier_of(std::vector<Limit> limits) {
    Tier tier;
    tier.name = "test";
    tier.limits = std::move(limits);
    return tier;
}

}  // namespace llmgw::limits::testing
