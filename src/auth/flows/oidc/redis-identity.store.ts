import { createHash, randomBytes } from 'node:crypto';
import type { OnModuleDestroy } from '@nestjs/common';
import { systemClock, type Clock } from '../../clock.js';
import { RedisConnection, type RedisConnectionOptions } from '../../redis/redis-connection.js';
import { IdentityStore, type LinkedIdentity } from './identity-store.js';

/** Options of {@link RedisIdentityStore}: the connection options of the Redis stores, and a clock. */
export interface RedisIdentityStoreOptions extends RedisConnectionOptions {
  /**
   * Time source, for tests. Default `Date.now`. A claim on an identity or a link id that no stored
   * link holds (left by an outage mid-link or mid-removal) is taken over once it is
   * {@link RedisIdentityStore | five minutes old} on it.
   */
  clock?: Clock;
}

/** What a login changes on a link: the address the provider gave, when, and maybe the sealed tokens. */
type IdentityUse = Parameters<IdentityStore['recordUse']>[2];

// A claim older than this that no link holds is stale: its link failed half-way (or a removal
// did), and a new link may take it over. Far beyond the time any link takes (three commands, each
// bounded by the command timeout, at most a minute).
const STALE_CLAIM_MS = 5 * 60_000;
// How many times a link looks again at a claim that changed under it.
const CLAIM_ATTEMPTS = 3;
// A provider's id, as the flow's options allow it.
const PROVIDER = /^[a-z0-9_-]{1,64}$/;
// The longest sealed tokens the contract allows, in UTF-16 code units.
const MAX_PROVIDER_TOKENS = 16_384;

// The scripts below touch one key each: the account's hash, or one claim. An account's hash holds,
// per link (its field names carry the SHA-256 of its id, t): v:t the claim value of its identity
// and id, d:t the JSON of what never changes (id, userId, provider, subject, createdAt), m:t
// the JSON of what a login changes (email, emailVerified, lastUsedAt) and, only while the link
// keeps sealed provider tokens, p:t their JSON string (JSON: any string reads back exactly, lone
// surrogates too). A link written before p:t existed has none: no tokens.

// What the token scripts below do with p:t, from two arguments: 'k' keeps it, 's' sets it to the
// next argument, 'c' deletes it.
const TOKENS = `
local function tokens(key, field, mode, value)
  if mode == 's' then redis.call('HSET', key, field, value)
  elseif mode == 'c' then redis.call('HDEL', key, field) end
end`;

// KEYS: account. ARGV: t, claim, d, m, 's' and p, or 'c' (none: a p:t left by a lost removal goes).
const CREATE = `${TOKENS}
local t = ARGV[1]
if redis.call('HEXISTS', KEYS[1], 'v:' .. t) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'v:' .. t, ARGV[2], 'd:' .. t, ARGV[3], 'm:' .. t, ARGV[4])
tokens(KEYS[1], 'p:' .. t, ARGV[5], ARGV[6])
return 1`;

// KEYS: account. ARGV: t, claim, m ('' leaves it), then 'k', 's' and p, or 'c'. Only the link the
// identity's claim names; one script, so a login's address and tokens change together.
const RECORD_USE = `${TOKENS}
local t = ARGV[1]
if redis.call('HGET', KEYS[1], 'v:' .. t) ~= ARGV[2] then return 0 end
if ARGV[3] ~= '' then redis.call('HSET', KEYS[1], 'm:' .. t, ARGV[3]) end
tokens(KEYS[1], 'p:' .. t, ARGV[4], ARGV[5])
return 1`;

