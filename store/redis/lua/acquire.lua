-- acquire: one atomic admission of a request of a scope.
-- KEYS[1] the scope's hash; KEYS[2] the scope's lease set, only when a
-- concurrency cap is asked for.
-- ARGV[1] now in microseconds, or "" for the server's TIME
-- ARGV[2] concurrency cap (0: none), ARGV[3] lease TTL (µs)
-- ARGV[4] extra admissions wanted (local leasing; 0: none), ARGV[5] how far
-- ahead of its schedule an extra admission may be taken (µs)
-- ARGV[6..9] the request's charge in each unit (requests, tokens,
-- input_tokens, output_tokens; each at least 1): what a pace of that unit
-- is charged
-- ARGV[10] number of limits, then per limit: key, interval (µs), tolerance
-- (µs), charge (the request's cost in the limit's unit, at least 1)
-- Reply: {1, 0, "", lease, extra} allowed, with extra more admissions
-- charged; {0, wait, reason, detail} refused, where reason is "cooldown"
-- (detail: the cooldown's fields, as get_cooldown.lua replies them),
-- "limit" (detail: the refusing limit's key) or "concurrency".
-- The arithmetic is limit.GCRA's, in integer microseconds. Extra admissions
-- are charged like the first, each charge * interval after the one before,
-- and only while the last is due within the ahead bound.
--
-- The hash's fields: cd, cds, cdsrc, cdh, cda (the cooldown: until, status,
-- source, replay headers, and "at until": when its response arrived, µs, 0
-- unknown, with the until it belongs to, since a version that did not know
-- cda replaces the others and leaves it),
-- t:<key> (a limit's TAT), p:<key> (a pace: "interval tolerance until tat",
-- then " unit" when the unit is not requests: 1 tokens, 2 input_tokens,
-- 3 output_tokens), P (the keys of the paces, one per line), seq (the last
-- lease number) and x (until when the hash must live, µs; the key's TTL is
-- x plus a minute). The hot path is TIME, one HMGET and one HSET; paces add
-- one HMGET. It is written to make few tables: this script runs for every
-- request of a fleet.
local call, tonumber, floor, max, min, fmt = redis.call, tonumber, math.floor, math.max, math.min, string.format
local now = tonumber(ARGV[1])
if not now then
  local t = call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
end
local cap = tonumber(ARGV[2])
local extra = tonumber(ARGV[4])
local ahead = tonumber(ARGV[5])
local n = tonumber(ARGV[10])
if cap > 0 then extra = 0 end -- every admission under a cap needs its own lease

-- got[1] cd, got[2] x, got[3] seq, got[4] P, got[4 + i] the TAT of limit i
local fields = {'cd', 'x', 'seq', 'P'}
for i = 1, n do fields[4 + i] = 't:' .. ARGV[7 + 4 * i] end
local got = call('HMGET', KEYS[1], unpack(fields))

-- Lua 5.1 writes numbers with 14 digits; microseconds since the epoch have
-- 16, so every number written goes through fmt('%d').
local cd = tonumber(got[1] or '0')
if cd > now then
  local f = call('HMGET', KEYS[1], 'cds', 'cdsrc', 'cdh', 'cda')
  return {0, cd - now, 'cooldown', {fmt('%d', cd), f[1] or '0', f[2] or '', f[3] or '', f[4] or '0'}}
end

-- check returns the wait before one admission of cost units fits at TAT
-- tat (0: now), and lowers extra to the admissions that also fit within
-- ahead.
local function check(tat, interval, tol, cost)
  if interval <= 0 then return 0 end
  local c = min(cost, floor(tol / interval) + 1) -- a cost above the burst is charged as the burst
  local allowAt = max(tat, now) + c * interval - interval - tol
  if allowAt > now then return allowAt - now end
  if extra > 0 then
    extra = max(0, min(extra, floor((now + ahead - allowAt) / (c * interval))))
  end
  return 0
end
-- charged returns the TAT after 1 + extra admissions of cost units.
local function charged(tat, interval, tol, cost)
  if interval <= 0 then return tat end
  local c = min(cost, floor(tol / interval) + 1)
  return max(tat, now) + (1 + extra) * c * interval
end

local wait, refusedBy = 0, ''
for i = 1, n do
  local w = check(tonumber(got[4 + i] or '0'), tonumber(ARGV[8 + 4 * i]), tonumber(ARGV[9 + 4 * i]), max(tonumber(ARGV[10 + 4 * i]), 1))
  if w > wait then wait, refusedBy = w, ARGV[7 + 4 * i] end
end

-- paces: P lists their keys; each p:<key> is "interval tolerance until tat"
-- and maybe " unit" (missing: requests)
local pf, pv = nil, nil
if got[4] and got[4] ~= '' then
  pf = {}
  for k in string.gmatch(got[4], '[^\n]+') do pf[#pf + 1] = k end
  local names = {}
  for j = 1, #pf do names[j] = 'p:' .. pf[j] end
  pv = call('HMGET', KEYS[1], unpack(names))
  local stale, kept = {}, {}
  for j = 1, #pf do
    local interval, tol, untilUs, tat, unit = string.match(pv[j] or '', '^(%-?%d+) (%-?%d+) (%-?%d+) (%-?%d+) ?(%d*)$')
    untilUs = tonumber(untilUs)
    if not untilUs or untilUs <= now then
      stale[#stale + 1] = names[j]
      pv[j] = false
    else
      kept[#kept + 1] = pf[j]
      unit = tonumber(unit) or 0
      local c = 1 -- a unit this script does not know is charged 1, as store.Cost.Charge does
      if unit <= 3 then c = max(tonumber(ARGV[6 + unit]), 1) end
      -- p[5] the unit as written, p[6] the request's charge in it
      pv[j] = {tonumber(interval), tonumber(tol), untilUs, tonumber(tat), unit, c}
      local w = check(pv[j][4], pv[j][1], pv[j][2], pv[j][6])
      if w > wait then wait, refusedBy = w, pf[j] end
    end
  end
  if #stale > 0 then
    call('HDEL', KEYS[1], unpack(stale))
    call('HSET', KEYS[1], 'P', table.concat(kept, '\n'))
  end
end
if wait > 0 then return {0, wait, 'limit', refusedBy} end

local lease = 0
local live = now -- until when the hash must live
if cap > 0 then
  call('ZREMRANGEBYSCORE', KEYS[2], '-inf', fmt('%d', now))
  if call('ZCARD', KEYS[2]) >= cap then return {0, -1, 'concurrency', ''} end
  local ttl = tonumber(ARGV[3])
  lease = tonumber(got[3] or '0') + 1
  call('ZADD', KEYS[2], fmt('%d', now + ttl), lease)
  call('PEXPIRE', KEYS[2], math.ceil(ttl / 1000) + 60000)
  live = now + ttl -- lease numbers must not restart while leases live
end

local set, ns = {}, 0
for i = 1, n do
  local interval = tonumber(ARGV[8 + 4 * i])
  if interval > 0 then
    local tat = charged(tonumber(got[4 + i] or '0'), interval, tonumber(ARGV[9 + 4 * i]), max(tonumber(ARGV[10 + 4 * i]), 1))
    set[ns + 1], set[ns + 2], ns = fields[4 + i], fmt('%d', tat), ns + 2
    live = max(live, tat)
  end
end
if pv then
  for j = 1, #pf do
    local p = pv[j]
    if p and p[1] > 0 then
      local tat = charged(p[4], p[1], p[2], p[6])
      local v = fmt('%d %d %d %d', p[1], p[2], p[3], tat)
      if p[5] ~= 0 then v = v .. fmt(' %d', p[5]) end
      set[ns + 1], set[ns + 2], ns = 'p:' .. pf[j], v, ns + 2
      live = max(live, tat)
    end
  end
end
if lease > 0 then set[ns + 1], set[ns + 2], ns = 'seq', fmt('%d', lease), ns + 2 end
-- Extend the TTL only when it falls short, by half a minute more than
-- needed, so that a busy scope is not re-expired on every admission; the
-- TTL never shrinks, since x only grows.
local x = tonumber(got[2] or '0')
local grow = ns > 0 and live > x
if grow then
  x = live + 30000000
  set[ns + 1], set[ns + 2], ns = 'x', fmt('%d', x), ns + 2
end
if ns > 0 then call('HSET', KEYS[1], unpack(set)) end
if grow then call('PEXPIRE', KEYS[1], math.ceil((x - now) / 1000) + 60000) end
return {1, 0, '', lease, extra}
