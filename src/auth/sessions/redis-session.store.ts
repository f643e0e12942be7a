import { createHash, randomBytes } from 'node:crypto';
import type { OnModuleDestroy } from '@nestjs/common';
import { systemClock, type Clock } from '../clock.js';
import calculateSlot from 'cluster-key-slot';
import { StoreUnavailableError } from '../auth.errors.js';
import { isMigrationError, RedisConnection, SCRIPT_ERROR_MARKER, type RedisConnectionOptions } from '../redis/redis-connection.js';
import { sessionEndMs, type LiveSession, type RefreshRotation, type Session } from './session.interface.js';
import { REFRESH_HISTORY_LENGTH, refreshGraceMs, SessionStore } from './session-store.js';

/** Options of {@link RedisSessionStore}. Give `url` or `client`. */
export interface RedisSessionStoreOptions extends RedisConnectionOptions {
  /** Time source, for tests. Default `Date.now`. */
  clock?: Clock;
}

// Length of the routing tag at the start of every session id (base64url characters).
const TAG_LENGTH = 6;
// Most sessions checked by one MGET.
const MAX_CHECK_BATCH = 256;
// Passes over a user index whose sessions change under a listing or a logout-all.
const MAX_INDEX_PASSES = 4;

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

const SCRIPTS = {
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
} as const;

/**
 * A {@link SessionStore} on Redis (standalone, Sentinel or Cluster) through ioredis, for apps
 * that restart or run several instances: a logout on one instance is seen by all of them
 * before the response returns.
 *
 * Each session is a hash with a Redis TTL at its absolute or idle end, plus a liveness record:
 * a string with the same TTL holding only what the per-request check needs, so that check is
 * one MGET for many requests. Each user has a sorted set of session ids (score: absolute end)
 * that is trimmed as sessions expire. Every write is one Lua script, which keeps the hash and
 * its record in step, and the session id starts with a tag derived from the user id which is
 * also the hash tag of all these keys, so a user's keys share one Cluster slot.
 *
 * Like any store that must revoke, it needs a Redis that does not evict keys
 * (`maxmemory-policy noeviction`, the default).
 *
 * When Redis cannot be reached, every method throws `StoreUnavailableError` (503
 * `AUTH_STORE_UNAVAILABLE`) within the command timeout: nothing is let through, and the
 * client reconnects by itself.
 *
 * @example
 * ```ts
 * AuthModule.forRoot({ secret, sessionStore: new RedisSessionStore({ url: process.env.REDIS_URL }) })
 * ```
 */
export class RedisSessionStore extends SessionStore implements OnModuleDestroy {
  private readonly redis: RedisConnection;
  private readonly clock: Clock;
  // Liveness checks waiting for the next turn of the event loop, by Cluster slot group.
  private readonly pendingChecks = new Map<number, CheckBatch>();

  constructor(options: RedisSessionStoreOptions) {
    super();
    // The per-request reads are batched by checkLive; the other writes are rare.
    this.redis = new RedisConnection(RedisSessionStore.name, options, SCRIPTS, { autoPipelining: false });
    this.clock = options.clock ?? systemClock;
  }

  override generateSessionId(userId: string): string {
    return `${this.tagOf(userId)}${randomBytes(16).toString('base64url')}`;
  }

  async create(session: Session): Promise<void> {
    // logout-all and listing find a user's sessions through this tag: an id without it would
    // authenticate but escape them.
    if (!isSessionId(session.id) || !session.id.startsWith(this.tagOf(session.userId)) || session.id.length <= TAG_LENGTH + 16) {
      throw new TypeError('RedisSessionStore: session ids must come from generateSessionId(userId)');
    }
    const now = this.clock();
    const endsAt = sessionEndMs(session.expiresAt.getTime(), session.lastSeenAt.getTime(), idleMs(session));
    const fields: string[] = [
      'u',
      session.userId,
      'n',
      session.username,
      'c',
      String(session.createdAt.getTime()),
      'l',
      String(session.lastSeenAt.getTime()),
      'e',
      String(session.expiresAt.getTime()),
    ];
    if (session.idleTimeoutSeconds !== undefined) fields.push('i', String(session.idleTimeoutSeconds * 1000));
    if (session.refreshTokenHash !== undefined) fields.push('rh', session.refreshTokenHash);
    if (session.userAgent !== undefined) fields.push('ua', session.userAgent);
    if (session.ip !== undefined) fields.push('ip', session.ip);
    try {
      await this.redis.run(
        'nwCreate',
        this.sessionKey(session.id),
        this.userKey(session.userId),
        this.recordKey(session.id),
        now,
        session.id,
        endsAt - now,
        session.expiresAt.getTime(),
        ...fields,
      );
    } catch (error) {
      if (error instanceof Error && error.message.includes(`${SCRIPT_ERROR_MARKER}DUPLICATE`)) {
        throw new Error('RedisSessionStore: duplicate session id', { cause: error });
      }
      throw error;
    }
  }

