import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startTestRedis, type TestRedis } from '../../../test/utils/redis-server.js';
import { describeThrottleStoreContract } from '../testing/index.js';
import { InMemoryThrottleStore } from './in-memory-throttle.store.js';
import { RedisThrottleStore } from './redis-throttle.store.js';

let redis: TestRedis;

beforeAll(async () => {
  redis = await startTestRedis();
});

afterAll(async () => {
  await redis?.stop();
});

describeThrottleStoreContract('InMemoryThrottleStore', ({ clock }) => new InMemoryThrottleStore({ clock: clock.now }), {
  teardown: (store) => (store as InMemoryThrottleStore).onModuleDestroy(),
});

describeThrottleStoreContract(
  'RedisThrottleStore',
  () => new RedisThrottleStore({ url: redis.url, keyPrefix: `nw-throttle-${randomBytes(4).toString('hex')}` }),
  { teardown: (store) => (store as RedisThrottleStore).onModuleDestroy(), realTime: true },
);

describe('InMemoryThrottleStore bounds', () => {
  it('holds at most maxCounters, dropping the counter whose window opened first', async () => {
    const store = new InMemoryThrottleStore({ maxCounters: 3 });
    try {
      for (const key of ['a', 'b', 'c']) await store.hit(key, 60);
      await store.hit('a', 60); // counted again, but its window opened first
      await store.hit('d', 60);
      expect(store.size).toBe(3);
      expect((await store.peek('a')).count).toBe(0);
      expect((await store.peek('b')).count).toBe(1);
      expect((await store.peek('d')).count).toBe(1);
      for (let i = 0; i < 10_000; i++) await store.hit(`flood-${i}`, 60);
      expect(store.size).toBe(3);
    } finally {
      store.onModuleDestroy();
    }
  });

  it('refuses a maxCounters that is not a positive integer', () => {
    expect(() => new InMemoryThrottleStore({ maxCounters: 0 })).toThrow(TypeError);
  });
});
