import { createHash } from 'node:crypto';
import { beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { Logger } from '@nestjs/common';
import { AuditSink, type AuthAuditEvent } from './audit/audit-sink.js';
import { AuthService, createAuthService, type LoginResult } from './auth.service.js';
import { AuthErrorCode, CredentialPolicyError, UsernameTakenError } from './auth.errors.js';
import { Argon2PasswordHasher, PasswordHasher, type PasswordCheck } from './passwords/password-hasher.js';
import { InMemorySessionStore } from './sessions/in-memory-session.store.js';
import { FakeClock } from './testing/fake-clock.js';
import { InMemoryUserStore } from './users/in-memory-user.store.js';

const SECRET = 'auth-service-spec-secret-32-bytes-or-more';
const PASSWORD = 'correct horse battery';

const sha256hex = (value: string): string => createHash('sha256').update(value, 'utf8').digest('hex');

class RecordingAudit extends AuditSink {
  readonly events: AuthAuditEvent[] = [];
  emit(event: AuthAuditEvent): void {
    this.events.push(event);
  }
  names(): string[] {
    return this.events.map((event) => event.name);
  }
}

/** The real argon2 hasher, counting calls. */
class CountingHasher extends PasswordHasher {
  private readonly inner = new Argon2PasswordHasher();
  hashCalls = 0;
  verifyCalls = 0;
  async hash(password: string): Promise<string> {
    this.hashCalls++;
    return this.inner.hash(password);
  }
  async verify(hash: string, password: string): Promise<PasswordCheck> {
    this.verifyCalls++;
    return this.inner.verify(hash, password);
  }
}

/** Awaits a promise that must reject and returns the rejection. */
async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the promise to reject');
}

