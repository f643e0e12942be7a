import { createHash } from 'node:crypto';
import type { OnModuleDestroy } from '@nestjs/common';
import { systemClock, type Clock } from '../../clock.js';
import { RedisConnection, type RedisConnectionOptions } from '../../redis/redis-connection.js';
import { checkMfaValues, MfaStore, type MfaState, type PendingTotp } from './mfa-store.js';

/** Options of {@link RedisMfaStore}: the connection options of the Redis stores, and a clock. */
export interface RedisMfaStoreOptions extends RedisConnectionOptions {
  /**
   * Time source, for tests. Default `Date.now`. Pending setups and used marks are judged expired
   * on it, and Redis drops their key a while after they end on it (see {@link RedisMfaStore}).
   */
  clock?: Clock;
}

// A pending setup's key outlives its expiresAt by this much: find and enableTotp decide expiry
// on their own, so Redis only clears away what nothing can use any more, and never early.
const PENDING_SLACK_MS = 60_000;
// The same for a used mark's key: markUsed judges expiry itself, the TTL only clears away.
const MARK_SLACK_MS = 60_000;

// Each script below touches only the keys of one user, all declared in KEYS and sharing one hash
// tag, so on a Cluster it runs on the node holding them. The keys: the factor (hash: s sealed
// secret, t enabledAt ms), the pending setup (hash: s, x expiresAt ms), the recovery-code
// digests (set) and, one per marker, a used mark (string: its expiresAt ms).

// KEYS: factor, pending, codes. Answers {factor s and t, pending s and x, codes left}; false
// (a missing field) reaches the store as null.
const FIND = `
return {redis.call('HMGET', KEYS[1], 's', 't'), redis.call('HMGET', KEYS[2], 's', 'x'), redis.call('SCARD', KEYS[3])}`;

// KEYS: pending. ARGV: sealed secret, expiresAt ms, TTL ms. Both fields are rewritten, so a newer
// setup replaces an older one whole; the factor is not touched.
const SAVE_PENDING = `
redis.call('HSET', KEYS[1], 's', ARGV[1], 'x', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1`;

// KEYS: factor, pending, codes. ARGV: pending secret, enabledAt ms, digests... Enables only the
// pending secret, not expired at enabledAt, while no factor is on: of concurrent confirmations
// exactly one finds the pending setup still there.
const ENABLE = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local p = redis.call('HMGET', KEYS[2], 's', 'x')
if p[1] ~= ARGV[1] then return 0 end
local x = tonumber(p[2])
if not x or x <= tonumber(ARGV[2]) then return 0 end
redis.call('DEL', KEYS[2], KEYS[3])
redis.call('HSET', KEYS[1], 's', ARGV[1], 't', ARGV[2])
if #ARGV > 2 then redis.call('SADD', KEYS[3], unpack(ARGV, 3)) end
return 1`;

// KEYS: factor, pending, codes. Answers 1 when a factor was on.
const DISABLE = `
local on = redis.call('EXISTS', KEYS[1])
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
return on`;

// KEYS: factor, codes. ARGV: digests... Only while a factor is on.
const REPLACE_CODES = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('DEL', KEYS[2])
if #ARGV > 0 then redis.call('SADD', KEYS[2], unpack(ARGV)) end
return 1`;

