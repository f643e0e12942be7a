import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { startTestRedis, type TestRedis } from '../../../test/utils/redis-server.js';
import { AuditSink } from '../audit/audit-sink.js';
import { AuditTrail } from '../audit/audit-trail.js';
import { resolveAuthConfig, type AuthConfig } from '../auth.config.js';
import { AuthErrorCode } from '../auth.errors.js';
import { createAuthService, type AuthService } from '../auth.service.js';
import type { AuthModuleOptions } from '../interfaces/auth-module-options.interface.js';
import { InMemorySessionStore } from '../sessions/in-memory-session.store.js';
import { RedisSessionStore } from '../sessions/redis-session.store.js';
import type { SessionStore } from '../sessions/session-store.js';
import { FakeClock } from '../testing/fake-clock.js';
import { TokenService } from '../tokens/token.service.js';
import { Authenticator, type RequestAuthentication } from './authenticator.js';

const SECRET = 'strategy-spec-secret-of-more-than-32-bytes!';

class SilentAudit extends AuditSink {
  emit(): void {}
}

// Counts lastSeenAt writes.
class CountingStore extends InMemorySessionStore {
  touches = 0;
  override touch(sessionId: string, lastSeenAt: Date): Promise<boolean> {
    this.touches++;
    return super.touch(sessionId, lastSeenAt);
  }
}

interface Setup {
  clock: FakeClock;
  config: AuthConfig;
  sessionStore: SessionStore;
  tokens: TokenService;
  auth: AuthService;
  authenticator: Authenticator;
}

function setUpWith(sessionStore: SessionStore, clock: FakeClock, options: Omit<AuthModuleOptions, 'secret'>): Setup {
  const given = { clock: clock.now, sessionStore, audit: new SilentAudit(), ...options };
  const config = resolveAuthConfig({ secret: SECRET, ...given });
  const tokens = new TokenService(config);
  const authenticator = new Authenticator(config, tokens, sessionStore, new AuditTrail(config, given.audit));
  return { clock, config, sessionStore, tokens, auth: createAuthService(SECRET, given), authenticator };
}

function setUp(sessionStore: SessionStore, clock: FakeClock, sessionTouchIntervalSeconds = 60): Setup {
  return setUpWith(sessionStore, clock, { sessionTouchIntervalSeconds });
}

/** Opens a session straight in the store and signs a token for it. */
async function openSession(
  { clock, sessionStore, tokens }: Setup,
  userId = `user-${randomBytes(4).toString('hex')}`,
): Promise<{ id: string; userId: string; token: string }> {
  const id = sessionStore.generateSessionId(userId);
  await sessionStore.create({
    id,
    userId,
    username: 'alice',
    createdAt: clock.date(),
    lastSeenAt: clock.date(),
    expiresAt: clock.date(3600),
    idleTimeoutSeconds: 1800,
  });
  return { id, userId, token: await tokens.sign(userId, id, 900) };
}

const bearer = (token: string): { headers: Record<string, string> } => ({ headers: { authorization: `Bearer ${token}` } });

