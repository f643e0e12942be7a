import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { startTestRedis, type TestRedis } from '../../../test/utils/redis-server.js';
import { StoreUnavailableError } from '../auth.errors.js';
import { FakeClock } from '../testing/fake-clock.js';
import { InMemorySessionStore } from './in-memory-session.store.js';
import { RedisSessionStore } from './redis-session.store.js';
import type { LiveSession, RefreshRotation, Session } from './session.interface.js';
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

let redis: TestRedis;

beforeAll(async () => {
  redis = await startTestRedis();
});

afterAll(async () => {
  await redis?.stop();
});

const STORES: Array<[string, (clock: FakeClock) => SessionStore]> = [
  ['InMemorySessionStore', (clock) => new InMemorySessionStore({ clock: clock.now, sweepIntervalSeconds: 0 })],
  ['RedisSessionStore', (clock) => new RedisSessionStore({ url: redis.url, keyPrefix: `nw-test-${randomBytes(4).toString('hex')}`, clock: clock.now })],
  ['SessionStore default (through get)', (clock) => new DefaultCheckStore(new InMemorySessionStore({ clock: clock.now, sweepIntervalSeconds: 0 }))],
];

describe.each(STORES)('%s checkLive', (_name, factory) => {
  let clock: FakeClock;
  let store: SessionStore;

  beforeEach(() => {
    clock = new FakeClock(Date.now());
    store = factory(clock);
  });

  afterEach(async () => {
    await (store as Partial<{ onModuleDestroy(): unknown }>).onModuleDestroy?.();
  });

  const open = async (overrides: Partial<Session> = {}): Promise<Session> => {
    const userId = overrides.userId ?? `user-${randomBytes(6).toString('hex')}`;
    const session: Session = {
      id: store.generateSessionId(userId),
      userId,
      username: 'alice',
      createdAt: clock.date(),
      lastSeenAt: clock.date(),
      expiresAt: clock.date(3600),
      refreshTokenHash: 'h'.repeat(43),
      userAgent: 'jest',
      ip: '127.0.0.1',
      ...overrides,
    };
    await store.create(session);
    return session;
  };

  const check = (sessionId: string, userId: string): Promise<LiveSession | null> => Promise.resolve(store.checkLive(sessionId, userId));

  it("answers the username and lastSeenAt of the user's live session, and nothing else", async () => {
    const session = await open({ username: 'alice the first' });
    expect(await check(session.id, session.userId)).toEqual({ username: 'alice the first', lastSeenAtMs: session.lastSeenAt.getTime() });
  });

  it("answers null for another user's session, an unknown id and malformed ids", async () => {
    const session = await open();
    expect(await check(session.id, 'someone-else')).toBeNull();
    expect(await check(store.generateSessionId(session.userId), session.userId)).toBeNull();
    expect(await check('', session.userId)).toBeNull();
    expect(await check('x'.repeat(10_000), session.userId)).toBeNull();
  });

  it('answers null once the session is deleted, or all of its user are', async () => {
    const one = await open();
    const two = await open({ userId: one.userId });
    const three = await open({ userId: one.userId });
    await store.delete(one.id);
    expect(await check(one.id, one.userId)).toBeNull();
    expect(await check(two.id, two.userId)).not.toBeNull();
    await store.deleteAllForUser(one.userId, three.id);
    expect(await check(two.id, two.userId)).toBeNull();
    expect(await check(three.id, three.userId)).not.toBeNull();
    await store.deleteAllForUser(one.userId);
    expect(await check(three.id, three.userId)).toBeNull();
  });

  it('reports the lastSeenAt a refresh-token rotation moves', async () => {
    const session = await open({ idleTimeoutSeconds: 60 });
    clock.advance(50);
    const rotation = await store.rotateRefreshToken(session.id, session.refreshTokenHash!, 'n'.repeat(43), clock.date());
    expect(rotation.status).toBe('rotated');
    expect(await check(session.id, session.userId)).toEqual({ username: 'alice', lastSeenAtMs: clock.now() });
    // The idle timeout now counts from the rotation.
    clock.advance(59);
    expect(await check(session.id, session.userId)).not.toBeNull();
  });

  it('keeps user ids and usernames with separators and non-ASCII characters intact', async () => {
    const session = await open({ userId: 'tenant:42:user 7', username: 'Zoë: the 2nd' });
    expect(await check(session.id, 'tenant:42:user 7')).toEqual({ username: 'Zoë: the 2nd', lastSeenAtMs: session.lastSeenAt.getTime() });
    expect(await check(session.id, 'tenant:42:user')).toBeNull();
    expect(await check(session.id, 'tenant:42:user 7:')).toBeNull();
  });

  it('matches non-ASCII user ids exactly', async () => {
    const session = await open({ userId: 'ünïcødé-😀', username: 'émoji 😀' });
    expect(await check(session.id, 'ünïcødé-😀')).toEqual({ username: 'émoji 😀', lastSeenAtMs: session.lastSeenAt.getTime() });
    expect(await check(session.id, 'unicode-😀')).toBeNull();
  });

  it('answers null from the absolute expiry on', async () => {
    const session = await open({ expiresAt: clock.date(60) });
    clock.advance(59);
    expect(await check(session.id, session.userId)).not.toBeNull();
    clock.advance(1);
    expect(await check(session.id, session.userId)).toBeNull();
  });

  it('follows the idle timeout and reports lastSeenAt as touch moves it', async () => {
    const session = await open({ idleTimeoutSeconds: 60 });
    clock.advance(50);
    expect(await store.touch(session.id, clock.date())).toBe(true);
    expect(await check(session.id, session.userId)).toEqual({ username: 'alice', lastSeenAtMs: clock.now() });
    clock.advance(59);
    expect(await check(session.id, session.userId)).not.toBeNull();
    clock.advance(1);
    expect(await check(session.id, session.userId)).toBeNull();
  });

  it('answers each of many concurrent checks for its own session', async () => {
    const sessions = await Promise.all(Array.from({ length: 12 }, (_, i) => open({ username: `user ${i}` })));
    for (const revoked of sessions.slice(0, 4)) await store.delete(revoked.id);
    // More checks than one Redis batch holds, interleaving live, revoked and foreign sessions.
    const asked = Array.from({ length: 600 }, (_, i) => ({ session: sessions[i % sessions.length]!, foreign: i % 7 === 0 }));
    const answers = await Promise.all(asked.map(({ session, foreign }) => check(session.id, foreign ? 'someone-else' : session.userId)));
    answers.forEach((answer, i) => {
      const { session, foreign } = asked[i]!;
      const live = !foreign && sessions.indexOf(session) >= 4;
      expect(answer).toEqual(live ? { username: session.username, lastSeenAtMs: session.lastSeenAt.getTime() } : null);
    });
  });
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
