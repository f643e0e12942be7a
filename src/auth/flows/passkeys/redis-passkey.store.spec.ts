import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import calculateSlot from 'cluster-key-slot';
import { Redis, type Cluster } from 'ioredis';
import { failFastClusterClient, startTestCluster, type TestCluster } from '../../../../test/utils/redis-cluster.js';
import { startTestRedis, type TestRedis } from '../../../../test/utils/redis-server.js';
import { StoreUnavailableError } from '../../auth.errors.js';
import { describePasskeyStoreContract, FakeClock } from '../../testing/index.js';
import type { Passkey } from './passkey-store.js';
import { RedisPasskeyStore } from './redis-passkey.store.js';

// Each test gets its own key prefix, so runs on a shared REDIS_URL never meet.
const prefix = (): string => `nw-pk-${randomBytes(4).toString('hex')}`;
// User ids a key must not be built from as they are: a Cluster hash tag, separators, a lone surrogate.
const awkwardIds = ['{tag}', 'a}b{c}', 'user:1:a', '\ud800', '\udbff', `ü-${'x'.repeat(250)}`];
let at = Date.UTC(2030, 0, 1);
const passkey = (userId: string, overrides: Partial<Passkey> = {}): Passkey => ({
  id: randomBytes(16).toString('base64url'),
  userId,
  credentialId: randomBytes(32).toString('base64url'),
  publicKey: randomBytes(77).toString('base64url'),
  counter: 0,
  transports: ['internal'],
  deviceType: 'multiDevice',
  backedUp: true,
  name: 'Laptop',
  createdAt: (at += 1),
  lastUsedAt: null,
  ...overrides,
});

