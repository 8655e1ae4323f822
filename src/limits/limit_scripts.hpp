// The Lua scripts behind RedisLimiter (internal to src/limits and its tests).
#pragma once

#include "llmgw/redis/script.hpp"

namespace llmgw::limits::detail {

// Every script takes, per limit, one key and 5 ARGV: kind ("rate"|"quota"), unit
// ("requests"|"tokens"), amount, then for rates the period in ms and the bucket capacity,
// for quotas the window ("day"|"month") and "".

// ARGV = the limits. Returns {admitted 0|1, refusing limit with the longest wait (1-based, 0 = none),
// retry_after s, then remaining and reset s for each limit}.
const redis::Script& admit_script();
// ARGV[1] = tokens, then the token limits. Returns 1.
const redis::Script& settle_script();
// Debug helper for tests: ARGV = unix seconds. Returns, for each: day start, day end, day
// suffix, month start, month end, month suffix (the same code the quotas use).
const redis::Script& utc_window_script();

}  // namespace llmgw::limits::detail
