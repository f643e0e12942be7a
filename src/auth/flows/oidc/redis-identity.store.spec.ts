import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import calculateSlot from 'cluster-key-slot';
import { Redis, type Cluster } from 'ioredis';
import { failFastClusterClient, startTestCluster, type TestCluster } from '../../../../test/utils/redis-cluster.js';
import { startTestRedis, type TestRedis } from '../../../../test/utils/redis-server.js';
import { StoreUnavailableError } from '../../auth.errors.js';
import { describeIdentityStoreContract, FakeClock } from '../../testing/index.js';
import type { LinkedIdentity } from './identity-store.js';
import { RedisIdentityStore } from './redis-identity.store.js';

// Each test gets its own key prefix, so runs on a shared REDIS_URL never meet.
const prefix = (): string => `nw-oi-${randomBytes(4).toString('hex')}`;
// User ids and subjects a key must not be built from as they are: a Cluster hash tag, separators, lone surrogates.
const awkwardIds = ['{tag}', 'a}b{c}', 'user:1:a', '\ud800', '\udbff', `ü-${'x'.repeat(250)}`];
let at = Date.UTC(2030, 0, 1);
const identity = (userId: string, overrides: Partial<LinkedIdentity> = {}): LinkedIdentity => ({
  id: randomBytes(16).toString('base64url'),
  userId,
  provider: 'google',
  subject: randomBytes(12).toString('hex'),
  email: 'alice@example.com',
  emailVerified: true,
  createdAt: (at += 1),
  lastUsedAt: null,
  providerTokens: null,
  ...overrides,
});
const use = (usedAt: number) => ({ email: 'used@example.com', emailVerified: true, usedAt });
// What such a use leaves on the link.
const used = (usedAt: number) => ({ email: 'used@example.com', emailVerified: true, lastUsedAt: usedAt });

