import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startTestRedis, type TestRedis } from '../../../test/utils/redis-server.js';
import { StoreUnavailableError } from '../auth.errors.js';
import { describeSessionStoreContract } from '../testing/session-store.contract.js';
import { InMemorySessionStore } from './in-memory-session.store.js';
import { RedisSessionStore } from './redis-session.store.js';
import type { RefreshRotation, Session } from './session.interface.js';
import { SessionStore } from './session-store.js';

// A store that keeps SessionStore's default checkLive (through get), as a custom store would.
class DefaultCheckStore extends SessionStore {
  constructor(private readonly inner: InMemorySessionStore) {
    super();
  }
  create(session: Session): Promise<void> {
    return this.inner.create(session);
  }
  get(sessionId: string): Promise<Session | null> {
    return this.inner.get(sessionId);
  }
  touch(sessionId: string, lastSeenAt: Date): Promise<boolean> {
    return this.inner.touch(sessionId, lastSeenAt);
  }
  rotateRefreshToken(sessionId: string, presentedHash: string, nextHash: string, now: Date): Promise<RefreshRotation> {
    return this.inner.rotateRefreshToken(sessionId, presentedHash, nextHash, now);
  }
  delete(sessionId: string): Promise<boolean> {
    return this.inner.delete(sessionId);
  }
  deleteAllForUser(userId: string, exceptSessionId?: string): Promise<number> {
    return this.inner.deleteAllForUser(userId, exceptSessionId);
  }
  listForUser(userId: string): Promise<Session[]> {
    return this.inner.listForUser(userId);
  }
}

// InMemorySessionStore and RedisSessionStore run the contract, checkLive included, in their own
// specs; this one holds SessionStore's default checkLive to it.
describeSessionStoreContract('SessionStore with the default checkLive (through get)', ({ clock }) =>
  new DefaultCheckStore(new InMemorySessionStore({ clock: clock.now, sweepIntervalSeconds: 0 })),
);

let redis: TestRedis;

beforeAll(async () => {
  redis = await startTestRedis();
});

afterAll(async () => {
  await redis?.stop();
});

describe('RedisSessionStore checkLive across instances', () => {
  it('sees a logout made through another instance on the very next check', async () => {
    const keyPrefix = `nw-test-${randomBytes(4).toString('hex')}`;
    const a = new RedisSessionStore({ url: redis.url, keyPrefix });
    const b = new RedisSessionStore({ url: redis.url, keyPrefix });
    try {
      const id = a.generateSessionId('shared-user');
      const now = Date.now();
      await a.create({ id, userId: 'shared-user', username: 's', createdAt: new Date(now), lastSeenAt: new Date(now), expiresAt: new Date(now + 60_000) });
      expect(await b.checkLive(id, 'shared-user')).toEqual({ username: 's', lastSeenAtMs: now });
      expect(await a.checkLive(id, 'shared-user')).not.toBeNull();
      await b.deleteAllForUser('shared-user');
      expect(await a.checkLive(id, 'shared-user')).toBeNull();
    } finally {
      await a.onModuleDestroy();
      await b.onModuleDestroy();
    }
  });

  it('fails closed when Redis is unreachable', async () => {
    const store = new RedisSessionStore({ url: 'redis://127.0.0.1:1', commandTimeoutMs: 200 });
    try {
      await expect(store.checkLive('abcdefghijklmnopqrstuvwxyz', 'u')).rejects.toBeInstanceOf(StoreUnavailableError);
    } finally {
      await store.onModuleDestroy();
    }
  });
});
