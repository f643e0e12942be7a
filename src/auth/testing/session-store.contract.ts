import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import type { LiveSession, Session } from '../sessions/session.interface.js';
import { REFRESH_HISTORY_LENGTH, type SessionStore } from '../sessions/session-store.js';
import { FakeClock } from './fake-clock.js';
import { sessionAuthenticationContract } from './session-authentication.contract.js';

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
 * import { describeSessionStoreContract } from 'nestjs-warden/testing';
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

    // Ids come from the store, as in production: some stores route by them.
    const makeSession = (overrides: Partial<Session> = {}): Session => {
      const userId = overrides.userId ?? `user-${randomBytes(6).toString('hex')}`;
      return {
        id: store.generateSessionId(userId),
        userId,
        username: 'alice',
        createdAt: clock.date(),
        lastSeenAt: clock.date(),
        expiresAt: clock.date(3600),
        userAgent: 'jest',
        ip: '127.0.0.1',
        ...overrides,
      };
    };

    beforeEach(async () => {
      clock = new FakeClock();
      store = await factory({ clock });
    });

    afterEach(async () => {
      await options.teardown?.(store);
    });

    sessionAuthenticationContract(() => ({ store, clock }), makeSession);

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

    it('generates distinct session ids of at least 128 bits', () => {
      const ids = new Set(Array.from({ length: 1000 }, () => store.generateSessionId('user-ids')));
      expect(ids.size).toBe(1000);
      for (const id of ids) expect(id).toMatch(/^[A-Za-z0-9_-]{22,}$/);
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
      const first = makeSession();
      const mine = [first, makeSession({ userId: first.userId })];
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
    it('ends a session that stays idle past its idle timeout, and touch keeps it alive', async () => {
      const session = makeSession({ idleTimeoutSeconds: 60, expiresAt: clock.date(3600) });
      await store.create(session);
      clock.advance(50);
      expect(await store.touch(session.id, clock.date())).toBe(true);
      clock.advance(50);
      expect((await store.get(session.id))?.idleTimeoutSeconds).toBe(60);
      clock.advance(10);
      expect(await store.get(session.id)).toBeNull();
      expect(await store.listForUser(session.userId)).toEqual([]);
      expect(await store.touch(session.id, clock.date())).toBe(false);
    });

    it('ends a session at its absolute expiry however active it is', async () => {
      const session = makeSession({ idleTimeoutSeconds: 60, expiresAt: clock.date(100) });
      await store.create(session);
      for (let i = 0; i < 3; i++) {
        clock.advance(30);
        expect(await store.touch(session.id, clock.date())).toBe(true);
      }
      clock.advance(10);
      expect(await store.get(session.id)).toBeNull();
    });

    // Ended as delete() ends it: gone for every reader.
    const expectEnded = async (session: Session): Promise<void> => {
      expect(await store.get(session.id)).toBeNull();
      expect(await store.checkLive(session.id, session.userId)).toBeNull();
      expect(await store.listForUser(session.userId)).toEqual([]);
      expect(await store.touch(session.id, clock.date())).toBe(false);
    };

    it('rotates a refresh-token hash by compare-and-swap', async () => {
      const session = makeSession({ refreshTokenHash: 'hash-1' });
      await store.create(session);
      clock.advance(5);
      const rotated = await store.rotateRefreshToken(session.id, 'hash-1', 'hash-2', clock.date());
      expect(rotated.status).toBe('rotated');
      expect(rotated.status === 'rotated' && rotated.session.refreshTokenHash).toBe('hash-2');
      // A real rotation is not a grace answer.
      expect(rotated.status === 'rotated' && rotated.grace).toBeFalsy();
      const stored = await store.get(session.id);
      expect(stored?.refreshTokenHash).toBe('hash-2');
      expect(stored?.lastSeenAt).toEqual(clock.date());
      expect((await store.rotateRefreshToken(session.id, 'hash-2', 'hash-3', clock.date())).status).toBe('rotated');
    });

    it('answers a never-seen hash as invalid and leaves the session alone', async () => {
      const session = makeSession({ refreshTokenHash: 'hash-1' });
      await store.create(session);
      expect((await store.rotateRefreshToken(session.id, 'never-issued', 'hash-y', clock.date())).status).toBe('invalid');
      expect((await store.rotateRefreshToken(session.id, 'never-issued', 'hash-y', clock.date(), 10)).status).toBe('invalid');
      expect((await store.rotateRefreshToken('no-such-session', 'hash-1', 'hash-y', clock.date())).status).toBe('invalid');
      expect(await store.get(session.id)).toEqual(session);
    });

    it('refuses a graceSeconds that is not a finite number >= 0', async () => {
      const session = makeSession({ refreshTokenHash: 'hash-1' });
      await store.create(session);
      for (const graceSeconds of [-1, Number.NaN, Number.POSITIVE_INFINITY]) {
        await expect(store.rotateRefreshToken(session.id, 'hash-1', 'hash-2', clock.date(), graceSeconds)).rejects.toThrow(TypeError);
      }
      expect(await store.get(session.id)).toEqual(session);
    });

    it('reports a rotated-away hash as reused and ends the session in the same step', async () => {
      const session = makeSession({ refreshTokenHash: 'hash-1' });
      await store.create(session);
      await store.rotateRefreshToken(session.id, 'hash-1', 'hash-2', clock.date());
      const reused = await store.rotateRefreshToken(session.id, 'hash-1', 'hash-2', clock.date());
      expect(reused.status).toBe('reused');
      // The session as it was, for the audit trail.
      expect(reused.status === 'reused' && reused.session).toEqual({ ...session, refreshTokenHash: 'hash-2' });
      // No further call: the store itself has ended it.
      await expectEnded(session);
      expect((await store.rotateRefreshToken(session.id, 'hash-2', 'hash-3', clock.date())).status).toBe('invalid');
    });

    it('within the grace window answers the predecessor again with its child, nothing replaced', async () => {
      const session = makeSession({ refreshTokenHash: 'parent' });
      await store.create(session);
      expect((await store.rotateRefreshToken(session.id, 'parent', 'child', clock.date(), 10)).status).toBe('rotated');
      clock.advance(10);
      const again = await store.rotateRefreshToken(session.id, 'parent', 'child', clock.date(), 10);
      expect(again).toEqual({
        status: 'rotated',
        session: expect.objectContaining({ id: session.id, userId: session.userId, refreshTokenHash: 'child' }),
        grace: true,
      });
      expect((await store.get(session.id))?.refreshTokenHash).toBe('child');
      // The lineage goes on from the child.
      expect((await store.rotateRefreshToken(session.id, 'child', 'grandchild', clock.date(), 10)).status).toBe('rotated');
      expect((await store.get(session.id))?.refreshTokenHash).toBe('grandchild');
    });

    it('measures the window from the rotation: a grace answer does not extend it', async () => {
      const session = makeSession({ refreshTokenHash: 'parent' });
      await store.create(session);
      await store.rotateRefreshToken(session.id, 'parent', 'child', clock.date(), 10);
      clock.advance(8);
      expect((await store.rotateRefreshToken(session.id, 'parent', 'child', clock.date(), 10)).status).toBe('rotated');
      clock.advance(3);
      expect((await store.rotateRefreshToken(session.id, 'parent', 'child', clock.date(), 10)).status).toBe('reused');
      await expectEnded(session);
    });

    it.each([
      ['the predecessor after the window', { advanceSeconds: 11, presented: 'parent', next: 'child', graceSeconds: 10 }],
      ['the predecessor with no window (graceSeconds 0)', { advanceSeconds: 0, presented: 'parent', next: 'child', graceSeconds: 0 }],
      [
        'the predecessor with no window (graceSeconds left out)',
        { advanceSeconds: 0, presented: 'parent', next: 'child', graceSeconds: undefined },
      ],
      [
        'the predecessor with a child that is not the current token',
        { advanceSeconds: 0, presented: 'parent', next: 'other-child', graceSeconds: 10 },
      ],
      ['the grandparent within the window', { advanceSeconds: 0, presented: 'grandparent', next: 'parent', graceSeconds: 10 }],
    ])('treats %s as reuse and ends the session in the same step', async (_label, given) => {
      const session = makeSession({ refreshTokenHash: 'grandparent' });
      await store.create(session);
      await store.rotateRefreshToken(session.id, 'grandparent', 'parent', clock.date(), 10);
      await store.rotateRefreshToken(session.id, 'parent', 'child', clock.date(), 10);
      clock.advance(given.advanceSeconds);
      const reused = await store.rotateRefreshToken(session.id, given.presented, given.next, clock.date(), given.graceSeconds);
      expect(reused.status).toBe('reused');
      expect(reused.status === 'reused' && reused.session.id).toBe(session.id);
      await expectEnded(session);
    });

    it('with a grace window, every one of many concurrent refreshes of one token gets the same child', async () => {
      const session = makeSession({ refreshTokenHash: 'tabs' });
      await store.create(session);
      const results = await Promise.all(
        Array.from({ length: 10 }, () => store.rotateRefreshToken(session.id, 'tabs', 'tabs-child', clock.date(), 10)),
      );
      for (const result of results) {
        expect(result.status).toBe('rotated');
        expect(result.status === 'rotated' && result.session.refreshTokenHash).toBe('tabs-child');
      }
      // One of them rotated for real; the others were grace answers.
      expect(results.filter((result) => result.status === 'rotated' && !result.grace)).toHaveLength(1);
      expect((await store.get(session.id))?.refreshTokenHash).toBe('tabs-child');
      expect(await store.listForUser(session.userId)).toHaveLength(1);
      // The parent is spent all the same: after the window it is reuse.
      clock.advance(11);
      expect((await store.rotateRefreshToken(session.id, 'tabs', 'tabs-child', clock.date(), 10)).status).toBe('reused');
      await expectEnded(session);
    });

    it('without a grace window, of many concurrent refreshes of one token one rotates, the next is reuse and ends the session', async () => {
      const session = makeSession({ refreshTokenHash: 'contended' });
      await store.create(session);
      const results = await Promise.all(
        Array.from({ length: 20 }, () => store.rotateRefreshToken(session.id, 'contended', 'contended-child', clock.date())),
      );
      const count = (status: string): number => results.filter((result) => result.status === status).length;
      // Taken one at a time: the first rotates, the second presents a rotated-away hash and
      // ends the session, and the rest find no session.
      expect(count('rotated')).toBe(1);
      expect(count('reused')).toBe(1);
      expect(count('invalid')).toBe(18);
      await expectEnded(session);
    });

    it('lets exactly one of many concurrent rotations with the same hash replace it', async () => {
      const session = makeSession({ refreshTokenHash: 'contended' });
      await store.create(session);
      // Different children (which a deriving caller never sends): only one can be current, so
      // within the window the others are reuse too.
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) => store.rotateRefreshToken(session.id, 'contended', `next-${i}`, clock.date(), 10)),
      );
      expect(results.filter((result) => result.status === 'rotated')).toHaveLength(1);
      expect(results.filter((result) => result.status === 'reused')).toHaveLength(1);
      await expectEnded(session);
    });

    it(`remembers the last ${REFRESH_HISTORY_LENGTH} rotated hashes`, async () => {
      const session = makeSession({ refreshTokenHash: 'h0' });
      await store.create(session);
      for (let i = 0; i < REFRESH_HISTORY_LENGTH + 2; i++) {
        expect((await store.rotateRefreshToken(session.id, `h${i}`, `h${i + 1}`, clock.date())).status).toBe('rotated');
      }
      const current = REFRESH_HISTORY_LENGTH + 2;
      // Forgotten: merely invalid, the session lives on.
      expect((await store.rotateRefreshToken(session.id, 'h0', 'x', clock.date())).status).toBe('invalid');
      expect(await store.get(session.id)).not.toBeNull();
      expect((await store.rotateRefreshToken(session.id, `h${current - REFRESH_HISTORY_LENGTH}`, 'x', clock.date())).status).toBe('reused');
      await expectEnded(session);
    });

    it('does not rotate the refresh token of an expired or deleted session', async () => {
      const expiring = makeSession({ refreshTokenHash: 'r1', expiresAt: clock.date(10) });
      const deleted = makeSession({ refreshTokenHash: 'r2' });
      await store.create(expiring);
      await store.create(deleted);
      await store.delete(deleted.id);
      clock.advance(10);
      expect((await store.rotateRefreshToken(expiring.id, 'r1', 'n1', clock.date())).status).toBe('invalid');
      expect((await store.rotateRefreshToken(deleted.id, 'r2', 'n2', clock.date())).status).toBe('invalid');
    });

    it('can end every session of a user but one', async () => {
      const keep = makeSession();
      const others = [makeSession({ userId: keep.userId }), makeSession({ userId: keep.userId })];
      for (const session of [keep, ...others]) await store.create(session);
      expect(await store.deleteAllForUser(keep.userId, keep.id)).toBe(2);
      expect(await store.listForUser(keep.userId)).toEqual([keep]);
    });

    describe('checkLive, the check made on every authenticated request', () => {
      const open = async (overrides: Partial<Session> = {}): Promise<Session> => {
        const session = makeSession({ refreshTokenHash: 'h'.repeat(43), ...overrides });
        await store.create(session);
        return session;
      };

      const check = (sessionId: string, userId: string): Promise<LiveSession | null> => Promise.resolve(store.checkLive(sessionId, userId));

      it("answers the username and lastSeenAt of the user's live session, and nothing else", async () => {
        const session = await open({ username: 'alice the first' });
        expect(await check(session.id, session.userId)).toEqual({
          username: 'alice the first',
          lastSeenAtMs: session.lastSeenAt.getTime(),
        });
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
        expect(await check(session.id, 'tenant:42:user 7')).toEqual({
          username: 'Zoë: the 2nd',
          lastSeenAtMs: session.lastSeenAt.getTime(),
        });
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
        const answers = await Promise.all(
          asked.map(({ session, foreign }) => check(session.id, foreign ? 'someone-else' : session.userId)),
        );
        answers.forEach((answer, i) => {
          const { session, foreign } = asked[i]!;
          const live = !foreign && sessions.indexOf(session) >= 4;
          expect(answer).toEqual(live ? { username: session.username, lastSeenAtMs: session.lastSeenAt.getTime() } : null);
        });
      });
    });
  });
}
