-- set_cooldown: keep the cooldown that ends later.
-- KEYS[1] the scope's hash.
-- ARGV[1] now (µs) or "", ARGV[2] until (µs), ARGV[3] status, ARGV[4] source,
-- ARGV[5] replay headers (JSON).
-- Reply: the cooldown in force: {until, status, source, headers}.
local now = tonumber(ARGV[1])
if not now then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
end
-- Lua 5.1 writes numbers with 14 digits; microseconds since the epoch have
-- 16, so every number written goes through int.
local function int(n) return string.format('%d', n) end
local untilUs = tonumber(ARGV[2])
local cd = tonumber(redis.call('HGET', KEYS[1], 'cd') or '0')
if untilUs > cd or cd <= now then
  redis.call('HSET', KEYS[1], 'cd', int(untilUs), 'cds', ARGV[3], 'cdsrc', ARGV[4], 'cdh', ARGV[5])
  cd = untilUs
end
local ttl = redis.call('PTTL', KEYS[1])
local want = math.ceil((cd - now) / 1000) + 60000
if ttl < want then redis.call('PEXPIRE', KEYS[1], want) end
local f = redis.call('HMGET', KEYS[1], 'cds', 'cdsrc', 'cdh')
return {int(cd), f[1] or '0', f[2] or '', f[3] or ''}
