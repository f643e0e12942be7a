import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Cluster, Redis } from 'ioredis';
import { startTestCluster, type TestCluster } from './utils/redis-cluster.js';
import { onNode, waitFor } from './utils/redis-process.js';
import { startTestSentinel, type TestSentinel } from './utils/redis-sentinel.js';

// Proves the topology helpers the Cluster and Sentinel store suites stand on: each case builds
// its own keys, and one that breaks the topology (a SIGKILL) repairs it before it ends.

const tag = (): string => randomBytes(4).toString('hex');

/** The reply error of a command sent straight to one node, or its result. */
async function answer(port: number, ...command: string[]): Promise<unknown> {
  return onNode(port, async (redis) => {
    try {
      return await redis.call(command[0]!, ...command.slice(1));
    } catch (error) {
      return error instanceof Error ? error.message : String(error);
    }
  });
}

describe('a 6-node Redis Cluster with an ioredis Cluster client', () => {
  let cluster: TestCluster;
  let client: Cluster;

  beforeAll(async () => {
    cluster = await startTestCluster();
    client = new Cluster(cluster.nodes, {
      redisOptions: { connectTimeout: 1000, commandTimeout: 1000 },
      retryDelayOnFailover: 200,
      retryDelayOnClusterDown: 200,
      retryDelayOnTryAgain: 50,
    });
    client.on('error', () => undefined);
  }, 60_000);

  afterAll(async () => {
    client?.disconnect();
    await cluster?.stop();
  });

  it('starts 3 masters with one replica each, serving all 16384 slots', async () => {
    const masters = await cluster.masters();
    expect(masters).toHaveLength(3);
    expect(masters.flatMap((master) => master.slots).reduce((sum, [start, end]) => sum + end - start + 1, 0)).toBe(16384);
    for (const master of masters) expect(await cluster.replicasOf(master.port)).toHaveLength(1);
  });

  it('writes and reads keys spread over every master', async () => {
    const prefix = tag();
    const keys = Array.from({ length: 60 }, (_, i) => `${prefix}:${i}`);
    await Promise.all(keys.map((key) => client.set(key, `v-${key}`)));
    expect(await Promise.all(keys.map((key) => client.get(key)))).toEqual(keys.map((key) => `v-${key}`));
    const owners = new Set(await Promise.all(keys.map(async (key) => (await cluster.ownerOf(await cluster.slotOf(key))).port)));
    expect(owners.size).toBe(3);
  });

  it('answers a half-migrated slot as the Cluster specification says, and serves it again once migrated', async () => {
    const t = tag();
    const [moved, stays] = [`{${t}}:moved`, `{${t}}:stays`];
    await client.set(moved, 'm');
    await client.set(stays, 's');
    const slot = await cluster.slotOf(moved);
    const { from, to } = await cluster.migrateSlot(slot, { keys: [moved] });
    let finished = false;
    try {
      // The source serves the keys it still has, sends the moved one to the target with ASK, and
      // answers a multi-key command over keys split between the two with TRYAGAIN.
      expect(await answer(from.port, 'GET', stays)).toBe('s');
      expect(await answer(from.port, 'GET', moved)).toBe(`ASK ${slot} ${to.host}:${to.port}`);
      expect(await answer(from.port, 'MGET', moved, stays)).toMatch(/^TRYAGAIN/);
      // The target refuses without ASKING (MOVED back to the owner); with it, serves what it has
      // and answers TRYAGAIN for a multi-key command missing a key.
      expect(await answer(to.port, 'GET', moved)).toBe(`MOVED ${slot} ${from.host}:${from.port}`);
      const asking = async (...command: string[]): Promise<unknown> =>
        onNode(to.port, async (redis) => {
          await redis.call('ASKING');
          return redis.call(command[0]!, ...command.slice(1)).catch((error: unknown) => (error as Error).message);
        });
      expect(await asking('GET', moved)).toBe('m');
      expect(await asking('MGET', moved, stays)).toMatch(/^TRYAGAIN/);

      // The client follows ASK by itself. A split multi-key command it retries until it runs out
      // of redirections: ioredis sends the retry after TRYAGAIN to a random node, which answers
      // MOVED back to the owner, so the last error it names is TRYAGAIN or MOVED.
      expect(await client.get(moved)).toBe('m');
      expect(await client.get(stays)).toBe('s');
      await expect(client.mget(moved, stays)).rejects.toThrow(/^Too many Cluster redirections\. Last error: ReplyError: (TRYAGAIN|MOVED) /);

      await cluster.finishMigration(slot);
      finished = true;
      expect((await cluster.ownerOf(slot)).port).toBe(to.port);
      // The client follows MOVED to the new owner by itself.
      expect(await client.mget(moved, stays)).toEqual(['m', 's']);
      expect(await answer(from.port, 'GET', stays)).toBe(`MOVED ${slot} ${to.host}:${to.port}`);
    } finally {
      // A failed expectation must not leave the slot open for the other cases.
      if (!finished) await cluster.finishMigration(slot);
    }
  });

  it('moves slots with redis-cli --cluster reshard and keeps every key', async () => {
    const prefix = tag();
    const keys = Array.from({ length: 200 }, (_, i) => `${prefix}:${i}`);
    await Promise.all(keys.map((key) => client.set(key, key)));
    const before = await cluster.masters();
    const { from, to } = await cluster.reshard(50);
    const slotsOf = (port: number, masters: typeof before): number =>
      masters
        .filter((m) => m.port === port)
        .flatMap((m) => m.slots)
        .reduce((sum, [start, end]) => sum + end - start + 1, 0);
    const after = await cluster.masters();
    expect(slotsOf(from.port, after)).toBe(slotsOf(from.port, before) - 50);
    expect(slotsOf(to.port, after)).toBe(slotsOf(to.port, before) + 50);
    expect(await Promise.all(keys.map((key) => client.get(key)))).toEqual(keys);
  }, 60_000);

  it('fails a SIGKILLed master over to its replica, and the client recovers by itself with the replicated keys', async () => {
    const t = tag();
    const keys = Array.from({ length: 20 }, (_, i) => `{${t}}:${i}`);
    await Promise.all(keys.map((key) => client.set(key, key)));
    const slot = await cluster.slotOf(keys[0]!);
    const master = await cluster.ownerOf(slot);
    const [replica] = await cluster.replicasOf(master.port);
    expect(replica).toBeDefined();
    // Only what Redis has replicated survives a failover: wait until the replica has every key.
    await waitFor(
      'the replica to have every key',
      () =>
        onNode(replica!.port, async (redis) => {
          await redis.call('READONLY');
          return JSON.stringify(await redis.mget(...keys)) === JSON.stringify(keys);
        }),
      10_000,
    );

    const killedAt = Date.now();
    await cluster.kill(master.port);
    const errors = new Set<string>();
    await waitFor(
      'the client to read through the promoted replica',
      async () => {
        try {
          return (await client.get(keys[0]!)) === keys[0];
        } catch (error) {
          errors.add((error as Error).message);
          return false;
        }
      },
      30_000,
      100,
    );
    console.log(
      `cluster failover: read again ${Date.now() - killedAt} ms after the SIGKILL; meanwhile: ${[...errors].join(' | ') || 'no error'}`,
    );
    // The client may learn the new owner before every node has: wait for them to agree.
    await cluster.waitUntilHealthy();
    expect((await cluster.ownerOf(slot)).port).toBe(replica!.port);
    expect(await client.mget(...keys)).toEqual(keys);
    await client.set(keys[0]!, 'after');
    expect(await client.get(keys[0]!)).toBe('after');

    // Repair: the old master comes back as a replica of the promoted one.
    await cluster.restart(master.port);
    expect((await cluster.replicasOf(replica!.port)).map((node) => node.port)).toEqual([master.port]);
  }, 120_000);
});

