-- get_cooldown: the cooldown in force, if any.
-- KEYS[1] the scope's hash. ARGV[1] now (µs) or "".
-- Reply: {} or {until, status, source, headers, at}, where at is the cda
-- field as stored (see acquire.lua).
local now = tonumber(ARGV[1])
if not now then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
end
-- Lua 5.1 writes numbers with 14 digits; microseconds since the epoch have
-- 16, so every number written goes through int.
local function int(n) return string.format('%d', n) end
local cd = tonumber(redis.call('HGET', KEYS[1], 'cd') or '0')
if cd <= now then return {} end
local f = redis.call('HMGET', KEYS[1], 'cds', 'cdsrc', 'cdh', 'cda')
return {int(cd), f[1] or '0', f[2] or '', f[3] or '', f[4] or '0'}
