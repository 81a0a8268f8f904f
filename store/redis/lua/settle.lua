-- settle: correct what acquire charged a request of a scope once its real
-- cost is known, in one atomic step: every limit given, and every pace of
-- the scope in force, is charged the delta in its own unit more, or given
-- it back when negative (limit.GCRA.Adjust). It never refuses.
-- KEYS[1] the scope's hash (fields: see acquire.lua).
-- ARGV[1] now in microseconds, or "" for the server's TIME
-- ARGV[2..5] the delta in each unit (requests, tokens, input_tokens,
-- output_tokens): what a pace of that unit is adjusted by
-- ARGV[6] number of limits, then per limit: key, interval (µs), delta (in
-- the limit's unit)
-- Reply: how many TATs changed.
-- A limit given twice is adjusted twice, one after the other, as the memory
-- store does; a pace that has ended is left for acquire to drop.
local call, tonumber, floor, max, fmt = redis.call, tonumber, math.floor, math.max, string.format
local now = tonumber(ARGV[1])
if not now then
  local t = call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
end
local n = tonumber(ARGV[6])

-- got[1] x, got[2] P, got[2 + i] the TAT of limit i
local fields = {'x', 'P'}
for i = 1, n do fields[2 + i] = 't:' .. ARGV[4 + 3 * i] end
local got = call('HMGET', KEYS[1], unpack(fields))

-- maxSpan is limit's maxInterval (about a century): the most one
-- adjustment moves a TAT, so that a huge delta cannot overflow.
local maxSpan = 100 * 365 * 24 * 3600 * 1000000
-- adjust returns tat after units more are charged, or -units given back
-- (never beyond now: a full limit); limit.GCRA.Adjust.
local function adjust(tat, interval, units)
  if interval <= 0 or units == 0 then return tat end
  local span = maxSpan
  local abs = units
  if abs < 0 then abs = -abs end
  if abs < floor(maxSpan / interval) then span = abs * interval end
  if units > 0 then return max(tat, now) + span end
  if tat <= now then return tat end
  return max(tat - span, now)
end

-- Lua 5.1 writes numbers with 14 digits; microseconds since the epoch have
-- 16, so every number written goes through fmt('%d').
local set, ns, live = {}, 0, now
local tats = {} -- field -> TAT so far, so that a limit given twice chains
for i = 1, n do
  local f = fields[2 + i]
  local tat = tats[f] or tonumber(got[2 + i] or '0')
  tats[f] = adjust(tat, tonumber(ARGV[5 + 3 * i]), tonumber(ARGV[6 + 3 * i]))
end
for i = 1, n do
  local f, tat = fields[2 + i], tats[fields[2 + i]]
  if tat and tat ~= tonumber(got[2 + i] or '0') then
    set[ns + 1], set[ns + 2], ns = f, fmt('%d', tat), ns + 2
    live = max(live, tat)
  end
  tats[f] = nil -- written once
end

-- paces: P lists their keys; each p:<key> is "interval tolerance until tat"
-- and maybe " unit" (missing: requests)
if got[2] and got[2] ~= '' then
  local pf, names = {}, {}
  for k in string.gmatch(got[2], '[^\n]+') do
    pf[#pf + 1] = k
    names[#names + 1] = 'p:' .. k
  end
  local pv = call('HMGET', KEYS[1], unpack(names))
  for j = 1, #pf do
    local interval, tol, untilUs, tat, unit = string.match(pv[j] or '', '^(%-?%d+) (%-?%d+) (%-?%d+) (%-?%d+) ?(%d*)$')
    untilUs, unit = tonumber(untilUs), tonumber(unit) or 0
    local d = 0 -- a unit this script does not know has no delta, as store.Cost.Of says
    if unit <= 3 then d = tonumber(ARGV[2 + unit]) end
    if untilUs and untilUs > now and d ~= 0 then
      interval, tol, tat = tonumber(interval), tonumber(tol), tonumber(tat)
      local adj = adjust(tat, interval, d)
      if adj ~= tat then
        local v = fmt('%d %d %d %d', interval, tol, untilUs, adj)
        if unit ~= 0 then v = v .. fmt(' %d', unit) end
        set[ns + 1], set[ns + 2], ns = names[j], v, ns + 2
        live = max(live, adj)
      end
    end
  end
end

-- The key must live until every TAT it holds; x only grows (see acquire).
local changed = ns / 2
local x = tonumber(got[1] or '0')
local grow = ns > 0 and live > x
if grow then
  x = live + 30000000
  set[ns + 1], set[ns + 2], ns = 'x', fmt('%d', x), ns + 2
end
if ns > 0 then call('HSET', KEYS[1], unpack(set)) end
if grow then call('PEXPIRE', KEYS[1], math.ceil((x - now) / 1000) + 60000) end
return changed