  async get(sessionId: string): Promise<Session | null> {
    if (!isSessionId(sessionId)) return null;
    const fields = await this.redis.call(() => this.redis.client.hgetall(this.sessionKey(sessionId)));
    return this.decodeLive(sessionId, fields);
  }

  /**
   * One read of the session's liveness record per call, as the contract requires, but the reads
   * of all calls made in the same turn of the event loop travel together: one MGET (per Cluster
   * slot) for up to 256 sessions, sent in the next turn. Nothing is cached: every call is
   * answered by a read sent after it was made.
   */
  override checkLive(sessionId: string, userId: string): Promise<LiveSession | null> | null {
    if (!isSessionId(sessionId)) return null;
    // MGET's keys must share a slot: in a Cluster, one batch per slot (many users share one).
    const key = this.recordKey(sessionId);
    const group = this.redis.client.isCluster ? calculateSlot(key) : -1;
    let batch = this.pendingChecks.get(group);
    if (batch === undefined) {
      batch = new CheckBatch();
      this.pendingChecks.set(group, batch);
      setImmediate(() => this.sendChecks(group, batch!));
    }
    const index = batch.keys.push(key) - 1;
    if (index === MAX_CHECK_BATCH - 1) this.sendChecks(group, batch);
    return batch.reply.then((records) => {
      const record = records[index] ?? null;
      // One key's own failure (retried alone after a migration error) is that request's 503.
      if (record instanceof Error) throw record;
      return liveFromRecord(record, userId, batch.answeredAtMs);
    });
  }

  private sendChecks(group: number, batch: CheckBatch): void {
    if (batch.sent) return;
    batch.sent = true;
    if (this.pendingChecks.get(group) === batch) this.pendingChecks.delete(group);
    this.redis
      .call(() => this.redis.client.mget(batch.keys))
      .catch((error: unknown) => {
        // A slot mid-migration refuses an MGET whose keys sit on both sides; each key alone is
        // served (through ASK), so the requests of users whose keys have all moved, or none, pass.
        if (batch.keys.length < 2 || !isMigrationError(error)) throw error;
        return Promise.all(
          batch.keys.map((key) => this.redis.call(() => this.redis.client.get(key)).catch((failed: unknown) => failed as Error)),
        );
      })
      .then((records) => {
        batch.answeredAtMs = this.clock();
        batch.resolve(records);
      }, batch.reject);
  }

  async touch(sessionId: string, lastSeenAt: Date): Promise<boolean> {
    if (!isSessionId(sessionId)) return false;
    return (
      (await this.redis.run('nwTouch', this.sessionKey(sessionId), this.recordKey(sessionId), this.clock(), lastSeenAt.getTime())) === 1
    );
  }

  async rotateRefreshToken(
    sessionId: string,
    presentedHash: string,
    nextHash: string,
    now: Date,
    graceSeconds = 0,
  ): Promise<RefreshRotation> {
    const windowMs = refreshGraceMs(graceSeconds);
    if (!isSessionId(sessionId)) return { status: 'invalid' };
    // The user index is named from the session's user: read it first, so the script declares it.
    const userId = await this.redis.call(() => this.redis.client.hget(this.sessionKey(sessionId), 'u'));
    if (userId === null) return { status: 'invalid' };
    // One script decides and writes, so instances racing on one session stay consistent.
    const reply = (await this.redis.run(
      'nwRotate',
      this.sessionKey(sessionId),
      this.recordKey(sessionId),
      this.userKey(userId),
      now.getTime(),
      presentedHash,
      nextHash,
      REFRESH_HISTORY_LENGTH,
      windowMs,
      sessionId,
      userId,
    )) as [string, string[]?];
    const session = reply[1] ? decode(sessionId, pairs(reply[1])) : null;
    if (!session) return { status: 'invalid' };
    if (reply[0] === 'rotated' || reply[0] === 'reused') return { status: reply[0], session };
    if (reply[0] === 'grace') return { status: 'rotated', session, grace: true };
    return { status: 'invalid' };
  }

