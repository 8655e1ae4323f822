// The limiter kept in Redis: LocalLimiter's decisions, shared by every llmgw instance using one server.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "llmgw/config/config.hpp"
#include "llmgw/limits/limiter.hpp"
#include "llmgw/redis/client.hpp"

namespace llmgw::limits {

// Same decisions as LocalLimiter (buckets, UTC windows, all-or-nothing, retry_after, states),
// with the state in Redis so that every instance sharing it enforces one limit. One round
// trip per call: one Lua script covers all of the tier's limits, atomically, and reads the
// time with Redis TIME (no clock skew between instances).
//
// Keys: {prefix}rl:{<consumer>}:<tier>:<limit index>:<unit>.<kind>.<period or window>, consumer
// and tier %-escaped (the braces are a Cluster hash tag: one consumer's keys share a slot).
// Like LocalLimiter, a reload that changes only amount or burst keeps the counters; another
// kind of limit in the same place starts afresh. Quota keys end in the window (":d20261125",
// ":m202611") and expire a day after it ends; bucket hashes expire once they would be full.
//
// Use from the Client's executor thread. `consumer` and `tier` must outlive the call.
class RedisLimiter {
  public:
    explicit RedisLimiter(redis::Client& client, std::string key_prefix = "llmgw:");

    // nullopt when Redis failed (timeout, not connected, script error): the caller falls back.
    redis::Task<std::optional<Decision>> admit(const std::string& consumer, const config::Tier& tier);
    // Debits the tokens used from token buckets (may go into debt) and token quotas; false when
    // Redis failed. True at once when the tier has no token limit or `tokens` is 0.
    redis::Task<bool> settle(const std::string& consumer, const config::Tier& tier, std::uint64_t tokens);

    // The key (quotas: without the window suffix) of limit `index` of `tier` for `consumer`.
    std::string key(const std::string& consumer, const config::Tier& tier, std::size_t index) const;

  private:
    redis::Client& client_;
    std::string prefix_;
};

}  // namespace llmgw::limits