describe('RedisIdentityStore on standalone Redis', () => {
  let redis: TestRedis;

  beforeAll(async () => {
    redis = await startTestRedis();
  });

  afterAll(async () => {
    await redis?.stop();
  });

  describeIdentityStoreContract('RedisIdentityStore', () => new RedisIdentityStore({ url: redis.url, keyPrefix: prefix() }), {
    teardown: (store) => (store as RedisIdentityStore).onModuleDestroy(),
  });

  it("keeps an account's links in one key, names no key by a user id, id, provider or subject, and leaves none behind", async () => {
    const keyPrefix = prefix();
    const store = new RedisIdentityStore({ url: redis.url, keyPrefix });
    const inspector = new Redis(redis.url);
    try {
      const userId = `{user}-${randomBytes(4).toString('hex')}`;
      const first = identity(userId, { provider: 'corpsso', subject: `subj-${'s'.repeat(250)}`, providerTokens: 'v1.sealed' });
      const second = identity(userId, { provider: 'google', subject: 'subj-2' });
      expect(await store.create(first)).toBe(true);
      expect(await store.create(second)).toBe(true);
      const keys = await inspector.keys(`${keyPrefix}:*`);
      // The account's hash, and two claims a link (its identity's, its id's).
      expect(keys).toHaveLength(5);
      const accounts = keys.filter((key) => key.endsWith(':a'));
      expect(accounts).toHaveLength(1);
      expect(await inspector.type(accounts[0]!)).toBe('hash');
      expect(
        keys.some(
          (key) =>
            key.includes('user') || key.includes('subj') || key.includes('corpsso') || key.includes(first.id) || key.includes(second.id),
        ),
      ).toBe(false);
      // Bounded names: the prefix, a digest and a few characters.
      expect(Math.max(...keys.map((key) => key.length))).toBeLessThan(keyPrefix.length + 60);
      // Nothing expires: a link lives until it is removed.
      for (const key of keys) expect(await inspector.pttl(key)).toBe(-1);
      expect(await store.remove(userId, first.id)).toBe(true);
      expect(await inspector.keys(`${keyPrefix}:*`)).toHaveLength(3);
      expect(await store.remove(userId, second.id)).toBe(true);
      expect(await inspector.keys(`${keyPrefix}:*`)).toEqual([]);
    } finally {
      inspector.disconnect();
      await store.onModuleDestroy();
    }
  });

  it('takes over a claim no link holds (an outage mid-removal) once it is five minutes old on its clock, and never a live one', async () => {
    const keyPrefix = prefix();
    const clock = new FakeClock(0);
    const store = new RedisIdentityStore({ url: redis.url, keyPrefix, clock: clock.now });
    const inspector = new Redis(redis.url);
    try {
      const owner = `owner-${randomBytes(4).toString('hex')}`;
      const live = identity(owner);
      const lost = identity(owner);
      expect(await store.create(live)).toBe(true);
      expect(await store.create(lost)).toBe(true);
      // The removal took the link out of its account, then Redis failed: its claims are left.
      const [account] = await inspector.keys(`${keyPrefix}:*:a`);
      const fields = Object.keys(await inspector.hgetall(account!));
      const lostFields = [];
      for (const field of fields) {
        if (field.startsWith('d:') && (await inspector.hget(account!, field))!.includes(lost.id)) {
          const tag = field.slice(2);
          lostFields.push(...['v', 'd', 'm', 'p'].map((name) => `${name}:${tag}`));
        }
      }
      expect(await inspector.hdel(account!, ...lostFields)).toBe(3);
      expect(await inspector.keys(`${keyPrefix}:*`)).toHaveLength(5);
      expect(await store.find(lost.provider, lost.subject)).toBeNull();
      expect(await store.recordUse(lost.provider, lost.subject, use(1))).toBe(false);
      const thief = `thief-${randomBytes(4).toString('hex')}`;
      const again = identity(thief, { subject: lost.subject });
      // Fresh: it may be a link still being made.
      expect(await store.create(again)).toBe(false);
      clock.advance(299);
      expect(await store.create(again)).toBe(false);
      clock.advance(1);
      // A live link's claims are never taken over, however old.
      expect(await store.create(identity(thief, { subject: live.subject }))).toBe(false);
      expect(await store.create(identity(thief, { id: live.id }))).toBe(false);
      const takers = await Promise.all(
        Array.from({ length: 6 }, (_, index) => store.create(index === 0 ? again : identity(`taker-${index}`, { subject: lost.subject }))),
      );
      expect(takers.filter(Boolean)).toHaveLength(1);
      const taker = await store.find(lost.provider, lost.subject);
      expect(taker?.subject).toBe(lost.subject);
      expect(taker?.userId).not.toBe(owner);
      expect(await store.listByUser(owner)).toEqual([live]);
      expect(await store.find(live.provider, live.subject)).toEqual(live);
      // The stale id claim of the lost link: taken over by a link of that id.
      expect(await store.create(identity(thief, { id: lost.id }))).toBe(true);
    } finally {
      inspector.disconnect();
      await store.onModuleDestroy();
    }
  });

  it('undoes its claims when the id is taken, and reads nothing from keys it did not write', async () => {
    const keyPrefix = prefix();
    const store = new RedisIdentityStore({ url: redis.url, keyPrefix });
    const inspector = new Redis(redis.url);
    try {
      const stored = identity(`user-${randomBytes(4).toString('hex')}`);
      expect(await store.create(stored)).toBe(true);
      const refused = identity(`other-${randomBytes(4).toString('hex')}`, { id: stored.id });
      expect(await store.create(refused)).toBe(false);
      // Only the stored link's claims and account: the refused one's identity claim released.
      expect(await inspector.keys(`${keyPrefix}:*`)).toHaveLength(3);
      expect(await store.create({ ...refused, id: randomBytes(16).toString('base64url') })).toBe(true);
      // A claim this store did not write, and an account hash with foreign fields, answer nothing.
      const claims = (await inspector.keys(`${keyPrefix}:oi:s:*`)).sort();
      expect(claims).toHaveLength(2);
      await inspector.set(claims[0]!, 'not a claim');
      await inspector.set(claims[1]!, 'a.b.c.0.d');
      const found = await Promise.all([store.find(stored.provider, stored.subject), store.find(refused.provider, refused.subject)]);
      expect(found).toEqual([null, null]);
      expect(await store.recordUse(stored.provider, stored.subject, use(1))).toBe(false);
      const [account] = await inspector.keys(`${keyPrefix}:*:a`);
      await inspector.hset(account!, 'v:x', 'y', 'd:x', '{not json', 'm:x', '{}', 'v:z', 'y', 'd:z', 'null', 'm:z', 'null');
      expect(await store.listByUser(stored.userId)).toEqual([stored]);
    } finally {
      inspector.disconnect();
      await store.onModuleDestroy();
    }
  });

  it('keeps sealed tokens in a field of their own, only while there are some; a link written without one has none', async () => {
    const keyPrefix = prefix();
    const store = new RedisIdentityStore({ url: redis.url, keyPrefix });
    const inspector = new Redis(redis.url);
    try {
      // Any string reads back exactly, lone surrogates too (the field holds its JSON).
      const tokens = `v1.${randomBytes(8).toString('base64url')}.\ud800"\\`;
      const stored = identity(`user-${randomBytes(4).toString('hex')}`, { providerTokens: tokens });
      expect(await store.create(stored)).toBe(true);
      const [account] = await inspector.keys(`${keyPrefix}:*:a`);
      const fieldNames = async (): Promise<string[]> =>
        Object.keys(await inspector.hgetall(account!))
          .map((field) => field.slice(0, 2))
          .sort();
      expect(await fieldNames()).toEqual(['d:', 'm:', 'p:', 'v:']);
      expect(await store.find(stored.provider, stored.subject)).toEqual(stored);
      // A use without tokens leaves the field alone; null takes it out.
      expect(await store.recordUse(stored.provider, stored.subject, use(3))).toBe(true);
      expect((await store.find(stored.provider, stored.subject))?.providerTokens).toBe(tokens);
      expect(await store.setProviderTokens(stored.provider, stored.subject, null)).toBe(true);
      expect(await fieldNames()).toEqual(['d:', 'm:', 'v:']);
      expect(await store.setProviderTokens(stored.provider, stored.subject, '')).toBe(true);
      expect((await store.find(stored.provider, stored.subject))?.providerTokens).toBe('');
      // A link as the store wrote it before the field existed: v, d and m only. No tokens, and a use
      // that carries some sets them.
      const [tokensField] = Object.keys(await inspector.hgetall(account!)).filter((field) => field.startsWith('p:'));
      await inspector.hdel(account!, tokensField!);
      expect(await store.find(stored.provider, stored.subject)).toEqual({ ...stored, ...used(3), providerTokens: null });
      expect(await store.listByUser(stored.userId)).toEqual([{ ...stored, ...used(3), providerTokens: null }]);
      expect(await store.recordUse(stored.provider, stored.subject, { ...use(4), providerTokens: 'v1.new' })).toBe(true);
      expect(await store.find(stored.provider, stored.subject)).toEqual({ ...stored, ...used(4), providerTokens: 'v1.new' });
      // A value it did not write: no tokens, the link still there.
      await inspector.hset(account!, tokensField!, '{not json');
      expect(await store.find(stored.provider, stored.subject)).toEqual({ ...stored, ...used(4), providerTokens: null });
      await inspector.hset(account!, tokensField!, '42');
      expect(await store.listByUser(stored.userId)).toEqual([{ ...stored, ...used(4), providerTokens: null }]);
      // A field left by a lost removal of an earlier link of that id does not come back with it.
      expect(await store.remove(stored.userId, stored.id)).toBe(true);
      expect(await inspector.keys(`${keyPrefix}:*`)).toEqual([]);
      await inspector.hset(account!, tokensField!, JSON.stringify('v1.left'));
      expect(await store.create(stored)).toBe(true);
      expect(await store.find(stored.provider, stored.subject)).toEqual(stored);
      expect(await store.setProviderTokens(stored.provider, stored.subject, null)).toBe(true);
      expect(await store.remove(stored.userId, stored.id)).toBe(true);
      await inspector.hset(account!, tokensField!, JSON.stringify('v1.left'));
      expect(await store.create({ ...stored, providerTokens: null })).toBe(true);
      expect((await store.find(stored.provider, stored.subject))?.providerTokens).toBeNull();
    } finally {
      inspector.disconnect();
      await store.onModuleDestroy();
    }
  });

  it('keeps accounts and subjects with awkward ids apart, and checks what it is given', async () => {
    const store = new RedisIdentityStore({ url: redis.url, keyPrefix: prefix() });
    try {
      const stored = awkwardIds.map((userId) => identity(userId, { subject: userId }));
      for (const one of stored) expect(await store.create(one)).toBe(true);
      for (const one of stored) {
        expect(await store.listByUser(one.userId)).toEqual([one]);
        expect(await store.find(one.provider, one.subject)).toEqual(one);
      }
      // A provider and subject that would run together if concatenated: another identity.
      const joined = identity('joined', { provider: 'a', subject: 'bc' });
      expect(await store.create(joined)).toBe(true);
      expect(await store.create(identity('joined', { provider: 'ab', subject: 'c' }))).toBe(true);
      expect(await store.find('a', 'bc')).toEqual(joined);
      await expect(store.listByUser('')).rejects.toBeInstanceOf(TypeError);
      for (const fields of [
        { userId: '' },
        { id: '' },
        { provider: '' },
        { provider: 'Google' },
        { provider: 'p'.repeat(65) },
        { subject: '' },
        { email: 5 as never },
        { emailVerified: 'yes' as never },
        { createdAt: 1.5 },
        { lastUsedAt: Number.NaN },
        { providerTokens: 't'.repeat(16_385) },
        { providerTokens: 5 as never },
      ]) {
        await expect(store.create(identity('someone', fields))).rejects.toBeInstanceOf(TypeError);
      }
      await expect(store.recordUse('google', stored[0]!.subject, { email: null, emailVerified: true, usedAt: 1.5 })).rejects.toBeInstanceOf(
        TypeError,
      );
      await expect(
        store.recordUse('google', stored[0]!.subject, { email: 1 as never, emailVerified: true, usedAt: 1 }),
      ).rejects.toBeInstanceOf(TypeError);
      await expect(store.recordUse('google', stored[0]!.subject, { ...use(1), providerTokens: 't'.repeat(16_385) })).rejects.toBeInstanceOf(
        TypeError,
      );
      await expect(store.recordUse('google', stored[0]!.subject, { ...use(1), providerTokens: {} as never })).rejects.toBeInstanceOf(
        TypeError,
      );
      await expect(store.setProviderTokens('google', stored[0]!.subject, 't'.repeat(16_385))).rejects.toBeInstanceOf(TypeError);
      await expect(store.setProviderTokens('google', stored[0]!.subject, undefined as never)).rejects.toBeInstanceOf(TypeError);
      // Nothing of a refused write was kept.
      expect(await store.find('google', stored[0]!.subject)).toEqual(stored[0]);
      // A link handed over without the field (a caller built before it existed) keeps no tokens.
      const { providerTokens: _left, ...withoutTokens } = identity('someone');
      expect(await store.create(withoutTokens as LinkedIdentity)).toBe(true);
      expect(await store.find(withoutTokens.provider, withoutTokens.subject)).toEqual({ ...withoutTokens, providerTokens: null });
      expect(await store.find('google', '')).toBeNull();
      expect(await store.find('', stored[0]!.subject)).toBeNull();
      expect(await store.recordUse('Not a provider', stored[0]!.subject, use(1))).toBe(false);
      expect(await store.setProviderTokens('Not a provider', stored[0]!.subject, 'v1.x')).toBe(false);
      expect(await store.setProviderTokens('google', '', 'v1.x')).toBe(false);
      expect(await store.remove('someone', '')).toBe(false);
    } finally {
      await store.onModuleDestroy();
    }
  });

  it('shares links between two store instances (two app instances): one of their links wins', async () => {
    const keyPrefix = prefix();
    const [a, b] = [0, 1].map(() => new RedisIdentityStore({ url: redis.url, keyPrefix })) as [RedisIdentityStore, RedisIdentityStore];
    try {
      const subject = randomBytes(12).toString('hex');
      const created = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).create(identity(`user-${i}`, { subject }))));
      expect(created.filter(Boolean)).toHaveLength(1);
      const owner = `user-${created.indexOf(true)}`;
      expect(await a.recordUse('google', subject, use(42))).toBe(true);
      expect(await b.find('google', subject)).toMatchObject({ userId: owner, email: 'used@example.com', lastUsedAt: 42 });
      expect(await b.setProviderTokens('google', subject, 'v1.shared')).toBe(true);
      expect(await a.find('google', subject)).toMatchObject({ userId: owner, providerTokens: 'v1.shared' });
      const [link] = await a.listByUser(owner);
      expect(await b.remove(owner, link!.id)).toBe(true);
      expect(await a.find('google', subject)).toBeNull();
    } finally {
      await Promise.all([a.onModuleDestroy(), b.onModuleDestroy()]);
    }
  });

  it('fails closed and fast when Redis is unreachable', async () => {
    const store = new RedisIdentityStore({ url: 'redis://127.0.0.1:1', commandTimeoutMs: 200 });
    try {
      const started = Date.now();
      const one = identity('someone');
      await expect(store.create(one)).rejects.toBeInstanceOf(StoreUnavailableError);
      await expect(store.find(one.provider, one.subject)).rejects.toBeInstanceOf(StoreUnavailableError);
      await expect(store.listByUser('someone')).rejects.toBeInstanceOf(StoreUnavailableError);
      await expect(store.recordUse(one.provider, one.subject, use(1))).rejects.toBeInstanceOf(StoreUnavailableError);
      await expect(store.setProviderTokens(one.provider, one.subject, 'v1.x')).rejects.toBeInstanceOf(StoreUnavailableError);
      await expect(store.remove('someone', one.id)).rejects.toBeInstanceOf(StoreUnavailableError);
      expect(await store.ping()).toBe(false);
      expect(Date.now() - started).toBeLessThan(5000);
    } finally {
      await store.onModuleDestroy();
    }
  });

  it('answers ping, and checks its options', async () => {
    const store = new RedisIdentityStore({ url: redis.url, keyPrefix: prefix() });
    try {
      expect(await store.ping()).toBe(true);
    } finally {
      await store.onModuleDestroy();
    }
    expect(() => new RedisIdentityStore({})).toThrow(TypeError);
    expect(() => new RedisIdentityStore({ url: redis.url, keyPrefix: 'bad prefix!' })).toThrow(/keyPrefix/);
    const prefixed = new Redis(redis.url, { keyPrefix: 'x:', lazyConnect: true });
    expect(() => new RedisIdentityStore({ client: prefixed })).toThrow(/keyPrefix/);
    prefixed.disconnect();
  });
});