describe('RedisPasskeyStore on standalone Redis', () => {
  let redis: TestRedis;

  beforeAll(async () => {
    redis = await startTestRedis();
  });

  afterAll(async () => {
    await redis?.stop();
  });

  describePasskeyStoreContract('RedisPasskeyStore', () => new RedisPasskeyStore({ url: redis.url, keyPrefix: prefix() }), {
    teardown: (store) => (store as RedisPasskeyStore).onModuleDestroy(),
  });

  it("keeps an account's passkeys in one key, names no key by a user id, id or credential id, and leaves none behind", async () => {
    const keyPrefix = prefix();
    const store = new RedisPasskeyStore({ url: redis.url, keyPrefix });
    const inspector = new Redis(redis.url);
    try {
      const userId = `{user}-${randomBytes(4).toString('hex')}`;
      const first = passkey(userId, { credentialId: `cred${randomBytes(1020).toString('base64url')}` });
      const second = passkey(userId);
      expect(await store.create(first)).toBe(true);
      expect(await store.create(second)).toBe(true);
      const keys = await inspector.keys(`${keyPrefix}:*`);
      // The account's hash, and two claims a passkey (its credential id's, its id's).
      expect(keys).toHaveLength(5);
      const accounts = keys.filter((key) => key.endsWith(':a'));
      expect(accounts).toHaveLength(1);
      expect(await inspector.type(accounts[0]!)).toBe('hash');
      expect(keys.some((key) => key.includes('user') || key.includes('cred') || key.includes(first.id) || key.includes(second.id))).toBe(
        false,
      );
      // Bounded names: the prefix, a digest and a few characters.
      expect(Math.max(...keys.map((key) => key.length))).toBeLessThan(keyPrefix.length + 60);
      // Nothing expires: a passkey lives until it is removed.
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

  it('takes over a claim no passkey holds (an outage mid-removal) once it is five minutes old on its clock, and never a live one', async () => {
    const keyPrefix = prefix();
    const clock = new FakeClock(0);
    const store = new RedisPasskeyStore({ url: redis.url, keyPrefix, clock: clock.now });
    const inspector = new Redis(redis.url);
    try {
      const owner = `owner-${randomBytes(4).toString('hex')}`;
      const live = passkey(owner);
      const lost = passkey(owner);
      expect(await store.create(live)).toBe(true);
      expect(await store.create(lost)).toBe(true);
      // The removal took the passkey out of its account, then Redis failed: its claims are left.
      const [account] = await inspector.keys(`${keyPrefix}:*:a`);
      const fields = Object.keys(await inspector.hgetall(account!));
      const lostFields = [];
      for (const field of fields) {
        if (field.startsWith('d:') && (await inspector.hget(account!, field))!.includes(lost.id)) {
          const tag = field.slice(2);
          lostFields.push(...['v', 'd', 'n', 'c', 'b', 'u'].map((name) => `${name}:${tag}`));
        }
      }
      expect(await inspector.hdel(account!, ...lostFields)).toBe(5);
      expect(await inspector.keys(`${keyPrefix}:*`)).toHaveLength(5);
      expect(await store.findByCredentialId(lost.credentialId)).toBeNull();
      expect(await store.recordUse(lost.credentialId, 0, { counter: 1, backedUp: true, usedAt: 1 })).toBe(false);
      const thief = `thief-${randomBytes(4).toString('hex')}`;
      const again = passkey(thief, { credentialId: lost.credentialId });
      // Fresh: it may be a registration still running.
      expect(await store.create(again)).toBe(false);
      clock.advance(299);
      expect(await store.create(again)).toBe(false);
      clock.advance(1);
      // A live passkey's claims are never taken over, however old.
      expect(await store.create(passkey(thief, { credentialId: live.credentialId }))).toBe(false);
      expect(await store.create(passkey(thief, { id: live.id }))).toBe(false);
      const takers = await Promise.all(
        Array.from({ length: 6 }, (_, index) =>
          store.create(index === 0 ? again : passkey(`taker-${index}`, { credentialId: lost.credentialId })),
        ),
      );
      expect(takers.filter(Boolean)).toHaveLength(1);
      const taker = await store.findByCredentialId(lost.credentialId);
      expect(taker?.credentialId).toBe(lost.credentialId);
      expect(await store.listByUser(owner)).toEqual([live]);
      expect(await store.findByCredentialId(live.credentialId)).toEqual(live);
      // The stale id claim of the lost passkey: taken over by a registration of that id.
      expect(await store.create(passkey(thief, { id: lost.id }))).toBe(true);
    } finally {
      inspector.disconnect();
      await store.onModuleDestroy();
    }
  });

  it('undoes its claims when the id is taken, and reads nothing from keys it did not write', async () => {
    const keyPrefix = prefix();
    const store = new RedisPasskeyStore({ url: redis.url, keyPrefix });
    const inspector = new Redis(redis.url);
    try {
      const stored = passkey(`user-${randomBytes(4).toString('hex')}`);
      expect(await store.create(stored)).toBe(true);
      const refused = passkey(`other-${randomBytes(4).toString('hex')}`, { id: stored.id });
      expect(await store.create(refused)).toBe(false);
      // Only the stored passkey's claims and account: the refused one's credential claim released.
      expect(await inspector.keys(`${keyPrefix}:*`)).toHaveLength(3);
      expect(await store.create({ ...refused, id: randomBytes(16).toString('base64url') })).toBe(true);
      // A claim this store did not write, and an account hash with foreign fields, answer nothing.
      const claims = (await inspector.keys(`${keyPrefix}:pk:c:*`)).sort();
      await inspector.set(claims[0]!, 'not a claim');
      await inspector.set(claims[1]!, 'a.b.c.0.d');
      const found = await Promise.all([store.findByCredentialId(stored.credentialId), store.findByCredentialId(refused.credentialId)]);
      expect(found).toEqual([null, null]);
      const [account] = await inspector.keys(`${keyPrefix}:*:a`);
      await inspector.hset(account!, 'v:x', 'y', 'd:x', '{not json', 'n:x', 'n', 'c:x', '0', 'b:x', '1');
      expect(await store.listByUser(stored.userId)).toEqual([stored]);
    } finally {
      inspector.disconnect();
      await store.onModuleDestroy();
    }
  });

  it('keeps accounts with awkward user ids apart, and checks what it is given', async () => {
    const store = new RedisPasskeyStore({ url: redis.url, keyPrefix: prefix() });
    try {
      const stored = awkwardIds.map((userId) => passkey(userId));
      for (const one of stored) expect(await store.create(one)).toBe(true);
      for (const one of stored) {
        expect(await store.listByUser(one.userId)).toEqual([one]);
        expect(await store.findByCredentialId(one.credentialId)).toEqual(one);
      }
      await expect(store.listByUser('')).rejects.toBeInstanceOf(TypeError);
      await expect(store.create(passkey('someone', { counter: -1 }))).rejects.toBeInstanceOf(TypeError);
      await expect(store.create(passkey('someone', { deviceType: 'other' as never }))).rejects.toBeInstanceOf(TypeError);
      await expect(store.create(passkey(''))).rejects.toBeInstanceOf(TypeError);
      await expect(store.recordUse(stored[0]!.credentialId, 0, { counter: 1.5, backedUp: true, usedAt: 1 })).rejects.toBeInstanceOf(
        TypeError,
      );
      expect(await store.recordUse(stored[0]!.credentialId, -1, { counter: 1, backedUp: true, usedAt: 1 })).toBe(false);
      expect(await store.findByCredentialId('')).toBeNull();
    } finally {
      await store.onModuleDestroy();
    }
  });

  it('shares passkeys between two store instances (two app instances): one of their registrations and uses wins', async () => {
    const keyPrefix = prefix();
    const [a, b] = [0, 1].map(() => new RedisPasskeyStore({ url: redis.url, keyPrefix })) as [RedisPasskeyStore, RedisPasskeyStore];
    try {
      const credentialId = randomBytes(32).toString('base64url');
      const created = await Promise.all(
        Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).create(passkey(`user-${i}`, { credentialId, counter: 1 }))),
      );
      expect(created.filter(Boolean)).toHaveLength(1);
      const used = await Promise.all(
        Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).recordUse(credentialId, 1, { counter: 2 + i, backedUp: true, usedAt: i })),
      );
      expect(used.filter(Boolean)).toHaveLength(1);
      expect((await b.findByCredentialId(credentialId))?.counter).toBe(2 + used.indexOf(true));
    } finally {
      await Promise.all([a.onModuleDestroy(), b.onModuleDestroy()]);
    }
  });

  it('fails closed and fast when Redis is unreachable', async () => {
    const store = new RedisPasskeyStore({ url: 'redis://127.0.0.1:1', commandTimeoutMs: 200 });
    try {
      const started = Date.now();
      const one = passkey('someone');
      await expect(store.create(one)).rejects.toBeInstanceOf(StoreUnavailableError);
      await expect(store.findByCredentialId(one.credentialId)).rejects.toBeInstanceOf(StoreUnavailableError);
      await expect(store.listByUser('someone')).rejects.toBeInstanceOf(StoreUnavailableError);
      await expect(store.recordUse(one.credentialId, 0, { counter: 1, backedUp: true, usedAt: 1 })).rejects.toBeInstanceOf(
        StoreUnavailableError,
      );
      await expect(store.rename('someone', one.id, 'Phone')).rejects.toBeInstanceOf(StoreUnavailableError);
      await expect(store.remove('someone', one.id)).rejects.toBeInstanceOf(StoreUnavailableError);
      expect(await store.ping()).toBe(false);
      expect(Date.now() - started).toBeLessThan(5000);
    } finally {
      await store.onModuleDestroy();
    }
  });

  it('answers ping, and checks its options', async () => {
    const store = new RedisPasskeyStore({ url: redis.url, keyPrefix: prefix() });
    try {
      expect(await store.ping()).toBe(true);
    } finally {
      await store.onModuleDestroy();
    }
    expect(() => new RedisPasskeyStore({})).toThrow(TypeError);
    expect(() => new RedisPasskeyStore({ url: redis.url, keyPrefix: 'bad prefix!' })).toThrow(/keyPrefix/);
    const prefixed = new Redis(redis.url, { keyPrefix: 'x:', lazyConnect: true });
    expect(() => new RedisPasskeyStore({ client: prefixed })).toThrow(/keyPrefix/);
    prefixed.disconnect();
  });
});

