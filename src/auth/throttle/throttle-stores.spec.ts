import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll } from '@jest/globals';
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