// The same contract on an ioredis Cluster client over a real 6-node Cluster: each script names one
// key, and a link's claims and account sit in different slots, which it never spans.
describe('RedisIdentityStore on a Redis Cluster', () => {
  let cluster: TestCluster;
  let client: Cluster;

  beforeAll(async () => {
    cluster = await startTestCluster();
    client = failFastClusterClient(cluster);
  }, 60_000);

  afterAll(async () => {
    client?.disconnect();
    await cluster?.stop();
  });

  describeIdentityStoreContract('RedisIdentityStore on a Redis Cluster', () => new RedisIdentityStore({ client, keyPrefix: prefix() }), {
    teardown: (store) => (store as RedisIdentityStore).onModuleDestroy(),
  });

  it('runs every step of accounts and subjects that hold hash tags, its keys spread over the slots', async () => {
    const keyPrefix = prefix();
    const store = new RedisIdentityStore({ client, keyPrefix });
    try {
      const slots = new Set<number>();
      for (const userId of awkwardIds) {
        const stored = identity(userId, { subject: `{${userId}}` });
        expect(await store.create(stored)).toBe(true);
        expect(await store.create(identity(`other-${userId}`, { subject: stored.subject }))).toBe(false);
        expect(
          await store.recordUse(stored.provider, stored.subject, { email: null, emailVerified: false, usedAt: 7, providerTokens: 'v1.a' }),
        ).toBe(true);
        expect(await store.setProviderTokens(stored.provider, stored.subject, `v1.${userId}`)).toBe(true);
        const used = { ...stored, email: null, emailVerified: false, lastUsedAt: 7, providerTokens: `v1.${userId}` };
        expect(await store.listByUser(userId)).toEqual([used]);
        expect(await store.find(stored.provider, stored.subject)).toEqual(used);
        expect(await store.remove(userId, stored.id)).toBe(true);
        expect(await store.create(identity(`other-${userId}`, { subject: stored.subject }))).toBe(true);
        for (const master of await cluster.masters()) {
          const node = new Redis({ host: master.host, port: master.port, lazyConnect: true });
          try {
            for (const key of await node.keys(`${keyPrefix}:*`)) slots.add(calculateSlot(key));
          } finally {
            node.disconnect();
          }
        }
      }
      // Claims and accounts in many slots: nothing relied on their sharing one.
      expect(slots.size).toBeGreaterThan(3);
      expect(await store.ping()).toBe(true);
    } finally {
      await store.onModuleDestroy();
    }
  });
});
