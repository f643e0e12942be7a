import { createHash, randomBytes } from 'node:crypto';
import type { OnModuleDestroy } from '@nestjs/common';
import { systemClock, type Clock } from '../../clock.js';
import { RedisConnection, type RedisConnectionOptions } from '../../redis/redis-connection.js';
import { PasskeyStore, type Passkey, type PasskeyUse } from './passkey-store.js';

/** Options of {@link RedisPasskeyStore}: the connection options of the Redis stores, and a clock. */
export interface RedisPasskeyStoreOptions extends RedisConnectionOptions {
  /**
   * Time source, for tests. Default `Date.now`. A claim on a credential id or a passkey id that no
   * stored passkey holds (left by an outage mid-registration or mid-removal) is taken over once it
   * is {@link RedisPasskeyStore | five minutes old} on it.
   */
  clock?: Clock;
}

// A claim older than this that no passkey holds is stale: its registration failed half-way (or a
// removal did), and a new registration may take it over. Far beyond the time any registration
// takes (three commands, each bounded by the command timeout, at most a minute).
const STALE_CLAIM_MS = 5 * 60_000;
// How many times a registration looks again at a claim that changed under it.
const CLAIM_ATTEMPTS = 3;

// The scripts below touch one key each: the account's hash, or one claim. An account's hash holds,
// per passkey (its field names carry the SHA-256 of its id, t): v:t the claim value of its
// credential id and id, d:t the JSON of what never changes (id, userId, credentialId, publicKey,
// transports, deviceType, createdAt), n:t its name, c:t its counter (decimal), b:t its backup
// flag ('1' or '0') and u:t when it was last used (epoch ms, absent until then).

// KEYS: account. ARGV: t, claim, d, name, counter, backedUp, lastUsedAt ('' for none).
const CREATE = `
local t = ARGV[1]
if redis.call('HEXISTS', KEYS[1], 'v:' .. t) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'v:' .. t, ARGV[2], 'd:' .. t, ARGV[3], 'n:' .. t, ARGV[4], 'c:' .. t, ARGV[5], 'b:' .. t, ARGV[6])
if ARGV[7] ~= '' then redis.call('HSET', KEYS[1], 'u:' .. t, ARGV[7]) end
return 1`;

// KEYS: account. ARGV: t, claim, expected counter, counter, backedUp, usedAt. The compare and set:
// only the passkey the credential's claim names, only from the counter expected.
const RECORD_USE = `
local t = ARGV[1]
if redis.call('HGET', KEYS[1], 'v:' .. t) ~= ARGV[2] then return 0 end
if redis.call('HGET', KEYS[1], 'c:' .. t) ~= ARGV[3] then return 0 end
redis.call('HSET', KEYS[1], 'c:' .. t, ARGV[4], 'b:' .. t, ARGV[5], 'u:' .. t, ARGV[6])
return 1`;

// KEYS: account. ARGV: t, name. Answers the passkey's fields (as HMGET), or 0 when it has none.
const RENAME = `
local t = ARGV[1]
if redis.call('HEXISTS', KEYS[1], 'v:' .. t) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'n:' .. t, ARGV[2])
return redis.call('HMGET', KEYS[1], 'v:' .. t, 'd:' .. t, 'n:' .. t, 'c:' .. t, 'b:' .. t, 'u:' .. t)`;

// KEYS: account. ARGV: t, and optionally the claim it must hold (a failed registration undoing
// only its own write). Answers the removed passkey's claim, or false.
const REMOVE = `
local t = ARGV[1]
local v = redis.call('HGET', KEYS[1], 'v:' .. t)
if not v then return false end
if ARGV[2] and ARGV[2] ~= v then return false end
redis.call('HDEL', KEYS[1], 'v:' .. t, 'd:' .. t, 'n:' .. t, 'c:' .. t, 'b:' .. t, 'u:' .. t)
return v`;

// KEYS: claim. ARGV: the value it must hold. Compare and delete.
const RELEASE = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
return 1`;

// KEYS: claim. ARGV: the stale value it must hold, the new one. Compare and set.
const TAKE_OVER = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2])
return 1`;

// What a claim says: the account's and the passkey's hash tags, the credential's, when it was made.
interface Claim {
  userTag: string;
  idTag: string;
  credentialTag: string;
  claimedAt: number;
}

type Fields = [string | null, string | null, string | null, string | null, string | null, string | null];

