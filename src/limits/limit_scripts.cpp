// RedisLimiter's Lua: LocalLimiter's bucket and UTC-window arithmetic, step for step, on Redis TIME.
#include "limit_scripts.hpp"

#include <string>

namespace llmgw::limits::detail {

namespace {

// Shared by every script: constants, the UTC calendar, reading and writing one limit.
// Numbers given to redis.call are formatted by hand: Lua would write 1e+15 for a big integer.
constexpr const char* common_lua = R"lua(
local EPS = 1e-9              -- a bucket refilled to 0.9999999999 holds a request
local MAX_WAIT = 1e12         -- waits are clamped before they become integers
local MAX_INT = 9007199254740991
local BUCKET_SLACK_MS = 1000  -- a bucket key outlives the time it needs to be full by this
local WINDOW_SLACK_S = 86400  -- a quota key outlives its window by a day

local function int(x) return string.format('%d', x) end
local function clamp_int(x) return math.min(math.max(x, 0), MAX_INT) end

local function now_us()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000000 + tonumber(t[2])
end

-- Howard Hinnant's days_from_civil / civil_from_days (proleptic Gregorian, day 0 = 1970-01-01).
local function days_from_civil(y, m, d)
  if m <= 2 then y = y - 1 end
  local era = math.floor(y / 400)
  local yoe = y - era * 400
  local doy = math.floor((153 * ((m + 9) % 12) + 2) / 5) + d - 1
  local doe = yoe * 365 + math.floor(yoe / 4) - math.floor(yoe / 100) + doy
  return era * 146097 + doe - 719468
end

local function civil_from_days(z)
  z = z + 719468
  local era = math.floor(z / 146097)
  local doe = z - era * 146097
  local yoe = math.floor((doe - math.floor(doe / 1460) + math.floor(doe / 36524) - math.floor(doe / 146096)) / 365)
  local doy = doe - (365 * yoe + math.floor(yoe / 4) - math.floor(yoe / 100))
  local mp = math.floor((5 * doy + 2) / 153)
  local d = doy - math.floor((153 * mp + 2) / 5) + 1
  local m = mp < 10 and mp + 3 or mp - 9
  local y = yoe + era * 400
  if m <= 2 then y = y + 1 end
  return y, m, d
end

-- The UTC window ('day' or 'month') holding unix second t: start, end (seconds), key suffix.
local function utc_window(window, t)
  local day = math.floor(t / 86400)
  local y, m, d = civil_from_days(day)
  if window == 'day' then
    return day * 86400, (day + 1) * 86400, string.format('d%04d%02d%02d', y, m, d)
  end
  local ny, nm = y, m + 1
  if nm > 12 then ny, nm = y + 1, 1 end
  return days_from_civil(y, m, 1) * 86400, days_from_civil(ny, nm, 1) * 86400, string.format('m%04d%02d', y, m)
end

-- The script's arguments are read in order: ARGV and KEYS each through a cursor.
local next_arg, next_key = 1, 1
local function arg() local v = ARGV[next_arg]; next_arg = next_arg + 1; return v end
local function num() return tonumber(arg()) end
local function key() local v = KEYS[next_key]; next_key = next_key + 1; return v end

-- The next limit's 5 ARGV.
local function read_limit()
  local lim = { rate = arg() == 'rate' }
  local unit = arg()
  lim.requests, lim.cost = unit == 'requests', unit == 'cost'
  lim.amount = num()
  if lim.rate then
    lim.period = math.max(num() / 1000, 1e-3)
    lim.capacity = num()
  else
    lim.window = arg()
    arg()
  end
  return lim
end

-- What a charge of `tokens` and `cost` holds in the limit's unit (requests: nothing).
local function share(lim, tokens, cost)
  if lim.requests then return 0 end
  if lim.cost then return cost end
  return tokens
end

-- Seconds the bucket takes to refill `amount`.
local function seconds_for(lim, amount) return amount * lim.period / math.max(lim.amount, 1) end

-- Rounds up, but not for a rounding error: 28.9999999 s and 29.0000001 s both become 29 s.
local function whole_seconds_up(s) return math.ceil(math.min(math.max(s - 1e-6, 0), MAX_WAIT)) end

-- The level after `elapsed` more seconds of refill.
local function refilled(lim, elapsed)
  return math.min(lim.capacity, lim.level + elapsed * lim.amount / lim.period)
end

-- A missing bucket is a full one (new, or expired once it was full).
local function load_bucket(key, lim, now)
  local v = redis.call('HMGET', key, 'level', 'at')
  lim.key = key
  if not v[1] or not v[2] then
    lim.level, lim.at = lim.capacity, now
    return
  end
  lim.level, lim.at = tonumber(v[1]), tonumber(v[2])
  lim.level = refilled(lim, math.max((now - lim.at) / 1e6, 0))
  lim.at = math.max(lim.at, now)  -- the clock never refills backwards
end

local function store_bucket(lim)
  redis.call('HSET', lim.key, 'level', string.format('%.17g', lim.level), 'at', int(lim.at))
  local full_ms = math.ceil(math.min(math.max(seconds_for(lim, lim.capacity - lim.level), 0), MAX_WAIT) * 1000)
  redis.call('PEXPIRE', lim.key, int(full_ms + BUCKET_SLACK_MS))
end

-- The counter of the window that holds `now`; a new window is a new key.
local function load_quota(key, lim, now)
  local _, stop, suffix = utc_window(lim.window, math.floor(now / 1e6))
  lim.key, lim.stop = key .. ':' .. suffix, stop
  lim.used = tonumber(redis.call('GET', lim.key) or '0')
end

local function add_to_quota(lim, n)
  if lim.used + n >= 9e18 then  -- saturates instead of overflowing INCRBY
    lim.used = 9e18
    redis.call('SET', lim.key, int(lim.used))
  else
    lim.used = redis.call('INCRBY', lim.key, int(n))
  end
  redis.call('EXPIREAT', lim.key, int(lim.stop + WINDOW_SLACK_S))
end

-- A request bucket admits with a whole request in it; a token or cost bucket when the
-- reservation fits (never more than its capacity is needed), or with nothing to reserve while
-- anything is left.
local function bucket_admits(lim, level, need)
  if lim.requests then return level >= 1 - EPS end
  if need <= 0 then return level > 0 end
  return level >= math.min(need, lim.capacity) - EPS
end

local function admits(lim, need)
  if lim.rate then return bucket_admits(lim, lim.level, need) end
  if lim.requests or need <= 0 then return lim.used < lim.amount end
  return lim.used + math.min(need, lim.amount) <= lim.amount
end

local function set_quota(lim, v)
  lim.used = v
  redis.call('SET', lim.key, int(v))
  redis.call('EXPIREAT', lim.key, int(lim.stop + WINDOW_SLACK_S))
end

local function until_window_end(lim, now) return math.max(math.ceil((lim.stop * 1e6 - now) / 1e6), 0) end

-- Whole seconds until a refusing limit admits `need`, at least 1.
local function wait_until_admitted(lim, need, now)
  if not lim.rate then return math.max(until_window_end(lim, now), 1) end
  local target = 0
  if lim.requests then target = 1 elseif need > 0 then target = math.min(need, lim.capacity) end
  local wait = math.max(whole_seconds_up(seconds_for(lim, target - lim.level)), 1)
  -- A token bucket needs strictly more than 0, so a whole-second wait to exactly 0 is one short.
  for _ = 1, 2 do
    if bucket_admits(lim, refilled(lim, wait), need) then break end
    wait = wait + 1
  end
  return wait
end

-- Remaining and reset (seconds) of one limit.
local function state_of(lim, now)
  if lim.rate then
    local remaining = 0
    if lim.level > 0 then remaining = math.floor(lim.level + EPS) end
    return clamp_int(remaining), whole_seconds_up(seconds_for(lim, lim.capacity - lim.level))
  end
  return clamp_int(lim.amount - lim.used), until_window_end(lim, now)
end
)lua";

// One call does all of a worker's limit work: the settles and usage records waiting since the
// last call (they ride along), then the admission, if any. ARGV: counts of settles, usage
// records and admission limits, the reservation (tokens, cost), then each part in that order.
constexpr const char* batch_lua = R"lua(
local now = now_us()
-- An admission's grant mode: none, the request and slices for a lease, or slices alone.
local NO_GRANT, GRANT_WITH_REQUEST, GRANT_ONLY = 0, 1, 2

-- A settle: the reservation against what was used, per token and cost limit.
local function settle_one(lim, k, reserved, actual, reserved_at)
  if reserved == actual then return end
  if lim.rate then
    load_bucket(k, lim, now)
    lim.level = math.min(lim.capacity, lim.level - (actual - reserved))
    store_bucket(lim)
    return
  end
  load_quota(k, lim, now)
  -- A reservation of an earlier window is not refunded into this one.
  local _, _, then_suffix = utc_window(lim.window, reserved_at)
  local _, _, now_suffix = utc_window(lim.window, math.floor(now / 1e6))
  if then_suffix ~= now_suffix then reserved = math.min(reserved, actual) end
  if actual >= reserved then
    add_to_quota(lim, actual - reserved)
  else
    set_quota(lim, math.max(lim.used - (reserved - actual), 0))
  end
end

local function settle_op()
  local n = num()
  local r_tokens, r_cost, a_tokens, a_cost, reserved_at = num(), num(), num(), num(), num()
  for _ = 1, n do
    local lim = read_limit()
    settle_one(lim, key(), share(lim, r_tokens, r_cost), share(lim, a_tokens, a_cost), reserved_at)
  end
end

-- Concurrency leases: a sorted set per consumer, member -> when its lease ends (ms).
local now_ms = math.floor(now / 1000)
local LEASE_SLACK_MS = 1000  -- the set outlives its last lease by this

-- Giving a lease back, or renewing one that is still held (XX: a released or expired one
-- stays gone).
local function lease_op()
  local k, op, member, lease_ms = key(), arg(), arg(), num()
  if op == 'release' then
    redis.call('ZREM', k, member)
  elseif redis.call('ZADD', k, 'XX', 'CH', int(now_ms + lease_ms), member) == 1 then
    redis.call('PEXPIRE', k, int(lease_ms + LEASE_SLACK_MS))
  end
end

-- Whether the consumer holds fewer than `cap` leases, once the expired ones are dropped.
local function cap_admits(k, cap)
  redis.call('ZREMRANGEBYSCORE', k, '-inf', int(now_ms))
  return redis.call('ZCARD', k) < cap
end

local function take_lease(k, member, lease_ms)
  redis.call('ZADD', k, int(now_ms + lease_ms), member)
  redis.call('PEXPIRE', k, int(lease_ms + LEASE_SLACK_MS))
end

local function usage_op()
  local k = key()
  local requests, prompt, completion, estimated, cached, cost, ttl = arg(), arg(), arg(), arg(), arg(), arg(), arg()
  redis.call('HINCRBY', k, 'requests', requests)
  -- Fields that did not change are not written (a cached or free answer costs fewer calls).
  for _, field in ipairs({ { 'prompt_tokens', prompt }, { 'completion_tokens', completion },
                           { 'estimated_requests', estimated }, { 'cached', cached }, { 'cost_nano', cost } }) do
    if field[2] ~= '0' then redis.call('HINCRBY', k, field[1], field[2]) end
  end
  redis.call('EXPIRE', k, ttl)
end

-- Whole units of a limit a lease can take beyond `taken`: what is there, up to lim.want.
local function grantable(lim, taken)
  local left
  if lim.rate then left = lim.level - taken else left = lim.amount - lim.used - taken end
  return math.max(math.min(lim.want, math.floor(left + EPS)), 0)
end

-- The request's share of a limit: one from request limits, its reservation from the others.
local function request_share(lim)
  if lim.requests then return 1 end
  return math.max(lim.need, 0)
end

-- An admitted request takes its share from each limit (`request` false: a lease renewal takes
-- none), and a lease its grant.
local function take(limits, request)
  for _, lim in ipairs(limits) do
    local amount = lim.granted
    if request then amount = amount + request_share(lim) end
    if amount > 0 then
      if lim.rate then
        lim.level = lim.level - amount
        store_bucket(lim)
      else
        add_to_quota(lim, amount)
      end
    end
  end
end

-- All or nothing: every limit (and the concurrency cap) is read first; only an admitted
-- request takes from them. A refusal by a limit is named before one by the cap alone: its
-- wait is known.
local function admit(count, r_tokens, r_cost, cap, member, lease_ms, grant_mode)
  local lease_key, cap_ok = nil, true
  if cap > 0 then
    lease_key = key()
    cap_ok = cap_admits(lease_key, cap)
  end
  local limits = {}
  local admitted, refused, retry_after = 1, 0, 0
  for i = 1, count do
    local lim = read_limit()
    if lim.rate then load_bucket(key(), lim, now) else load_quota(key(), lim, now) end
    lim.need = share(lim, r_tokens, r_cost)
    lim.want, lim.granted = 0, 0
    limits[i] = lim
    if grant_mode ~= GRANT_ONLY and not admits(lim, lim.need) then
      -- The limit named is the one with the longest wait (the first such): what Retry-After is for.
      local wait = wait_until_admitted(lim, lim.need, now)
      if admitted == 1 or wait > retry_after then
        refused = i
        retry_after = wait
      end
      admitted = 0
    end
  end
  if admitted == 1 and not cap_ok then admitted, refused, retry_after = 0, -1, 1 end
  local request = grant_mode ~= GRANT_ONLY
  if grant_mode ~= NO_GRANT then
    for _, lim in ipairs(limits) do lim.want = num() end
  end
  if admitted == 1 then
    if grant_mode ~= NO_GRANT then
      for _, lim in ipairs(limits) do
        local taken = 0
        if request then taken = request_share(lim) end
        lim.granted = grantable(lim, taken)
      end
    end
    take(limits, request)
    if lease_key then take_lease(lease_key, member, lease_ms) end
  end
  local out = { admitted, refused, retry_after }
  for _, lim in ipairs(limits) do
    local remaining, reset = state_of(lim, now)
    out[#out + 1] = remaining
    out[#out + 1] = reset
  end
  if grant_mode ~= NO_GRANT then
    for _, lim in ipairs(limits) do out[#out + 1] = lim.granted end
  end
  return out
end

-- Giving back what a lease took and did not use: settled like a reservation of `n` that used
-- nothing, so a quota gets it back only in the window it was taken in.
local function return_op()
  local k = key()
  local lim = read_limit()
  local n, granted_at = num(), num()
  settle_one(lim, k, n, 0, granted_at)
end

local settles, usages, leases, returns = num(), num(), num(), num()
local admit_limits, r_tokens, r_cost, cap, member, lease_ms, grant_mode = num(), num(), num(), num(), arg(), num(), num()
for _ = 1, settles do settle_op() end
for _ = 1, usages do usage_op() end
for _ = 1, leases do lease_op() end
for _ = 1, returns do return_op() end
if admit_limits > 0 or cap > 0 then
  return admit(admit_limits, r_tokens, r_cost, cap, member, lease_ms, grant_mode)
end
return 1
)lua";

// Where each limit stands, reading only: ARGV the limit count, then each limit's 5; KEYS one
// per limit. Returns what an admission returns, {1, 0, 0, remaining, reset, ...}.
constexpr const char* peek_lua = R"lua(
local now = now_us()
local out = { 1, 0, 0 }
for _ = 1, num() do
  local lim = read_limit()
  if lim.rate then load_bucket(key(), lim, now) else load_quota(key(), lim, now) end
  local remaining, reset = state_of(lim, now)
  out[#out + 1] = remaining
  out[#out + 1] = reset
end
return out
)lua";

constexpr const char* utc_window_lua = R"lua(
local out = {}
for i = 1, #ARGV do
  local t = tonumber(ARGV[i])
  for _, window in ipairs({ 'day', 'month' }) do
    local start, stop, suffix = utc_window(window, t)
    out[#out + 1] = start
    out[#out + 1] = stop
    out[#out + 1] = suffix
  end
end
return out
)lua";

}  // namespace

const redis::Script& batch_script() {
    static const redis::Script script(std::string(common_lua) + batch_lua);
    return script;
}

const redis::Script& peek_script() {
    static const redis::Script script(std::string(common_lua) + peek_lua);
    return script;
}

const redis::Script& utc_window_script() {
    static const redis::Script script(std::string(common_lua) + utc_window_lua);
    return script;
}

}  // namespace llmgw::limits::detail
