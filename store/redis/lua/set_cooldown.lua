-- set_cooldown: keep the cooldown that ends later.
-- KEYS[1] the scope's hash (fields: see acquire.lua).
-- ARGV[1] now (µs) or "", ARGV[2] until (µs), ARGV[3] status, ARGV[4] source,
-- ARGV[5] replay headers (JSON), ARGV[6] when the response arrived (µs; 0
-- unknown).
-- Reply: the cooldown in force: {until, status, source, headers, at}, where
-- at is the cda field as stored (see acquire.lua).
local now = tonumber(ARGV[1])
if not now then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
end
-- Lua 5.1 writes numbers with 14 digits; microseconds since the epoch have
-- 16, so every number written goes through int.
local function int(n) return string.format('%d', n) end
local untilUs = tonumber(ARGV[2])
local f = redis.call('HMGET', KEYS[1], 'cd', 'cds', 'cdsrc', 'cdh', 'x', 'cda')
local cd = tonumber(f[1] or '0')
if untilUs > cd or cd <= now then
  local at = int(tonumber(ARGV[6])) .. ' ' .. int(untilUs)
  redis.call('HSET', KEYS[1], 'cd', int(untilUs), 'cds', ARGV[3], 'cdsrc', ARGV[4], 'cdh', ARGV[5], 'cda', at)
  cd = untilUs
  f[2], f[3], f[4], f[6] = ARGV[3], ARGV[4], ARGV[5], at
end
local x = tonumber(f[5] or '0')
if cd > x or redis.call('PTTL', KEYS[1]) < 0 then
  x = math.max(x, cd)
  redis.call('HSET', KEYS[1], 'x', int(x))
  redis.call('PEXPIRE', KEYS[1], math.ceil((x - now) / 1000) + 60000)
end
return {int(cd), f[2] or '0', f[3] or '', f[4] or '', f[6] or '0'}