  async delete(sessionId: string): Promise<boolean> {
    if (!isSessionId(sessionId)) return false;
    const userId = await this.redis.call(() => this.redis.client.hget(this.sessionKey(sessionId), 'u'));
    if (userId === null) {
      // No session hash (ended, or evicted): a liveness record left behind must not outlive it.
      await this.redis.call(() => this.redis.client.del(this.recordKey(sessionId)));
      return false;
    }
    return (
      (await this.redis.run(
        'nwDelete',
        this.sessionKey(sessionId),
        this.userKey(userId),
        this.recordKey(sessionId),
        this.clock(),
        sessionId,
      )) === 1
    );
  }

  async deleteAllForUser(userId: string, exceptSessionId?: string): Promise<number> {
    let ended = 0;
    await this.throughIndex(userId, async (ids) => {
      const [unknown, count] = (await this.runOnIndex('nwDeleteAll', userId, ids, [this.clock(), exceptSessionId ?? ''])) as [
        string[],
        number,
      ];
      ended += Number(count);
      return unknown;
    });
    return ended;
  }

  async listForUser(userId: string): Promise<Session[]> {
    const sessions: Session[] = [];
    await this.throughIndex(userId, async (ids) => {
      const [unknown, out] = (await this.runOnIndex('nwList', userId, ids, [])) as [string[], unknown[]];
      // Each pass is given every id seen so far and lists them all: the last pass's answer counts.
      sessions.length = 0;
      for (let i = 0; i < out.length; i += 2) {
        const session = this.decodeLive(out[i] as string, pairs(out[i + 1] as string[]));
        if (session && session.userId === userId) sessions.push(session);
      }
      return unknown;
    });
    return sessions.sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime());
  }

  // Reads the user's index, then runs `step` on its ids until the index holds none it was not
  // given (sessions created meanwhile), at most a few times: a script must declare every key.
  // Each pass is given every id seen so far.
  private async throughIndex(userId: string, step: (ids: string[]) => Promise<string[]>): Promise<void> {
    const ids = new Set(await this.ownIds(userId, await this.redis.call(() => this.redis.client.zrange(this.userKey(userId), 0, '-1'))));
    for (let attempt = 0; attempt < MAX_INDEX_PASSES; attempt++) {
      const unknown = await this.ownIds(userId, await step([...ids]));
      if (unknown.length === 0) return;
      for (const id of unknown) ids.add(id);
    }
    throw new StoreUnavailableError({ cause: new Error('RedisSessionStore: the session index kept changing') });
  }

  // The index entries that are this user's session ids. Any other (not made by this store) would
  // route outside the user's slot: it leaves the index, in a step of its own.
  private async ownIds(userId: string, entries: string[]): Promise<string[]> {
    const tag = this.tagOf(userId);
    const foreign = entries.filter((id) => !isSessionId(id) || !id.startsWith(tag));
    if (foreign.length > 0) await this.redis.call(() => this.redis.client.zrem(this.userKey(userId), ...foreign));
    return foreign.length === 0 ? entries : entries.filter((id) => !foreign.includes(id));
  }

  // A script over the user index and, per id, the session and its liveness record, all declared.
  private runOnIndex(name: 'nwList' | 'nwDeleteAll', userId: string, ids: string[], head: Array<string | number>): Promise<unknown> {
    const keys = [this.userKey(userId), ...ids.flatMap((id) => [this.sessionKey(id), this.recordKey(id)])];
    return this.redis.run(name, keys.length, ...keys, ...head, ...ids);
  }

  override async ping(): Promise<boolean> {
    try {
      await this.redis.call(() => this.redis.client.ping());
      return true;
    } catch {
      return false;
    }
  }

  async onModuleDestroy(): Promise<void> {
    await this.redis.close();
  }

  // The tag routes all keys of a user to one Cluster slot and starts each of their session ids.
  private tagOf(userId: string): string {
    return createHash('sha256').update(userId, 'utf8').digest('base64url').slice(0, TAG_LENGTH);
  }

  private sessionKeyPrefix(tag: string): string {
    return `${this.redis.prefix}:{${tag}}:s:`;
  }

  private sessionKey(sessionId: string): string {
    return this.sessionKeyPrefix(sessionId.slice(0, TAG_LENGTH)) + sessionId;
  }

  private recordKeyPrefix(tag: string): string {
    return `${this.redis.prefix}:{${tag}}:l:`;
  }

  private recordKey(sessionId: string): string {
    return this.recordKeyPrefix(sessionId.slice(0, TAG_LENGTH)) + sessionId;
  }

  private userKeyPrefix(tag: string): string {
    return `${this.redis.prefix}:{${tag}}:u:`;
  }

  private userKey(userId: string): string {
    return this.userKeyPrefix(this.tagOf(userId)) + userId;
  }

  private decodeLive(sessionId: string, fields: Record<string, string>): Session | null {
    const session = decode(sessionId, fields);
    if (!session) return null;
    const now = this.clock();
    const end = sessionEndMs(session.expiresAt.getTime(), session.lastSeenAt.getTime(), idleMs(session));
    return end > now ? session : null;
  }
}

