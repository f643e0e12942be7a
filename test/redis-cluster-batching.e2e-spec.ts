import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import calculateSlot from 'cluster-key-slot';
import type { Cluster } from 'ioredis';
import { RedisSessionStore } from '../src/auth/redis/index.js';
import { failFastClusterClient, startTestCluster, type TestCluster } from './utils/redis-cluster.js';

// checkLive on a Cluster: the reads of one event-loop turn go as one MGET per slot, however many
// users share that slot, not one per user.

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

describe('RedisSessionStore.checkLive on a Cluster', () => {
  it('sends one MGET per slot for the checks of one turn', async () => {
    const store = new RedisSessionStore({ client, keyPrefix: 'nw-batch' });
    const slotOf = (sessionId: string): number => calculateSlot(`{${sessionId.slice(0, 6)}}`);
    // Three users whose keys share one slot (found by trying ids), and two more elsewhere.
    const first = randomUUID();
    const shared = slotOf(store.generateSessionId(first));
    const users = [first];
    while (users.length < 3) {
      const candidate = randomUUID();
      if (slotOf(store.generateSessionId(candidate)) === shared) users.push(candidate);
    }
    users.push(randomUUID(), randomUUID());
    const sessions: Array<{ id: string; userId: string }> = [];
    for (const userId of users) {
      for (let i = 0; i < 2; i++) {
        const id = store.generateSessionId(userId);
        const now = Date.now();
        await store.create({
          id,
          userId,
          username: 'b',
          createdAt: new Date(now),
          lastSeenAt: new Date(now),
          expiresAt: new Date(now + 60_000),
        });
        sessions.push({ id, userId });
      }
    }
    const slots = new Set(sessions.map((session) => slotOf(session.id)));
    expect(slots.size).toBeLessThan(users.length);

    const mget = client.mget.bind(client);
    let sent = 0;
    client.mget = ((...args: Parameters<typeof mget>) => {
      sent++;
      return mget(...args);
    }) as typeof client.mget;
    try {
      const answers = await Promise.all(sessions.map((session) => store.checkLive(session.id, session.userId)));
      expect(answers.every((answer) => answer !== null)).toBe(true);
    } finally {
      client.mget = mget;
    }
    expect(sent).toBe(slots.size);
  });
});
