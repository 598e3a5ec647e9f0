-- Redis token-bucket rate limiter, run atomically with EVAL/EVALSHA. KEYS[1]: bucket key (e.g. "rl:{tenant}:api"); ARGV[1]: capacity in tokens; ARGV[2]: refill rate in tokens per second; ARGV[3]: current time in milliseconds, supplied by the caller; ARGV[4]: tokens requested (default 1). Returns {allowed (1 or 0), tokens left (rounded down), retry after in ms (0 when allowed)}.
--
-- The caller passes the time so the script stays deterministic (safe for script replication)
-- and so one clock decides for every Redis node. Use a monotonic-enough clock (NTP-synced).
-- Requires Redis 4.0+ (multi-field HSET).

local key = KEYS[1]
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
local requested = tonumber(ARGV[4] or "1")

if not capacity or capacity <= 0 or not rate or rate <= 0 or not now or not requested or requested <= 0 then
  return redis.error_reply("token bucket: capacity > 0, rate > 0, now (ms) and requested > 0 are required")
end
if requested > capacity then
  return redis.error_reply("token bucket: requested tokens exceed the bucket capacity")
end

local state = redis.call("HMGET", key, "tokens", "ts")
local tokens = tonumber(state[1])
local ts = tonumber(state[2])
if tokens == nil or ts == nil then
  -- First request, or the key expired: start with a full bucket.
  tokens = capacity
  ts = now
end

-- Refill for the time elapsed since the last request; a clock that went backwards refills nothing.
local elapsed = math.max(0, now - ts)
tokens = math.min(capacity, tokens + elapsed * rate / 1000)

local allowed = 0
local retry_after_ms = 0
if tokens >= requested then
  tokens = tokens - requested
  allowed = 1
else
  retry_after_ms = math.ceil((requested - tokens) * 1000 / rate)
end

redis.call("HSET", key, "tokens", tostring(tokens), "ts", tostring(math.max(now, ts)))
-- An untouched bucket is full again after capacity / rate seconds: let the key expire then.
redis.call("PEXPIRE", key, math.ceil(capacity * 1000 / rate) + 1000)

-- Redis converts Lua numbers to integers, so round explicitly.
return { allowed, math.floor(tokens), retry_after_ms }
