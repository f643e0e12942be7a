import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import calculateSlot from 'cluster-key-slot';
import { Redis, type Cluster } from 'ioredis';
import { failFastClusterClient, startTestCluster, type TestCluster } from '../../../../test/utils/redis-cluster.js';
import { startTestRedis, type TestRedis } from '../../../../test/utils/redis-server.js';
import { StoreUnavailableError } from '../../auth.errors.js';
import { describeMfaStoreContract, FakeClock } from '../../testing/index.js';
import { RedisMfaStore } from './redis-mfa.store.js';

// Each test gets its own key prefix, so runs on a shared REDIS_URL never meet.
const prefix = (): string => `nw-mfa-${randomBytes(4).toString('hex')}`;
const sealed = (): string => `v1.k1.${randomBytes(12).toString('base64url')}.${randomBytes(20).toString('base64url')}.tag`;
const digests = (count = 10): string[] => Array.from({ length: count }, () => randomBytes(32).toString('base64url'));
// User ids a key must not be built from as they are: a Cluster hash tag, separators, a lone surrogate.
const awkwardIds = ['{tag}', 'a}b{c}', 'user:1:f', '\ud800', '\udbff', `ü-${'x'.repeat(250)}`];

describe('RedisMfaStore on standalone Redis', () => {
  let redis: TestRedis;

  beforeAll(async () => {
    redis = await startTestRedis();
  });

  afterAll(async () => {
    await redis?.stop();
  });

  describeMfaStoreContract('RedisMfaStore', ({ clock }) => new RedisMfaStore({ url: redis.url, keyPrefix: prefix(), clock: clock.now }), {
    teardown: (store) => (store as RedisMfaStore).onModuleDestroy(),
  });

  it("keeps one account's keys in one Cluster slot, names none by its user id, and leaves none behind", async () => {
    const keyPrefix = prefix();
    const clock = new FakeClock(Date.now());
    const store = new RedisMfaStore({ url: redis.url, keyPrefix, clock: clock.now });
    const inspector = new Redis(redis.url);
    try {
      const userId = `{user}-${randomBytes(4).toString('hex')}`;
      const secret = sealed();
      await store.savePendingTotp(userId, { secret, expiresAt: clock.date(600) });
      expect(await store.enableTotp(userId, secret, digests(), clock.date())).toBe(true);
      await store.savePendingTotp(userId, { secret: sealed(), expiresAt: clock.date(600) });
      const keys = await inspector.keys(`${keyPrefix}:*`);
      // The factor, the codes and the new pending setup.
      expect(keys).toHaveLength(3);
      expect(new Set(keys.map((key) => calculateSlot(key))).size).toBe(1);
      expect(keys.some((key) => key.includes('user'))).toBe(false);
      // The factor and its codes stay until TOTP is off; the pending setup has a TTL.
      const ttls = Object.fromEntries(await Promise.all(keys.map(async (key) => [key.slice(-1), await inspector.pttl(key)] as const)));
      expect(ttls.f).toBe(-1);
      expect(ttls.r).toBe(-1);
      expect(ttls.p).toBeGreaterThan(600_000);
      expect(ttls.p).toBeLessThanOrEqual(660_000);
      expect(await store.disableTotp(userId)).toBe(true);
      expect(await inspector.keys(`${keyPrefix}:*`)).toEqual([]);
    } finally {
      inspector.disconnect();
      await store.onModuleDestroy();
    }
  });

  it('times a pending setup on its own clock: a fake clock far from the wall clock drops nothing early', async () => {
    const inspector = new Redis(redis.url);
    const stores: RedisMfaStore[] = [];
    try {
      for (const clock of [new FakeClock(0), new FakeClock()]) {
        const keyPrefix = prefix();
        const store = new RedisMfaStore({ url: redis.url, keyPrefix, clock: clock.now });
        stores.push(store);
        const userId = `user-${randomBytes(4).toString('hex')}`;
        const pending = { secret: sealed(), expiresAt: clock.date(300) };
        await store.savePendingTotp(userId, pending);
        const [key] = await inspector.keys(`${keyPrefix}:*`);
        expect(await inspector.pttl(key!)).toBeGreaterThan(300_000);
        clock.advance(299);
        expect((await store.find(userId)).pendingTotp).toEqual(pending);
        clock.advance(1);
        expect((await store.find(userId)).pendingTotp).toBeNull();
        expect(await store.enableTotp(userId, pending.secret, digests(), clock.date(-1))).toBe(true);
      }
    } finally {
      inspector.disconnect();
      await Promise.all(stores.map((store) => store.onModuleDestroy()));
    }
  });

  it("keeps used marks in the account's slot, timed on its own clock, named by no marker, through turning TOTP off", async () => {
    const inspector = new Redis(redis.url);
    const stores: RedisMfaStore[] = [];
    try {
      // A fake clock far behind the wall clock, and the wall clock's own instant.
      for (const clock of [new FakeClock(0), new FakeClock()]) {
        const keyPrefix = prefix();
        const store = new RedisMfaStore({ url: redis.url, keyPrefix, clock: clock.now });
        stores.push(store);
        const userId = `{user}-${randomBytes(4).toString('hex')}`;
        const secret = sealed();
        await store.savePendingTotp(userId, { secret, expiresAt: clock.date(600) });
        expect(await store.enableTotp(userId, secret, digests(), clock.date())).toBe(true);
        // Markers with a hash tag, separators, the longest allowed, and two only one character apart.
        const markers = ['totp:58000000', 'login:{jti}', `{${'m'.repeat(62)}}`, 'x:f', 'x:g'];
        for (const marker of markers) expect(await store.markUsed(userId, marker, clock.date(120))).toBe(true);
        for (const marker of markers) expect(await store.markUsed(userId, marker, clock.date(120))).toBe(false);
        const marks = (await inspector.keys(`${keyPrefix}:*`)).filter((key) => !/:[fr]$/.test(key));
        expect(marks).toHaveLength(markers.length);
        const factor = (await inspector.keys(`${keyPrefix}:*`)).find((key) => key.endsWith(':f'))!;
        expect(new Set([factor, ...marks].map((key) => calculateSlot(key))).size).toBe(1);
        expect(marks.some((key) => key.includes('totp') || key.includes('login') || key.includes('mmm'))).toBe(false);
        // Each mark's key goes a minute after its end on the store's clock, never before it.
        for (const key of marks) {
          const ttl = await inspector.pttl(key);
          expect(ttl).toBeGreaterThan(120_000);
          expect(ttl).toBeLessThanOrEqual(180_000);
        }
        expect(await store.disableTotp(userId)).toBe(true);
        expect(await inspector.keys(`${keyPrefix}:*`)).toHaveLength(markers.length);
        expect(await store.markUsed(userId, markers[0]!, clock.date(120))).toBe(false);
        clock.advance(120);
        expect(await store.markUsed(userId, markers[0]!, clock.date(120))).toBe(true);
        await expect(store.markUsed(userId, 'totp:1', new Date(NaN))).rejects.toBeInstanceOf(TypeError);
        await expect(store.markUsed('', 'totp:1', clock.date(120))).rejects.toBeInstanceOf(TypeError);
      }
    } finally {
      inspector.disconnect();
      await Promise.all(stores.map((store) => store.onModuleDestroy()));
    }
  });

  it('keeps accounts with awkward user ids apart', async () => {
    const store = new RedisMfaStore({ url: redis.url, keyPrefix: prefix() });
    try {
      const secrets = awkwardIds.map(() => sealed());
      for (const [index, userId] of awkwardIds.entries()) {
        await store.savePendingTotp(userId, { secret: secrets[index]!, expiresAt: new Date(Date.now() + 600_000) });
        expect(await store.enableTotp(userId, secrets[index]!, digests(index + 1), new Date())).toBe(true);
      }
      for (const [index, userId] of awkwardIds.entries()) {
        const state = await store.find(userId);
        expect(state.totp?.secret).toBe(secrets[index]);
        expect(state.recoveryCodesLeft).toBe(index + 1);
      }
      await expect(store.find('')).rejects.toBeInstanceOf(TypeError);
    } finally {
      await store.onModuleDestroy();
    }
  });

  it('shares factors between two store instances (two app instances): one of their confirmations wins', async () => {
    const keyPrefix = prefix();
    const [a, b] = [0, 1].map(() => new RedisMfaStore({ url: redis.url, keyPrefix })) as [RedisMfaStore, RedisMfaStore];
    try {
      const userId = `user-${randomBytes(4).toString('hex')}`;
      const secret = sealed();
      const codes = digests();
      await a.savePendingTotp(userId, { secret, expiresAt: new Date(Date.now() + 600_000) });
      const enables = await Promise.all(
        Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).enableTotp(userId, secret, codes, new Date())),
      );
      expect(enables.filter(Boolean)).toHaveLength(1);
      const uses = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).useRecoveryCode(userId, codes[0]!)));
      expect(uses.filter(Boolean)).toHaveLength(1);
      expect((await b.find(userId)).recoveryCodesLeft).toBe(9);
    } finally {
      await Promise.all([a.onModuleDestroy(), b.onModuleDestroy()]);
    }
  });

  it('fails closed and fast when Redis is unreachable', async () => {
    const store = new RedisMfaStore({ url: 'redis://127.0.0.1:1', commandTimeoutMs: 200 });
    try {
      const started = Date.now();
      const inAMinute = new Date(Date.now() + 60_000);
      await expect(store.find('someone')).rejects.toBeInstanceOf(StoreUnavailableError);
      await expect(store.savePendingTotp('someone', { secret: sealed(), expiresAt: inAMinute })).rejects.toBeInstanceOf(
        StoreUnavailableError,
      );
      await expect(store.enableTotp('someone', sealed(), digests(), new Date())).rejects.toBeInstanceOf(StoreUnavailableError);
      await expect(store.disableTotp('someone')).rejects.toBeInstanceOf(StoreUnavailableError);
      await expect(store.replaceRecoveryCodes('someone', digests())).rejects.toBeInstanceOf(StoreUnavailableError);
      await expect(store.useRecoveryCode('someone', 'digest')).rejects.toBeInstanceOf(StoreUnavailableError);
      await expect(store.resealTotp('someone', sealed(), sealed())).rejects.toBeInstanceOf(StoreUnavailableError);
      await expect(store.markUsed('someone', 'totp:1', inAMinute)).rejects.toBeInstanceOf(StoreUnavailableError);
      expect(await store.ping()).toBe(false);
      expect(Date.now() - started).toBeLessThan(5000);
    } finally {
      await store.onModuleDestroy();
    }
  });

  it('answers ping, and checks its options', async () => {
    const store = new RedisMfaStore({ url: redis.url, keyPrefix: prefix() });
    try {
      expect(await store.ping()).toBe(true);
    } finally {
      await store.onModuleDestroy();
    }
    expect(() => new RedisMfaStore({})).toThrow(TypeError);
    expect(() => new RedisMfaStore({ url: redis.url, keyPrefix: 'bad prefix!' })).toThrow(/keyPrefix/);
    const prefixed = new Redis(redis.url, { keyPrefix: 'x:', lazyConnect: true });
    expect(() => new RedisMfaStore({ client: prefixed })).toThrow(/keyPrefix/);
    prefixed.disconnect();
  });
});