// KEYS: account. ARGV: t, and optionally the claim it must hold (a failed link undoing only its
// own write). Answers the removed link's claim, or false.
const REMOVE = `
local t = ARGV[1]
local v = redis.call('HGET', KEYS[1], 'v:' .. t)
if not v then return false end
if ARGV[2] and ARGV[2] ~= v then return false end
redis.call('HDEL', KEYS[1], 'v:' .. t, 'd:' .. t, 'm:' .. t, 'p:' .. t)
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

// What a claim says: the account's and the link's hash tags, the identity's, when it was made.
interface Claim {
  userTag: string;
  idTag: string;
  identityTag: string;
  claimedAt: number;
}

type Fields = [string | null, string | null, string | null, string | null];

/**
 * An {@link IdentityStore} on Redis (standalone, Sentinel or Cluster) through ioredis, so every
 * instance sees the identities linked through the others.
 *
 * Each account has one hash (every field of each of its links), named by the SHA-256 of its user
 * id, never the id, under that digest as hash tag (any string is a safe user id). Each link also
 * has two claims, strings naming its account and itself: one under the SHA-256 of its
 * `(provider, subject)` (the index `find` and `recordUse` read), one under the SHA-256 of its id
 * (ids are unique across accounts). Key names never hold a user id, an id, a provider or a
 * subject as given.
 *
 * On a Cluster the two claims and the account's hash sit in three different slots, which no one
 * script or transaction can span. So a link is a sequence whose every step is atomic, ordered so
 * that a link in an account always has both its claims:
 * 1. the identity is claimed, `SET NX`: of concurrent links of one identity exactly one gets it,
 *    the others answer `false` at once;
 * 2. the id is claimed the same way;
 * 3. the link is written into its account (a script);
 * and any step that fails undoes the ones before it: its own write out of the account first, then
 * its claims, each only while it still holds the value this link wrote (compare and delete). A
 * removal takes the link out of its account first, then releases its claims. A claim's value is
 * unique to its link, and a link keeps it: a lookup follows the identity's claim to the account
 * and answers the link only if it holds that very claim (and its provider and subject are the
 * ones asked for), and `recordUse` is one script on the account that checks the claim.
 *
 * While a link is being made, its identity is taken though not yet readable: a lookup answers
 * `null`, as it would a moment before. If Redis fails in the middle of a link or removal (an
 * outage, a crash), a claim may be left that no link holds. Such a claim refuses a link of the
 * same identity until it is five minutes old on the store's `clock`; then it is taken over
 * (compare and set, so of concurrent takers one wins).
 *
 * Like the other stores it needs a Redis that does not evict keys (`maxmemory-policy noeviction`,
 * the default), with persistence if links are to survive a restart.
 *
 * When Redis cannot be reached, every method throws `StoreUnavailableError` (503
 * `AUTH_STORE_UNAVAILABLE`) within the command timeout, and `ping` answers `false`.
 *
 * @example
 * ```ts
 * const identities = new RedisIdentityStore({ url: process.env.REDIS_URL });
 * ```
 */
export class RedisIdentityStore extends IdentityStore implements OnModuleDestroy {
  private readonly redis: RedisConnection;
  private readonly clock: Clock;

  constructor(options: RedisIdentityStoreOptions) {
    super();
    this.redis = new RedisConnection(RedisIdentityStore.name, options, {
      nwIdentityCreate: { numberOfKeys: 1, lua: CREATE },
      nwIdentityRecordUse: { numberOfKeys: 1, lua: RECORD_USE },
      nwIdentityRemove: { numberOfKeys: 1, lua: REMOVE },
      nwIdentityRelease: { numberOfKeys: 1, lua: RELEASE },
      nwIdentityTakeOver: { numberOfKeys: 1, lua: TAKE_OVER },
    });
    this.clock = options.clock ?? systemClock;
  }

  async create(identity: LinkedIdentity): Promise<boolean> {
    checkIdentity(identity);
    const userTag = tagOf(identity.userId);
    const idTag = tagOf(identity.id);
    const identityTag = identityTagOf(identity.provider, identity.subject);
    const claimedAt = this.clock();
    const claim = `${userTag}.${idTag}.${identityTag}.${claimedAt}.${randomBytes(9).toString('base64url')}`;
    const identityKey = this.identityKeyOf(identityTag);
    const idKey = this.idKeyOf(idTag);
    const account = this.accountKeyOf(userTag);
    if (!(await this.claim(identityKey, claim))) return false;
    let written = false;
    try {
      if (await this.claim(idKey, claim)) {
        const stored = await this.redis.run(
          'nwIdentityCreate',
          account,
          idTag,
          claim,
          JSON.stringify({
            id: identity.id,
            userId: identity.userId,
            provider: identity.provider,
            subject: identity.subject,
            createdAt: identity.createdAt,
          }),
          JSON.stringify({ email: identity.email, emailVerified: identity.emailVerified, lastUsedAt: identity.lastUsedAt }),
          // A link made without the field keeps no tokens.
          ...tokenArgs(identity.providerTokens ?? null),
        );
        written = stored === 1;
      }
    } catch (error) {
      // Undone in order, each step only its own write, stopping at the first that fails: the
      // account's entry (which may have landed before the error) before the claims it relies on.
      try {
        await this.redis.run('nwIdentityRemove', account, idTag, claim);
        await this.release(idKey, claim);
        await this.release(identityKey, claim);
      } catch {
        // Left for the stale-claim takeover.
      }
      throw error;
    }
    if (written) return true;
    await this.release(idKey, claim);
    await this.release(identityKey, claim);
    return false;
  }

  async find(provider: string, subject: string): Promise<LinkedIdentity | null> {
    if (!isProvider(provider) || !isSubject(subject)) return null;
    const claim = await this.claimOf(this.identityKeyOf(identityTagOf(provider, subject)));
    if (!claim) return null;
    const identity = await this.read(claim.value);
    return identity?.provider === provider && identity.subject === subject ? identity : null;
  }

  async listByUser(userId: string): Promise<LinkedIdentity[]> {
    const account = this.accountKeyOf(tagOf(checkedUserId(userId)));
    const all = await this.redis.call(() => this.redis.client.hgetall(account));
    const identities: LinkedIdentity[] = [];
    for (const [field, value] of Object.entries(all)) {
      if (!field.startsWith('v:')) continue;
      const t = field.slice(2);
      const identity = toIdentity([value, all[`d:${t}`] ?? null, all[`m:${t}`] ?? null, all[`p:${t}`] ?? null]);
      if (identity && identity.userId === userId && tagOf(identity.id) === t) identities.push(identity);
    }
    return identities.sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  async recordUse(provider: string, subject: string, use: IdentityUse): Promise<boolean> {
    checkUse(use);
    return this.update(
      provider,
      subject,
      JSON.stringify({ email: use.email, emailVerified: use.emailVerified, lastUsedAt: use.usedAt }),
      // Left out: the tokens stay as they are.
      use.providerTokens === undefined ? ['k'] : tokenArgs(use.providerTokens),
    );
  }

  async setProviderTokens(provider: string, subject: string, providerTokens: string | null): Promise<boolean> {
    if (!isProviderTokens(providerTokens)) {
      throw new TypeError('RedisIdentityStore: "providerTokens" must be null or a string of at most 16384 characters');
    }
    return this.update(provider, subject, '', tokenArgs(providerTokens));
  }

  async remove(userId: string, id: string): Promise<boolean> {
    const account = this.accountKeyOf(tagOf(checkedUserId(userId)));
    if (typeof id !== 'string' || id.length === 0) return false;
    const value = await this.redis.run('nwIdentityRemove', account, tagOf(id));
    if (typeof value !== 'string') return false;
    // Out of the account first, so the link is gone whatever follows; then its claims, which only
    // a link that holds them keeps from a new link.
    const claim = parseClaim(value);
    if (claim) {
      await this.release(this.identityKeyOf(claim.identityTag), value);
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

  // One script on the account of the link the identity's claim names: its login fields (m, or ''
  // to leave them) and its tokens. False when the identity is not linked.
  private async update(provider: string, subject: string, mutable: string, tokens: string[]): Promise<boolean> {
    if (!isProvider(provider) || !isSubject(subject)) return false;
    const identityTag = identityTagOf(provider, subject);
    const claim = await this.claimOf(this.identityKeyOf(identityTag));
    if (!claim || claim.identityTag !== identityTag) return false;
    const updated = await this.redis.run(
      'nwIdentityRecordUse',
      this.accountKeyOf(claim.userTag),
      claim.idTag,
      claim.value,
      mutable,
      ...tokens,
    );
    return updated === 1;
  }

  // Claims `key` with `value`: true when this link holds it now. A claim that no link holds and
  // is older than STALE_CLAIM_MS is taken over.
  private async claim(key: string, value: string): Promise<boolean> {
    for (let attempt = 0; attempt < CLAIM_ATTEMPTS; attempt++) {
      if ((await this.redis.call(() => this.redis.client.set(key, value, 'NX'))) === 'OK') return true;
      const held = await this.claimOf(key);
      // Released meanwhile: try again.
      if (!held) continue;
      if (this.clock() - held.claimedAt < STALE_CLAIM_MS) return false;
      if ((await this.read(held.value)) !== null) return false;
      if ((await this.redis.run('nwIdentityTakeOver', key, held.value, value)) === 1) return true;
    }
    return false;
  }

  private async release(key: string, value: string): Promise<void> {
    await this.redis.run('nwIdentityRelease', key, value);
  }

  // The claim stored at `key`, or null (none, or a value this store did not write: holds nothing).
  private async claimOf(key: string): Promise<(Claim & { value: string }) | null> {
    const value = await this.redis.call(() => this.redis.client.get(key));
    if (value === null) return null;
    const claim = parseClaim(value);
    return claim ? { ...claim, value } : null;
  }

  // The link that holds this claim, or null.
  private async read(value: string): Promise<LinkedIdentity | null> {
    const claim = parseClaim(value);
    if (!claim) return null;
    const t = claim.idTag;
    const fields = (await this.redis.call(() =>
      this.redis.client.hmget(this.accountKeyOf(claim.userTag), `v:${t}`, `d:${t}`, `m:${t}`, `p:${t}`),
    )) as Fields;
    if (fields[0] !== value) return null;
    const identity = toIdentity(fields);
    return identity &&
      tagOf(identity.userId) === claim.userTag &&
      tagOf(identity.id) === t &&
      identityTagOf(identity.provider, identity.subject) === claim.identityTag
      ? identity
      : null;
  }

  private accountKeyOf(userTag: string): string {
    return `${this.redis.prefix}:oi:{${userTag}}:a`;
  }

  private identityKeyOf(identityTag: string): string {
    return `${this.redis.prefix}:oi:s:${identityTag}`;
  }

  private idKeyOf(idTag: string): string {
    return `${this.redis.prefix}:oi:i:${idTag}`;
  }
}

// Names by a digest: ids may hold any characters (braces, which a Cluster reads as a hash tag, too)
// and any length. JSON escapes lone surrogates, which UTF-8 would turn into the same replacement
// character, so two distinct ids never share a name. Base64url: no '.', the claim's separator.
function tagOf(value: string): string {
  return createHash('sha256').update(JSON.stringify(value)).digest('base64url');
}

// The identity's name: the SHA-256 of the pair, which JSON keeps apart whatever either holds.
function identityTagOf(provider: string, subject: string): string {
  return createHash('sha256')
    .update(JSON.stringify([provider, subject]))
    .digest('base64url');
}

function parseClaim(value: string): Claim | null {
  const parts = value.split('.');
  if (parts.length !== 5) return null;
  const [userTag, idTag, identityTag, at] = parts as [string, string, string, string];
  const claimedAt = Number(at);
  if (!userTag || !idTag || !identityTag || !Number.isFinite(claimedAt)) return null;
  return { userTag, idTag, identityTag, claimedAt };
}

// The token scripts' arguments for these tokens: set them, or none.
function tokenArgs(providerTokens: string | null): string[] {
  return providerTokens === null ? ['c'] : ['s', JSON.stringify(providerTokens)];
}

// The sealed tokens of p:t: none without the field (a link that keeps none, or one written before
// the field existed), and none for a value this store did not write.
function toProviderTokens(value: string | null): string | null {
  if (value === null) return null;
  try {
    const parsed: unknown = JSON.parse(value);
    return typeof parsed === 'string' ? parsed : null;
  } catch {
    return null;
  }
}

// A link from its fields, or null for fields this store did not write.
function toIdentity([claim, data, mutable, tokens]: Fields): LinkedIdentity | null {
  if (claim === null || data === null || mutable === null) return null;
  let fixed: Partial<LinkedIdentity>;
  let changed: Partial<LinkedIdentity>;
  try {
    fixed = JSON.parse(data) as Partial<LinkedIdentity>;
    changed = JSON.parse(mutable) as Partial<LinkedIdentity>;
  } catch {
    return null;
  }
  if (typeof fixed !== 'object' || fixed === null || typeof changed !== 'object' || changed === null) return null;
  const identity: LinkedIdentity = {
    id: fixed.id!,
    userId: fixed.userId!,
    provider: fixed.provider!,
    subject: fixed.subject!,
    email: changed.email ?? null,
    emailVerified: changed.emailVerified === true,
    createdAt: fixed.createdAt!,
    lastUsedAt: changed.lastUsedAt ?? null,
    providerTokens: toProviderTokens(tokens),
  };
  const whole =
    typeof identity.id === 'string' &&
    typeof identity.userId === 'string' &&
    typeof identity.provider === 'string' &&
    typeof identity.subject === 'string' &&
    (identity.email === null || typeof identity.email === 'string') &&
    Number.isSafeInteger(identity.createdAt) &&
    (identity.lastUsedAt === null || Number.isSafeInteger(identity.lastUsedAt));
  return whole ? identity : null;
}

function isProvider(value: unknown): value is string {
  return typeof value === 'string' && PROVIDER.test(value);
}

function isSubject(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0;
}

function isProviderTokens(value: unknown): value is string | null {
  return value === null || (typeof value === 'string' && value.length <= MAX_PROVIDER_TOKENS);
}

function checkedUserId(userId: string): string {
  if (typeof userId !== 'string' || userId.length === 0) throw new TypeError('RedisIdentityStore: userId must be a non-empty string');
  return userId;
}

function checkIdentity(identity: LinkedIdentity): void {
  const fail = (what: string): never => {
    throw new TypeError(`RedisIdentityStore: ${what}`);
  };
  if (typeof identity !== 'object' || identity === null) fail('an identity is an object');
  checkedUserId(identity.userId);
  if (typeof identity.id !== 'string' || identity.id.length === 0) fail('"id" must be a non-empty string');
  if (!isProvider(identity.provider)) fail('"provider" must be 1 to 64 characters of a-z 0-9 _ -');
  if (!isSubject(identity.subject)) fail('"subject" must be a non-empty string');
  if (identity.email !== null && typeof identity.email !== 'string') fail('"email" must be a string or null');
  if (typeof identity.emailVerified !== 'boolean') fail('"emailVerified" must be a boolean');
  if (!Number.isSafeInteger(identity.createdAt)) fail('"createdAt" must be epoch milliseconds');
  if (identity.lastUsedAt !== null && !Number.isSafeInteger(identity.lastUsedAt)) fail('"lastUsedAt" must be epoch milliseconds or null');
  if (identity.providerTokens !== undefined && !isProviderTokens(identity.providerTokens)) {
    fail('"providerTokens" must be null or a string of at most 16384 characters');
  }
}

function checkUse(use: IdentityUse): void {
  if (
    typeof use !== 'object' ||
    use === null ||
    (use.email !== null && typeof use.email !== 'string') ||
    typeof use.emailVerified !== 'boolean' ||
    !Number.isSafeInteger(use.usedAt) ||
    (use.providerTokens !== undefined && !isProviderTokens(use.providerTokens))
  ) {
    throw new TypeError(
      'RedisIdentityStore: a use is { email: a string or null, emailVerified: a boolean, usedAt: epoch ms, providerTokens?: null or a string of at most 16384 characters }',
    );
  }
}
