-- decide: the acquires and settles of one scope that one round trip
-- carries, in one atomic step, each decided in order exactly as acquire.lua
-- (without a concurrency cap) and settle.lua decide it alone, but with one
-- TIME, one HMGET (two with paces, three in a cooldown) and one HSET for
-- them all: on a busy scope these calls, not the arithmetic, are most of
-- the scripts' work in Redis.
-- KEYS[1] the scope's hash (fields: see acquire.lua).
-- ARGV[1] now in microseconds, or "" for the server's TIME
-- ARGV[2] number of operations, then each operation, one after the other:
--   "a" (acquire), extra admissions wanted, ahead (µs), the charge in each
--   of the 4 units, number of limits, then per limit: key, interval (µs),
--   tolerance (µs), charge: acquire.lua's ARGV[4..] (8 + 4n values)
--   "s" (settle), the delta in each of the 4 units, number of limits, then
--   per limit: key, interval (µs), delta: settle.lua's ARGV[2..] (6 + 3n)
-- Reply: one reply per operation, in order, each as acquire.lua (its lease
-- always 0) or settle.lua replies it.
-- An operation sees what those before it wrote, and a refusal writes
-- nothing, so admissions decided before a refusal stand.
local call, tonumber, floor, max, min, fmt = redis.call, tonumber, math.floor, math.max, math.min, string.format
local now = tonumber(ARGV[1])
if not now then
  local t = call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
end
local nops = tonumber(ARGV[2])

