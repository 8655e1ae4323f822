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

-- A script's answer: numbers, returned as one string of them (table.concat(answer, ' ')): one
-- reply object for Redis to write and llmgw to read, instead of one per number. Every number is a
-- whole one; Lua writes those below 1e14 exactly, and int() the rest.
local answer = {}
local function say(x)
  if x >= 1e14 or x <= -1e14 then x = int(x) end
  answer[#answer + 1] = x
end

-- The script's arguments are read in order: ARGV and KEYS each through a cursor.
local next_arg, next_key = 1, 1
local function arg() local v = ARGV[next_arg]; next_arg = next_arg + 1; return v end
local function num() return tonumber(arg()) end
local function key() local v = KEYS[next_key]; next_key = next_key + 1; return v end

-- The UTC window of `t`, computed once per call and window kind (every admission of a call
-- shares its time).
local windows = {}
local function window_of(window, t)
  local w = windows[window]
  if not w or w.t ~= t then
    local start, stop, suffix = utc_window(window, t)
    w = { t = t, start = start, stop = stop, suffix = suffix }
    windows[window] = w
  end
  return w.start, w.stop, w.suffix
end

-- A limit's code: kind (r: rate, q: quota) then unit (r: requests, t: tokens, c: cost).
local RATE = { rr = true, rt = true, rc = true, qr = false, qt = false, qc = false }
local UNIT = { rr = 'r', rt = 't', rc = 'c', qr = 'r', qt = 't', qc = 'c' }

-- The next limit's 5 ARGV: its field in the hash, code, amount, then period (ms) and capacity
-- for a rate, window ('day'|'month') and '' for a quota.
local function read_limit()
  local field, code, amount = arg(), arg(), num()
  local unit = UNIT[code]
  -- Every field a limit gets is named here: a table built at its full size costs no rehash.
  local lim = { field = field, rate = RATE[code], requests = unit == 'r', cost = unit == 'c',
                amount = amount, period = 0, capacity = 0, window = false,
                level = 0, at = 0, used = 0, stop = 0, suffix = false, changed = false,
                need = 0, want = 0, granted = 0 }
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

-- A consumer's limits of one tier live in one hash: each limit two fields, `<field>:a` and
-- `<field>:b` (a bucket's level and its time in µs; a quota's count and its UTC window), and
-- `x`, when the hash expires (ms). Versions before it kept each limit in a key of its own,
-- named the hash's key, ':' and the field (a quota's, then ':' and the window): a limit not
-- in the hash yet starts from that key, so an upgrade keeps the counts.
local function legacy_state(h, lim, now)
  local old = h .. ':' .. lim.field
  if lim.rate then
    local v = redis.call('HMGET', old, 'level', 'at')
    return v[1], v[2]
  end
  local _, _, suffix = window_of(lim.window, math.floor(now / 1e6))
  return redis.call('GET', old .. ':' .. suffix), suffix
end

-- A missing bucket is a full one (new, or expired once it was full).
local function bucket_from(lim, level, at, now)
  if not level or not at then
    lim.level, lim.at = lim.capacity, now
    return
  end
  lim.level, lim.at = tonumber(level), tonumber(at)
  lim.level = refilled(lim, math.max((now - lim.at) / 1e6, 0))
  lim.at = math.max(lim.at, now)  -- the clock never refills backwards
end

-- The count of the window that holds `now`; another window's count is a new window's 0.
local function quota_from(lim, used, window, now)
  local _, stop, suffix = window_of(lim.window, math.floor(now / 1e6))
  lim.stop, lim.suffix = stop, suffix
  lim.used = 0
  if used and window == suffix then lim.used = tonumber(used) end
end

-- Reads `limits` from hash `h` in one HMGET; returns when the hash expires (ms, 0: unknown).
-- The fields to read for `limits`, kept with them: a tier's limits are read once per call and
-- serve all its admissions.
local function fields_of(limits)
  if limits.fields then return limits.fields end
  local fields, n = {}, #limits
  for i = 1, n do
    fields[2 * i - 1] = limits[i].field .. ':a'
    fields[2 * i] = limits[i].field .. ':b'
  end
  fields[2 * n + 1] = 'x'
  limits.fields = fields
  return fields
