// The Lua scripts of RedisSessionStore: every step that touches more than one key runs as one
// script, and every key a script touches is declared in its KEYS (a Redis Cluster requirement:
// on a slot being migrated Redis then answers TRYAGAIN/ASK instead of the script reading a key
// not yet moved as gone). All of a user's keys share the user's hash tag, so a script runs on
// the one node holding them.
import type { RedisScript } from '../redis/redis-connection.js';

// Liveness of a session from its e (absolute end), l (last seen) and i (idle ms) fields.
const LUA_LIVE = `
local function live(e, l, i, now)
  e = tonumber(e); l = tonumber(l); i = tonumber(i)
  if not e or e <= now then return false end
  if i and (not l or l + i <= now) then return false end
  return true
end
local function ends_at(e, l, i)
  e = tonumber(e); i = tonumber(i)
  if i then return math.min(e, tonumber(l) + i) end
  return e
end
local function ms(n) return string.format('%.0f', n) end
-- The session's liveness record: what checkLive needs of the hash, as one string with the same
-- TTL, rewritten by every script that writes l, e or i. Format: l:e:i:#u:u..n (i may be empty).
local function write_record(session, record)
  local f = redis.call('HMGET', session, 'u', 'n', 'e', 'l', 'i')
  local ttl = redis.call('PTTL', session)
  if not f[1] or ttl <= 0 then
    redis.call('DEL', record)
    return
  end
  redis.call('SET', record, f[4] .. ':' .. f[3] .. ':' .. (f[5] or '') .. ':' .. #f[1] .. ':' .. f[1] .. (f[2] or ''), 'PX', ttl)
end
`;