describe('AuthService', () => {
  let clock: FakeClock;
  let audit: RecordingAudit;
  let auth: AuthService;

  beforeAll(() => {
    // Keeps the "audit sink failed" / "hash upgrade failed" log lines out of the test output.
    Logger.overrideLogger(false);
  });

  beforeEach(() => {
    clock = new FakeClock();
    audit = new RecordingAudit();
    auth = createAuthService(SECRET, { clock: clock.now, audit });
  });

  const registerAndLogin = async (username = 'alice', password = PASSWORD): Promise<LoginResult> => {
    await auth.register(username, password);
    const result = await auth.login(username, password);
    if (!result) throw new Error('login failed');
    return result;
  };

  describe('createAuthService', () => {
    it('returns an AuthService', async () => {
      expect(auth).toBeInstanceOf(AuthService);
    });

    it('refuses a short secret', async () => {
      expect(() => createAuthService('too-short')).toThrow(/secret/);
    });
  });

  describe('register and login', () => {
    it('registers a user', async () => {
      const user = await auth.register('alice', PASSWORD);
      expect(user).toEqual({ userId: expect.any(String), username: 'alice' });
    });

    it('logs in with the registered password and returns a bearer token', async () => {
      const { userId } = await auth.register('alice', PASSWORD);
      const result = await auth.login('alice', PASSWORD);
      expect(result).toEqual({
        accessToken: expect.any(String),
        refreshToken: expect.any(String),
        tokenType: 'Bearer',
        expiresIn: 3600,
        userId,
        sessionId: expect.any(String),
        deviceToken: expect.stringMatching(/^[\w-]{22}\.\d+\.[\w-]{43}$/),
      });
      const claims = await auth.verifyToken(result!.accessToken);
      expect(claims?.sub).toBe(userId);
      expect(claims?.sid).toBe(result!.sessionId);
      expect(claims!.exp - claims!.iat).toBe(3600);
    });

    it('opens a new session on every login', async () => {
      const first = await registerAndLogin();
      const second = await auth.login('alice', PASSWORD);
      expect(second?.sessionId).not.toBe(first.sessionId);
      expect(second?.accessToken).not.toBe(first.accessToken);
    });

    it('honours a custom access-token lifetime', async () => {
      const short = createAuthService(SECRET, { clock: clock.now, audit, accessTokenTtlSeconds: 120 });
      await short.register('alice', PASSWORD);
      const result = await short.login('alice', PASSWORD);
      expect(result?.expiresIn).toBe(120);
      clock.advance(120);
      expect(await short.isAuthenticated(result!.accessToken)).toBe(false);
    });

    it('stores an argon2id hash, never the password', async () => {
      const userStore = new InMemoryUserStore();
      const service = createAuthService(SECRET, { clock: clock.now, audit, userStore });
      await service.register('alice', PASSWORD);
      const stored = await userStore.findByUsername('alice');
      expect(stored?.passwordHash.startsWith('$argon2id$')).toBe(true);
      expect(stored?.passwordHash).not.toContain(PASSWORD);
    });

    it('normalises usernames to NFC, at registration and at login', async () => {
      const nfd = 'jose\u0301';
      const nfc = 'jos\u00e9';
      const user = await auth.register(nfd, PASSWORD);
      expect(user.username).toBe(nfc);
      expect(await auth.login(nfc, PASSWORD)).not.toBeNull();
      expect(await auth.login(nfd, PASSWORD)).not.toBeNull();
    });

    it('accepts the password in another Unicode normal form', async () => {
      await auth.register('alice', 'm\u00f6tley cr\u00fce!');
      expect(await auth.login('alice', 'mo\u0308tley cru\u0308e!')).not.toBeNull();
    });
  });

  describe('bad credentials', () => {
    it('returns null for a wrong password', async () => {
      await auth.register('alice', PASSWORD);
      await expect(auth.login('alice', `${PASSWORD}!`)).resolves.toBeNull();
      await expect(auth.login('alice', '')).resolves.toBeNull();
    });

    it('returns null for an unknown username', async () => {
      await expect(auth.login('nobody', PASSWORD)).resolves.toBeNull();
    });

    it('is case-sensitive on usernames', async () => {
      await auth.register('alice', PASSWORD);
      await expect(auth.login('Alice', PASSWORD)).resolves.toBeNull();
    });

    it('runs a password verification for an unknown username too', async () => {
      const hasher = new CountingHasher();
      const service = createAuthService(SECRET, { clock: clock.now, audit, passwordHasher: hasher });
      await service.register('alice', PASSWORD);

      hasher.verifyCalls = 0;
      expect(await service.login('alice', 'wrong password')).toBeNull();
      expect(hasher.verifyCalls).toBe(1);

      hasher.verifyCalls = 0;
      expect(await service.login('nobody', 'wrong password')).toBeNull();
      expect(hasher.verifyCalls).toBe(1);

      hasher.verifyCalls = 0;
      expect(await service.login('nobody-else', PASSWORD)).toBeNull();
      expect(hasher.verifyCalls).toBe(1);
    });

    it.each([
      ['undefined username', undefined, PASSWORD],
      ['numeric username', 42, PASSWORD],
      ['object username', { username: 'alice' }, PASSWORD],
      ['undefined password', 'alice', undefined],
      ['null password', 'alice', null],
      ['array password', 'alice', [PASSWORD]],
      ['numeric password', 'alice', 12345678],
    ])('returns null for a %s', async (_label, username, password) => {
      await auth.register('alice', PASSWORD);
      await expect(auth.login(username, password)).resolves.toBeNull();
    });

    it('returns null for a password over 1024 characters without hashing it', async () => {
      const hasher = new CountingHasher();
      const service = createAuthService(SECRET, { clock: clock.now, audit, passwordHasher: hasher });
      await service.register('alice', PASSWORD);
      hasher.verifyCalls = 0;
      hasher.hashCalls = 0;
      expect(await service.login('alice', 'x'.repeat(1025))).toBeNull();
      expect(hasher.verifyCalls).toBe(0);
      expect(hasher.hashCalls).toBe(0);
    });
  });

  describe('legacy SHA-256 users', () => {
    let userStore: InMemoryUserStore;

    beforeEach(async () => {
      userStore = new InMemoryUserStore();
      await userStore.create({ username: 'legacy', passwordHash: sha256hex('legacy-password') });
      auth = createAuthService(SECRET, { clock: clock.now, audit, userStore });
    });

    it('logs in with the legacy password and upgrades the stored hash to argon2id', async () => {
      const result = await auth.login('legacy', 'legacy-password');
      expect(result).not.toBeNull();
      expect(await auth.isAuthenticated(result!.accessToken)).toBe(true);
      const stored = await userStore.findByUsername('legacy');
      expect(stored?.passwordHash.startsWith('$argon2id$')).toBe(true);
    });

    it('still logs in after the upgrade, and still refuses a wrong password', async () => {
      await auth.login('legacy', 'legacy-password');
      const upgraded = (await userStore.findByUsername('legacy'))!.passwordHash;
      expect(await auth.login('legacy', 'legacy-password')).not.toBeNull();
      expect(await auth.login('legacy', 'legacy-passwore')).toBeNull();
      // A current hash is not rewritten on every login.
      expect((await userStore.findByUsername('legacy'))!.passwordHash).toBe(upgraded);
    });

    it('refuses a wrong password and leaves the legacy hash alone', async () => {
      expect(await auth.login('legacy', 'not-the-password')).toBeNull();
      expect((await userStore.findByUsername('legacy'))!.passwordHash).toBe(sha256hex('legacy-password'));
    });

    it('accepts an upper-case legacy digest', async () => {
      await userStore.create({ username: 'shouty', passwordHash: sha256hex('shouty-password').toUpperCase() });
      expect(await auth.login('shouty', 'shouty-password')).not.toBeNull();
      expect((await userStore.findByUsername('shouty'))!.passwordHash.startsWith('$argon2id$')).toBe(true);
    });

    it('logs in even when the hash upgrade fails', async () => {
      class FailingUpdateStore extends InMemoryUserStore {
        override async updatePasswordHash(): Promise<void> {
          throw new Error('database down');
        }
      }
      const failing = new FailingUpdateStore();
      await failing.create({ username: 'legacy', passwordHash: sha256hex('legacy-password') });
      const service = createAuthService(SECRET, { clock: clock.now, audit, userStore: failing });
      expect(await service.login('legacy', 'legacy-password')).not.toBeNull();
      expect((await failing.findByUsername('legacy'))!.passwordHash).toBe(sha256hex('legacy-password'));
    });
  });

  describe('sessions', () => {
    it('authenticates a fresh login', async () => {
      const { accessToken, userId, sessionId } = await registerAndLogin();
      expect(await auth.isAuthenticated(accessToken)).toBe(true);
      expect(await auth.authenticate(accessToken)).toEqual({
        ok: true,
        user: { userId, username: 'alice', sessionId },
        claims: expect.objectContaining({ sub: userId, sid: sessionId }),
      });
    });

    it('ends one session with logoutSession', async () => {
      const first = await registerAndLogin();
      const second = await auth.login('alice', PASSWORD);
      expect(await auth.logoutSession(first.sessionId)).toBe(true);
      expect(await auth.isAuthenticated(first.accessToken)).toBe(false);
      expect(await auth.authenticate(first.accessToken)).toEqual({ ok: false, code: AuthErrorCode.SESSION_REVOKED });
      expect(await auth.isAuthenticated(second!.accessToken)).toBe(true);
      expect(await auth.logoutSession(first.sessionId)).toBe(false);
    });

    it('ends every session of one user with logout, and no one else’s', async () => {
      const aliceOne = await registerAndLogin('alice');
      const aliceTwo = await auth.login('alice', PASSWORD);
      const bob = await registerAndLogin('bob');
      expect(await auth.logout(aliceOne.userId)).toBe(2);
      expect(await auth.isAuthenticated(aliceOne.accessToken)).toBe(false);
      expect(await auth.isAuthenticated(aliceTwo!.accessToken)).toBe(false);
      expect(await auth.isAuthenticated(bob.accessToken)).toBe(true);
      expect(await auth.logout(aliceOne.userId)).toBe(0);
    });

    it('lets the user log in again after logout', async () => {
      const { userId } = await registerAndLogin();
      await auth.logout(userId);
      const again = await auth.login('alice', PASSWORD);
      expect(await auth.isAuthenticated(again!.accessToken)).toBe(true);
    });

    it('stops authenticating the token once it expires', async () => {
      const { accessToken } = await registerAndLogin();
      // Stay active so the 30-minute idle timeout does not end the session first.
      for (let i = 0; i < 5; i++) {
        clock.advance(600);
        expect(await auth.isAuthenticated(accessToken)).toBe(true);
      }
      clock.advance(599);
      expect(await auth.isAuthenticated(accessToken)).toBe(true);
      clock.advance(1);
      expect(await auth.isAuthenticated(accessToken)).toBe(false);
      expect(await auth.authenticate(accessToken)).toEqual({ ok: false, code: AuthErrorCode.TOKEN_EXPIRED });
    });

    it('ends the session at its expiry on the configured clock, even for a longer-lived token', async () => {
      auth = createAuthService(SECRET, { clock: clock.now, audit, sessionTtlSeconds: 3600, sessionIdleTimeoutSeconds: 0 });
      const { userId, sessionId } = await registerAndLogin();
      // A token for the login's session (which ends after 3600 s) that itself lives 7200 s.
      const longToken = await auth.generateToken(userId, { sessionId, expiresInSeconds: 7200 });
      expect(await auth.isAuthenticated(longToken)).toBe(true);
      clock.advance(3600);
      expect(await auth.verifyToken(longToken)).not.toBeNull();
      expect(await auth.authenticate(longToken)).toEqual({ ok: false, code: AuthErrorCode.SESSION_REVOKED });
    });

    it('keeps sessions live on a clock set in the past', async () => {
      const past = new FakeClock(Date.UTC(2020, 0, 1));
      const service = createAuthService(SECRET, { clock: past.now, audit });
      await service.register('alice', PASSWORD);
      const result = await service.login('alice', PASSWORD);
      expect(await service.isAuthenticated(result!.accessToken)).toBe(true);
    });

    it('records request meta on the session', async () => {
      const sessionStore = new InMemorySessionStore({ clock: clock.now, sweepIntervalSeconds: 0 });
      const service = createAuthService(SECRET, { clock: clock.now, audit, sessionStore });
      await service.register('alice', PASSWORD);
      const result = await service.login('alice', PASSWORD, { ip: '203.0.113.9', userAgent: `ua-${'x'.repeat(400)}` });
      const session = await sessionStore.get(result!.sessionId);
      expect(session).toMatchObject({
        userId: result!.userId,
        username: 'alice',
        ip: '203.0.113.9',
        createdAt: clock.date(),
        expiresAt: clock.date(43_200),
        idleTimeoutSeconds: 1800,
      });
      expect(session?.userAgent).toHaveLength(256);
    });

    it.each([undefined, null, 42, '', 'garbage', 'a.b.c'])('isAuthenticated(%p) is false without throwing', async (token) => {
      await expect(auth.isAuthenticated(token)).resolves.toBe(false);
    });

    it('refuses non-string ids in logout and logoutSession', async () => {
      expect(await auth.logout(42 as unknown as string)).toBe(0);
      expect(await auth.logoutSession(undefined as unknown as string)).toBe(false);
    });
  });

  describe('generateToken', () => {
    it('signs a token that passes isAuthenticated', async () => {
      const { userId } = await auth.register('alice', PASSWORD);
      const token = await auth.generateToken(userId);
      expect(await auth.isAuthenticated(token)).toBe(true);
      const claims = await auth.verifyToken(token);
      expect(claims?.sub).toBe(userId);
      expect(claims!.exp - claims!.iat).toBe(3600);
    });

    it('honours expiresInSeconds', async () => {
      const { userId } = await auth.register('alice', PASSWORD);
      const token = await auth.generateToken(userId, { expiresInSeconds: 60 });
      clock.advance(59);
      expect(await auth.isAuthenticated(token)).toBe(true);
      clock.advance(1);
      expect(await auth.isAuthenticated(token)).toBe(false);
    });

    it('opens a session that logout ends', async () => {
      const { userId } = await auth.register('alice', PASSWORD);
      const token = await auth.generateToken(userId);
      expect(await auth.logout(userId)).toBe(1);
      expect(await auth.isAuthenticated(token)).toBe(false);
    });

    it('signs for an existing session when given its id', async () => {
      const { userId, sessionId } = await registerAndLogin();
      const token = await auth.generateToken(userId, { sessionId });
      expect((await auth.verifyToken(token))?.sid).toBe(sessionId);
      await auth.logoutSession(sessionId);
      expect(await auth.isAuthenticated(token)).toBe(false);
    });

    it('throws TypeError for an unknown user', async () => {
      expect(await rejection(auth.generateToken('no-such-user'))).toBeInstanceOf(TypeError);
    });

    it("throws TypeError for another user's or an unknown session", async () => {
      const alice = await registerAndLogin('alice');
      const { userId: bobId } = await auth.register('bob', PASSWORD);
      expect(await rejection(auth.generateToken(bobId, { sessionId: alice.sessionId }))).toBeInstanceOf(TypeError);
      expect(await rejection(auth.generateToken(alice.userId, { sessionId: 'no-such-session' }))).toBeInstanceOf(TypeError);
    });

    it.each([0, -60, 1.5, Number.NaN])('throws TypeError for expiresInSeconds %p', async (expiresInSeconds) => {
      const { userId } = await auth.register('alice', PASSWORD);
      expect(await rejection(auth.generateToken(userId, { expiresInSeconds }))).toBeInstanceOf(TypeError);
    });
  });

  describe('verifyToken', () => {
    it('returns the claims of a valid token', async () => {
      const { accessToken, userId, sessionId } = await registerAndLogin();
      expect(await auth.verifyToken(accessToken)).toMatchObject({ sub: userId, sid: sessionId, iss: 'nest-warden', aud: 'nest-warden' });
    });

    it.each([undefined, null, 7, '', 'not-a-token', 'a.b.c'])('returns null for %p', async (token) => {
      expect(await auth.verifyToken(token)).toBeNull();
    });

    it('returns null for an expired token or one from another secret', async () => {
      const { accessToken, userId } = await registerAndLogin();
      const other = createAuthService('some-other-secret-of-32-bytes-or-more', { clock: clock.now, audit });
      const { userId: otherId } = await other.register('mallory', PASSWORD);
      expect(await auth.verifyToken(await other.generateToken(otherId))).toBeNull();
      expect(userId).toBeTruthy();
      clock.advance(3600);
      expect(await auth.verifyToken(accessToken)).toBeNull();
    });

    it('does not look at the session', async () => {
      const { accessToken, sessionId } = await registerAndLogin();
      await auth.logoutSession(sessionId);
      expect(await auth.verifyToken(accessToken)).not.toBeNull();
    });
  });

  describe('register refusals', () => {
    it('refuses a short password with CredentialPolicyError naming the password', async () => {
      const error = await rejection(auth.register('alice', 'short'));
      expect(error).toBeInstanceOf(CredentialPolicyError);
      expect((error as CredentialPolicyError).field).toBe('password');
      expect(await auth.login('alice', 'short')).toBeNull();
    });

    it('refuses a bad username with CredentialPolicyError naming the username', async () => {
      const error = await rejection(auth.register('a b', PASSWORD));
      expect(error).toBeInstanceOf(CredentialPolicyError);
      expect((error as CredentialPolicyError).field).toBe('username');
    });

    it('refuses non-string input with CredentialPolicyError', async () => {
      expect(await rejection(auth.register(undefined as unknown as string, PASSWORD))).toBeInstanceOf(CredentialPolicyError);
      expect(await rejection(auth.register('alice', 12345678 as unknown as string))).toBeInstanceOf(CredentialPolicyError);
    });

    it('applies a custom password policy', async () => {
      const strict = createAuthService(SECRET, { clock: clock.now, audit, passwordPolicy: { minLength: 25 } });
      expect(await rejection(strict.register('alice', PASSWORD))).toBeInstanceOf(CredentialPolicyError);
      await expect(strict.register('alice', 'a much longer passphrase than before')).resolves.toMatchObject({ username: 'alice' });
    });

    it('refuses a taken username with UsernameTakenError and keeps the first password', async () => {
      await auth.register('alice', PASSWORD);
      const error = await rejection(auth.register('alice', 'another password'));
      expect(error).toBeInstanceOf(UsernameTakenError);
      expect((error as UsernameTakenError).code).toBe('AUTH_USERNAME_TAKEN');
      expect(await auth.login('alice', 'another password')).toBeNull();
      expect(await auth.login('alice', PASSWORD)).not.toBeNull();
    });

    it('treats NFC and NFD spellings of a username as the same name', async () => {
      await auth.register('jos\u00e9', PASSWORD);
      expect(await rejection(auth.register('jose\u0301', PASSWORD))).toBeInstanceOf(UsernameTakenError);
    });
  });

  describe('validateCredentials', () => {
    it('returns null for an acceptable pair', async () => {
      expect(auth.validateCredentials('alice', PASSWORD)).toBeNull();
    });

    it('returns the reason for a refused pair', async () => {
      expect(auth.validateCredentials('al', PASSWORD)).toBe('username must be 3 to 64 characters');
      expect(auth.validateCredentials('alice', 'short')).toBe('password must be at least 8 characters');
      expect(auth.validateCredentials('alice', 'x'.repeat(129))).toBe('password must be at most 128 characters');
      expect(auth.validateCredentials(null, PASSWORD)).toBe('username must be a string');
      expect(auth.validateCredentials('alice', undefined)).toBe('password must be a string');
    });
  });

  describe('hashPassword and verifyPassword', () => {
    it('round-trips', async () => {
      const hash = await auth.hashPassword(PASSWORD);
      expect(hash.startsWith('$argon2id$')).toBe(true);
      expect(await auth.verifyPassword(PASSWORD, hash)).toBe(true);
      expect(await auth.verifyPassword('wrong', hash)).toBe(false);
      expect(await auth.verifyPassword(PASSWORD, 'not-a-hash')).toBe(false);
      expect(await auth.verifyPassword(PASSWORD, sha256hex(PASSWORD))).toBe(true);
      expect(await auth.verifyPassword(undefined as unknown as string, hash)).toBe(false);
      expect(await auth.verifyPassword(PASSWORD, null as unknown as string)).toBe(false);
    });
  });

  describe('audit', () => {
    it('tells a grace answer (the token just rotated away, again) from a rotation, and reuse from both', async () => {
      const { refreshToken } = await registerAndLogin();
      const first = await auth.refresh(refreshToken);
      clock.advance(5);
      const again = await auth.refresh(refreshToken);
      expect(again?.refreshToken).toBe(first?.refreshToken);
      clock.advance(10);
      expect(await auth.refresh(refreshToken)).toBeNull();
      expect(audit.names().filter((name) => name.startsWith('refresh.'))).toEqual(['refresh.succeeded', 'refresh.grace', 'refresh.reused']);
    });

    it('records each security event with the right fields', async () => {
      const meta = { ip: '198.51.100.7', userAgent: 'jest-agent' };
      const { userId } = await auth.register('alice', PASSWORD, meta);
      const ok = await auth.login('alice', PASSWORD, meta);
      await auth.login('alice', 'wrong password', meta);
      await auth.login('nobody', PASSWORD, meta);
      await auth.login(42, PASSWORD, meta);
      await auth.logoutSession(ok!.sessionId, meta);
      await auth.login('alice', PASSWORD);
      await auth.logout(userId, meta);

      expect(audit.names()).toEqual([
        'register',
        'login.succeeded',
        'login.failed',
        'login.failed',
        'login.failed',
        'logout',
        'login.succeeded',
        'logout.all',
      ]);
      const [register, succeeded, wrongPassword, unknownUser, badInput, logout, , logoutAll] = audit.events;
      const at = clock.date();
      expect(register).toEqual({ name: 'register', at, userId, ...meta });
      expect(succeeded).toEqual({ name: 'login.succeeded', at, userId, sessionId: ok!.sessionId, ...meta });
      expect(wrongPassword).toEqual({ name: 'login.failed', at, userId, reason: 'AUTH_INVALID_CREDENTIALS', ...meta });
      expect(unknownUser).toEqual({ name: 'login.failed', at, reason: 'AUTH_INVALID_CREDENTIALS', ...meta });
      expect(badInput).toEqual({ name: 'login.failed', at, reason: 'AUTH_INVALID_CREDENTIALS', ...meta });
      expect(logout).toEqual({ name: 'logout', at, userId, sessionId: ok!.sessionId, ...meta });
      expect(logoutAll).toEqual({ name: 'logout.all', at, userId, ...meta });
    });

    it('does not record a logout for a session that was not live', async () => {
      await auth.logoutSession('no-such-session');
      expect(audit.names()).toEqual([]);
    });

    it('stamps events with the configured clock', async () => {
      clock.advance(12_345);
      await auth.login('nobody', PASSWORD);
      expect(audit.events[0]?.at).toEqual(clock.date());
    });

    it('never records a password, a token or a hash', async () => {
      const userStore = new InMemoryUserStore();
      await userStore.create({ username: 'legacy', passwordHash: sha256hex('legacy-password') });
      const service = createAuthService(SECRET, { clock: clock.now, audit, userStore });
      const { userId } = await service.register('alice', PASSWORD, { ip: '192.0.2.1', userAgent: 'agent' });
      const login = await service.login('alice', PASSWORD);
      await service.login('alice', 'the-wrong-password');
      await service.login('the-unknown-user', 'unknown-user-password');
      const legacy = await service.login('legacy', 'legacy-password');
      const generated = await service.generateToken(userId);
      await service.logoutSession(login!.sessionId);
      await service.logout(userId);

      const serialized = JSON.stringify(audit.events);
      expect(audit.events.length).toBeGreaterThanOrEqual(6);
      for (const secret of [
        PASSWORD,
        'the-wrong-password',
        'unknown-user-password',
        'legacy-password',
        sha256hex('legacy-password'),
        login!.accessToken,
        legacy!.accessToken,
        generated,
        '$argon2',
      ]) {
        expect(serialized).not.toContain(secret);
      }
    });

    it('keeps working when the audit sink throws or rejects', async () => {
      class ThrowingAudit extends AuditSink {
        emit(): void {
          throw new Error('sink down');
        }
      }
      class RejectingAudit extends AuditSink {
        emit(): Promise<void> {
          return Promise.reject(new Error('sink down'));
        }
      }
      for (const sink of [new ThrowingAudit(), new RejectingAudit()]) {
        const service = createAuthService(SECRET, { clock: clock.now, audit: sink });
        await service.register('alice', PASSWORD);
        const result = await service.login('alice', PASSWORD);
        expect(result).not.toBeNull();
        expect(await service.login('alice', 'wrong password')).toBeNull();
        expect(await service.logout(result!.userId)).toBe(1);
      }
    });
  });
});
