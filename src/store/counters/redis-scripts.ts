// Lua scripts for the Redis counter store. Each runs atomically on the server, so gateway replicas
// sharing one Redis enforce one limit together. Time comes from the Redis server (TIME), not from
// the replicas, so clock skew between gateways never splits a window. Windowed counters live under
// `<key>:<window start ms>` and expire when their window ends. Values are read and written with
// INCRBYFLOAT and returned as strings: a Lua number returned to Redis would be truncated to an
// integer, which would corrupt fractional amounts such as USD budget reservations.

const NOW = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
`;

/**
 * KEYS: the counters. ARGV: four per key: limit, amount, windowMs (0 = none), ttlMs (0 = none).
 * Returns {1, value..., resetMs...} when every check passes (and applies them all), or
 * {0, failedIndex, current, limit, resetMs} when one fails (and applies nothing).
 */
export const CONSUME = `${NOW}
local n = #KEYS
local names, resets, expiries, pending = {}, {}, {}, {}
for i = 1, n do
  local base = (i - 1) * 4
  local limit = tonumber(ARGV[base + 1])
  local amount = tonumber(ARGV[base + 2])
  local win = tonumber(ARGV[base + 3])
  local name = KEYS[i]
  local reset = 0
  local expiry = tonumber(ARGV[base + 4])
  if win > 0 then
    local start = now - (now % win)
    name = name .. ':' .. start
    reset = start + win - now
    expiry = reset
  end
  local current = tonumber(redis.call('GET', name) or '0') + (pending[name] or 0)
  if current + amount > limit then
    return {0, i - 1, tostring(current), ARGV[base + 1], reset}
  end
  pending[name] = (pending[name] or 0) + amount
  names[i], resets[i], expiries[i] = name, reset, expiry
end
local out = {1}
for i = 1, n do
  local amount = ARGV[(i - 1) * 4 + 2]
  if tonumber(amount) == 0 then
    out[#out + 1] = redis.call('GET', names[i]) or '0'
  else
    out[#out + 1] = redis.call('INCRBYFLOAT', names[i], amount)
    if expiries[i] > 0 then redis.call('PEXPIRE', names[i], expiries[i]) end
  end
end
for i = 1, n do out[#out + 1] = resets[i] end
return out
`;

/**
 * KEYS[1]: the counter. ARGV: delta, windowMs (0 = none), ttlMs (0 = none). An existing counter
 * keeps its expiry (INCRBYFLOAT leaves the TTL alone); a missing one is created only for a
 * positive delta; a counter reaching zero or below is deleted, so a late release never creates
 * credit. Returns the new value as a string.
 */
export const ADJUST = `
local name = KEYS[1]
local win = tonumber(ARGV[2])
local expiry = tonumber(ARGV[3])
if win > 0 then
  ${NOW}
  local start = now - (now % win)
  name = name .. ':' .. start
  expiry = start + win - now
end
if redis.call('EXISTS', name) == 0 then
  if tonumber(ARGV[1]) <= 0 then return '0' end
  redis.call('SET', name, ARGV[1])
  if expiry > 0 then redis.call('PEXPIRE', name, expiry) end
  return ARGV[1]
end
local value = redis.call('INCRBYFLOAT', name, ARGV[1])
if tonumber(value) <= 0 then
  redis.call('DEL', name)
  return '0'
end
return value
`;

/** KEYS[1]: the counter. ARGV: windowMs (0 = none). Returns the current value as a string. */
export const GET = `
local name = KEYS[1]
local win = tonumber(ARGV[1])
if win > 0 then
  ${NOW}
  name = name .. ':' .. (now - (now % win))
end
return redis.call('GET', name) or '0'
`;
