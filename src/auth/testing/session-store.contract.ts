import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import type { Session } from '../sessions/session.interface.js';
import type { SessionStore } from '../sessions/session-store.js';
import { FakeClock } from './fake-clock.js';

/** What the contract suite hands your factory. */
export interface SessionStoreContractContext {
  /** Drive expiry with it: the store must read time from `clock.now`. */
  clock: FakeClock;
}

/** Optional hooks of {@link describeSessionStoreContract}. */
export interface SessionStoreContractOptions {
  /** Called after each test with the store, to close connections or flush keys. */
  teardown?: (store: SessionStore) => void | Promise<void>;
}

/**
 * The jest suite every {@link SessionStore} must pass: round trip, expiry on a fake clock,
 * revocation, per-user isolation and concurrent writes. Run it from your own spec:
 *
 * @example
 * ```ts
 * import { describeSessionStoreContract } from 'nest-warden/testing';
 * describeSessionStoreContract('MyStore', ({ clock }) => new MyStore({ clock: clock.now }));
 * ```
 */
export function describeSessionStoreContract(
  name: string,
  factory: (context: SessionStoreContractContext) => SessionStore | Promise<SessionStore>,
  options: SessionStoreContractOptions = {},
): void {
  describe(`${name} (SessionStore contract)`, () => {
    let clock: FakeClock;
    let store: SessionStore;

    const makeSession = (overrides: Partial<Session> = {}): Session => ({
      id: randomBytes(16).toString('base64url'),
      userId: `user-${randomBytes(6).toString('hex')}`,
      username: 'alice',
      createdAt: clock.date(),
      lastSeenAt: clock.date(),
      expiresAt: clock.date(3600),
      userAgent: 'jest',
      ip: '127.0.0.1',
      ...overrides,
    });

    beforeEach(async () => {
      clock = new FakeClock();
      store = await factory({ clock });
    });

    afterEach(async () => {
      await options.teardown?.(store);
    });

    it('returns what was stored, field for field', async () => {
      const session = makeSession();
      await store.create(session);
      expect(await store.get(session.id)).toEqual(session);
    });

    it('keeps optional fields optional', async () => {
      const { userAgent: _ua, ip: _ip, ...bare } = makeSession();
      await store.create(bare);
      const stored = await store.get(bare.id);
      expect(stored).toEqual(bare);
      expect(stored).not.toHaveProperty('userAgent');
      expect(stored).not.toHaveProperty('ip');
    });

    it('returns null for an unknown id', async () => {
      expect(await store.get('no-such-session')).toBeNull();
    });

    it('treats a session as gone from the instant it expires', async () => {
      const session = makeSession({ expiresAt: clock.date(60) });
      await store.create(session);
      clock.advance(59);
      expect(await store.get(session.id)).not.toBeNull();
      clock.advance(1);
      expect(await store.get(session.id)).toBeNull();
      expect(await store.listForUser(session.userId)).toEqual([]);
      expect(await store.touch(session.id, clock.date())).toBe(false);
      expect(await store.delete(session.id)).toBe(false);
    });

    it('moves lastSeenAt forward on touch, never back', async () => {
      const session = makeSession();
      await store.create(session);
      clock.advance(30);
      expect(await store.touch(session.id, clock.date())).toBe(true);
      expect((await store.get(session.id))?.lastSeenAt).toEqual(clock.date());
      expect(await store.touch(session.id, session.createdAt)).toBe(true);
      expect((await store.get(session.id))?.lastSeenAt).toEqual(clock.date());
      expect(await store.touch('no-such-session', clock.date())).toBe(false);
    });

    it('revokes one session without touching the others', async () => {
      const first = makeSession();
      const second = makeSession({ userId: first.userId });
      await store.create(first);
      await store.create(second);
      expect(await store.delete(first.id)).toBe(true);
      expect(await store.get(first.id)).toBeNull();
      expect(await store.get(second.id)).toEqual(second);
      expect(await store.delete(first.id)).toBe(false);
    });

    it('ends every session of one user and no one else', async () => {
      const mine = [makeSession(), makeSession()];
      mine[1] = { ...mine[1]!, userId: mine[0]!.userId };
      const theirs = makeSession();
      for (const session of [...mine, theirs]) await store.create(session);
      expect(await store.deleteAllForUser(mine[0]!.userId)).toBe(2);
      for (const session of mine) expect(await store.get(session.id)).toBeNull();
      expect(await store.get(theirs.id)).toEqual(theirs);
      expect(await store.listForUser(theirs.userId)).toEqual([theirs]);
      expect(await store.deleteAllForUser(mine[0]!.userId)).toBe(0);
      expect(await store.deleteAllForUser('nobody')).toBe(0);
    });

    it('lists only the live sessions of the user, oldest first', async () => {
      const userId = 'user-list';
      const old = makeSession({ userId, createdAt: clock.date(-20), lastSeenAt: clock.date(-20) });
      const recent = makeSession({ userId });
      const expiring = makeSession({ userId, createdAt: clock.date(-10), lastSeenAt: clock.date(-10), expiresAt: clock.date(5) });
      const other = makeSession();
      for (const session of [recent, expiring, old, other]) await store.create(session);
      expect(await store.listForUser(userId)).toEqual([old, expiring, recent]);
      clock.advance(5);
      expect(await store.listForUser(userId)).toEqual([old, recent]);
    });

    it('keeps every one of many concurrent writes', async () => {
      const userId = 'user-concurrent';
      const sessions = Array.from({ length: 50 }, () => makeSession({ userId }));
      await Promise.all(sessions.map((session) => store.create(session)));
      expect(await store.listForUser(userId)).toHaveLength(50);
      const results = await Promise.all([
        ...sessions.slice(0, 25).map((session) => store.delete(session.id)),
        ...sessions.slice(25).map((session) => store.touch(session.id, clock.date(1))),
      ]);
      expect(results.every(Boolean)).toBe(true);
      expect(await store.listForUser(userId)).toHaveLength(25);
    });

    it('counts a concurrent delete of the same session once', async () => {
      const session = makeSession();
      await store.create(session);
      const results = await Promise.all(Array.from({ length: 10 }, () => store.delete(session.id)));
      expect(results.filter(Boolean)).toHaveLength(1);
    });
  });
}
