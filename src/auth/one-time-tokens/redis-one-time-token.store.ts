import { createHash, randomBytes } from 'node:crypto';
import type { OnModuleDestroy } from '@nestjs/common';
import { systemClock, type Clock } from '../clock.js';
import { RedisConnection, type RedisConnectionOptions } from '../redis/redis-connection.js';
import { OneTimeTokenStore, type OneTimeToken } from './one-time-token.store.js';

/** Options of {@link RedisOneTimeTokenStore}: the connection options of the Redis stores, and a clock. */
export interface RedisOneTimeTokenStoreOptions extends RedisConnectionOptions {
  /** Time source, for tests. Default `Date.now`. Redis expires the keys on its own clock as well. */
  clock?: Clock;
}

// The generation outlives its tokens by this much: on a Cluster it sits on another node than
// they do, and a clock ahead there must not void a token before its time.
const GENERATION_SLACK_MS = 60_000;
const TOKEN_HASH = /^[0-9a-f]{64}$/;

// KEYS: the generation of a user and purpose. ARGV: '1' to start a new one (replace), a fresh
// value, the end of the token being saved (ms). Answers the generation the token belongs to.
// The key only ever lives longer (GT), so it outlasts every token saved under its value.
const GENERATION = `
local current = redis.call('GET', KEYS[1])
if ARGV[1] == '1' or not current then
  redis.call('SET', KEYS[1], ARGV[2])
  redis.call('PEXPIREAT', KEYS[1], ARGV[3])
  return ARGV[2]
end
redis.call('PEXPIREAT', KEYS[1], ARGV[3], 'GT')
return current`;

// KEYS: the token. ARGV: its value, its end (ms; one already past removes the key at once).
const SAVE = `
redis.call('SET', KEYS[1], ARGV[1])
redis.call('PEXPIREAT', KEYS[1], ARGV[2])
return 1`;

// KEYS: the token. ARGV: the purposes asked for, JSON-encoded as the value's first line is.
// GET and DEL in one step: of concurrent takes exactly one gets the value.
const TAKE = `
local value = redis.call('GET', KEYS[1])
if not value then return false end
local newline = string.find(value, '\\n', 1, true)
if not newline then return false end
local purpose = string.sub(value, 1, newline - 1)
for i = 1, #ARGV do
  if ARGV[i] == purpose then
    redis.call('DEL', KEYS[1])
    return value
  end
end
return false`;

/**
 * A {@link OneTimeTokenStore} on Redis (standalone, Sentinel or Cluster) through ioredis, so
 * every instance honours the links the others sent.
 *
 * Each token is one key, named by its hash, that Redis expires at `expiresAt` (`PEXPIREAT`);
 * taking it is one script that reads and deletes it. Each user and purpose has a generation key
 * holding a random value: a token records the value it was saved under, `replace` writes a new
 * value and `revokeAll` deletes the key, and a taken token counts only while its value is still
 * the current one. So no step spans two keys, and on a Cluster the token and the generation may
 * sit in different slots. The generation key expires a little after the last token saved under
 * it; one that is gone (expired, evicted, lost in a failover) voids its tokens, never revives them.
 *
 * A take that consumed the token but could not read its generation (Redis failed in between)
 * answers `StoreUnavailableError`: the link is spent and the user asks for a new one.
 *
 * When Redis cannot be reached, every method throws `StoreUnavailableError` (503
 * `AUTH_STORE_UNAVAILABLE`) within the command timeout.
 *
 * @example
 * ```ts
 * const oneTimeTokens = new RedisOneTimeTokenStore({ url: process.env.REDIS_URL });
 * ```
 */
export class RedisOneTimeTokenStore extends OneTimeTokenStore implements OnModuleDestroy {
  private readonly redis: RedisConnection;
  private readonly clock: Clock;

  constructor(options: RedisOneTimeTokenStoreOptions) {
    super();
    this.redis = new RedisConnection(RedisOneTimeTokenStore.name, options, {
      nwOneTimeGeneration: { numberOfKeys: 1, lua: GENERATION },
      nwOneTimeSave: { numberOfKeys: 1, lua: SAVE },
      nwOneTimeTake: { numberOfKeys: 1, lua: TAKE },
    });
    this.clock = options.clock ?? systemClock;
  }