/**
 * A {@link PasskeyStore} on Redis (standalone, Sentinel or Cluster) through ioredis, so every
 * instance sees the passkeys registered through the others.
 *
 * Each account has one hash (every field of each of its passkeys), named by the SHA-256 of its user
 * id, never the id, under that digest as hash tag (any string is a safe user id). Each passkey also
 * has two claims, strings naming its account and itself: one under the SHA-256 of its credential
 * id (the index `findByCredentialId` and `recordUse` read), one under the SHA-256 of its id (ids
 * are unique across accounts). Key names never hold an id, a user id or a credential id as given.
 *
 * On a Cluster the two claims and the account's hash sit in three different slots, which no one
 * script or transaction can span. So a registration is a sequence whose every step is atomic,
 * ordered so that a passkey in an account always has both its claims:
 * 1. the credential id is claimed, `SET NX`: of concurrent registrations of one credential
 *    exactly one gets it, the others answer `false` at once;
 * 2. the id is claimed the same way;
 * 3. the passkey is written into its account (a script);
 * and any step that fails undoes the ones before it: its own write out of the account first, then
 * its claims, each only while it still holds the value this registration wrote (compare and
 * delete). A removal takes the passkey out of its account first, then releases its claims. A
 * claim's value is unique to its registration, and a passkey keeps it: a lookup by credential id
 * follows the claim to the account and answers the passkey only if it holds that very claim, and
 * `recordUse` is one script on the account that checks the claim and compares-and-sets the counter,
 * so of concurrent uses of one counter at most one counts.
 *
 * While a registration runs, its credential id is taken though not yet readable: a lookup answers
 * `null`, as it would a moment before. If Redis fails in the middle of a registration or removal
 * (an outage, a crash), a claim may be left that no passkey holds. Such a claim refuses a
 * registration of the same credential id until it is five minutes old on the store's `clock`;
 * then it is taken over (compare and set, so of concurrent takers one wins). Authenticators make
 * a fresh credential id for each registration, so in practice it only costs its few bytes.
 *
 * Like the other stores it needs a Redis that does not evict keys (`maxmemory-policy noeviction`,
 * the default), with persistence if passkeys are to survive a restart.
 *
 * When Redis cannot be reached, every method throws `StoreUnavailableError` (503
 * `AUTH_STORE_UNAVAILABLE`) within the command timeout, and `ping` answers `false`.
 *
 * @example
 * ```ts
 * passkeysFlow({ store: new RedisPasskeyStore({ url: process.env.REDIS_URL }) })
 * ```
 */
export class RedisPasskeyStore extends PasskeyStore implements OnModuleDestroy {
  private readonly redis: RedisConnection;
  private readonly clock: Clock;

  constructor(options: RedisPasskeyStoreOptions) {
    super();
    this.redis = new RedisConnection(RedisPasskeyStore.name, options, {
      nwPasskeyCreate: { numberOfKeys: 1, lua: CREATE },
      nwPasskeyRecordUse: { numberOfKeys: 1, lua: RECORD_USE },
      nwPasskeyRename: { numberOfKeys: 1, lua: RENAME },
      nwPasskeyRemove: { numberOfKeys: 1, lua: REMOVE },
      nwPasskeyRelease: { numberOfKeys: 1, lua: RELEASE },
      nwPasskeyTakeOver: { numberOfKeys: 1, lua: TAKE_OVER },
    });
    this.clock = options.clock ?? systemClock;
  }

  async create(passkey: Passkey): Promise<boolean> {
    checkPasskey(passkey);
    const userTag = tagOf(passkey.userId);
    const idTag = tagOf(passkey.id);
    const credentialTag = tagOf(passkey.credentialId);
    const claimedAt = this.clock();
    const claim = `${userTag}.${idTag}.${credentialTag}.${claimedAt}.${randomBytes(9).toString('base64url')}`;
    const credentialKey = this.credentialKeyOf(credentialTag);
    const idKey = this.idKeyOf(idTag);
    const account = this.accountKeyOf(userTag);
    if (!(await this.claim(credentialKey, claim))) return false;
    let written = false;
    try {
      if (await this.claim(idKey, claim)) {
        const stored = await this.redis.run(
          'nwPasskeyCreate',
          account,
          idTag,
          claim,
          JSON.stringify({
            id: passkey.id,
            userId: passkey.userId,
            credentialId: passkey.credentialId,
            publicKey: passkey.publicKey,
            transports: passkey.transports,
            deviceType: passkey.deviceType,
            createdAt: passkey.createdAt,
          }),
          passkey.name,
          passkey.counter,
          passkey.backedUp ? '1' : '0',
          passkey.lastUsedAt ?? '',
        );
        written = stored === 1;
      }
    } catch (error) {
      // Undone in order, each step only its own write, stopping at the first that fails: the
      // account's entry (which may have landed before the error) before the claims it relies on.
      try {
        await this.redis.run('nwPasskeyRemove', account, idTag, claim);
        await this.release(idKey, claim);
        await this.release(credentialKey, claim);
      } catch {
        // Left for the stale-claim takeover.
      }
      throw error;
    }
    if (written) return true;
    await this.release(idKey, claim);
    await this.release(credentialKey, claim);
    return false;
  }