// Liveness-record reads gathered for one MGET.
class CheckBatch {
  readonly keys: string[] = [];
  sent = false;
  /** The store's clock when the records arrived: liveness is judged at that instant. */
  answeredAtMs = 0;
  readonly reply: Promise<Array<string | null | Error>>;
  resolve!: (records: Array<string | null | Error>) => void;
  reject!: (error: unknown) => void;

  constructor() {
    this.reply = new Promise((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
  }
}

// The check of one liveness record (see write_record): the session's user, and live at nowMs.
function liveFromRecord(record: string | null, userId: string, nowMs: number): LiveSession | null {
  if (record === null) return null;
  const a = record.indexOf(':');
  const b = record.indexOf(':', a + 1);
  const c = record.indexOf(':', b + 1);
  const d = record.indexOf(':', c + 1);
  if (a < 0 || b < 0 || c < 0 || d < 0) return null;
  const userStart = d + 1;
  if (Number(record.slice(c + 1, d)) !== utf8Length(userId) || !record.startsWith(userId, userStart)) return null;
  const lastSeenAtMs = Number(record.slice(0, a));
  const idle = c === b + 1 ? undefined : Number(record.slice(b + 1, c));
  // NaN anywhere (a damaged record) fails this comparison: not live.
  if (!(sessionEndMs(Number(record.slice(a + 1, b)), lastSeenAtMs, idle) > nowMs)) return null;
  return { username: record.slice(userStart + userId.length), lastSeenAtMs };
}

// Length in UTF-8 bytes, as Lua's # counts it in the record.
function utf8Length(text: string): number {
  for (let i = 0; i < text.length; i++) {
    if (text.charCodeAt(i) > 0x7f) return Buffer.byteLength(text, 'utf8');
  }
  return text.length;
}

function isSessionId(value: unknown): value is string {
  return typeof value === 'string' && value.length > TAG_LENGTH && value.length <= 128;
}

function idleMs(session: Session): number | undefined {
  return session.idleTimeoutSeconds === undefined ? undefined : session.idleTimeoutSeconds * 1000;
}

function pairs(flat: string[]): Record<string, string> {
  const record: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) record[flat[i]!] = flat[i + 1]!;
  return record;
}

function decode(id: string, fields: Record<string, string>): Session | null {
  if (fields.u === undefined || fields.e === undefined) return null;
  const session: Session = {
    id,
    userId: fields.u,
    username: fields.n ?? '',
    createdAt: new Date(Number(fields.c)),
    lastSeenAt: new Date(Number(fields.l)),
    expiresAt: new Date(Number(fields.e)),
  };
  if (fields.i !== undefined) session.idleTimeoutSeconds = Number(fields.i) / 1000;
  if (fields.rh !== undefined) session.refreshTokenHash = fields.rh;
  if (fields.ua !== undefined) session.userAgent = fields.ua;
  if (fields.ip !== undefined) session.ip = fields.ip;
  return session;
}
