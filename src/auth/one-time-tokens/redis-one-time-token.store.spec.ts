import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis, type Cluster } from 'ioredis';
import { failFastClusterClient, startTestCluster, type TestCluster } from '../../../test/utils/redis-cluster.js';
import { startTestRedis, type TestRedis } from '../../../test/utils/redis-server.js';
import { StoreUnavailableError } from '../auth.errors.js';
import { describeOneTimeTokenStoreContract } from '../testing/index.js';
import type { OneTimeToken } from './one-time-token.store.js';
import { RedisOneTimeTokenStore } from './redis-one-time-token.store.js';

// Each test gets its own key prefix, so runs on a shared REDIS_URL never meet.
const prefix = (): string => `nw-ott-${randomBytes(4).toString('hex')}`;

const token = (fields: Partial<OneTimeToken> = {}): OneTimeToken => ({
  hash: createHash('sha256').update(randomBytes(32)).digest('hex'),
  purpose: 'password-reset',
  userId: `user-${randomBytes(4).toString('hex')}`,
  subject: 'alice@example.com',
  expiresAt: Date.now() + 3_600_000,
  ...fields,
});

describe('RedisOneTimeTokenStore on standalone Redis', () => {
  let redis: TestRedis;

  beforeAll(async () => {
    redis = await startTestRedis();
  });

  afterAll(async () => {
    await redis?.stop();
  });

  describeOneTimeTokenStoreContract(
    'RedisOneTimeTokenStore',
    ({ clock }) => new RedisOneTimeTokenStore({ url: redis.url, keyPrefix: prefix(), clock: clock.now }),
    { teardown: (store) => (store as RedisOneTimeTokenStore).onModuleDestroy(), realTime: true },
  );

  it('leaves no key behind: the token expires at expiresAt, its generation a minute after the last token saved under it', async () => {
    const keyPrefix = prefix();
    const store = new RedisOneTimeTokenStore({ url: redis.url, keyPrefix });
    const inspector = new Redis(redis.url);
    try {
      const long = token();
      const short = token({ userId: long.userId, expiresAt: Date.now() + 600_000 });
      await store.save(long, { replace: false });
      await store.save(short, { replace: false });
      const keys = await inspector.keys(`${keyPrefix}:*`);
      // Two tokens and the user's one generation; no key names the user.
      expect(keys).toHaveLength(3);
      expect(keys.some((key) => key.includes(long.userId))).toBe(false);
      const generationKey = keys.find((key) => key.includes(':og:'))!;
      expect(await inspector.pexpiretime(`${keyPrefix}:ot:${long.hash}`)).toBe(long.expiresAt);
      expect(await inspector.pexpiretime(`${keyPrefix}:ot:${short.hash}`)).toBe(short.expiresAt);
      // A shorter-lived token saved later does not shorten the generation.
      expect(await inspector.pexpiretime(generationKey)).toBe(long.expiresAt + 60_000);
      // Replacing starts a generation that lives as long as the token that replaced.
      const next = token({ userId: long.userId, expiresAt: Date.now() + 900_000 });
      await store.save(next, { replace: true });
      expect(await inspector.pexpiretime(generationKey)).toBe(next.expiresAt + 60_000);
      expect(await store.take(next.hash, ['password-reset'])).toEqual(next);
      expect(await inspector.exists(`${keyPrefix}:ot:${next.hash}`)).toBe(0);
      await store.revokeAll(long.userId, 'password-reset');
      expect(await inspector.exists(generationKey)).toBe(0);
    } finally {
      inspector.disconnect();
      await store.onModuleDestroy();
    }
  });

  it('voids the tokens of a generation that is gone (evicted, lost in a failover), never revives older ones', async () => {
    const keyPrefix = prefix();
    const store = new RedisOneTimeTokenStore({ url: redis.url, keyPrefix });
    const inspector = new Redis(redis.url);
    try {
      const first = token();
      await store.save(first, { replace: false });
      await inspector.del(...(await inspector.keys(`${keyPrefix}:og:*`)));
      expect(await store.take(first.hash, ['password-reset'])).toBeNull();
      // A token from before a revokeAll stays void once newer tokens are saved.
      const old = token({ userId: first.userId });
      await store.save(old, { replace: false });
      await store.revokeAll(first.userId, 'password-reset');
      const fresh = token({ userId: first.userId });
      await store.save(fresh, { replace: false });
      expect(await store.take(old.hash, ['password-reset'])).toBeNull();
      expect(await store.take(fresh.hash, ['password-reset'])).toEqual(fresh);
    } finally {
      inspector.disconnect();
      await store.onModuleDestroy();
    }
  });

  it('shares tokens between two store instances (two app instances), each taken once', async () => {
    const keyPrefix = prefix();
    const [a, b] = [0, 1].map(() => new RedisOneTimeTokenStore({ url: redis.url, keyPrefix })) as [
      RedisOneTimeTokenStore,
      RedisOneTimeTokenStore,
    ];
    try {
      const saved = token();
      await a.save(saved, { replace: false });
      const takes = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).take(saved.hash, ['password-reset'])));
      expect(takes.filter((taken) => taken !== null)).toEqual([saved]);
      const replaced = token({ userId: saved.userId });
      const replacing = token({ userId: saved.userId });
      await a.save(replaced, { replace: false });
      await b.save(replacing, { replace: true });
      expect(await a.take(replaced.hash, ['password-reset'])).toBeNull();
      expect(await a.take(replacing.hash, ['password-reset'])).toEqual(replacing);
    } finally {
      await Promise.all([a.onModuleDestroy(), b.onModuleDestroy()]);
    }
  });

  it('answers null for a hash that is not one, and refuses tokens no store could hold', async () => {
    const store = new RedisOneTimeTokenStore({ url: redis.url, keyPrefix: prefix() });
    try {
      for (const hash of ['', 'A'.repeat(64), 'x'.repeat(10_000), '{tag}', `${'0'.repeat(63)}\n`]) {
        expect(await store.take(hash, ['password-reset'])).toBeNull();
      }
      expect(await store.take(token().hash, [])).toBeNull();
      for (const fields of [
        { hash: 'not-a-hash' },
        { purpose: '' },
        { purpose: 'p'.repeat(65) },
        { userId: 'u'.repeat(513) },
        { userId: 'nul\u0000' },
        { subject: `lone \ud800` },
        { subject: 's'.repeat(1025) },
        { expiresAt: 1.5 },
      ]) {
        await expect(store.save(token(fields), { replace: false })).rejects.toBeInstanceOf(TypeError);
      }
    } finally {
      await store.onModuleDestroy();
    }
  });

  it('fails closed and fast when Redis is unreachable', async () => {
    const store = new RedisOneTimeTokenStore({ url: 'redis://127.0.0.1:1', commandTimeoutMs: 200 });
    try {
      const started = Date.now();
      await expect(store.save(token(), { replace: true })).rejects.toBeInstanceOf(StoreUnavailableError);
      await expect(store.take(token().hash, ['password-reset'])).rejects.toBeInstanceOf(StoreUnavailableError);
      await expect(store.revokeAll('someone', 'password-reset')).rejects.toBeInstanceOf(StoreUnavailableError);
      expect(Date.now() - started).toBeLessThan(5000);
    } finally {
      await store.onModuleDestroy();
    }
  });

  it('checks its options', () => {
    expect(() => new RedisOneTimeTokenStore({})).toThrow(TypeError);
    expect(() => new RedisOneTimeTokenStore({ url: redis.url, keyPrefix: 'bad prefix!' })).toThrow(/keyPrefix/);
    const prefixed = new Redis(redis.url, { keyPrefix: 'x:', lazyConnect: true });
    expect(() => new RedisOneTimeTokenStore({ client: prefixed })).toThrow(/keyPrefix/);
    prefixed.disconnect();
  });
});

// The same contract on an ioredis Cluster client over a real 6-node Cluster: a token and its
// generation sit in different slots, and no step needs both.
describe('RedisOneTimeTokenStore on a Redis Cluster', () => {
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

  describeOneTimeTokenStoreContract(
    'RedisOneTimeTokenStore on a Redis Cluster',
    ({ clock }) => new RedisOneTimeTokenStore({ client, keyPrefix: prefix(), clock: clock.now }),
    { teardown: (store) => (store as RedisOneTimeTokenStore).onModuleDestroy(), realTime: true },
  );
});
