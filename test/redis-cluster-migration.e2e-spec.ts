import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Cluster } from 'ioredis';
import { StoreUnavailableError } from '../src/auth/index.js';
import { RedisSessionStore } from '../src/auth/redis/index.js';
import { issueRefreshToken } from '../src/auth/tokens/refresh-token.js';
import { failFastClusterClient, startTestCluster, type TestCluster } from './utils/redis-cluster.js';

// A Cluster slot half-migrated: redis-cli moves a slot's keys in batches, and the user index,
// newest, tends to move first. Every store operation on that user must then either answer right
// or fail with StoreUnavailableError (503); none may read a session not yet moved as gone.

let cluster: TestCluster;
let client: Cluster;

beforeAll(async () => {
  cluster = await startTestCluster();
  client = failFastClusterClient(cluster);
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
  /** Each session's current refresh-token hash. */
  hashes: Map<string, string>;
}

async function openSessions(count: number): Promise<Opened> {
  const prefix = `nw-mig-${randomBytes(4).toString('hex')}`;
  const store = new RedisSessionStore({ client, keyPrefix: prefix });
  const userId = randomUUID();
  const ids: string[] = [];
  const hashes = new Map<string, string>();
  for (let i = 0; i < count; i++) {
    const id = store.generateSessionId(userId);
    hashes.set(id, issueRefreshToken(id).hash);
    const now = Date.now();
    await store.create({
      id,
      userId,
      username: 'mig',
      createdAt: new Date(now + i),
      lastSeenAt: new Date(now),
      expiresAt: new Date(now + 3_600_000),
      refreshTokenHash: hashes.get(id)!,
    });
    ids.push(id);
  }
  const tag = ids[0]!.slice(0, 6);
  const indexKey = `${prefix}:{${tag}}:u:${userId}`;
  const sessionKeys = ids.flatMap((id) => [`${prefix}:{${tag}}:s:${id}`, `${prefix}:{${tag}}:l:${id}`]);
  return { store, userId, ids, indexKey, sessionKeys, slot: await cluster.slotOf(indexKey), hashes };
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

describe('RedisSessionStore listing while sessions are created', () => {
  it('lists every session, including one created between its read of the index and its script', async () => {
    const { store, userId, ids } = await openSessions(2);
    const zrange = client.zrange.bind(client);
    let late: string | undefined;
    client.zrange = (async (...args: Parameters<typeof zrange>) => {
      const read = await zrange(...args);
      if (!late) {
        late = store.generateSessionId(userId);
        const now = Date.now();
        await store.create({
          id: late,
          userId,
          username: 'mig',
          createdAt: new Date(now + 10),
          lastSeenAt: new Date(now),
          expiresAt: new Date(now + 60_000),
        });
      }
      return read;
    }) as typeof client.zrange;
    try {
      const listed = await store.listForUser(userId);
      expect(listed.map((session) => session.id).sort()).toEqual([...ids, late!].sort());
    } finally {
      client.zrange = zrange;
    }
  });
});

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
    const { store, userId, ids, indexKey, sessionKeys, slot, hashes } = await openSessions(4);
    const initialHashes = new Map(hashes);
    const deleted = new Set<string>();
    // The index and the first two sessions (hash and liveness record) moved; the others not.
    await cluster.migrateSlot(slot, { keys: [indexKey, ...sessionKeys.slice(0, 4)] });
    try {
      // Each session's own keys are all on one side: Redis serves them (through ASK), so these
      // must succeed, not merely answer 503. Checked together, as requests of one turn are.
      const live = await Promise.all(ids.map((id) => store.checkLive(id, userId)));
      expect(live.every((answer) => answer !== null)).toBe(true);
      for (const id of ids) {
        expect((await store.get(id))?.id).toBe(id);
        expect(await store.touch(id, new Date())).toBe(true);
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
      // A real rotation, and a reuse, of sessions on either side: right, or 503 with the session unchanged.
      for (const id of [ids[1]!, ids[2]!]) {
        const hash = hashes.get(id)!;
        const next = await answerOr503(() => store.rotateRefreshToken(id, hash, `${hash}-next`, new Date(), 0));
        if (next !== 'unavailable') {
          expect(next.status).toBe('rotated');
          hashes.set(id, `${hash}-next`);
        }
      }
      const ended = await answerOr503(() => store.delete(ids[2]!));
      if (ended !== 'unavailable') {
        expect(ended).toBe(true);
        deleted.add(ids[2]!);
      }
    } finally {
      await cluster.finishMigration(slot);
    }
    // Nothing live was lost, and the index still holds every session not ended.
    const listed = (await store.listForUser(userId)).map((session) => session.id);
    for (const id of ids.filter((id) => !deleted.has(id))) {
      expect(listed).toContain(id);
      expect(await store.checkLive(id, userId)).not.toBeNull();
    }
    for (const id of deleted) expect(await store.checkLive(id, userId)).toBeNull();
    // A rotated token's predecessor, presented again, is a reuse: the session ends.
    const rotatedAway = [ids[1]!].find((id) => hashes.get(id) !== initialHashes.get(id));
    if (rotatedAway)
      expect((await store.rotateRefreshToken(rotatedAway, initialHashes.get(rotatedAway)!, 'x', new Date(), 0)).status).toBe('reused');
    expect(await store.delete(ids[0]!)).toBe(true);
    expect(await store.checkLive(ids[0]!, userId)).toBeNull();
  });
});
