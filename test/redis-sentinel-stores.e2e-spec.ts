import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll } from '@jest/globals';
import type { Redis } from 'ioredis';
import { RedisSessionStore, RedisThrottleStore } from '../src/auth/redis/index.js';
import { describeSessionStoreContract, describeThrottleStoreContract } from '../src/auth/testing/index.js';
import { failFastSentinelClient, startTestSentinel, type TestSentinel } from './utils/redis-sentinel.js';

// The store contracts, as on standalone Redis, on an ioredis Sentinel client (a master, a
// replica and three sentinels on loopback).

let sentinel: TestSentinel;
let client: Redis;

beforeAll(async () => {
  sentinel = await startTestSentinel();
  client = failFastSentinelClient(sentinel);
}, 60_000);

afterAll(async () => {
  client?.disconnect();
  await sentinel?.stop();
});

// Each test gets its own key prefix: the suites share one master.
const prefix = (): string => `nw-sentinel-${randomBytes(4).toString('hex')}`;

describeSessionStoreContract(
  'RedisSessionStore on Redis Sentinel',
  ({ clock }) => new RedisSessionStore({ client, keyPrefix: prefix(), clock: clock.now }),
  { teardown: (store) => (store as RedisSessionStore).onModuleDestroy() },
);

describeThrottleStoreContract('RedisThrottleStore on Redis Sentinel', () => new RedisThrottleStore({ client, keyPrefix: prefix() }), {
  teardown: (store) => (store as RedisThrottleStore).onModuleDestroy(),
  realTime: true,
});
