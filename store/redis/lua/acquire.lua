-- acquire: one atomic admission of a request of a scope.
-- KEYS[1] the scope's hash, KEYS[2] the scope's lease set.
-- ARGV[1] now in microseconds, or "" for the server's TIME
-- ARGV[2] cost, ARGV[3] concurrency cap (0: none), ARGV[4] lease TTL (µs)
-- ARGV[5] extra admissions wanted (local leasing; 0: none), ARGV[6] how far
-- ahead of its schedule an extra admission may be taken (µs)
-- ARGV[7] number of limits, then per limit: key, interval (µs), tolerance (µs)
-- Reply: {1, 0, "", lease, extra} allowed, with extra more admissions
-- charged; {0, wait, reason, detail} refused, where reason is "cooldown"
-- (detail: the cooldown's fields), "limit" (detail: the refusing limit's
-- key) or "concurrency".
-- The arithmetic is limit.GCRA's, in integer microseconds. Extra admissions
-- are charged like the first, each cost * interval after the one before,
-- and only while the last is due within the ahead bound.
--
-- The hash's fields: cd, cds, cdsrc, cdh (the cooldown: until, status,
-- source, replay headers), t:<key> (a limit's TAT), p:<key> (a pace:
-- "interval tolerance until tat"), P (the keys of the paces, one per line),
-- seq (the last lease number) and x (until when the hash must live, µs; the
-- key's TTL is x plus a minute). The hot path is TIME, one HMGET and one
-- HSET; paces add one HMGET.
local now = tonumber(ARGV[1])
if not now then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
end
-- Lua 5.1 writes numbers with 14 digits; microseconds since the epoch have
-- 16, so every number written goes through int.
local function int(n) return string.format('%d', n) end
local cost = tonumber(ARGV[2])
local cap = tonumber(ARGV[3])
local leaseTTL = tonumber(ARGV[4])
local extra = tonumber(ARGV[5])
local ahead = tonumber(ARGV[6])

-- one read: the cooldown, x, seq, the list of paces, each limit's TAT
local n = tonumber(ARGV[7])
local fields = {'cd', 'x', 'seq', 'P'}
for i = 0, n - 1 do fields[#fields + 1] = 't:' .. ARGV[8 + 3 * i] end
local got = redis.call('HMGET', KEYS[1], unpack(fields))
local h = {}
for i = 1, #fields do h[fields[i]] = got[i] end

local cd = tonumber(h['cd'] or '0')
if cd > now then
  local f = redis.call('HMGET', KEYS[1], 'cds', 'cdsrc', 'cdh')
  return {0, cd - now, 'cooldown', {int(cd), f[1] or '0', f[2] or '', f[3] or ''}}
end

-- decide returns whether one admission fits, the new TAT, the wait if not,
-- and the cost of one admission in microseconds of TAT.
local function decide(tat, interval, tol)
  if interval <= 0 then return true, tat, 0, 0 end
  local burst = math.floor(tol / interval) + 1
  local c = math.min(math.max(cost, 1), burst)
  local newtat = math.max(tat, now) + c * interval
  local allowAt = newtat - interval - tol
  if allowAt > now then return false, tat, allowAt - now, 0 end
  -- extra admissions whose own allowAt stays within ahead of now
  if extra > 0 then
    extra = math.max(0, math.min(extra, math.floor((now + ahead - allowAt) / (c * interval))))
  end
  return true, newtat, 0, c * interval
end

local wait, refusedBy = -1, ''
-- updates: {field, tat after one admission, cost of one, value prefix}
local updates = {}
for i = 0, n - 1 do
  local key, interval, tol = ARGV[8 + 3 * i], tonumber(ARGV[9 + 3 * i]), tonumber(ARGV[10 + 3 * i])
  local field = 't:' .. key
  local ok, tat, w, step = decide(tonumber(h[field] or '0'), interval, tol)
  if not ok then
    if w > wait then wait, refusedBy = w, key end
  else
    updates[#updates + 1] = {field, tat, step, ''}
  end
end

-- paces: P lists their keys, one per line; each is p:<key> = "interval
-- tolerance until tat"
local stale = {}
local kept = {}
if h['P'] and h['P'] ~= '' then
  local pf = {}
  for k in string.gmatch(h['P'], '[^\n]+') do pf[#pf + 1] = 'p:' .. k end
  local pv = redis.call('HMGET', KEYS[1], unpack(pf))
  for j = 1, #pf do
    local f, v = pf[j], pv[j] or ''
    local interval, tol, untilUs, tat = string.match(v, '^(%-?%d+) (%-?%d+) (%-?%d+) (%-?%d+)$')
    interval, tol, untilUs, tat = tonumber(interval), tonumber(tol), tonumber(untilUs), tonumber(tat)
    if not untilUs or untilUs <= now then
      stale[#stale + 1] = f
    else
      kept[#kept + 1] = string.sub(f, 3)
      local ok, newtat, w, step = decide(tat, interval, tol)
      if not ok then
        if w > wait then wait, refusedBy = w, string.sub(f, 3) end
      else
        updates[#updates + 1] = {f, newtat, step, int(interval) .. ' ' .. int(tol) .. ' ' .. int(untilUs) .. ' '}
      end
    end
  end
end
if #stale > 0 then
  redis.call('HDEL', KEYS[1], unpack(stale))
  redis.call('HSET', KEYS[1], 'P', table.concat(kept, '\n'))
end
if wait >= 0 then return {0, wait, 'limit', refusedBy} end

local lease = 0
local live = now -- until when the hash must live
if cap > 0 then
  extra = 0 -- every admission under a cap needs its own lease
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', int(now))
  if redis.call('ZCARD', KEYS[2]) >= cap then return {0, -1, 'concurrency', ''} end
  lease = tonumber(h['seq'] or '0') + 1
  redis.call('ZADD', KEYS[2], int(now + leaseTTL), lease)
  redis.call('PEXPIRE', KEYS[2], math.ceil(leaseTTL / 1000) + 60000)
  live = now + leaseTTL -- lease numbers must not restart while leases live
end

if #updates == 0 and lease == 0 then return {1, 0, '', 0, extra} end -- nothing to keep
local set = {}
for _, u in ipairs(updates) do
  local tat = u[2] + extra * u[3]
  set[#set + 1] = u[1]
  set[#set + 1] = u[4] .. int(tat)
  live = math.max(live, tat)
end
if lease > 0 then
  set[#set + 1] = 'seq'
  set[#set + 1] = int(lease)
end
-- Extend the TTL only when it falls short, by half a minute more than
-- needed, so that a busy scope is not re-expired on every admission; the
-- TTL never shrinks, since x only grows.
local x = tonumber(h['x'] or '0')
if live > x then
  x = live + 30000000
  set[#set + 1] = 'x'
  set[#set + 1] = int(x)
end
if #set > 0 then redis.call('HSET', KEYS[1], unpack(set)) end
if x ~= tonumber(h['x'] or '0') then
  redis.call('PEXPIRE', KEYS[1], math.ceil((x - now) / 1000) + 60000)
end
return {1, 0, '', lease, extra}