// The same contract on an ioredis Cluster client over a real 6-node Cluster: every script names
// keys of one account only, which a Cluster refuses (CROSSSLOT) unless they share a slot.
describe('RedisMfaStore on a Redis Cluster', () => {
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

  describeMfaStoreContract(
    'RedisMfaStore on a Redis Cluster',
    ({ clock }) => new RedisMfaStore({ client, keyPrefix: prefix(), clock: clock.now }),
    {
      teardown: (store) => (store as RedisMfaStore).onModuleDestroy(),
    },
  );

  it('runs every step of accounts whose ids hold hash tags', async () => {
    const store = new RedisMfaStore({ client, keyPrefix: prefix() });
    try {
      for (const userId of awkwardIds) {
        const secret = sealed();
        const codes = digests(3);
        await store.savePendingTotp(userId, { secret, expiresAt: new Date(Date.now() + 600_000) });
        expect(await store.enableTotp(userId, secret, codes, new Date())).toBe(true);
        expect(await store.useRecoveryCode(userId, codes[0]!)).toBe(true);
        expect(await store.replaceRecoveryCodes(userId, digests(5))).toBe(true);
        const next = sealed();
        expect(await store.resealTotp(userId, secret, next)).toBe(true);
        expect(await store.find(userId)).toMatchObject({ totp: { secret: next }, pendingTotp: null, recoveryCodesLeft: 5 });
        expect(await store.markUsed(userId, 'login:{jti}', new Date(Date.now() + 60_000))).toBe(true);
        expect(await store.disableTotp(userId)).toBe(true);
        expect(await store.markUsed(userId, 'login:{jti}', new Date(Date.now() + 60_000))).toBe(false);
      }
      expect(await store.ping()).toBe(true);
    } finally {
      await store.onModuleDestroy();
    }
  });
});