  async findByCredentialId(credentialId: string): Promise<Passkey | null> {
    if (typeof credentialId !== 'string' || credentialId.length === 0) return null;
    const claim = await this.claimOf(this.credentialKeyOf(tagOf(credentialId)));
    if (!claim) return null;
    const passkey = await this.read(claim.value);
    return passkey?.credentialId === credentialId ? passkey : null;
  }

  async listByUser(userId: string): Promise<Passkey[]> {
    const account = this.accountKeyOf(tagOf(checkedUserId(userId)));
    const all = await this.redis.call(() => this.redis.client.hgetall(account));
    const passkeys: Passkey[] = [];
    for (const [field, value] of Object.entries(all)) {
      if (!field.startsWith('v:')) continue;
      const t = field.slice(2);
      const passkey = toPasskey([
        value,
        all[`d:${t}`] ?? null,
        all[`n:${t}`] ?? null,
        all[`c:${t}`] ?? null,
        all[`b:${t}`] ?? null,
        all[`u:${t}`] ?? null,
      ]);
      if (passkey && passkey.userId === userId) passkeys.push(passkey);
    }
    return passkeys.sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  async recordUse(credentialId: string, expectedCounter: number, use: PasskeyUse): Promise<boolean> {
    checkUse(use);
    if (typeof credentialId !== 'string' || credentialId.length === 0 || !isCounter(expectedCounter)) return false;
    const claim = await this.claimOf(this.credentialKeyOf(tagOf(credentialId)));
    if (!claim) return false;
    const recorded = await this.redis.run(
      'nwPasskeyRecordUse',
      this.accountKeyOf(claim.userTag),
      claim.idTag,
      claim.value,
      String(expectedCounter),
      String(use.counter),
      use.backedUp ? '1' : '0',
      use.usedAt,
    );
    return recorded === 1;
  }

  async rename(userId: string, id: string, name: string): Promise<Passkey | null> {
    if (typeof name !== 'string' || name.length === 0) throw new TypeError('RedisPasskeyStore: a name is a non-empty string');
    const account = this.accountKeyOf(tagOf(checkedUserId(userId)));
    if (typeof id !== 'string' || id.length === 0) return null;
    const fields = await this.redis.run('nwPasskeyRename', account, tagOf(id), name);
    if (!Array.isArray(fields)) return null;
    const passkey = toPasskey(fields as Fields);
    return passkey && passkey.userId === userId && passkey.id === id ? passkey : null;
  }

  async remove(userId: string, id: string): Promise<boolean> {
    const account = this.accountKeyOf(tagOf(checkedUserId(userId)));
    if (typeof id !== 'string' || id.length === 0) return false;
    const value = await this.redis.run('nwPasskeyRemove', account, tagOf(id));
    if (typeof value !== 'string') return false;
    // Out of the account first, so the passkey is gone whatever follows; then its claims, which
    // only a passkey that holds them keeps from a new registration.
    const claim = parseClaim(value);
    if (claim) {
      await this.release(this.credentialKeyOf(claim.credentialTag), value);
      await this.release(this.idKeyOf(claim.idTag), value);
    }
    return true;
  }

  override ping(): Promise<boolean> {
    return this.redis.ping();
  }

  async onModuleDestroy(): Promise<void> {
    await this.redis.close();
  }

  // Claims `key` with `value`: true when this registration holds it now. A claim that no passkey
  // holds and is older than STALE_CLAIM_MS is taken over.
  private async claim(key: string, value: string): Promise<boolean> {
    for (let attempt = 0; attempt < CLAIM_ATTEMPTS; attempt++) {
      if ((await this.redis.call(() => this.redis.client.set(key, value, 'NX'))) === 'OK') return true;
      const held = await this.claimOf(key);
      // Released meanwhile: try again.
      if (!held) continue;
      if (this.clock() - held.claimedAt < STALE_CLAIM_MS) return false;
      if ((await this.read(held.value)) !== null) return false;
      if ((await this.redis.run('nwPasskeyTakeOver', key, held.value, value)) === 1) return true;
    }
    return false;
  }

  private async release(key: string, value: string): Promise<void> {
    await this.redis.run('nwPasskeyRelease', key, value);
  }

  // The claim stored at `key`, or null (none, or a value this store did not write: holds nothing).
  private async claimOf(key: string): Promise<(Claim & { value: string }) | null> {
    const value = await this.redis.call(() => this.redis.client.get(key));
    if (value === null) return null;
    const claim = parseClaim(value);
    return claim ? { ...claim, value } : null;
  }

  // The passkey that holds this claim, or null.
  private async read(value: string): Promise<Passkey | null> {
    const claim = parseClaim(value);
    if (!claim) return null;
    const t = claim.idTag;
    const fields = (await this.redis.call(() =>
      this.redis.client.hmget(this.accountKeyOf(claim.userTag), `v:${t}`, `d:${t}`, `n:${t}`, `c:${t}`, `b:${t}`, `u:${t}`),
    )) as Fields;
    if (fields[0] !== value) return null;
    const passkey = toPasskey(fields);
    return passkey && tagOf(passkey.userId) === claim.userTag && tagOf(passkey.id) === t ? passkey : null;
  }

  private accountKeyOf(userTag: string): string {
    return `${this.redis.prefix}:pk:{${userTag}}:a`;
  }

  private credentialKeyOf(credentialTag: string): string {
    return `${this.redis.prefix}:pk:c:${credentialTag}`;
  }

  private idKeyOf(idTag: string): string {
    return `${this.redis.prefix}:pk:i:${idTag}`;
  }
}

// Names by a digest: ids may hold any characters (braces, which a Cluster reads as a hash tag, too)
// and any length. JSON escapes lone surrogates, which UTF-8 would turn into the same replacement
// character, so two distinct ids never share a name. Base64url: no '.', the claim's separator.
function tagOf(value: string): string {
  return createHash('sha256').update(JSON.stringify(value)).digest('base64url');
}

function parseClaim(value: string): Claim | null {
  const parts = value.split('.');
  if (parts.length !== 5) return null;
  const [userTag, idTag, credentialTag, at] = parts as [string, string, string, string];
  const claimedAt = Number(at);
  if (!userTag || !idTag || !credentialTag || !Number.isFinite(claimedAt)) return null;
  return { userTag, idTag, credentialTag, claimedAt };
}

// A passkey from its fields, or null for fields this store did not write.
function toPasskey([claim, data, name, counter, backedUp, lastUsedAt]: Fields): Passkey | null {
  if (claim === null || data === null || name === null || counter === null || backedUp === null) return null;
  let fixed: Partial<Passkey>;
  try {
    fixed = JSON.parse(data) as Partial<Passkey>;
  } catch {
    return null;
  }
  const used = lastUsedAt === null ? null : Number(lastUsedAt);
  const passkey: Passkey = {
    id: fixed.id!,
    userId: fixed.userId!,
    credentialId: fixed.credentialId!,
    publicKey: fixed.publicKey!,
    counter: Number(counter),
    transports: Array.isArray(fixed.transports) ? [...fixed.transports] : [],
    deviceType: fixed.deviceType!,
    backedUp: backedUp === '1',
    name,
    createdAt: fixed.createdAt!,
    lastUsedAt: used,
  };
  const whole =
    typeof passkey.id === 'string' &&
    typeof passkey.userId === 'string' &&
    typeof passkey.credentialId === 'string' &&
    typeof passkey.publicKey === 'string' &&
    typeof passkey.createdAt === 'number' &&
    isCounter(passkey.counter) &&
    (used === null || Number.isFinite(used));
  return whole ? passkey : null;
}

function isCounter(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 0;
}

function checkedUserId(userId: string): string {
  if (typeof userId !== 'string' || userId.length === 0) throw new TypeError('RedisPasskeyStore: userId must be a non-empty string');
  return userId;
}

function checkPasskey(passkey: Passkey): void {
  const fail = (what: string): never => {
    throw new TypeError(`RedisPasskeyStore: ${what}`);
  };
  if (typeof passkey !== 'object' || passkey === null) fail('a passkey is an object');
  checkedUserId(passkey.userId);
  for (const field of ['id', 'credentialId', 'publicKey', 'name'] as const) {
    if (typeof passkey[field] !== 'string' || passkey[field].length === 0) fail(`"${field}" must be a non-empty string`);
  }
  if (!isCounter(passkey.counter)) fail('"counter" must be a non-negative integer');
  if (!Array.isArray(passkey.transports) || !passkey.transports.every((one) => typeof one === 'string')) {
    fail('"transports" must be an array of strings');
  }
  if (passkey.deviceType !== 'singleDevice' && passkey.deviceType !== 'multiDevice') fail('"deviceType" is singleDevice or multiDevice');
  if (typeof passkey.backedUp !== 'boolean') fail('"backedUp" must be a boolean');
  if (!Number.isSafeInteger(passkey.createdAt)) fail('"createdAt" must be epoch milliseconds');
  if (passkey.lastUsedAt !== null && !Number.isSafeInteger(passkey.lastUsedAt)) fail('"lastUsedAt" must be epoch milliseconds or null');
}

function checkUse(use: PasskeyUse): void {
  if (
    typeof use !== 'object' ||
    use === null ||
    !isCounter(use.counter) ||
    typeof use.backedUp !== 'boolean' ||
    !Number.isSafeInteger(use.usedAt)
  ) {
    throw new TypeError('RedisPasskeyStore: a use is { counter: a non-negative integer, backedUp: a boolean, usedAt: epoch ms }');
  }
}
