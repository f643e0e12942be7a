import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll } from '@jest/globals';
import type { Cluster } from 'ioredis';
import { RedisSessionStore, RedisThrottleStore } from '../src/auth/redis/index.js';
import { describeSessionStoreContract, describeThrottleStoreContract } from '../src/auth/testing/index.js';
import { failFastClusterClient, startTestCluster, type TestCluster } from './utils/redis-cluster.js';

// The store contracts, as on standalone Redis, on an ioredis Cluster client over a real 6-node
// Cluster: every key a store touches must route to the node that holds it.

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

// Each test gets its own key prefix: the suites share one cluster.
const prefix = (): string => `nw-cluster-${randomBytes(4).toString('hex')}`;

describeSessionStoreContract(
  'RedisSessionStore on a Redis Cluster',
  ({ clock }) => new RedisSessionStore({ client, keyPrefix: prefix(), clock: clock.now }),
  { teardown: (store) => (store as RedisSessionStore).onModuleDestroy() },
);

describeThrottleStoreContract('RedisThrottleStore on a Redis Cluster', () => new RedisThrottleStore({ client, keyPrefix: prefix() }), {
  teardown: (store) => (store as RedisThrottleStore).onModuleDestroy(),
  realTime: true,
});
