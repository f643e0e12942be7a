import { expect, it } from '@jest/globals';
import type { Session } from '../sessions/session.interface.js';
import type { SessionStore } from '../sessions/session-store.js';
import type { FakeClock } from './fake-clock.js';

/**
 * The part of the session-store contract about how a session was authenticated (`amr`,
 * `authTime`, `recordAuthentication`), registered inside `describeSessionStoreContract`.
 */
export function sessionAuthenticationContract(
  current: () => { store: SessionStore; clock: FakeClock },
  makeSession: (overrides?: Partial<Session>) => Session,
): void {
  it('keeps the factors and the authentication time of a session', async () => {
    const { store, clock } = current();
    const session = makeSession({ amr: ['pwd', 'otp'], authTime: clock.date(-30), refreshTokenHash: 'a1' });
    await store.create(session);
    expect(await store.get(session.id)).toEqual(session);
    expect(await store.listForUser(session.userId)).toEqual([session]);
    const rotation = await store.rotateRefreshToken(session.id, 'a1', 'a2', clock.date());
    expect(rotation.status).toBe('rotated');
    expect(rotation.status === 'rotated' && rotation.session).toMatchObject({ amr: ['pwd', 'otp'], authTime: session.authTime });
  });

  it('records a reauthentication: new factors and time, nothing else changed', async () => {
    const { store, clock } = current();
    const session = makeSession({ amr: ['pwd'], authTime: clock.date(), refreshTokenHash: 'b1', idleTimeoutSeconds: 600 });
    await store.create(session);
    clock.advance(120);
    const renewed = await store.recordAuthentication(session.id, session.userId, ['pwd', 'otp'], clock.date());
    const expected = { ...session, amr: ['pwd', 'otp'], authTime: clock.date() };
    expect(renewed).toEqual(expected);
    expect(await store.get(session.id)).toEqual(expected);
    // The refresh token is the one it was, and rotating it carries the new factors.
    const rotation = await store.rotateRefreshToken(session.id, 'b1', 'b2', clock.date());
    expect(rotation.status === 'rotated' && rotation.session).toMatchObject({ amr: ['pwd', 'otp'], authTime: clock.date() });
  });

  it('records a reauthentication of a session stored without factors', async () => {
    const { store, clock } = current();
    const session = makeSession();
    await store.create(session);
    const renewed = await store.recordAuthentication(session.id, session.userId, ['pwd'], clock.date(5));
    expect(renewed).toEqual({ ...session, amr: ['pwd'], authTime: clock.date(5) });
  });

  it("never records an authentication on another user's, an ended or an expired session", async () => {
    const { store, clock } = current();
    const mine = makeSession({ amr: ['pwd'], authTime: clock.date() });
    const ended = makeSession();
    const expiring = makeSession({ expiresAt: clock.date(10) });
    for (const session of [mine, ended, expiring]) await store.create(session);
    await store.delete(ended.id);
    expect(await store.recordAuthentication(mine.id, 'someone-else', ['pwd', 'otp'], clock.date())).toBeNull();
    expect(await store.get(mine.id)).toEqual(mine);
    expect(await store.recordAuthentication(ended.id, ended.userId, ['pwd'], clock.date())).toBeNull();
    expect(await store.get(ended.id)).toBeNull();
    clock.advance(10);
    expect(await store.recordAuthentication(expiring.id, expiring.userId, ['pwd'], clock.date())).toBeNull();
    expect(await store.get(expiring.id)).toBeNull();
  });
}