end

local function load_limits(h, limits, now)
  local n = #limits
  local v = redis.call('HMGET', h, unpack(fields_of(limits)))
  for i = 1, n do
    local lim = limits[i]
    local a, b = v[2 * i - 1], v[2 * i]
    if not a then a, b = legacy_state(h, lim, now) end
    if lim.rate then bucket_from(lim, a, b, now) else quota_from(lim, a, b, now) end
    lim.changed = false
  end
  return tonumber(v[2 * n + 1]) or 0
end

-- Writes the limits that changed in one HSET. The hash lives as long as its longest need: a
-- bucket until it would be full again, plus BUCKET_SLACK_MS; a quota until a day after its
-- window. The expiry is only ever extended (other limits of the hash may need it), a little
-- ahead, so a busy bucket does not move it on every call.
local function store_limits(h, limits, expires, now)
  local values, need, fields = {}, 0, fields_of(limits)
  for i, lim in ipairs(limits) do
    if lim.changed then
      local n = #values
      if lim.rate then
        values[n + 1], values[n + 2] = fields[2 * i - 1], string.format('%.17g', lim.level)
        values[n + 3], values[n + 4] = fields[2 * i], int(lim.at)
        local full_ms = math.ceil(math.min(math.max(seconds_for(lim, lim.capacity - lim.level), 0), MAX_WAIT) * 1000)
        need = math.max(need, math.floor(now / 1000) + full_ms + BUCKET_SLACK_MS)
      else
        values[n + 1], values[n + 2] = fields[2 * i - 1], int(lim.used)
        values[n + 3], values[n + 4] = fields[2 * i], lim.suffix
        need = math.max(need, (lim.stop + WINDOW_SLACK_S) * 1000)
      end
    end
  end
  if #values == 0 then return end
  local extend = need > expires
  if extend then
    need = need + BUCKET_SLACK_MS
    values[#values + 1] = 'x'
    values[#values + 1] = int(need)
  end
  redis.call('HSET', h, unpack(values))
  if extend then redis.call('PEXPIREAT', h, int(need)) end
end

-- Changes to a loaded limit; store_limits writes them.
local function set_level(lim, level)
  lim.level = level
  lim.changed = true
end

local function set_used(lim, used)
  lim.used = math.min(math.max(used, 0), 9e18)  -- saturates instead of overflowing
  lim.changed = true
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
// last call (they ride along), then the admissions waiting, if any (limit_scripts.hpp).
constexpr const char* batch_lua = R"lua(
local now = now_us()
-- An admission's grant mode: none, the request and slices for a lease, or slices alone.
local NO_GRANT, GRANT_WITH_REQUEST, GRANT_ONLY = 0, 1, 2

-- A settle: the reservation against what was used, per token and cost limit (loaded).
local function settle_one(lim, reserved, actual, reserved_at)
  if lim.rate then
    if reserved ~= actual then set_level(lim, math.min(lim.capacity, lim.level - (actual - reserved))) end
    return
  end
  -- A reservation of an earlier window is not refunded into this one.
  local _, _, then_suffix = utc_window(lim.window, reserved_at)
  if then_suffix ~= lim.suffix then reserved = math.min(reserved, actual) end
  if reserved ~= actual then set_used(lim, lim.used + (actual - reserved)) end
end

-- The tier's token and cost limits in one hash (one key).
local function settle_op()
  local h, n = key(), num()
  local r_tokens, r_cost, a_tokens, a_cost, reserved_at = num(), num(), num(), num(), num()
  local limits = {}
  for i = 1, n do limits[i] = read_limit() end
  local expires = load_limits(h, limits, now)
  for _, lim in ipairs(limits) do
    settle_one(lim, share(lim, r_tokens, r_cost), share(lim, a_tokens, a_cost), reserved_at)
  end
  store_limits(h, limits, expires, now)
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
      if lim.rate then set_level(lim, lim.level - amount) else set_used(lim, lim.used + amount) end
    end
  end
end

-- The hash each tier's limits hold the state of, in this call. A consumer's admissions of one
-- tier that follow each other in a call read the hash once and write it once (a busy
-- consumer's many requests share a call): `now` is the same for all of them.
local tier_limits
local loaded = {}  -- tier -> { h = hash, expires = when it expires (ms) }
local function loaded_limits(tier, h)
  local limits, held = tier_limits[tier], loaded[tier]
  if held and held.h == h then return limits end
  if held then store_limits(held.h, limits, held.expires, now) end
  -- Another tier holding the same hash (a reload's old and new tier of one name, in one call)
  -- writes it first, so this one reads what that one took.
  for other, other_held in pairs(loaded) do
    if other ~= tier and other_held.h == h then
      store_limits(h, tier_limits[other], other_held.expires, now)
      loaded[other] = nil
    end
  end
  loaded[tier] = { h = h, expires = load_limits(h, limits, now) }
  return limits
end

local function store_loaded()
  for tier, held in pairs(loaded) do store_limits(held.h, tier_limits[tier], held.expires, now) end
end

-- All or nothing: every limit (and the concurrency cap) is read first; only an admitted
-- request takes from them. A refusal by a limit is named before one by the cap alone: its
-- wait is known.
local function admit(tier, r_tokens, r_cost, cap, member, lease_ms, grant_mode)
  local lease_key, cap_ok = nil, true
  if cap > 0 then
    lease_key = key()
    cap_ok = cap_admits(lease_key, cap)
  end
  local limits = tier_limits[tier]
  if #limits > 0 then limits = loaded_limits(tier, key()) end
  local admitted, refused, retry_after = 1, 0, 0
  for i, lim in ipairs(limits) do
    lim.need = share(lim, r_tokens, r_cost)
    lim.want, lim.granted = 0, 0
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
  say(admitted)
  say(refused)
  say(retry_after)
  for _, lim in ipairs(limits) do
    local remaining, reset = state_of(lim, now)
    say(remaining)
    say(reset)
  end
  if grant_mode ~= NO_GRANT then
    for _, lim in ipairs(limits) do say(lim.granted) end
  end
end

-- Giving back what a lease took and did not use: settled like a reservation of `n` that used
-- nothing, so a quota gets it back only in the window it was taken in.
local function return_op()
  local h = key()
  local limits = { read_limit() }
  local n, granted_at = num(), num()
  local expires = load_limits(h, limits, now)
  settle_one(limits[1], n, 0, granted_at)
  store_limits(h, limits, expires, now)
end

local settles, usages, leases, returns, admissions, tiers = num(), num(), num(), num(), num(), num()
-- The limits of each tier the admissions use, read once (their state is loaded per admission).
tier_limits = { [0] = {} }
for t = 1, tiers do
  local limits = {}
  for i = 1, num() do limits[i] = read_limit() end
  tier_limits[t] = limits
end
for _ = 1, settles do settle_op() end
for _ = 1, usages do usage_op() end
for _ = 1, leases do lease_op() end
for _ = 1, returns do return_op() end
if admissions == 0 then return 1 end
-- Admissions of several requests share one call: each is decided in turn, as if alone.
for _ = 1, admissions do
  local tier, r_tokens, r_cost, cap, member, lease_ms, grant_mode = num(), num(), num(), num(), arg(), num(), num()
  admit(tier, r_tokens, r_cost, cap, member, lease_ms, grant_mode)
end
store_loaded()
return table.concat(answer, ' ')
)lua";

// Where each limit stands, reading only: ARGV the limit count, then each limit's 5; KEYS the
// hash. Returns what an admission returns, {1, 0, 0, remaining, reset, ...}.
constexpr const char* peek_lua = R"lua(
local now = now_us()
say(1)
say(0)
say(0)
local limits = {}
for i = 1, num() do limits[i] = read_limit() end
if #limits > 0 then load_limits(key(), limits, now) end
for _, lim in ipairs(limits) do
  local remaining, reset = state_of(lim, now)
  say(remaining)
  say(reset)
end
return table.concat(answer, ' ')
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
