// Redis Cluster: a limiter backlog split by slot, since one script call may touch one slot only.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "llmgw/limits/redis_limiter.hpp"

namespace llmgw::limits {

// The backlog's operations grouped by the Cluster slot of their keys (each consumer's keys
// share one: the hash tag), in the order each slot first appears; each group keeps the
// page's `since`. The groups' merge indexes are empty: later work is added, not merged.
std::vector<std::pair<std::uint16_t, RedisLimiter::Backlog>> split_by_slot(
    RedisLimiter::Backlog&& page);

}  // namespace llmgw::limits