/** The scripts, registered as commands on the store's client. */
export const SESSION_SCRIPTS = {
  // KEYS: session, user index, liveness record. ARGV: now, id, ttl ms, absolute end (score), field/value pairs...
  nwCreate: {
    numberOfKeys: 3,
    lua: `${LUA_LIVE}
if redis.call('EXISTS', KEYS[1]) == 1 then return redis.error_reply('NW_DUPLICATE duplicate session id') end
local now = tonumber(ARGV[1])
redis.call('HSET', KEYS[1], unpack(ARGV, 5))
redis.call('PEXPIRE', KEYS[1], ms(math.max(1, tonumber(ARGV[3]))))
write_record(KEYS[1], KEYS[3])
redis.call('ZADD', KEYS[2], ARGV[4], ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ms(now))
local last = redis.call('ZRANGE', KEYS[2], -1, -1, 'WITHSCORES')
if last[2] then redis.call('PEXPIRE', KEYS[2], ms(math.max(1, tonumber(last[2]) - now))) end
return 1`,
  },
  // KEYS: session, liveness record. ARGV: now, lastSeenAt.
  nwTouch: {
    numberOfKeys: 2,
    lua: `${LUA_LIVE}
local f = redis.call('HMGET', KEYS[1], 'e', 'l', 'i')
local now = tonumber(ARGV[1])
-- A record whose session hash is gone (evicted) must not keep the session alive.
if not f[1] then redis.call('DEL', KEYS[2]) return 0 end
if not live(f[1], f[2], f[3], now) then return 0 end
local l = math.max(tonumber(f[2]), tonumber(ARGV[2]))
redis.call('HSET', KEYS[1], 'l', ms(l))
redis.call('PEXPIRE', KEYS[1], ms(math.max(1, ends_at(f[1], l, f[3]) - now)))
write_record(KEYS[1], KEYS[2])
return 1`,
  },
  // KEYS: session, liveness record, user index (named from the hash's user id, read before).
  // ARGV: now, presented hash, next hash, history length, grace ms, session id, user id.
  // ph: the rotated-away hashes, oldest first, the last being the predecessor; ra: when the
  // current hash replaced the predecessor.
  nwRotate: {
    numberOfKeys: 3,
    lua: `${LUA_LIVE}
local f = redis.call('HMGET', KEYS[1], 'e', 'l', 'i', 'rh', 'ph', 'ra', 'u')
local now = tonumber(ARGV[1])
if not live(f[1], f[2], f[3], now) or not f[4] or f[7] ~= ARGV[7] then return {'invalid'} end
local history = {}
if f[5] then for h in string.gmatch(f[5], '%S+') do table.insert(history, h) end end
local function move_last_seen()
  local l = math.max(tonumber(f[2]), now)
  redis.call('HSET', KEYS[1], 'l', ms(l))
  redis.call('PEXPIRE', KEYS[1], ms(math.max(1, ends_at(f[1], l, f[3]) - now)))
  write_record(KEYS[1], KEYS[2])
end
if f[4] == ARGV[2] then
  table.insert(history, ARGV[2])
  while #history > tonumber(ARGV[4]) do table.remove(history, 1) end
  redis.call('HSET', KEYS[1], 'rh', ARGV[3], 'ph', table.concat(history, ' '), 'ra', ms(now))
  move_last_seen()
  return {'rotated', redis.call('HGETALL', KEYS[1])}
end
for index, h in ipairs(history) do
  if h == ARGV[2] then
    -- The predecessor again, within the window, while its child is current: the same child.
    -- ra stays: a grace answer does not extend the window.
    local grace = tonumber(ARGV[5])
    if grace > 0 and index == #history and f[4] == ARGV[3] and f[6] and now - tonumber(f[6]) <= grace then
      move_last_seen()
      return {'grace', redis.call('HGETALL', KEYS[1])}
    end
    -- Reuse: the session ends in this same script, as nwDelete ends it (hash, liveness record,
    -- index entry).
    local fields = redis.call('HGETALL', KEYS[1])
    redis.call('DEL', KEYS[1], KEYS[2])
    redis.call('ZREM', KEYS[3], ARGV[6])
    return {'reused', fields}
  end
end
return {'invalid'}`,
  },
  // KEYS: session. ARGV: now, user id, amr joined by spaces, authTime (ms). The liveness record
  // holds neither field, so it stays as it is. Returns the session's fields, or false when no
  // live session of that user.
  nwRecordAuthentication: {
    numberOfKeys: 1,
    lua: `${LUA_LIVE}
local f = redis.call('HMGET', KEYS[1], 'e', 'l', 'i', 'u')
if not live(f[1], f[2], f[3], tonumber(ARGV[1])) or f[4] ~= ARGV[2] then return false end
redis.call('HSET', KEYS[1], 'am', ARGV[3], 'at', ARGV[4])
return redis.call('HGETALL', KEYS[1])`,
  },
  // KEYS: session, user index, liveness record. ARGV: now, id.
  nwDelete: {
    numberOfKeys: 3,
    lua: `${LUA_LIVE}
local f = redis.call('HMGET', KEYS[1], 'e', 'l', 'i')
redis.call('ZREM', KEYS[2], ARGV[2])
redis.call('DEL', KEYS[3])
if not f[1] then return 0 end
redis.call('DEL', KEYS[1])
if live(f[1], f[2], f[3], tonumber(ARGV[1])) then return 1 end
return 0`,
  },
  // Every key a script touches is in KEYS, so that on a Cluster slot being migrated Redis answers
  // TRYAGAIN/ASK instead of the script reading a session not yet moved as gone. The index is read
  // first; the script is given a session and a liveness-record key per id it holds and names the
  // ids of the index it was not given (created since), for the caller to come back with them.
  // KEYS: user index, then session, record per id. ARGV: now, id to keep ('' for none), the ids.
  // Returns {ids not given, ended}.
  nwDeleteAll: {
    lua: `${LUA_LIVE}
local now = tonumber(ARGV[1])
local given = {}
for k = 3, #ARGV do given[ARGV[k]] = 2 * (k - 2) end
local ended = 0
local unknown = {}
for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  if id ~= ARGV[2] then
    local i = given[id]
    if not i then table.insert(unknown, id)
    else
      local f = redis.call('HMGET', KEYS[i], 'e', 'l', 'i')
      if f[1] and live(f[1], f[2], f[3], now) then ended = ended + 1 end
      redis.call('DEL', KEYS[i], KEYS[i + 1])
      redis.call('ZREM', KEYS[1], id)
    end
  end
end
return {unknown, ended}`,
  },
  // KEYS: user index, then session, record per id. ARGV: the ids. Returns {ids not given, {id, fields, id, fields...}}.
  nwList: {
    lua: `
local given = {}
for k = 1, #ARGV do given[ARGV[k]] = 2 * k end
local out = {}
local unknown = {}
for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local i = given[id]
  if not i then table.insert(unknown, id)
  else
    local fields = redis.call('HGETALL', KEYS[i])
    -- A session whose hash is gone leaves the index, and takes its liveness record along.
    if #fields == 0 then redis.call('ZREM', KEYS[1], id); redis.call('DEL', KEYS[i + 1])
    else table.insert(out, id); table.insert(out, fields) end
  end
end
return {unknown, out}`,
  },
} as const satisfies Record<string, RedisScript>;
