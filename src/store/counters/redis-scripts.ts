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

// Reservations: an amount held on a window-less counter under an id. Beside counter `<name>` live
// `<name>:rsv` (sorted set: id -> expiry, epoch ms of the Redis clock), `<name>:rsv:amt` (hash: id
// -> amount) and `<name>:rsv:info` (hash: id -> description). The counter always includes every
// held amount; a reservation past its expiry is released (its amount subtracted) by the next
// script that touches the counter, so the reservations of a crashed gateway free themselves.
const RESERVATION_HELPERS = `
local function lower(name, amount)
  if amount == 0 or redis.call('EXISTS', name) == 0 then return end
  local value = redis.call('INCRBYFLOAT', name, -amount)
  if tonumber(value) <= 0 then redis.call('DEL', name) end
end
local function add(name, delta, ttl)
  if redis.call('EXISTS', name) == 0 then
    if delta <= 0 then return '0' end
    redis.call('SET', name, delta)
    if ttl > 0 then redis.call('PEXPIRE', name, ttl) end
    return redis.call('GET', name)
  end
  local value = redis.call('INCRBYFLOAT', name, delta)
  if tonumber(value) <= 0 then
    redis.call('DEL', name)
    return '0'
  end
  return value
end
local function forget(name, id)
  redis.call('HDEL', name .. ':rsv:amt', id)
  redis.call('HDEL', name .. ':rsv:info', id)
end
local function release_expired(name, now)
  local ids = redis.call('ZRANGEBYSCORE', name .. ':rsv', '-inf', now)
  if #ids == 0 then return end
  local total = 0
  for i = 1, #ids do
    total = total + tonumber(redis.call('HGET', name .. ':rsv:amt', ids[i]) or '0')
    forget(name, ids[i])
  end
  redis.call('ZREMRANGEBYSCORE', name .. ':rsv', '-inf', now)
  lower(name, total)
end
`;

/**
 * KEYS: the counters. ARGV: id, holdMs, info, then three per key: limit, amount, ttlMs (0 = none).
 * Releases expired reservations on those counters, then as CONSUME (without windows): returns
 * {1, value..., 0...} and holds every amount under id until now + holdMs, or {0, failedIndex,
 * current, limit, 0} and changes nothing else.
 */
export const RESERVE = `${NOW}${RESERVATION_HELPERS}
local n = #KEYS
local id, hold, info = ARGV[1], tonumber(ARGV[2]), ARGV[3]
for i = 1, n do release_expired(KEYS[i], now) end
local pending = {}
for i = 1, n do
  local base = 3 + (i - 1) * 3
  local name = KEYS[i]
  local amount = tonumber(ARGV[base + 2])
  local current = tonumber(redis.call('GET', name) or '0') + (pending[name] or 0)
  if current + amount > tonumber(ARGV[base + 1]) then
    return {0, i - 1, tostring(current), ARGV[base + 1], 0}
  end
  pending[name] = (pending[name] or 0) + amount
end
local out = {1}
for i = 1, n do
  local base = 3 + (i - 1) * 3
  local name = KEYS[i]
  local ttl = tonumber(ARGV[base + 3])
  out[#out + 1] = redis.call('INCRBYFLOAT', name, ARGV[base + 2])
  redis.call('ZADD', name .. ':rsv', now + hold, id)
  redis.call('HINCRBYFLOAT', name .. ':rsv:amt', id, ARGV[base + 2])
  redis.call('HSET', name .. ':rsv:info', id, info)
  if ttl > 0 then
    redis.call('PEXPIRE', name, ttl)
    redis.call('PEXPIRE', name .. ':rsv', ttl)
    redis.call('PEXPIRE', name .. ':rsv:amt', ttl)
    redis.call('PEXPIRE', name .. ':rsv:info', ttl)
  end
end
for i = 1, n do out[#out + 1] = 0 end
return out
`;

/**
 * KEYS[1]: the counter. ARGV: id, actual, ttlMs (for a counter created here). Ends reservation id:
 * the counter moves by actual - held, or by actual when it had expired or been released already.
 * Never leaves the counter at or below zero (it is deleted). Returns the new value as a string.
 */
export const SETTLE_RESERVATION = `${NOW}${RESERVATION_HELPERS}
local name, id = KEYS[1], ARGV[1]
release_expired(name, now)
local held = 0
if redis.call('ZREM', name .. ':rsv', id) == 1 then
  held = tonumber(redis.call('HGET', name .. ':rsv:amt', id) or '0')
  forget(name, id)
end
return add(name, tonumber(ARGV[2]) - held, tonumber(ARGV[3]))
`;

/** KEYS[1]: the counter. Releases expired reservations, returns {id, expiresAt, amount, info, ...}. */
export const RESERVATIONS = `${NOW}${RESERVATION_HELPERS}
local name = KEYS[1]
release_expired(name, now)
local entries = redis.call('ZRANGE', name .. ':rsv', 0, -1, 'WITHSCORES')
local out = {}
for i = 1, #entries, 2 do
  local id = entries[i]
  out[#out + 1] = id
  out[#out + 1] = entries[i + 1]
  out[#out + 1] = redis.call('HGET', name .. ':rsv:amt', id) or '0'
  out[#out + 1] = redis.call('HGET', name .. ':rsv:info', id) or ''
end
return out
`;

/**
 * KEYS[1]: the counter. ARGV: the ids to release (none: all). Subtracts their amounts and returns
 * the released ones as {id, expiresAt, amount, info, ...}.
 */
export const RELEASE_RESERVATIONS = `${NOW}${RESERVATION_HELPERS}
local name = KEYS[1]
release_expired(name, now)
local ids = ARGV
if #ids == 0 then ids = redis.call('ZRANGE', name .. ':rsv', 0, -1) end
local out, total = {}, 0
for i = 1, #ids do
  local id = ids[i]
  local expires = redis.call('ZSCORE', name .. ':rsv', id)
  if expires then
    local amount = redis.call('HGET', name .. ':rsv:amt', id) or '0'
    out[#out + 1] = id
    out[#out + 1] = expires
    out[#out + 1] = amount
    out[#out + 1] = redis.call('HGET', name .. ':rsv:info', id) or ''
    redis.call('ZREM', name .. ':rsv', id)
    forget(name, id)
    total = total + tonumber(amount)
  end
end
lower(name, total)
return out
`;
