// The Lua scripts behind RedisLimiter (internal to src/limits and its tests).
#pragma once

#include "llmgw/redis/script.hpp"

namespace llmgw::limits::detail {

// A limit is one key and 5 ARGV: kind ("rate"|"quota"), unit ("requests"|"tokens"|"cost"),
// amount, then for rates the period in ms and the bucket capacity, for quotas the window
// ("day"|"month") and "".
//
// ARGV: settles, usage records, lease operations, slice returns, admission limits, reserved
// tokens, reserved cost, concurrency cap (0: none), lease member, lease ms, grant mode (0: none,
// 1: admit the request and grant slices, 2: grant slices alone, admitting no request; no
// admission: limits and cap 0); then each settle: its limit count, reserved tokens and cost,
// used tokens and cost, unix second of the reservation, its limits; each usage record (one key,
// the day's hash): requests, prompt, completion, estimated and cached requests, cost, ttl s; each lease
// operation (one key, the consumer's lease set): "release"|"renew", member, lease ms; each slice
// return (one key): its limit, the amount, unix second of the grant; then the admission's limits
// and, with a grant mode, the slice wanted of each.
// KEYS in the same order; the admission's start with the lease set when it has a cap.
// Returns, with an admission, {admitted 0|1, refusing limit with the longest wait (1-based,
// 0 = none, -1 = the concurrency cap alone), retry_after s, then remaining and reset s for
// each limit, then with a grant mode what each limit granted}; else 1.
const redis::Script& batch_script();
// ARGV: the limit count, then each limit's 5; KEYS: one per limit. Reads only. Returns
// {1, 0, 0, then remaining and reset s for each limit}, the shape of an admission's reply.
const redis::Script& peek_script();
// Debug helper for tests: ARGV = unix seconds. Returns, for each: day start, day end, day
// suffix, month start, month end, month suffix (the same code the quotas use).
const redis::Script& utc_window_script();

}  // namespace llmgw::limits::detail
