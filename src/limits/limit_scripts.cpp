// RedisLimiter's Lua: LocalLimiter's bucket and UTC-window arithmetic, step for step, on Redis TIME.
#include "limit_scripts.hpp"

#include <string>

namespace llmgw::limits::detail {

namespace {

// Shared by every script: constants, the UTC calendar, reading and writing one limit.
//
// Written for Redis's Lua 5.1 interpreter. The batch script is a Redis Function where Redis
// takes them (>= 7.0; redis::Client falls back to EVALSHA elsewhere): its library's chunk runs
// once, at FUNCTION LOAD, so its functions are made once and parsed limits are kept from call
// to call (read_limits); EVAL runs the whole chunk on every call. Each call's state is set by
// begin(). Each function defined costs a closure per chunk run, each table an allocation,
// each call of a function (and each global looked up) a few hundred instructions, and each
// number written as text by Lua itself (tostring, `..`, table.concat) a %.14g conversion, about 3,000, and each read by
// tonumber a strtod. So the hot path (one admission) is written out in loops without calls
// where it is cheap to, and numbers cross the call packed: the limits and admissions as
// little-endian doubles read by struct.unpack, the answer as doubles written by struct.pack
// (the hash's numbers packed too: load_limits). Each argument
// costs Redis a parse, an object and a Lua string, so a call has few: one per limit, one for
// all its admissions. bench/redis_instructions.sh counts what redis-server executes per
// admission.
constexpr const char* common_lua = R"lua(
local EPS = 1e-9              -- a bucket refilled to 0.9999999999 holds a request
local MAX_WAIT = 1e12         -- waits are clamped before they become integers
local BUCKET_SLACK_MS = 1000  -- a bucket key outlives the time it needs to be full by this
local WINDOW_SLACK_S = 86400  -- a quota key outlives its window by a day

-- Locals, not globals: a global is looked up in a table on every use. They are bound on the
-- first call, not when the chunk runs: a Redis Function library's chunk runs where nothing but
-- `redis.register_function` exists (Redis 7.0), and its locals then last from call to call.
local function globals() return tonumber, unpack, pairs end  -- before the locals of those names
local floor, ceil, min, max, format, tonumber, unpack, call, sunpack, pack, concat, rep, pairs
local function bind()
  floor, ceil, min, max = math.floor, math.ceil, math.min, math.max
  format, call, sunpack, pack = string.format, redis.call, struct.unpack, struct.pack
  concat, rep = table.concat, string.rep
  tonumber, unpack, pairs = globals()
end

-- One call's state, set by begin(): Redis's clock, the UTC windows of now, the arguments read
-- in order (ARGV and KEYS each through a cursor), the answer's numbers.
local now, now_s, now_ms, windows
local argv, keys, next_arg, next_key
local serial = 0  -- numbers the calls (the tier cache's tables are one call's each)
local answer, answers, numbers, said = {}, 0, {}, 0
local function begin(k, a)
  if not call then bind() end
  local time = call('TIME')
  now = tonumber(time[1]) * 1000000 + tonumber(time[2])  -- µs
  now_s, now_ms = floor(now / 1e6), floor(now / 1000)
  windows = {}
  argv, keys, next_arg, next_key = a, k, 1, 1
  answers, said, serial = 0, 0, serial + 1
end

-- Howard Hinnant's days_from_civil / civil_from_days (proleptic Gregorian, day 0 = 1970-01-01).
local function days_from_civil(y, m, d)
  if m <= 2 then y = y - 1 end
  local era = floor(y / 400)
  local yoe = y - era * 400
  local doy = floor((153 * ((m + 9) % 12) + 2) / 5) + d - 1
  local doe = yoe * 365 + floor(yoe / 4) - floor(yoe / 100) + doy
  return era * 146097 + doe - 719468
end

-- The UTC window ('day' or 'month') holding unix second t: start, end (seconds), key suffix.
local function utc_window(window, t)
  local day = floor(t / 86400)
  -- civil_from_days(day)
  local z = day + 719468
  local era = floor(z / 146097)
  local doe = z - era * 146097
  local yoe = floor((doe - floor(doe / 1460) + floor(doe / 36524) - floor(doe / 146096)) / 365)
  local doy = doe - (365 * yoe + floor(yoe / 4) - floor(yoe / 100))
  local mp = floor((5 * doy + 2) / 153)
  local d = doy - floor((153 * mp + 2) / 5) + 1
  local m = mp < 10 and mp + 3 or mp - 9
  local y = yoe + era * 400
  if m <= 2 then y = y + 1 end
  if window == 'day' then
    return day * 86400, (day + 1) * 86400, format('d%04d%02d%02d', y, m, d)
  end
  local ny, nm = y, m + 1
  if nm > 12 then ny, nm = y + 1, 1 end
  return days_from_civil(y, m, 1) * 86400, days_from_civil(ny, nm, 1) * 86400, format('m%04d%02d', y, m)
end

-- The UTC window of now, computed once per call and window kind.
local function window_of(window)
  local w = windows[window]
  if not w then
    w = { utc_window(window, now_s) }
    windows[window] = w
  end
  return w[1], w[2], w[3]
end

-- The next `n` limits, an ARGV each, packed (limit_scripts.hpp): code (kind r|q, then unit
-- r|t|c), amount, then period (ms) and capacity for a rate, window (1 day, 2 month) and 0 for
-- a quota, then its field in the hash. Each limit's table also holds its state once loaded.
-- Every field it gets is named here: a table built at its full size costs no rehash.
local function parse_limits(a, n)
  local limits = {}
  for i = 1, n do
    local code, amount, third, capacity, field = sunpack('<c2dddi4c0', argv[a])
    if code == 'rr' or code == 'rt' or code == 'rc' then
      limits[i] = { field = field, rate = true, requests = code == 'rr', cost = code == 'rc',
                    amount = amount, period = max(third / 1000, 1e-3),
                    capacity = capacity, level = 0, at = 0, changed = false, migrated = false,
                    need = 0, want = 0, granted = 0 }
    else
      limits[i] = { field = field, rate = false, requests = code == 'qr', cost = code == 'qc',
                    amount = amount, window = third == 1 and 'day' or 'month', used = 0, stop = 0,
                    suffix = false, changed = false, migrated = false, need = 0, want = 0, granted = 0 }
    end
    a = a + 1
  end
  return limits
end

-- The same limits arrive call after call (a tier's, a settle's): parsed ones are kept, by
-- their arguments, as long as the code lasts (a Redis Function's library: until it is loaded
-- again or Redis restarts; an EVAL script's chunk: one call). Only ever a cache: at most
-- TIERS_KEPT sets, then it starts over; and a set held by this call already (two tiers of the
-- same limits, two settles) is parsed anew, as each holds its own state.
local TIERS_KEPT = 64
local kept, kept_count = {}, 0
local function read_limits(n)
  local a = next_arg
  next_arg = a + n
  if n == 0 then return {} end
  local text = n == 1 and argv[a] or concat(argv, '\n', a, a + n - 1)
  local limits = kept[text]
  if limits and limits.serial ~= serial then
    limits.serial = serial
    return limits
  end
  limits = parse_limits(a, n)
  if kept[text] then return limits end
  if kept_count >= TIERS_KEPT then kept, kept_count = {}, 0 end
  kept[text], kept_count, limits.serial = limits, kept_count + 1, serial
  return limits
end

-- A consumer's limits of one tier live in one hash: each limit one field, `<field>:p`, two
-- little-endian doubles (a bucket's level and its time in µs; a quota's count and the end of
-- its UTC window, unix s), and `x`, when the hash expires (ms, as text). Numbers packed, not
-- written as text: no sprintf to write them, no strtod to read them. Earlier versions kept
-- each limit in two text fields, `<field>:a` and `<field>:b` (a quota's window as its key
-- suffix), and before those in a key of its own, named the hash's key, ':' and the field (a
-- quota's, then ':' and the window suffix). A limit not in the hash in this layout starts from
-- the layouts before it (load_previous), so an upgrade keeps the counts, and its fields of the
-- layout before go when it is written.

-- A limit's state in the layouts before: what its packed field would hold (nil: nothing, a
-- full bucket or a new window). Marks a limit found in the fields of the layout before.
local function load_previous(h, lim)
  local field = lim.field
  local fields = call('HMGET', h, field .. ':a', field .. ':b')
  local a, b = fields[1], fields[2]
  if a then
    lim.migrated = true
  else
    local old = h .. ':' .. field
    if lim.rate then
      local legacy = call('HMGET', old, 'level', 'at')
      a, b = legacy[1], legacy[2]
    else
      local _, _, suffix = window_of(lim.window)
      a, b = call('GET', old .. ':' .. suffix), suffix
    end
  end
  if not (a and b) then return nil, nil end
  if lim.rate then return tonumber(a), tonumber(b) end
  local _, stop, suffix = window_of(lim.window)
  if b == suffix then return tonumber(a), stop end
  return nil, nil
end

-- Reads `limits` from hash `h` in one HMGET; returns when the hash expires (ms, 0: unknown).
-- The fields to read are kept with the limits: a tier's limits are read once per call and
-- serve all its admissions.
local function load_limits(h, limits)
  local n, fields = #limits, limits.fields
  if not fields then
    fields = {}
    for i = 1, n do fields[i] = limits[i].field .. ':p' end
    fields[n + 1] = 'x'
    limits.fields = fields
  end
  local v = call('HMGET', h, unpack(fields))
  for i = 1, n do
    local lim, p = limits[i], v[i]
    local a, b
    lim.migrated = false
    if p then a, b = sunpack('<dd', p) else a, b = load_previous(h, lim) end
    if lim.rate then
      if a then
        -- Refilled for the time since; the clock never refills backwards.
        lim.level = min(lim.capacity, a + max((now - b) / 1e6, 0) * lim.amount / lim.period)
        lim.at = max(b, now)
      else
        lim.level, lim.at = lim.capacity, now  -- a missing bucket is a full one (new, or expired full)
      end
    else
      -- The count of the window that holds now; another window's count is a new window's 0.
      local _, stop, suffix = window_of(lim.window)
      lim.stop, lim.suffix, lim.used = stop, suffix, 0
      if a and b == stop then lim.used = a end
    end
    lim.changed = false
  end
  return tonumber(v[n + 1]) or 0
end

-- Writes the limits that changed in one HSET (and drops their fields of the layout before).
-- The hash lives as long as its longest need: a bucket until it would be full again, plus
-- BUCKET_SLACK_MS; a quota until a day after its window. The expiry is only ever extended
-- (other limits of the hash may need it), a little ahead, so a busy bucket does not move it on
-- every call.
local function store_limits(h, limits, expires)
  local values, n, need, fields, gone = {}, 0, 0, limits.fields, nil
  for i = 1, #limits do
    local lim = limits[i]
    if lim.changed then
      if lim.rate then
        values[n + 1], values[n + 2] = fields[i], pack('<dd', lim.level, lim.at)
        local full_ms = ceil(min(max((lim.capacity - lim.level) * lim.period / max(lim.amount, 1), 0), MAX_WAIT) * 1000)
        need = max(need, floor(now / 1000) + full_ms + BUCKET_SLACK_MS)
      else
        values[n + 1], values[n + 2] = fields[i], pack('<dd', lim.used, lim.stop)
        need = max(need, (lim.stop + WINDOW_SLACK_S) * 1000)
      end
      n = n + 2
      if lim.migrated then
        gone = gone or {}
        gone[#gone + 1], gone[#gone + 2] = lim.field .. ':a', lim.field .. ':b'
        lim.migrated = false
      end
    end
  end
  if n == 0 then return end
  local extend = need > expires
  if extend then
    need = need + BUCKET_SLACK_MS
    values[n + 1], values[n + 2] = 'x', format('%d', need)
  end
  call('HSET', h, unpack(values))
  if gone then call('HDEL', h, unpack(gone)) end
  if extend then call('PEXPIREAT', h, format('%d', need)) end
end

-- A request bucket admits with a whole request in it; a token or cost bucket when the
-- reservation fits (never more than its capacity is needed), or with nothing to reserve while
-- anything is left.
local function bucket_admits(lim, level, need)
  if lim.requests then return level >= 1 - EPS end
  if need <= 0 then return level > 0 end
  return level >= min(need, lim.capacity) - EPS
end

-- Rounds up, but not for a rounding error: 28.9999999 s and 29.0000001 s both become 29 s.
local function whole_seconds_up(s) return ceil(min(max(s - 1e-6, 0), MAX_WAIT)) end

-- Whole seconds until a refusing limit admits `need`, at least 1.
local function wait_until_admitted(lim, need)
  if not lim.rate then return max(max(ceil((lim.stop * 1e6 - now) / 1e6), 0), 1) end
  local target = 0
  if lim.requests then target = 1 elseif need > 0 then target = min(need, lim.capacity) end
  local wait = max(whole_seconds_up((target - lim.level) * lim.period / max(lim.amount, 1)), 1)
  -- A token bucket needs strictly more than 0, so a whole-second wait to exactly 0 is one short.
  for _ = 1, 2 do
    if bucket_admits(lim, min(lim.capacity, lim.level + wait * lim.amount / lim.period), need) then break end
    wait = wait + 1
  end
  return wait
end

-- A script's answer: numbers, each a little-endian double, packed into one string: one reply
-- object for Redis to write and llmgw to read, and no number written as text (a sprintf each). The numbers said go to `numbers` (`said` of them), and
-- are packed by one struct.pack per call, or per a few hundred (Lua's stack bounds unpack).
local formats = {}
local function pack_said()
  local f = formats[said]
  if not f then
    f = '<' .. rep('d', said)
    formats[said] = f
  end
  answers = answers + 1
  answer[answers] = pack(f, unpack(numbers, 1, said))
  said = 0
end
)lua";

// One call does all of a worker's limit work: the settles and usage records waiting since the
// last call (they ride along), then the admissions waiting, if any (limit_scripts.hpp). The
// code defines `batch`, called by the library (Redis Functions) or the script (EVAL).
constexpr const char* batch_lua = R"lua(
-- An admission's grant mode: none, the request and slices for a lease, or slices alone.
local NO_GRANT, GRANT_ONLY = 0, 2
local LEASE_SLACK_MS = 1000  -- a concurrency lease set outlives its last lease by this

-- A settle: the reservation against what was used, per token and cost limit (loaded).
local function settle_one(lim, reserved, actual, reserved_at)
  if lim.rate then
    if reserved ~= actual then
      lim.level = min(lim.capacity, lim.level - (actual - reserved))
      lim.changed = true
    end
    return
  end
  -- A reservation of an earlier window is not refunded into this one.
  local _, _, then_suffix = utc_window(lim.window, reserved_at)
  if then_suffix ~= lim.suffix then reserved = min(reserved, actual) end
  if reserved ~= actual then
    lim.used = min(max(lim.used + (actual - reserved), 0), 9e18)  -- saturates, never overflows
    lim.changed = true
  end
end

-- The hash each tier's limits hold the state of, in this call. A consumer's admissions of one
-- tier that follow each other in a call read the hash once and write it once (a busy
-- consumer's many requests share a call): `now` is the same for all of them.
local tier_limits  -- this call's: tier -> its limits
local loaded       -- this call's: tier -> { h = hash, expires = when it expires (ms) }
local function loaded_limits(tier, h)
  local limits, held = tier_limits[tier], loaded[tier]
  if held and held.h == h then return limits end
  if held then store_limits(held.h, limits, held.expires) end
  -- Another tier holding the same hash (a reload's old and new tier of one name, in one call)
  -- writes it first, so this one reads what that one took.
  for other, other_held in pairs(loaded) do
    if other ~= tier and other_held.h == h then
      store_limits(h, tier_limits[other], other_held.expires)
      loaded[other] = nil
    end
  end
  loaded[tier] = { h = h, expires = load_limits(h, limits) }
  return limits
end

-- One admission, all or nothing: every limit (and the concurrency cap) is read first; only an
-- admitted request takes from them. A refusal by a limit is named before one by the cap alone:
-- its wait is known. Its tier, reserved tokens and cost, cap, lease member, lease ms, grant
-- mode, the hash and lease set (keys) and, with a grant mode, the slice wanted of each limit.
local function admit(tier, r_tokens, r_cost, cap, member, lease_ms, grant_mode, h, lease_key, wants)
  local cap_ok = true
  if cap > 0 then
    call('ZREMRANGEBYSCORE', lease_key, '-inf', format('%d', now_ms))  -- expired leases
    cap_ok = call('ZCARD', lease_key) < cap
  end
  local limits = tier_limits[tier]
  local n = #limits
  if n > 0 then
    local held = loaded[tier]
    if not held or held.h ~= h then loaded_limits(tier, h) end
  end
  local admitted, refused, retry_after = 1, 0, 0
  local request, granting = grant_mode ~= GRANT_ONLY, grant_mode ~= NO_GRANT
  -- The hot path, once per request and limit, is written out: bucket_admits and math.min as
  -- comparisons, the same answers without a function call each (a few hundred instructions).
  for i = 1, n do
    local lim = limits[i]
    -- The request's charge in the limit's unit (requests: nothing).
    local need = r_tokens
    if lim.requests then need = 0 elseif lim.cost then need = r_cost end
    lim.need = need
    if granting then lim.want, lim.granted = wants[i], 0 end
    if request then
      local admits
      if lim.rate then
        local level = lim.level
        if lim.requests then
          admits = level >= 1 - EPS
        elseif need <= 0 then
          admits = level > 0
        else
          local capacity = lim.capacity
          admits = level >= (need < capacity and need or capacity) - EPS
        end
      elseif lim.requests or need <= 0 then
        admits = lim.used < lim.amount
      else
        local amount = lim.amount
        admits = lim.used + (need < amount and need or amount) <= amount
      end
      if not admits then
        -- The limit named is the one with the longest wait (the first such): what Retry-After is for.
        local wait = wait_until_admitted(lim, need)
        if admitted == 1 or wait > retry_after then refused, retry_after = i, wait end
        admitted = 0
      end
    end
  end
  if admitted == 1 and not cap_ok then admitted, refused, retry_after = 0, -1, 1 end
  if admitted == 1 then
    -- Each limit gives the request its share (one from request limits, the reservation from
    -- the others; a lease renewal takes none), and a lease the whole units it can take beyond
    -- that: what is there, up to what it wants.
    for i = 1, n do
      local lim = limits[i]
      local amount = 0
      if request then
        if lim.requests then amount = 1 elseif lim.need > 0 then amount = lim.need end
      end
      if granting then
        local left
        if lim.rate then left = lim.level - amount else left = lim.amount - lim.used - amount end
        lim.granted = max(min(lim.want, floor(left + EPS)), 0)
        amount = lim.granted + amount
      end
      if amount > 0 then
        if lim.rate then
          lim.level = lim.level - amount
        else
          local used = lim.used + amount  -- saturates, never overflows
          if used < 0 then used = 0 elseif used > 9e18 then used = 9e18 end
          lim.used = used
        end
        lim.changed = true
      end
    end
    if cap > 0 then
      call('ZADD', lease_key, format('%d', now_ms + lease_ms), member)
      call('PEXPIRE', lease_key, format('%d', lease_ms + LEASE_SLACK_MS))
    end
  end
  local at = said
  numbers[at + 1], numbers[at + 2], numbers[at + 3] = admitted, refused, retry_after
  at = at + 3
  -- Where each limit stands: a bucket's level, a quota's count. llmgw works out remaining and
  -- reset from them (RedisLimiter), with `now`, the first number of the answer.
  for i = 1, n do
    local lim = limits[i]
    if lim.rate then numbers[at + i] = lim.level else numbers[at + i] = lim.used end
  end
  at = at + n
  if granting then
    for i = 1, n do numbers[at + i] = limits[i].granted end
    at = at + n
  end
  said = at
end

-- Settles: per tier, its token and cost limits in one hash (one key).
local function settle_all(settles)
  for _ = 1, settles do
    local h, a = keys[next_key], next_arg
    local n, r_tokens, r_cost = tonumber(argv[a]), tonumber(argv[a + 1]), tonumber(argv[a + 2])
    local a_tokens, a_cost, reserved_at = tonumber(argv[a + 3]), tonumber(argv[a + 4]), tonumber(argv[a + 5])
    next_key, next_arg = next_key + 1, a + 6
    local limits = read_limits(n)
    local expires = load_limits(h, limits)
    for i = 1, n do
      local lim = limits[i]
      if lim.requests then
        settle_one(lim, 0, 0, reserved_at)
      elseif lim.cost then
        settle_one(lim, r_cost, a_cost, reserved_at)
      else
        settle_one(lim, r_tokens, a_tokens, reserved_at)
      end
    end
    store_limits(h, limits, expires)
  end
end

-- Usage records: one consumer's day in one hash. Fields that did not change are not written
-- (a cached or free answer costs fewer calls).
local COUNTED = { 'prompt_tokens', 'completion_tokens', 'estimated_requests', 'cached', 'cost_nano' }
local function record_usages(usages)
  for _ = 1, usages do
    local k, a = keys[next_key], next_arg
    call('HINCRBY', k, 'requests', argv[a])
    for i = 1, 5 do
      if argv[a + i] ~= '0' then call('HINCRBY', k, COUNTED[i], argv[a + i]) end
    end
    call('EXPIRE', k, argv[a + 6])
    next_key, next_arg = next_key + 1, a + 7
  end
end

-- Concurrency leases (a sorted set per consumer, member -> when its lease ends, ms): given
-- back, or renewed while still held (XX: a released or expired one stays gone).
local function lease_operations(leases)
  for _ = 1, leases do
    local k, a = keys[next_key], next_arg
    local op, member, lease_ms = argv[a], argv[a + 1], tonumber(argv[a + 2])
    next_key, next_arg = next_key + 1, a + 3
    if op == 'release' then
      call('ZREM', k, member)
    elseif call('ZADD', k, 'XX', 'CH', format('%d', now_ms + lease_ms), member) == 1 then
      call('PEXPIRE', k, format('%d', lease_ms + LEASE_SLACK_MS))
    end
  end
end

-- Slices a lease took and did not use, given back: settled like a reservation of that amount
-- that used nothing, so a quota gets it back only in the window it was taken in.
local function return_slices(returns)
  for _ = 1, returns do
    local h = keys[next_key]
    next_key = next_key + 1
    local limits = read_limits(1)
    local n, granted_at = tonumber(argv[next_arg]), tonumber(argv[next_arg + 1])
    next_arg = next_arg + 2
    local expires = load_limits(h, limits)
    settle_one(limits[1], n, 0, granted_at)
    store_limits(h, limits, expires)
  end
end

-- A run of the last full admission's ask again (repeats, limit_scripts.hpp: one consumer's
-- requests of one tier and reservation, without a cap or slices): its tier's limits hold its
-- hash, and each limit's need, already. Each is decided as admit would decide it, in turn: the
-- first `k` are admitted (each limit taking its amount from the state the one before left),
-- and once one is refused, the rest are too (a refusal takes nothing). Says k; the caller
-- then has admit answer the first refused one (naming the limit and the wait). llmgw works
-- out the admitted ones' levels and counts, step for step as here, and copies the refused
-- one's answer to the rest.
local function admit_run(limits, runs)
  local n, k = #limits, runs
  for i = 1, n do  -- how many in turn each limit admits, at most k
    local lim = limits[i]
    local need, c, amount = lim.need, 0, 0
    if lim.requests then amount = 1 elseif need > 0 then amount = need end
    if lim.rate then
      local level, least = lim.level, 1 - EPS
      if not lim.requests then
        if need <= 0 then
          least = false
        else
          local capacity = lim.capacity
          least = (need < capacity and need or capacity) - EPS
        end
      end
      if least then
        while c < k and level >= least do level, c = level - amount, c + 1 end
      else
        while c < k and level > 0 do level, c = level - amount, c + 1 end
      end
    else
      local used, most = lim.used, lim.amount
      local plain, x = lim.requests or need <= 0, need < most and need or most
      while c < k do
        if plain then
          if not (used < most) then break end
        elseif not (used + x <= most) then
          break
        end
        used = used + amount  -- saturates, never overflows
        if used < 0 then used = 0 elseif used > 9e18 then used = 9e18 end
        c = c + 1
      end
    end
    k = c
  end
  if k > 0 then
    for i = 1, n do
      local lim = limits[i]
      local amount = 0
      if lim.requests then amount = 1 elseif lim.need > 0 then amount = lim.need end
      if amount > 0 then
        if lim.rate then
          local level = lim.level
          for _ = 1, k do level = level - amount end
          lim.level = level
        else
          local used = lim.used
          for _ = 1, k do
            used = used + amount
            if used < 0 then used = 0 elseif used > 9e18 then used = 9e18 end
          end
          lim.used = used
        end
        lim.changed = true
      end
    end
  end
  said = said + 1
  numbers[said] = k
  return k
end

-- Admissions of several requests share one call: each is decided in turn, as if alone. They
-- come packed in one argument (limit_scripts.hpp), read by struct.unpack: no string, and no
-- text to parse, per number. Their keys each come once, named by position.
local want_formats = {}
local function admit_all(admissions)
  local packed, at, base = argv[next_arg], 1, next_key - 1
  answers, answer[1] = 1, pack('<d', now)
  local tier, r_tokens, r_cost, cap, lease_ms, grant_mode, hash_at, lease_at, member, first
  local decided = 0
  while decided < admissions do
    first, at = sunpack('<d', packed, at)
    decided = decided + (first >= 0 and 1 or -first)
    if first >= 0 then
      tier = first
      r_tokens, r_cost, cap, lease_ms, grant_mode, hash_at, lease_at, member, at =
        sunpack('<dddddddi4c0', packed, at)
      local wants
      if grant_mode ~= NO_GRANT then
        local n = #tier_limits[tier]
        local f = want_formats[n]
        if not f then
          f = '<' .. rep('d', n)
          want_formats[n] = f
        end
        wants = { sunpack(f, packed, at) }
        at = wants[n + 1]
      end
      -- A key numbered 0 (none) names another key or nil: admit reads the hash only for a tier
      -- with limits and the lease set only with a cap, which always have theirs.
      admit(tier, r_tokens, r_cost, cap, member, lease_ms, grant_mode, keys[base + hash_at], keys[base + lease_at], wants)
    elseif admit_run(tier_limits[tier], -first) < -first then
      admit(tier, r_tokens, r_cost, cap, member, lease_ms, grant_mode, keys[base + hash_at], keys[base + lease_at], nil)
    end
    if said > 240 then pack_said() end
  end
  for t, held in pairs(loaded) do store_limits(held.h, tier_limits[t], held.expires) end
  if said > 0 then pack_said() end
  return concat(answer, '', 1, answers)
end

-- The call: KEYS and ARGV as limit_scripts.hpp says.
local function batch(k, a)
  begin(k, a)
  local settles, usages, leases, returns, admissions, tiers =
    tonumber(a[1]), tonumber(a[2]), tonumber(a[3]), tonumber(a[4]), tonumber(a[5]), tonumber(a[6])
  next_arg = 7
  -- The limits of each tier the admissions use, read once (their state is loaded per hash).
  tier_limits, loaded = { [0] = {} }, {}
  for t = 1, tiers do
    next_arg = next_arg + 1
    tier_limits[t] = read_limits(tonumber(a[next_arg - 1]))
  end
  settle_all(settles)
  if usages > 0 then record_usages(usages) end
  lease_operations(leases)
  return_slices(returns)
  if admissions == 0 then return 1 end
  return admit_all(admissions)
end
)lua";

// Where each limit stands, reading only: ARGV the limit count, then each limit; KEYS the
// hash. Returns what a call with one admission returns: now, then 1, 0, 0 and each limit's
// level or count.
constexpr const char* peek_lua = R"lua(
local function peek(k, a)
  begin(k, a)
  next_arg = 2
  local limits = read_limits(tonumber(a[1]))
  if #limits > 0 then load_limits(k[1], limits) end
  answers, answer[1] = 1, pack('<d', now)
  numbers[1], numbers[2], numbers[3] = 1, 0, 0
  for i = 1, #limits do
    local lim = limits[i]
    if lim.rate then numbers[3 + i] = lim.level else numbers[3 + i] = lim.used end
  end
  said = 3 + #limits
  pack_said()
  return concat(answer, '', 1, answers)
end
return peek(KEYS, ARGV)
)lua";

constexpr const char* utc_window_lua = R"lua(
begin(KEYS, ARGV)
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
    static const redis::Script script =
        redis::Script::with_function("limits", std::string(common_lua) + batch_lua, "batch");
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