  async save(token: OneTimeToken, options: { replace: boolean }): Promise<void> {
    assertStorable(token);
    const expiresAt = String(token.expiresAt);
    // The generation first: a revokeAll between the two steps voids this token too, as it should.
    const generation = (await this.redis.run(
      'nwOneTimeGeneration',
      this.generationKey(token.userId, token.purpose),
      options.replace ? '1' : '0',
      randomBytes(12).toString('base64url'),
      String(token.expiresAt + GENERATION_SLACK_MS),
    )) as string;
    const value = `${JSON.stringify(token.purpose)}\n${JSON.stringify([token.userId, token.subject, token.expiresAt, generation])}`;
    await this.redis.run('nwOneTimeSave', this.tokenKey(token.hash), value, expiresAt);
  }

  async take(hash: string, purposes: readonly string[]): Promise<OneTimeToken | null> {
    assertPurposes(purposes);
    // The hash comes from a link: anything else is no token, and never reaches Redis.
    if (typeof hash !== 'string' || !TOKEN_HASH.test(hash) || purposes.length === 0) return null;
    // JSON, so the value's first line compares exactly, whatever characters a purpose holds.
    const value = await this.redis.run('nwOneTimeTake', this.tokenKey(hash), ...purposes.map((purpose) => JSON.stringify(purpose)));
    if (typeof value !== 'string') return null;
    const stored = decode(hash, value);
    if (!stored) return null;
    const current = await this.redis.call(() => this.redis.client.get(this.generationKey(stored.token.userId, stored.token.purpose)));
    if (current !== stored.generation || stored.token.expiresAt <= this.clock()) return null;
    return stored.token;
  }

  async revokeAll(userId: string, purpose: string): Promise<void> {
    if (typeof userId !== 'string' || typeof purpose !== 'string') {
      throw new TypeError('RedisOneTimeTokenStore: userId and purpose must be strings');
    }
    await this.redis.call(() => this.redis.client.del(this.generationKey(userId, purpose)));
  }

  override ping(): Promise<boolean> {
    return this.redis.ping();
  }

  async onModuleDestroy(): Promise<void> {
    await this.redis.close();
  }

  private tokenKey(hash: string): string {
    return `${this.redis.prefix}:ot:${hash}`;
  }

  // Hashed: user ids may hold any characters (braces, which Cluster reads as a hash tag, too).
  private generationKey(userId: string, purpose: string): string {
    return `${this.redis.prefix}:og:${createHash('sha256')
      .update(JSON.stringify([userId, purpose]))
      .digest('base64url')}`;
  }
}

function decode(hash: string, value: string): { token: OneTimeToken; generation: string } | null {
  const newline = value.indexOf('\n');
  if (newline < 0) return null;
  try {
    const purpose: unknown = JSON.parse(value.slice(0, newline));
    const [userId, subject, expiresAt, generation] = JSON.parse(value.slice(newline + 1)) as unknown[];
    if (typeof purpose !== 'string' || typeof userId !== 'string' || typeof subject !== 'string') return null;
    if (typeof expiresAt !== 'number' || typeof generation !== 'string') return null;
    return { token: { hash, purpose, userId, subject, expiresAt }, generation };
  } catch {
    // A value this store did not write: no token.
    return null;
  }
}

// Values no SQL column could hold are refused here too, so every store takes the same tokens.
const UNSTORABLE = /[\0\p{Cs}]/u;

function assertStorable(token: OneTimeToken): void {
  const text = (value: unknown, max: number, min = 0): boolean =>
    typeof value === 'string' && value.length >= min && value.length <= max && !UNSTORABLE.test(value);
  if (
    typeof token?.hash !== 'string' ||
    !TOKEN_HASH.test(token.hash) ||
    !text(token.purpose, 64, 1) ||
    !text(token.userId, 512, 1) ||
    !text(token.subject, 1024) ||
    !Number.isSafeInteger(token.expiresAt)
  ) {
    throw new TypeError(
      'RedisOneTimeTokenStore: a token needs a SHA-256 hex hash, a purpose of 1-64, a userId of 1-512 and a subject of at most 1024 characters (no NUL, no lone surrogate), and expiresAt in integer milliseconds',
    );
  }
}

function assertPurposes(purposes: readonly string[]): void {
  if (!Array.isArray(purposes) || !purposes.every((purpose) => typeof purpose === 'string')) {
    throw new TypeError('RedisOneTimeTokenStore: purposes must be an array of strings');
  }
}