// The same contract on an ioredis Cluster client over a real 6-node Cluster: each script names one
// key, and a registration's claims and account sit in different slots, which it never spans.
describe('RedisPasskeyStore on a Redis Cluster', () => {
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

  describePasskeyStoreContract('RedisPasskeyStore on a Redis Cluster', () => new RedisPasskeyStore({ client, keyPrefix: prefix() }), {
    teardown: (store) => (store as RedisPasskeyStore).onModuleDestroy(),
  });

  it('runs every step of accounts whose ids hold hash tags, its keys spread over the slots', async () => {
    const keyPrefix = prefix();
    const store = new RedisPasskeyStore({ client, keyPrefix });
    try {
      const slots = new Set<number>();
      for (const userId of awkwardIds) {
        const stored = passkey(userId, { counter: 5 });
        expect(await store.create(stored)).toBe(true);
        expect(await store.create(passkey(`other-${userId}`, { credentialId: stored.credentialId }))).toBe(false);
        expect(await store.recordUse(stored.credentialId, 5, { counter: 6, backedUp: false, usedAt: 7 })).toBe(true);
        expect(await store.rename(userId, stored.id, 'Key {1}')).toEqual({
          ...stored,
          counter: 6,
          backedUp: false,
          lastUsedAt: 7,
          name: 'Key {1}',
        });
        expect(await store.listByUser(userId)).toHaveLength(1);
        expect(await store.findByCredentialId(stored.credentialId)).toMatchObject({ id: stored.id, counter: 6 });
        expect(await store.remove(userId, stored.id)).toBe(true);
        expect(await store.create(passkey(`other-${userId}`, { credentialId: stored.credentialId }))).toBe(true);
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
