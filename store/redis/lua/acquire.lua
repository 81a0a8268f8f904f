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
-- Then, only for a request that takes its turn (store.Turn; KEYS[2] is
-- then always given, KEYS[3] is the scope's board hash and KEYS[4] the
-- flow tags of the turn's class): member, class, share, flow, cost (at
-- least 1), grace (µs), the concurrency poll (µs), how long an idle board
-- lives (ms), the most contenders, the most flow tags of a class.
-- Reply: {1, 0, "", lease, extra} allowed, with extra more admissions
-- charged; {0, wait, reason, detail} refused, where reason is "cooldown"
-- (detail: the cooldown's fields, as get_cooldown.lua replies them),
-- "limit" (detail: the refusing limit's key), "concurrency" or "turn"
-- (detail: '').
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
--
-- A turn is fair.Board's arithmetic (see fair/board.go, which this
-- mirrors operation for operation, so that the float64 tags agree bit for
-- bit; they are written with %.17g, which reads back exactly). The board
-- hash (KEYS[3]) holds V (the class-level virtual time), c:<class> ("F V",
-- the class's finish tag and its flows' virtual time, then " 1" when
-- KEYS[4] may hold tags: otherwise it is empty and not read) and C (the
-- contenders, one record each: "until share #member #class #flow\n" then
-- the three strings, so that any bytes may be in them); KEYS[4] maps each
-- flow of the turn's class to its finish tag. A turn costs an HMGET, an
-- HSET and a PEXPIRE of the board; one more HMGET when contenders of
-- other classes wait; and, while the class is backlogged, an HMGET, an
-- HSET, an HLEN, an HRANDFIELD and a PEXPIRE of its flows.
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

-- the turn, when asked: its place among the live contenders (others)
local turn, others, inTurn, tsc, tsf, writeBoard, contend
local ti = 11 + 4 * n
if ARGV[ti] then
  turn = {member = ARGV[ti], class = ARGV[ti + 1], share = tonumber(ARGV[ti + 2]), flow = ARGV[ti + 3], cost = max(tonumber(ARGV[ti + 4]), 1),
    grace = tonumber(ARGV[ti + 5]), poll = tonumber(ARGV[ti + 6]), idle = tonumber(ARGV[ti + 7]), most = tonumber(ARGV[ti + 8]), flows = tonumber(ARGV[ti + 9])}
  local b = call('HMGET', KEYS[3], 'V', 'C', 'c:' .. turn.class)
  local v = tonumber(b[1] or '0')
  -- kept: whether the class's flow hash may hold tags (a hint of this
  -- script's, not the Board's: when not, the hash is empty)
  local cf, cv, kept = string.match(b[3] or '', '^(%S+) (%S+) ?(%d*)$')
  cf, cv, turn.kept = tonumber(cf) or 0, tonumber(cv) or 0, kept == '1'
  -- the contenders, but those whose place ended and the asking member's
  others = {}
  local c, p, sub = b[2] or '', 1, string.sub
  while true do
    local u, sh, lm, lc, lf, q = string.match(c, '^(%d+) (%d+) (%d+) (%d+) (%d+)\n()', p)
    if not u then break end
    lm, lc, lf = tonumber(lm), tonumber(lc), tonumber(lf)
    local m = sub(c, q, q + lm - 1)
    u = tonumber(u)
    if u > now and m ~= turn.member then
      others[#others + 1] = {u, tonumber(sh), m, sub(c, q + lm, q + lm + lc - 1), sub(c, q + lm + lc, q + lm + lc + lf - 1)}
    end
    p = q + lm + lc + lf
  end
  -- flow tags of the turn's and of the contenders of its class; class
  -- tags of the other classes
  local fnames, cnames, cat = {turn.flow}, {}, {}
  for i = 1, #others do
    local o = others[i]
    if o[4] == turn.class then
      fnames[#fnames + 1] = o[5]
    elseif not cat[o[4]] then
      cat[o[4]] = true
      cnames[#cnames + 1] = 'c:' .. o[4]
    end
  end
  local fv = {}
  if turn.kept then fv = call('HMGET', KEYS[4], unpack(fnames)) end
  local ctag = {}
  if #cnames > 0 then
    local cvv = call('HMGET', KEYS[3], unpack(cnames))
    for i = 1, #cnames do
      ctag[string.sub(cnames[i], 3)] = tonumber(string.match(cvv[i] or '', '^(%S+) ') or '0') or 0
    end
  end
  tsc, tsf = max(v, cf), max(cv, tonumber(fv[1] or '0'))
  inTurn = true
  local fi = 1
  for i = 1, #others do
    local o = others[i]
    if o[4] == turn.class then
      fi = fi + 1
      if max(cv, tonumber(fv[fi] or '0')) < tsf then inTurn = false break end
    elseif max(v, ctag[o[4]]) < tsc then
      inTurn = false break
    end
  end
  -- writeBoard writes the contenders (others), and the fields in extra,
  -- and makes the board live an idle while past the last place's end.
  writeBoard = function(extra)
    local rec, live = {}, 0
    for i = 1, #others do
      local o = others[i]
      rec[i] = fmt('%d %d %d %d %d\n', o[1], o[2], #o[3], #o[4], #o[5]) .. o[3] .. o[4] .. o[5]
      live = max(live, o[1])
    end
    local ms = turn.idle + math.ceil(max(live - now, 0) / 1000)
    if extra then
      call('HSET', KEYS[3], 'C', table.concat(rec), unpack(extra))
    else
      call('HSET', KEYS[3], 'C', table.concat(rec))
    end
    call('PEXPIRE', KEYS[3], ms)
    if turn.kept then call('PEXPIRE', KEYS[4], ms) end
  end
  -- contend gives the turn a place until untilUs, unless the most
  -- contenders others hold one, and writes the board.
  contend = function(untilUs)
    if #others < turn.most then
      others[#others + 1] = {untilUs, turn.share, turn.member, turn.class, turn.flow}
    end
    writeBoard(nil)
  end
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

-- spacing: the largest interval * charge (capped at the burst) of the
-- limits and paces, for a turn's refusal
local wait, refusedBy, spacing = 0, '', 0
local function space(interval, tol, cost)
  if interval > 0 then spacing = max(spacing, min(cost, floor(tol / interval) + 1) * interval) end
end
for i = 1, n do
  if turn then space(tonumber(ARGV[8 + 4 * i]), tonumber(ARGV[9 + 4 * i]), max(tonumber(ARGV[10 + 4 * i]), 1)) end
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
      if turn then space(pv[j][1], pv[j][2], pv[j][6]) end
      local w = check(pv[j][4], pv[j][1], pv[j][2], pv[j][6])
      if w > wait then wait, refusedBy = w, pf[j] end
    end
  end
  if #stale > 0 then
    call('HDEL', KEYS[1], unpack(stale))
    call('HSET', KEYS[1], 'P', table.concat(kept, '\n'))
  end
end
if turn and not inTurn then
  local w = max(wait + min(spacing, turn.grace), 1000)
  contend(now + w + turn.grace)
  return {0, w, 'turn', ''}
end
if wait > 0 then
  if turn then contend(now + wait + turn.grace) end
  return {0, wait, 'limit', refusedBy}
end

local lease = 0
local live = now -- until when the hash must live
if cap > 0 then
  call('ZREMRANGEBYSCORE', KEYS[2], '-inf', fmt('%d', now))
  if call('ZCARD', KEYS[2]) >= cap then
    if turn then contend(now + turn.poll + turn.grace) end
    return {0, -1, 'concurrency', ''}
  end
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
if turn then
  -- admitted: the tags move (fair.Board.Admit), the class forgets its
  -- flows' tags when no other of it waits or it keeps too many, and a
  -- couple of tags behind the class's virtual time are dropped
  local f17 = '%.17g'
  local contended = false
  for i = 1, #others do
    if others[i][4] == turn.class then contended = true break end
  end
  if contended then
    call('HSET', KEYS[4], turn.flow, fmt(f17, tsf + turn.cost))
    if call('HLEN', KEYS[4]) > turn.flows then
      contended = false
    else
      local r = call('HRANDFIELD', KEYS[4], 2, 'WITHVALUES')
      for i = 1, #r, 2 do
        if r[i] ~= turn.flow and tonumber(r[i + 1]) <= tsf then call('HDEL', KEYS[4], r[i]) end
      end
    end
  end
  if not contended and turn.kept then call('DEL', KEYS[4]) end
  turn.kept = contended
  local ctag = fmt(f17, tsc + turn.cost / turn.share) .. ' ' .. fmt(f17, tsf)
  if contended then ctag = ctag .. ' 1' end
  writeBoard({'V', fmt(f17, tsc), 'c:' .. turn.class, ctag})
end
return {1, 0, '', lease, extra}