describe('Authenticator.authenticateRequest', () => {
  let setup: Setup;
  let store: CountingStore;

  beforeEach(() => {
    store = new CountingStore({ sweepIntervalSeconds: 0, clock: () => setup.clock.now() });
    setup = setUp(store, new FakeClock());
  });

  const authenticate = (token: string): Promise<RequestAuthentication> =>
    Promise.resolve(setup.authenticator.authenticateRequest(bearer(token)));

  it('gives the same answers as AuthService.authenticate', async () => {
    const { id, userId, token } = await openSession(setup);
    const other = await openSession(setup);
    // A genuine token naming another user's session.
    const crossed = await setup.tokens.sign(userId, other.id, 900);
    const cases = [token, token, crossed, `${token.slice(0, -2)}xx`, 'a.b.c'];
    for (const candidate of cases) expect(await authenticate(candidate)).toEqual(await setup.auth.authenticate(candidate));
    expect(await authenticate(token)).toEqual({
      ok: true,
      claims: expect.objectContaining({ sub: userId, sid: id }),
      user: { userId, username: 'alice', sessionId: id },
    });
    expect(await authenticate(crossed)).toEqual({ ok: false, code: AuthErrorCode.SESSION_REVOKED });

    await setup.auth.logoutSession(id);
    expect(await authenticate(token)).toEqual({ ok: false, code: AuthErrorCode.SESSION_REVOKED });
    expect(await setup.auth.authenticate(token)).toEqual({ ok: false, code: AuthErrorCode.SESSION_REVOKED });

    setup.clock.advance(900);
    expect(await authenticate(other.token)).toEqual({ ok: false, code: AuthErrorCode.TOKEN_EXPIRED });
  });

  it('refuses a missing or malformed header before looking at any token', async () => {
    expect(setup.authenticator.authenticateRequest({ headers: {} })).toEqual({ ok: false, code: AuthErrorCode.TOKEN_MISSING });
    expect(setup.authenticator.authenticateRequest({ headers: { authorization: 'Basic YWxpY2U6c2VjcmV0' } })).toEqual({
      ok: false,
      code: AuthErrorCode.TOKEN_INVALID,
    });
  });

  it('keeps the strict header rules for a token it has verified before', async () => {
    const { token } = await openSession(setup);
    expect((await authenticate(token)).ok).toBe(true);
    const headers = (authorization: string): { headers: Record<string, string> } => ({ headers: { authorization } });
    for (const spelling of [`bearer ${token}`, `BEARER ${token}`])
      expect((await setup.authenticator.authenticateRequest(headers(spelling))).ok).toBe(true);
    for (const header of [
      `Bearer  ${token}`,
      `Bearer ${token} `,
      `Bearer\t${token}`,
      ` Bearer ${token}`,
      `Bearer ${token}, Bearer ${token}`,
      `Bearer ${token}==`,
      token,
    ]) {
      expect(await setup.authenticator.authenticateRequest(headers(header))).toEqual({ ok: false, code: AuthErrorCode.TOKEN_INVALID });
    }
    const repeated = {
      headers: { authorization: `Bearer ${token}` },
      rawHeaders: ['Authorization', `Bearer ${token}`, 'authorization', 'Bearer x.y.z'],
    };
    expect(await setup.authenticator.authenticateRequest(repeated)).toEqual({ ok: false, code: AuthErrorCode.TOKEN_INVALID });
  });

  it('answers without a promise for a token seen before on a store that answers at once', async () => {
    const { token } = await openSession(setup);
    expect(setup.authenticator.authenticateRequest(bearer(token))).toBeInstanceOf(Promise);
    await authenticate(token);
    const again = setup.authenticator.authenticateRequest(bearer(token));
    expect(again).not.toBeInstanceOf(Promise);
    expect((again as RequestAuthentication).ok).toBe(true);
  });

  it('writes lastSeenAt at most once per touch interval, which keeps an active session past its idle timeout', async () => {
    const { id, userId, token } = await openSession(setup);
    await authenticate(token);
    expect(store.touches).toBe(0);
    for (let minute = 1; minute <= 40; minute++) {
      setup.clock.advance(60);
      // A fresh token now and then: the session outlives any one access token.
      const current = await setup.tokens.sign(userId, id, 900);
      for (let i = 0; i < 3; i++) expect((await authenticate(current)).ok).toBe(true);
    }
    // 40 minutes of activity against a 30-minute idle timeout: one write per minute.
    expect(store.touches).toBe(40);
  });
});

describe('Authenticator.authenticateRequest on Redis', () => {
  let redis: TestRedis;

  beforeAll(async () => {
    redis = await startTestRedis();
  });

  afterAll(async () => {
    await redis?.stop();
  });

  it('reads the store on every request: a logout through another instance refuses the next one', async () => {
    const keyPrefix = `nw-test-${randomBytes(4).toString('hex')}`;
    const clock = new FakeClock(Date.now());
    const a = new RedisSessionStore({ url: redis.url, keyPrefix, clock: clock.now });
    const b = new RedisSessionStore({ url: redis.url, keyPrefix, clock: clock.now });
    try {
      const setup = setUp(a, clock);
      const { userId, token } = await openSession(setup);
      for (let i = 0; i < 3; i++) {
        const answer = setup.authenticator.authenticateRequest(bearer(token));
        expect(answer).toBeInstanceOf(Promise);
        expect((await answer).ok).toBe(true);
      }
      expect(await b.deleteAllForUser(userId)).toBe(1);
      expect(await setup.authenticator.authenticateRequest(bearer(token))).toEqual({ ok: false, code: AuthErrorCode.SESSION_REVOKED });
    } finally {
      await a.onModuleDestroy();
      await b.onModuleDestroy();
    }
  });
});