-- Pass 1: where each operation starts, and every TAT field they name,
-- read at once. slot[f] is the index of field f in got.
local starts, kinds = {}, {}
local fields, slot = {'cd', 'x', 'P'}, {}
local field = {} -- field[b]: the TAT field of the limit whose key is ARGV[b]
local acquires = false
local i = 3
for op = 1, nops do
  local kind = ARGV[i]
  starts[op], kinds[op] = i, kind
  local n, first, width
  if kind == 'a' then
    acquires = true
    n, first, width = tonumber(ARGV[i + 7]), i + 8, 4
  else
    n, first, width = tonumber(ARGV[i + 5]), i + 6, 3
  end
  for j = 0, n - 1 do
    local f = 't:' .. ARGV[first + width * j]
    field[first + width * j] = f
    if not slot[f] then
      fields[#fields + 1] = f
      slot[f] = #fields
    end
  end
  i = first + width * n
end
local got = call('HMGET', KEYS[1], unpack(fields))

-- tat[f] is the TAT of field f so far; dirty[f] set once it must be
-- written.
local tat, dirty = {}, {}
for f, k in pairs(slot) do tat[f] = tonumber(got[k] or '0') end

-- The cooldown cannot change in this call: one read serves every acquire.
local cd = tonumber(got[1] or '0')
local cooldown = nil
if cd > now and acquires then
  local f = call('HMGET', KEYS[1], 'cds', 'cdsrc', 'cdh', 'cda')
  cooldown = {0, cd - now, 'cooldown', {fmt('%d', cd), f[1] or '0', f[2] or '', f[3] or '', f[4] or '0'}}
end

-- paces: P lists their keys; each p:<key> is "interval tolerance until tat"
-- and maybe " unit" (missing: requests). pace[j] = {interval, tol, until,
-- tat, unit, key}, for the paces in force only.
local paces = {}
if got[3] and got[3] ~= '' then
  local pf, names = {}, {}
  for k in string.gmatch(got[3], '[^\n]+') do
    pf[#pf + 1] = k
    names[#names + 1] = 'p:' .. k
  end
  local pv = call('HMGET', KEYS[1], unpack(names))
  local stale, kept = {}, {}
  for j = 1, #pf do
    local interval, tol, untilUs, ptat, unit = string.match(pv[j] or '', '^(%-?%d+) (%-?%d+) (%-?%d+) (%-?%d+) ?(%d*)$')
    untilUs = tonumber(untilUs)
    if not untilUs or untilUs <= now then
      stale[#stale + 1] = names[j]
    else
      kept[#kept + 1] = pf[j]
      paces[#paces + 1] = {tonumber(interval), tonumber(tol), untilUs, tonumber(ptat), tonumber(unit) or 0, pf[j]}
    end
  end
  -- acquire.lua drops ended paces; settle.lua leaves them to it.
  if #stale > 0 and acquires and not cooldown then
    call('HDEL', KEYS[1], unpack(stale))
    call('HSET', KEYS[1], 'P', table.concat(kept, '\n'))
  end
end
local paceDirty = {}

-- burst returns what a GCRA of interval and tol charges for cost units: a
-- cost above the burst is charged as the burst.
local function burst(interval, tol, cost)
  return min(cost, floor(tol / interval) + 1)
end

-- extra is the extra admissions the acquire being decided may take.
local extra = 0

-- check returns the wait before one admission of cost units fits at TAT t
-- (0: now), and lowers extra to the admissions that also fit within ahead
-- (acquire.lua's check).
local function check(t, interval, tol, cost, ahead)
  if interval <= 0 then return 0 end
  local c = burst(interval, tol, cost)
  local allowAt = max(t, now) + c * interval - interval - tol
  if allowAt > now then return allowAt - now end
  if extra > 0 then
    extra = max(0, min(extra, floor((now + ahead - allowAt) / (c * interval))))
  end
  return 0
end

-- acquire decides the acquire starting at ARGV[s], as acquire.lua does.
local function acquire(s)
  if cooldown then return cooldown end
  local ahead, n = tonumber(ARGV[s + 2]), tonumber(ARGV[s + 7])
  extra = tonumber(ARGV[s + 1])
  local wait, refusedBy = 0, ''
  for b = s + 8, s + 4 * n + 4, 4 do
    local w = check(tat[field[b]], tonumber(ARGV[b + 1]), tonumber(ARGV[b + 2]), max(tonumber(ARGV[b + 3]), 1), ahead)
    if w > wait then wait, refusedBy = w, ARGV[b] end
  end
  local charge = {}
  for j = 1, #paces do
    local p = paces[j]
    local c = 1 -- a unit this script does not know is charged 1, as store.Cost.Charge does
    if p[5] <= 3 then c = max(tonumber(ARGV[s + 3 + p[5]]), 1) end
    charge[j] = c
    local w = check(p[4], p[1], p[2], c, ahead)
    if w > wait then wait, refusedBy = w, p[6] end
  end
  if wait > 0 then return {0, wait, 'limit', refusedBy} end
  -- Every charge is counted from the TATs as this acquire found them, so
  -- that a limit given twice is charged once (the last write wins), as
  -- acquire.lua does: the new TATs go to after first.
  local after = {}
  for b = s + 8, s + 4 * n + 4, 4 do
    local interval = tonumber(ARGV[b + 1])
    if interval > 0 then
      after[b] = max(tat[field[b]], now) + (1 + extra) * burst(interval, tonumber(ARGV[b + 2]), max(tonumber(ARGV[b + 3]), 1)) * interval
    end
  end
  for b = s + 8, s + 4 * n + 4, 4 do
    if after[b] then
      local f = field[b]
      tat[f], dirty[f] = after[b], true
    end
  end
  for j = 1, #paces do
    local p = paces[j]
    if p[1] > 0 then
      p[4], paceDirty[j] = max(p[4], now) + (1 + extra) * burst(p[1], p[2], charge[j]) * p[1], true
    end
  end
  return {1, 0, '', 0, extra}
end

-- maxSpan is limit's maxInterval (about a century): the most one
-- adjustment moves a TAT, so that a huge delta cannot overflow.
local maxSpan = 100 * 365 * 24 * 3600 * 1000000
-- adjust returns t after units more are charged, or -units given back
-- (never beyond now: a full limit); limit.GCRA.Adjust.
local function adjust(t, interval, units)
  if interval <= 0 or units == 0 then return t end
  local span = maxSpan
  local abs = units
  if abs < 0 then abs = -abs end
  if abs < floor(maxSpan / interval) then span = abs * interval end
  if units > 0 then return max(t, now) + span end
  if t <= now then return t end
  return max(t - span, now)
end

-- settle applies the settle starting at ARGV[s], as settle.lua does: a
-- limit given twice is adjusted twice. It returns how many TATs changed.
local function settle(s)
  local n = tonumber(ARGV[s + 5])
  local before, changed = {}, 0
  for j = 0, n - 1 do
    local b = s + 6 + 3 * j
    local f = field[b]
    if before[f] == nil then before[f] = tat[f] end
    tat[f] = adjust(tat[f], tonumber(ARGV[b + 1]), tonumber(ARGV[b + 2]))
  end
  for f, t in pairs(before) do
    if tat[f] ~= t then
      dirty[f], changed = true, changed + 1
    end
  end
  for j = 1, #paces do
    local p = paces[j]
    local d = 0 -- a unit this script does not know has no delta, as store.Cost.Of says
    if p[5] <= 3 then d = tonumber(ARGV[s + 1 + p[5]]) end
    if d ~= 0 then
      local adj = adjust(p[4], p[1], d)
      if adj ~= p[4] then
        p[4], paceDirty[j], changed = adj, true, changed + 1
      end
    end
  end
  return changed
end

local replies = {}
for op = 1, nops do
  if kinds[op] == 'a' then
    replies[op] = acquire(starts[op])
  else
    replies[op] = settle(starts[op])
  end
end

-- One write for them all. Lua 5.1 writes numbers with 14 digits;
-- microseconds since the epoch have 16, so every number written goes
-- through fmt('%d'). The key must live until every TAT it holds; x only
-- grows (see acquire.lua).
local set, ns, live = {}, 0, now
for f in pairs(dirty) do
  set[ns + 1], set[ns + 2], ns = f, fmt('%d', tat[f]), ns + 2
  live = max(live, tat[f])
end
for j in pairs(paceDirty) do
  local p = paces[j]
  local v = fmt('%d %d %d %d', p[1], p[2], p[3], p[4])
  if p[5] ~= 0 then v = v .. fmt(' %d', p[5]) end
  set[ns + 1], set[ns + 2], ns = 'p:' .. p[6], v, ns + 2
  live = max(live, p[4])
end
local x = tonumber(got[2] or '0')
local grow = ns > 0 and live > x
if grow then
  x = live + 30000000
  set[ns + 1], set[ns + 2], ns = 'x', fmt('%d', x), ns + 2
end
if ns > 0 then call('HSET', KEYS[1], unpack(set)) end
if grow then call('PEXPIRE', KEYS[1], math.ceil((x - now) / 1000) + 60000) end
return replies
