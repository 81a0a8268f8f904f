-- set_pace: record a learned pace, keeping the units a replaced one has
-- spent (limit.Reprice).
-- KEYS[1] the scope's hash (fields: see acquire.lua).
-- ARGV[1] now (µs) or "", ARGV[2] key, ARGV[3] interval, ARGV[4] tolerance,
-- ARGV[5] until (µs), ARGV[6] unit (0 requests, 1 tokens, 2 input_tokens,
-- 3 output_tokens), ARGV[7] and ARGV[8] what was learned (limit, window in
-- µs; 0 0 for a spread), ARGV[9] 1 to start the pace with nothing spent
-- (a pace of what an answer says is left), 0 to keep what a replaced one
-- spent.
-- A pace not learned keeps a learned one in force until its until: field
-- m:<key> holds "limit window" of a learned pace.
-- Returns {0} when the pace was set, else {1, interval, tolerance, until,
-- unit, limit, window} of the learned pace kept.
local now = tonumber(ARGV[1])
if not now then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
end
-- Lua 5.1 writes numbers with 14 digits; microseconds since the epoch have
-- 16, so every number written goes through int.
local function int(n) return string.format('%d', n) end
local field, mfield = 'p:' .. ARGV[2], 'm:' .. ARGV[2]
local interval, tol, untilUs, unit = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local llimit, lwindow = tonumber(ARGV[7]), tonumber(ARGV[8])
local tat = 0
local f = redis.call('HMGET', KEYS[1], field, 'x', 'P', mfield)
if llimit <= 0 and f[1] and f[4] then
  local oi, ol, ou, _, ounit = string.match(f[1], '^(%-?%d+) (%-?%d+) (%-?%d+) (%-?%d+) ?(%d*)$')
  local ml, mw = string.match(f[4], '^(%d+) (%d+)$')
  if ou and ml and tonumber(ou) > now then
    return {1, tonumber(oi), tonumber(ol), tonumber(ou), tonumber(ounit) or 0, tonumber(ml), tonumber(mw)}
  end
end
-- P lists the keys of the paces, one per line (see acquire.lua)
local listed = false
for k in string.gmatch(f[3] or '', '[^\n]+') do
  if k == ARGV[2] then listed = true end
end
if not listed then
  local p = f[3] or ''
  if p ~= '' then p = p .. '\n' end
  redis.call('HSET', KEYS[1], 'P', p .. ARGV[2])
end
local old = f[1]
if old and ARGV[9] ~= '1' then
  local oi, _, _, ot = string.match(old, '^(%-?%d+) (%-?%d+) (%-?%d+) (%-?%d+) ?(%d*)$')
  oi, ot = tonumber(oi), tonumber(ot)
  if ot and oi and ot > now and oi > 0 then
    tat = now + math.ceil(((ot - now) / oi) * math.max(interval, 0))
  else
    tat = ot or 0
  end
end
-- "interval tolerance until tat", then " unit" unless requests, so that a
-- requests pace reads the same as before units existed
local v = int(interval) .. ' ' .. int(tol) .. ' ' .. int(untilUs) .. ' ' .. int(tat)
if unit ~= 0 then v = v .. ' ' .. int(unit) end
redis.call('HSET', KEYS[1], field, v)
if llimit > 0 then
  redis.call('HSET', KEYS[1], mfield, int(llimit) .. ' ' .. int(lwindow))
elseif f[4] then
  redis.call('HDEL', KEYS[1], mfield)
end
local x = tonumber(f[2] or '0')
local live = math.max(untilUs, tat)
if live > x or redis.call('PTTL', KEYS[1]) < 0 then
  x = math.max(x, live)
  redis.call('HSET', KEYS[1], 'x', int(x))
  redis.call('PEXPIRE', KEYS[1], math.ceil((x - now) / 1000) + 60000)
end
return {0}