describe('a master, a replica and three sentinels with an ioredis Sentinel client', () => {
  let sentinel: TestSentinel;

  beforeAll(async () => {
    sentinel = await startTestSentinel();
  }, 60_000);

  afterAll(async () => {
    await sentinel?.stop();
  });

  it('reconnects by itself to the promoted replica after the master is SIGKILLed', async () => {
    const client = new Redis({
      sentinels: sentinel.sentinels,
      name: sentinel.name,
      connectTimeout: 1000,
      commandTimeout: 1000,
      maxRetriesPerRequest: 1,
      retryStrategy: (attempt: number) => Math.min(attempt * 100, 500),
    });
    client.on('error', () => undefined);
    try {
      const key = `nw-sentinel-${tag()}`;
      await client.set(key, 'kept');
      // Replicated before the crash, so the promoted replica has it.
      expect(await client.wait(1, 5000)).toBe(1);
      const served = async (): Promise<number> => Number(/tcp_port:(\d+)/.exec(await client.info('server'))?.[1]);
      const old = await sentinel.master();
      expect(await served()).toBe(old.port);

      await sentinel.killMaster();
      const promoted = await sentinel.waitForFailover(old);
      expect(promoted.port).not.toBe(old.port);
      await waitFor('the client to read through the promoted replica', async () => (await client.get(key)) === 'kept', 20_000, 100);
      expect(await served()).toBe(promoted.port);
      await client.set(key, 'written after the failover');
      expect(await client.get(key)).toBe('written after the failover');
    } finally {
      client.disconnect();
    }
  }, 60_000);
});
