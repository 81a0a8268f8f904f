-- heartbeat: one process says it is alive in a group of processes.
-- KEYS[1] the group's member set (a sorted set scored by expiry, µs).
-- ARGV[1] now in microseconds, or "" for the server's TIME
-- ARGV[2] the member, ARGV[3] its TTL in microseconds (<= 0: leave).
-- Reply: how many members are alive.
local now = tonumber(ARGV[1])
if not now then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
end
local ttl = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', string.format('%d', now))
if ttl > 0 then
  redis.call('ZADD', KEYS[1], string.format('%d', now + ttl), ARGV[2])
else
  redis.call('ZREM', KEYS[1], ARGV[2])
end
local n = redis.call('ZCARD', KEYS[1])
if n > 0 then
  redis.call('PEXPIRE', KEYS[1], math.ceil(math.max(ttl, 0) / 1000) + 60000)
end
return n
