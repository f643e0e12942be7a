import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Cluster } from 'ioredis';
import { StoreUnavailableError } from '../src/auth/index.js';
import { RedisSessionStore } from '../src/auth/redis/index.js';
import { issueRefreshToken } from '../src/auth/tokens/refresh-token.js';
import { startTestCluster, type TestCluster } from './utils/redis-cluster.js';

// A Cluster slot half-migrated: redis-cli moves a slot's keys in batches, and the user index,
// newest, tends to move first. Every store operation on that user must then either answer right
// or fail with StoreUnavailableError (503); none may read a session not yet moved as gone.

let cluster: TestCluster;
let client: Cluster;

beforeAll(async () => {
  cluster = await startTestCluster();
  client = new Cluster(cluster.nodes, {
    // Fail fast, as the store's documentation asks: a few quick retries of TRYAGAIN, then 503.
    retryDelayOnTryAgain: 20,
    maxRedirections: 6,
    redisOptions: { connectTimeout: 1000, commandTimeout: 1000, maxRetriesPerRequest: 1 },
  });
  client.on('error', () => undefined);
}, 90_000);

afterAll(async () => {
  client?.disconnect();
  await cluster?.stop();
});

interface Opened {
  store: RedisSessionStore;
  userId: string;
  ids: string[];
  indexKey: string;
  sessionKeys: string[];
  slot: number;
}

async function openSessions(count: number): Promise<Opened> {
  const prefix = `nw-mig-${randomBytes(4).toString('hex')}`;
  const store = new RedisSessionStore({ client, keyPrefix: prefix });
  const userId = randomUUID();
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const id = store.generateSessionId(userId);
    const now = Date.now();
    await store.create({
      id,
      userId,
      username: 'mig',
      createdAt: new Date(now + i),
      lastSeenAt: new Date(now),
      expiresAt: new Date(now + 3_600_000),
      refreshTokenHash: issueRefreshToken(id).hash,
    });
    ids.push(id);
  }
  const tag = ids[0]!.slice(0, 6);
  const indexKey = `${prefix}:{${tag}}:u:${userId}`;
  const sessionKeys = ids.flatMap((id) => [`${prefix}:{${tag}}:s:${id}`, `${prefix}:{${tag}}:l:${id}`]);
  return { store, userId, ids, indexKey, sessionKeys, slot: await cluster.slotOf(indexKey) };
}

// The answer, or the 503 a store outage gives; anything else fails the test.
async function answerOr503<T>(operation: () => Promise<T>): Promise<T | 'unavailable'> {
  try {
    return await operation();
  } catch (error) {
    expect(error).toBeInstanceOf(StoreUnavailableError);
    return 'unavailable';
  }
}

describe('RedisSessionStore while a slot is half-migrated (the index moved, the sessions not yet)', () => {
  it('lists all the sessions or answers 503, and prunes none', async () => {
    const { store, userId, ids, indexKey, slot } = await openSessions(3);
    await cluster.migrateSlot(slot, { keys: [indexKey] });
    try {
      for (let i = 0; i < 3; i++) {
        const listed = await answerOr503(() => store.listForUser(userId));
        if (listed !== 'unavailable') expect(listed.map((session) => session.id).sort()).toEqual([...ids].sort());
      }
    } finally {
      await cluster.finishMigration(slot);
    }
    // Nothing was taken out of the index: after the move, every session is still listed.
    expect((await store.listForUser(userId)).map((session) => session.id).sort()).toEqual([...ids].sort());
    for (const id of ids) expect(await store.checkLive(id, userId)).not.toBeNull();
  });

  it('ends every session at logout-all or answers 503 with all of them still live', async () => {
    const { store, userId, ids, indexKey, slot } = await openSessions(3);
    await cluster.migrateSlot(slot, { keys: [indexKey] });
    let ended: number | 'unavailable';
    try {
      ended = await answerOr503(() => store.deleteAllForUser(userId));
    } finally {
      await cluster.finishMigration(slot);
    }
    if (ended === 'unavailable') {
      for (const id of ids) expect(await store.checkLive(id, userId)).not.toBeNull();
      // Retried once the slot has settled, it ends them all.
      expect(await store.deleteAllForUser(userId)).toBe(3);
    } else {
      expect(ended).toBe(3);
    }
    for (const id of ids) expect(await store.checkLive(id, userId)).toBeNull();
    expect(await store.listForUser(userId)).toEqual([]);
  });

  it('answers every single-session operation right or with 503, with half of the sessions moved', async () => {
    const { store, userId, ids, indexKey, sessionKeys, slot } = await openSessions(4);
    // The index and the first two sessions (hash and liveness record) moved; the others not.
    await cluster.migrateSlot(slot, { keys: [indexKey, ...sessionKeys.slice(0, 4)] });
    try {
      for (const id of ids) {
        const live = await answerOr503(async () => store.checkLive(id, userId));
        if (live !== 'unavailable') expect(live).not.toBeNull();
        const got = await answerOr503(() => store.get(id));
        if (got !== 'unavailable') expect(got?.id).toBe(id);
        const touched = await answerOr503(() => store.touch(id, new Date()));
        if (touched !== 'unavailable') expect(touched).toBe(true);
      }
      const fresh = store.generateSessionId(userId);
      const now = Date.now();
      await answerOr503(() =>
        store.create({
          id: fresh,
          userId,
          username: 'mig',
          createdAt: new Date(now),
          lastSeenAt: new Date(now),
          expiresAt: new Date(now + 60_000),
        }),
      );
      const rotated = await answerOr503(() => store.rotateRefreshToken(ids[3]!, 'not-the-hash', 'next', new Date(), 0));
      if (rotated !== 'unavailable') expect(rotated.status).toBe('invalid');
    } finally {
      await cluster.finishMigration(slot);
    }
    // Nothing live was lost, and the index still holds every session.
    const listed = (await store.listForUser(userId)).map((session) => session.id);
    for (const id of ids) expect(listed).toContain(id);
    for (const id of ids) expect(await store.checkLive(id, userId)).not.toBeNull();
    expect(await store.delete(ids[0]!)).toBe(true);
    expect(await store.checkLive(ids[0]!, userId)).toBeNull();
  });
});
