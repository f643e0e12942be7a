import { createHash, randomBytes } from 'node:crypto';
import type { OnModuleDestroy } from '@nestjs/common';
import { systemClock, type Clock } from '../clock.js';
import calculateSlot from 'cluster-key-slot';
import { StoreUnavailableError } from '../auth.errors.js';
import { isMigrationError, RedisConnection, SCRIPT_ERROR_MARKER, type RedisConnectionOptions } from '../redis/redis-connection.js';
import { SESSION_SCRIPTS } from './redis-session.scripts.js';
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
    this.redis = new RedisConnection(RedisSessionStore.name, options, SESSION_SCRIPTS, { autoPipelining: false });
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
    if (session.amr !== undefined) fields.push('am', encodeAmr(session.amr));
    if (session.authTime !== undefined) fields.push('at', String(authTimeMs(session.authTime)));
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

  /**
   * One script checks that the session is live and `userId`'s and sets its `am` and `at` fields,
   * answering the hash as it then stands: its TTL, liveness record and refresh token are left as
   * they are, since neither field decides liveness.
   */
  override async recordAuthentication(sessionId: string, userId: string, amr: readonly string[], authTime: Date): Promise<Session | null> {
    const factors = encodeAmr(amr);
    const at = authTimeMs(authTime);
    if (!isSessionId(sessionId)) return null;
    const fields = (await this.redis.run('nwRecordAuthentication', this.sessionKey(sessionId), this.clock(), userId, factors, at)) as
      string[] | null;
    return fields ? decode(sessionId, pairs(fields)) : null;
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

  override ping(): Promise<boolean> {
    return this.redis.ping();
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

// The am field: the amr values joined by spaces. A value that would not come back as it went in
// (empty, or holding whitespace; RFC 8176 values are short tokens) is refused.
function encodeAmr(amr: readonly string[]): string {
  if (!Array.isArray(amr) || !amr.every((value) => typeof value === 'string' && /^\S+$/.test(value))) {
    throw new TypeError('RedisSessionStore: amr values must be non-empty strings without whitespace');
  }
  return amr.join(' ');
}

function authTimeMs(authTime: Date): number {
  const ms = authTime instanceof Date ? authTime.getTime() : NaN;
  if (!Number.isFinite(ms)) throw new TypeError('RedisSessionStore: authTime must be a valid Date');
  return ms;
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
  // Absent on sessions stored before second factors: left absent (sessionFactors reads ["pwd"]).
  if (fields.am !== undefined) session.amr = fields.am === '' ? [] : fields.am.split(' ');
  if (fields.at !== undefined) session.authTime = new Date(Number(fields.at));
  return session;
}
