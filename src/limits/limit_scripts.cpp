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

-- Limit i, its 5 ARGV starting at ARGV[first + 5 * (i - 1)].
local function limit_at(first, i)
  local a = first + 5 * (i - 1)
  local lim = { rate = ARGV[a] == 'rate', requests = ARGV[a + 1] == 'requests', amount = tonumber(ARGV[a + 2]) }
  if lim.rate then
    lim.period = math.max(tonumber(ARGV[a + 3]) / 1000, 1e-3)
    lim.capacity = tonumber(ARGV[a + 4])
  else
    lim.window = ARGV[a + 3]
  end
  return lim
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

-- A request bucket admits with a whole request in it; a token bucket with anything left.
local function bucket_admits(lim, level)
  if lim.requests then return level >= 1 - EPS end
  return level > 0
end

local function admits(lim)
  if lim.rate then return bucket_admits(lim, lim.level) end
  return lim.used < lim.amount
end

local function until_window_end(lim, now) return math.max(math.ceil((lim.stop * 1e6 - now) / 1e6), 0) end

-- Whole seconds until a refusing limit admits, at least 1.
local function wait_until_admitted(lim, now)
  if not lim.rate then return math.max(until_window_end(lim, now), 1) end
  local target = lim.requests and 1 or 0
  local wait = math.max(whole_seconds_up(seconds_for(lim, target - lim.level)), 1)
  -- A token bucket needs strictly more than 0, so a whole-second wait to exactly 0 is one short.
  for _ = 1, 2 do
    if bucket_admits(lim, refilled(lim, wait)) then break end
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

// All or nothing: every limit is read first; only an admitted request takes from them.
constexpr const char* admit_lua = R"lua(
local now = now_us()
local limits = {}
local admitted, refused, retry_after = 1, 0, 0
for i = 1, #KEYS do
  local lim = limit_at(1, i)
  if lim.rate then load_bucket(KEYS[i], lim, now) else load_quota(KEYS[i], lim, now) end
  limits[i] = lim
  if not admits(lim) then
    -- The limit named is the one with the longest wait (the first such): what Retry-After is for.
    local wait = wait_until_admitted(lim, now)
    if admitted == 1 or wait > retry_after then
      refused = i
      retry_after = wait
    end
    admitted = 0
  end
end
if admitted == 1 then
  for _, lim in ipairs(limits) do
    if lim.requests then  -- tokens are taken by settle
      if lim.rate then
        lim.level = lim.level - 1
        store_bucket(lim)
      else
        add_to_quota(lim, 1)
      end
    end
  end
end
local out = { admitted, refused, retry_after }
for _, lim in ipairs(limits) do
  local remaining, reset = state_of(lim, now)
  out[#out + 1] = remaining
  out[#out + 1] = reset
end
return out
)lua";

// A token bucket may go into debt: the answer was already given, the debt blocks what follows.
constexpr const char* settle_lua = R"lua(
local now = now_us()
local tokens = tonumber(ARGV[1])
for i = 1, #KEYS do
  local lim = limit_at(2, i)
  if lim.rate then
    load_bucket(KEYS[i], lim, now)
    lim.level = lim.level - tokens
    store_bucket(lim)
  else
    load_quota(KEYS[i], lim, now)
    add_to_quota(lim, tokens)
  end
end
return 1
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

const redis::Script& admit_script() {
    static const redis::Script script(std::string(common_lua) + admit_lua);
    return script;
}

const redis::Script& settle_script() {
    static const redis::Script script(std::string(common_lua) + settle_lua);
    return script;
}

const redis::Script& utc_window_script() {
    static const redis::Script script(std::string(common_lua) + utc_window_lua);
    return script;
}

}  // namespace llmgw::limits::detail