// KEYS: factor, codes. ARGV: digest. SREM answers 1 to exactly one of concurrent uses.
const USE_CODE = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
return redis.call('SREM', KEYS[2], ARGV[1])`;

// KEYS: factor. ARGV: current sealed secret, next. Compare-and-swap of the factor's secret.
const RESEAL = `
if redis.call('HGET', KEYS[1], 's') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 's', ARGV[2])
return 1`;

// KEYS: mark. ARGV: now ms, expiresAt ms, TTL ms. A mark still running at now refuses; a missing
// or expired one (or a value not a number, which this store did not write) is set anew. One
// script, so of concurrent marks exactly one finds the key unset.
const MARK_USED = `
local x = tonumber(redis.call('GET', KEYS[1]))
if x and x > tonumber(ARGV[1]) then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 1`;

type FindReply = [[string | null, string | null], [string | null, string | null], number];

/**
 * An {@link MfaStore} on Redis (standalone, Sentinel or Cluster) through ioredis, so every
 * instance sees the factors, setups and recovery codes of the others.
 *
 * Each account has up to three keys for its factors: its factor (a hash of the sealed secret and
 * when it was turned on), its pending setup (a hash of the sealed secret and its end) and its
 * recovery-code digests (a set); and one key per used mark (a string, the mark's end), named by
 * the SHA-256 of the marker. Their names carry the SHA-256 of the user id, never the id: any
 * string is a safe user id, and that digest is the keys' hash tag, so one account's keys share a
 * Cluster slot. Every read and write is one Lua script over that account's keys, so each step is atomic:
 * of concurrent confirmations or uses of one recovery code exactly one wins.
 *
 * A pending setup is judged expired on the store's `clock`, as `find` and `enableTotp` require;
 * Redis also expires its key, a minute after its end measured on that same clock when it was
 * saved (a relative TTL, so a test's fake clock far from the wall clock drops nothing early). A
 * used mark is timed the same way: judged on the clock, its key gone a minute after its end. The
 * factor and the codes live until TOTP is turned off; turning it off leaves the marks, so a code
 * used before cannot be replayed once it is on again.
 *
 * Like any store that must forget codes once used, it needs a Redis that does not evict keys
 * (`maxmemory-policy noeviction`, the default), with persistence if factors are to survive a
 * restart: a lost factor key turns TOTP off for that account.
 *
 * When Redis cannot be reached, every method throws `StoreUnavailableError` (503
 * `AUTH_STORE_UNAVAILABLE`) within the command timeout, and `ping` answers `false`.
 *
 * @example
 * ```ts
 * const mfaStore = new RedisMfaStore({ url: process.env.REDIS_URL });
 * ```
 */
export class RedisMfaStore extends MfaStore implements OnModuleDestroy {
  private readonly redis: RedisConnection;
  private readonly clock: Clock;

  constructor(options: RedisMfaStoreOptions) {
    super();
    this.redis = new RedisConnection(RedisMfaStore.name, options, {
      nwMfaFind: { numberOfKeys: 3, lua: FIND },
      nwMfaSavePending: { numberOfKeys: 1, lua: SAVE_PENDING },
      nwMfaEnable: { numberOfKeys: 3, lua: ENABLE },
      nwMfaDisable: { numberOfKeys: 3, lua: DISABLE },
      nwMfaReplaceCodes: { numberOfKeys: 2, lua: REPLACE_CODES },
      nwMfaUseCode: { numberOfKeys: 2, lua: USE_CODE },
      nwMfaReseal: { numberOfKeys: 1, lua: RESEAL },
      nwMfaMarkUsed: { numberOfKeys: 1, lua: MARK_USED },
    });
    this.clock = options.clock ?? systemClock;
  }

  async find(userId: string): Promise<MfaState> {
    const keys = this.keysOf(userId);
    const [factor, pending, left] = (await this.redis.run('nwMfaFind', keys.factor, keys.pending, keys.codes)) as FindReply;
    const enabledAt = factor[1] === null ? NaN : Number(factor[1]);
    const expiresAt = pending[1] === null ? NaN : Number(pending[1]);
    // A field missing or not a number (a key this store did not write) counts as no factor/setup.
    const on = factor[0] !== null && Number.isFinite(enabledAt);
    return {
      totp: on ? { secret: factor[0]!, enabledAt: new Date(enabledAt) } : null,
      pendingTotp:
        pending[0] !== null && Number.isFinite(expiresAt) && expiresAt > this.clock()
          ? { secret: pending[0], expiresAt: new Date(expiresAt) }
          : null,
      recoveryCodesLeft: on ? Number(left) : 0,
    };
  }

  async savePendingTotp(userId: string, pending: PendingTotp): Promise<void> {
    checkMfaValues('RedisMfaStore', { secret: pending.secret });
    const expiresAt = timeOf('expiresAt', pending.expiresAt);
    const ttlMs = Math.max(0, expiresAt - this.clock()) + PENDING_SLACK_MS;
    await this.redis.run('nwMfaSavePending', this.keysOf(userId).pending, pending.secret, expiresAt, ttlMs);
  }

  async enableTotp(userId: string, pendingSecret: string, recoveryCodeDigests: readonly string[], enabledAt: Date): Promise<boolean> {
    checkMfaValues('RedisMfaStore', { digests: recoveryCodeDigests });
    const at = timeOf('enabledAt', enabledAt);
    const keys = this.keysOf(userId);
    if (typeof pendingSecret !== 'string') return false;
    return (await this.redis.run('nwMfaEnable', keys.factor, keys.pending, keys.codes, pendingSecret, at, ...recoveryCodeDigests)) === 1;
  }

  async disableTotp(userId: string): Promise<boolean> {
    const keys = this.keysOf(userId);
    return (await this.redis.run('nwMfaDisable', keys.factor, keys.pending, keys.codes)) === 1;
  }

  async replaceRecoveryCodes(userId: string, digests: readonly string[]): Promise<boolean> {
    checkMfaValues('RedisMfaStore', { digests });
    const keys = this.keysOf(userId);
    return (await this.redis.run('nwMfaReplaceCodes', keys.factor, keys.codes, ...digests)) === 1;
  }

  async useRecoveryCode(userId: string, digest: string): Promise<boolean> {
    const keys = this.keysOf(userId);
    if (typeof digest !== 'string') return false;
    return (await this.redis.run('nwMfaUseCode', keys.factor, keys.codes, digest)) === 1;
  }

  async resealTotp(userId: string, current: string, next: string): Promise<boolean> {
    checkMfaValues('RedisMfaStore', { secret: next });
    const key = this.keysOf(userId).factor;
    if (typeof current !== 'string') return false;
    return (await this.redis.run('nwMfaReseal', key, current, next)) === 1;
  }

  async markUsed(userId: string, marker: string, expiresAt: Date): Promise<boolean> {
    checkMfaValues('RedisMfaStore', { marker });
    const end = timeOf('expiresAt', expiresAt);
    const now = this.clock();
    const ttlMs = Math.ceil(Math.max(0, end - now)) + MARK_SLACK_MS;
    return (await this.redis.run('nwMfaMarkUsed', this.markKeyOf(userId, marker), now, end, ttlMs)) === 1;
  }

  override ping(): Promise<boolean> {
    return this.redis.ping();
  }

  async onModuleDestroy(): Promise<void> {
    await this.redis.close();
  }

  // Named by a digest of the user id: ids may hold any characters (braces, which a Cluster reads
  // as a hash tag, too) and any length. JSON escapes lone surrogates, which UTF-8 would turn
  // into the same replacement character, so two distinct ids never share keys.
  private keysOf(userId: string): { factor: string; pending: string; codes: string } {
    const base = this.baseOf(userId);
    return { factor: `${base}f`, pending: `${base}p`, codes: `${base}r` };
  }

  // A used mark's key: under the account's hash tag (its slot), named by a digest of the marker
  // (any characters, up to 64 of them), and none of the keys disableTotp deletes, so marks
  // outlive turning TOTP off and on.
  private markKeyOf(userId: string, marker: string): string {
    return `${this.baseOf(userId)}m:${createHash('sha256').update(JSON.stringify(marker)).digest('base64url')}`;
  }

  private baseOf(userId: string): string {
    if (typeof userId !== 'string' || userId.length === 0) throw new TypeError('RedisMfaStore: userId must be a non-empty string');
    return `${this.redis.prefix}:mfa:{${createHash('sha256').update(JSON.stringify(userId)).digest('base64url')}}:`;
  }
}

function timeOf(what: string, date: Date): number {
  const ms = date instanceof Date ? date.getTime() : NaN;
  if (!Number.isFinite(ms)) throw new TypeError(`RedisMfaStore: ${what} must be a valid Date`);
  return ms;
}
