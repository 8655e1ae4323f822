// The Lua scripts behind RedisLimiter (internal to src/limits and its tests).
#pragma once

#include "llmgw/redis/script.hpp"

namespace llmgw::limits::detail {

// A consumer's limits of one tier are one hash (RedisLimiter::key). A limit is one ARGV, packed
// as struct.unpack's "<c2dddi4c0" reads it (little-endian doubles, a length-prefixed string):
// its code (kind r|q for rate or quota, then unit r|t|c for requests, tokens or cost: "rr",
// "qt", ...), amount, then for rates the period in ms and the bucket capacity, for quotas the
// window (1: day, 2: month) and 0, then its field in the hash.
//
// ARGV: counts of settles, usage records, lease operations, slice returns, admissions and
// tiers; then each tier the admissions use: its limit count and limits (read once per call);
// then each settle (one key, the hash): its limit count, reserved tokens and cost, used tokens
// and cost, unix second of the reservation, its limits; each usage record (one key, the day's
// hash): requests, prompt, completion, estimated and cached requests, cost, ttl s; each lease
// operation (one key, the consumer's lease set): "release"|"renew", member, lease ms; each
// slice return (one key, the hash): its limit, the amount, unix second of the grant; then, with
// admissions, one argument holding them all packed (struct.unpack's formats, little-endian):
// each admission "<ddddddddi4c0": its tier (1-based, 0: none with limits), reserved tokens,
// reserved cost, concurrency cap (0: none), lease ms, grant mode (0: none, 1: admit the request
// and grant slices, 2: grant slices alone, admitting no request), its hash and its lease set
// (positions among the admissions' keys, 1-based, 0: none), the lease member (length, bytes);
// then, with a grant mode, the slice wanted of each limit (a double each). Admissions asking
// what the one before them asked, for a request alone (the same tier, hash, reserved tokens
// and cost; no cap, no grant mode; the one before packed in full) may come as one double, -n:
// a run of n of that ask again (a busy consumer's burst is mostly such).
// KEYS in the same order (tiers have none); the admissions': each key once, in the order the
// admissions first name it.
// Returns 1 without admissions, else one string of little-endian doubles: Redis's clock (unix
// µs), then the admissions' answers in order. An admission's: admitted 0|1, refusing limit with
// the longest wait (1-based, 0 = none, -1 = the concurrency cap alone), retry_after s, then
// each limit's level (a bucket) or count (a quota) after it, then with a grant mode what each
// limit granted. A run's answer: how many of it were admitted (k, each taking its amount from
// each limit in turn, as llmgw works out), then, with k < n, the first refused one's answer
// (the rest of the run are refused alike). llmgw works out remaining and reset from the
// levels and counts.
// It is a Redis Function too (redis::Script::with_function): FCALL where Redis takes them.
const redis::Script& batch_script();
// ARGV: the limit count, then each limit; KEYS: the hash. Reads only. Returns what
// batch_script returns for one admission that took nothing: the clock, 1, 0, 0, then each
// limit's level or count.
const redis::Script& peek_script();
// Debug helper for tests: ARGV = unix seconds. Returns, for each: day start, day end, day
// suffix, month start, month end, month suffix (the same code the quotas use).
const redis::Script& utc_window_script();

}  // namespace llmgw::limits::detail