describe('Authenticator.authenticateRequest with the cookie transport', () => {
  const cookieSetup = (secure: boolean): Setup => {
    const clock = new FakeClock();
    const sessionStore = new InMemorySessionStore({ sweepIntervalSeconds: 0, clock: clock.now });
    return setUpWith(sessionStore, clock, { cookies: { secure } });
  };
  const post = (cookie: string, csrfHeader?: string): { method: string; headers: Record<string, string> } => ({
    method: 'POST',
    headers: { cookie, ...(csrfHeader === undefined ? {} : { 'x-csrf-token': csrfHeader }) },
  });

  it.each([
    ['secure', true, '__Host-nw_access', '__Host-nw_csrf'],
    ['plain-HTTP', false, 'nw_access', 'nw_csrf'],
  ])('reads the %s names, and only those', async (_label, secure, access, csrf) => {
    const setup = cookieSetup(secure);
    const { id, token } = await openSession(setup);
    const mac = setup.config.csrfKeys.mac(id);
    expect((await setup.authenticator.authenticateRequest(post(`${access}=${token}; ${csrf}=${mac}`, mac))).ok).toBe(true);
    const [otherAccess, otherCsrf] = secure ? ['nw_access', 'nw_csrf'] : ['__Host-nw_access', '__Host-nw_csrf'];
    expect(await setup.authenticator.authenticateRequest(post(`${otherAccess}=${token}; ${otherCsrf}=${mac}`, mac))).toEqual({
      ok: false,
      code: AuthErrorCode.TOKEN_MISSING,
    });
    // The right access cookie with the CSRF pair under the other name: no CSRF cookie.
    expect(await setup.authenticator.authenticateRequest(post(`${access}=${token}; ${otherCsrf}=${mac}`, mac))).toEqual({
      ok: false,
      code: AuthErrorCode.CSRF_FAILED,
    });
  });

  it("checks the CSRF pair against the verified token's session, after the token", async () => {
    const setup = cookieSetup(true);
    const { id, token } = await openSession(setup);
    const other = await openSession(setup);
    const withPair = (accessToken: string, value: string): Promise<RequestAuthentication> =>
      Promise.resolve(setup.authenticator.authenticateRequest(post(`__Host-nw_access=${accessToken}; __Host-nw_csrf=${value}`, value)));
    expect((await withPair(token, setup.config.csrfKeys.mac(id))).ok).toBe(true);
    // Another session's genuine pair, or a random one, matches nothing.
    expect(await withPair(token, setup.config.csrfKeys.mac(other.id))).toEqual({ ok: false, code: AuthErrorCode.CSRF_FAILED });
    expect(await withPair(token, 'planted-by-a-sibling-subdomain')).toEqual({ ok: false, code: AuthErrorCode.CSRF_FAILED });
    // A refused token answers as a refused token, whatever the CSRF pair.
    expect(await withPair(`${token.slice(0, -2)}xx`, setup.config.csrfKeys.mac(id))).toEqual({
      ok: false,
      code: AuthErrorCode.TOKEN_INVALID,
    });
    expect(await setup.authenticator.authenticateRequest(post('__Host-nw_access=a.b.c'))).toEqual({
      ok: false,
      code: AuthErrorCode.TOKEN_INVALID,
    });
    setup.clock.advance(900);
    expect(await withPair(token, 'x')).toEqual({ ok: false, code: AuthErrorCode.TOKEN_EXPIRED });
  });

  it('needs no CSRF pair for a safe method or a bearer header', async () => {
    const setup = cookieSetup(true);
    const { token } = await openSession(setup);
    expect((await setup.authenticator.authenticateRequest({ method: 'GET', headers: { cookie: `__Host-nw_access=${token}` } })).ok).toBe(
      true,
    );
    expect((await setup.authenticator.authenticateRequest({ method: 'POST', headers: { authorization: `Bearer ${token}` } })).ok).toBe(
      true,
    );
  });
});
