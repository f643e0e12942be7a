import { describe, expect, it } from '@jest/globals';
import { AuditSink, LoggerAuditSink, type AuthAuditEvent } from './audit/audit-sink.js';
import { MIN_SECRET_BYTES, authParts, checkBoolean, checkRoutePrefix, resolveAuthConfig } from './auth.config.js';
import { AuthOptionsError } from './auth.errors.js';
import { systemClock } from './clock.js';
import type { AuthModuleOptions } from './interfaces/auth-module-options.interface.js';
import { CredentialPolicy } from './passwords/credential-policy.js';
import { Argon2PasswordHasher, PasswordHasher, type PasswordCheck } from './passwords/password-hasher.js';
import { InMemorySessionStore } from './sessions/in-memory-session.store.js';
import { SessionStore } from './sessions/session-store.js';
import { InMemoryThrottleStore } from './throttle/in-memory-throttle.store.js';
import { ThrottleStore } from './throttle/throttle-store.js';
import { FakeClock } from './testing/fake-clock.js';
import { InMemoryUserStore } from './users/in-memory-user.store.js';
import { UserStore, type NewUser, type UserRecord } from './users/user-store.js';

const SECRET = 'test-secret-that-is-at-least-32-bytes-long!';

/** Runs `fn`, expects an AuthOptionsError, returns it. */
function optionsError(fn: () => unknown): AuthOptionsError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(AuthOptionsError);
    expect(error).toBeInstanceOf(TypeError);
    return error as AuthOptionsError;
  }
  throw new Error('expected an AuthOptionsError, nothing was thrown');
}

/** Options with a bad value smuggled past the types, as a JS caller or a config file could. */
const withBad = (extra: Record<string, unknown>): AuthModuleOptions => ({ secret: SECRET, ...extra }) as AuthModuleOptions;

class NullAudit extends AuditSink {
  emit(_event: AuthAuditEvent): void {}
}

class PlainHasher extends PasswordHasher {
  async hash(password: string): Promise<string> {
    return `plain:${password}`;
  }
  async verify(hash: string, password: string): Promise<PasswordCheck> {
    return { valid: hash === `plain:${password}`, needsRehash: false };
  }
}

/** A user store that keeps no email addresses (the UserStore defaults). */
class NamesOnlyUserStore extends UserStore {
  private readonly users = new InMemoryUserStore();
  findByUsername(username: string): Promise<UserRecord | null> {
    return this.users.findByUsername(username);
  }
  findById(userId: string): Promise<UserRecord | null> {
    return this.users.findById(userId);
  }
  create(user: NewUser): Promise<UserRecord> {
    return this.users.create(user);
  }
  updatePasswordHash(userId: string, passwordHash: string): Promise<void> {
    return this.users.updatePasswordHash(userId, passwordHash);
  }
}

describe('resolveAuthConfig', () => {
  describe('secret', () => {
    it.each([
      ['no options at all', undefined],
      ['null options', null],
      ['no secret', {}],
      ['an empty secret', { secret: '' }],
      ['a null secret', { secret: null }],
    ])('refuses %s', (_label, options) => {
      const error = optionsError(() => resolveAuthConfig(options as AuthModuleOptions | undefined));
      expect(error.option).toBe('secret');
      expect(error.message).toContain('"secret"');
      expect(error.message).toMatch(/required/);
    });

    it('refuses a secret that is neither a string nor a Buffer', () => {
      const error = optionsError(() => resolveAuthConfig({ secret: 12345 } as unknown as AuthModuleOptions));
      expect(error.option).toBe('secret');
      expect(error.message).toContain('"secret"');
    });

    it('requires 32 bytes', () => {
      expect(MIN_SECRET_BYTES).toBe(32);
    });

    it('refuses a 31-byte string secret and accepts a 32-byte one', () => {
      const error = optionsError(() => resolveAuthConfig({ secret: 'x'.repeat(31) }));
      expect(error.option).toBe('secret');
      expect(error.message).toMatch(/32 bytes/);
      expect(() => resolveAuthConfig({ secret: 'x'.repeat(32) })).not.toThrow();
    });

    it('counts UTF-8 bytes, not characters', () => {
      const sixteenTwoByte = '\u00e9'.repeat(16);
      expect(sixteenTwoByte.length).toBe(16);
      expect(Buffer.byteLength(sixteenTwoByte, 'utf8')).toBe(32);
      expect(() => resolveAuthConfig({ secret: sixteenTwoByte })).not.toThrow();

      const fifteenTwoBytePlusOne = `${'\u00e9'.repeat(15)}a`; // 31 bytes
      expect(optionsError(() => resolveAuthConfig({ secret: fifteenTwoBytePlusOne })).option).toBe('secret');
    });

    it('takes a Buffer secret of 32 bytes and refuses one of 31', () => {
      const config = resolveAuthConfig({ secret: Buffer.alloc(32, 7) });
      expect(config.keys.signing.verifyKey.type).toBe('secret');
      expect(config.keys.signing.verifyKey.symmetricKeySize).toBe(32);
      expect(optionsError(() => resolveAuthConfig({ secret: Buffer.alloc(31, 7) })).option).toBe('secret');
    });

    it('turns the secret into a secret KeyObject holding the same bytes', () => {
      const config = resolveAuthConfig({ secret: SECRET });
      expect(config.keys.signing.verifyKey.type).toBe('secret');
      expect(config.keys.signing.verifyKey.export().equals(Buffer.from(SECRET, 'utf8'))).toBe(true);
    });

    it('copies a Buffer secret, so later changes to the Buffer do not change the key', () => {
      const buffer = Buffer.alloc(32, 1);
      const config = resolveAuthConfig({ secret: buffer });
      buffer.fill(2);
      expect(config.keys.signing.verifyKey.export().equals(Buffer.alloc(32, 1))).toBe(true);
    });
  });

  describe('bad options', () => {
    it.each([
      ['accessTokenTtlSeconds', { accessTokenTtlSeconds: 0 }],
      ['accessTokenTtlSeconds', { accessTokenTtlSeconds: -1 }],
      ['accessTokenTtlSeconds', { accessTokenTtlSeconds: 1.5 }],
      ['accessTokenTtlSeconds', { accessTokenTtlSeconds: '3600' }],
      ['accessTokenTtlSeconds', { accessTokenTtlSeconds: Number.NaN }],
      ['accessTokenTtlSeconds', { accessTokenTtlSeconds: 86_400 * 30 + 1 }],
      ['issuer', { issuer: '' }],
      ['issuer', { issuer: 42 }],
      ['issuer', { issuer: 'i'.repeat(257) }],
      ['audience', { audience: '' }],
      ['clockToleranceSeconds', { clockToleranceSeconds: 301 }],
      ['clockToleranceSeconds', { clockToleranceSeconds: -1 }],
      ['passwordPolicy.minLength', { passwordPolicy: { minLength: 0 } }],
      ['passwordPolicy.minLength', { passwordPolicy: { minLength: 2.5 } }],
      ['passwordPolicy.minLength', { passwordPolicy: { minLength: '8' } }],
      ['passwordPolicy.maxLength', { passwordPolicy: { minLength: 10, maxLength: 9 } }],
      ['passwordPolicy.maxLength', { passwordPolicy: { maxLength: 7 } }],
      ['passwordPolicy.maxLength', { passwordPolicy: { maxLength: 1025 } }],
      ['sessionStore', { sessionStore: {} }],
      ['sessionStore', { sessionStore: new InMemoryUserStore() }],
      ['userStore', { userStore: new Map() }],
      ['passwordHasher', { passwordHasher: { hash: async () => 'x', verify: async () => ({ valid: true, needsRehash: false }) } }],
      ['audit', { audit: { emit: () => undefined } }],
      ['registration', { registration: 'yes' }],
      ['registration', { registration: 1 }],
      ['clock', { clock: 1_700_000_000_000 }],
      ['loginIdentifier', { loginIdentifier: 'phone' }],
      ['loginIdentifier', { loginIdentifier: 'email', userStore: new NamesOnlyUserStore() }],
    ])('refuses a bad %s (%p)', (option, extra) => {
      const error = optionsError(() => resolveAuthConfig(withBad(extra)));
      expect(error.option).toBe(option);
      expect(error.message).toContain(`"${option}"`);
      expect(error.message.startsWith('nest-warden: invalid option')).toBe(true);
      expect(error.name).toBe('AuthOptionsError');
    });
  });

  describe('defaults', () => {
    const config = resolveAuthConfig({ secret: SECRET });

    it('fills in the documented defaults', () => {
      expect(config.accessTokenTtlSeconds).toBe(3600);
      expect(config.issuer).toBe('nest-warden');
      expect(config.audience).toBe('nest-warden');
      expect(config.clockToleranceSeconds).toBe(0);
      expect(config.registration).toBe(true);
      expect(config.loginIdentifier).toBe('username');
      expect(config.clock).toBe(systemClock);
    });

    it('makes in-memory stores, the argon2 hasher, the logger audit sink and the default policy', () => {
      const options = { secret: SECRET };
      expect(authParts.sessionStore(options, config)).toBeInstanceOf(InMemorySessionStore);
      expect(authParts.userStore(options, config)).toBeInstanceOf(InMemoryUserStore);
      expect(authParts.throttleStore(options, config)).toBeInstanceOf(InMemoryThrottleStore);
      expect(authParts.passwordHasher(options, config)).toBeInstanceOf(Argon2PasswordHasher);
      expect(authParts.audit(options, config)).toBeInstanceOf(LoggerAuditSink);
      expect(config.passwordPolicy).toEqual({ minLength: 8, maxLength: 128, blockCommonPasswords: true });
      expect(new CredentialPolicy(config.passwordPolicy).password).toEqual({ minLength: 8, maxLength: 128, blockCommonPasswords: true });
    });

    it('makes new stores each time', () => {
      const options = { secret: SECRET };
      expect(authParts.sessionStore(options, config)).not.toBe(authParts.sessionStore(options, config));
      expect(authParts.userStore(options, config)).not.toBe(authParts.userStore(options, config));
    });

    it('holds settings only: no store, hasher or sink', () => {
      for (const value of Object.values(config)) {
        for (const part of [SessionStore, UserStore, ThrottleStore, PasswordHasher, AuditSink]) expect(value).not.toBeInstanceOf(part);
      }
    });

    it('makes the default session store expire sessions on the configured clock', async () => {
      const clock = new FakeClock();
      const withClock = authParts.sessionStore({ secret: SECRET }, resolveAuthConfig({ secret: SECRET, clock: clock.now }));
      await withClock.create({
        id: 'session-1',
        userId: 'user-1',
        username: 'alice',
        createdAt: clock.date(),
        lastSeenAt: clock.date(),
        expiresAt: clock.date(60),
      });
      expect(await withClock.get('session-1')).not.toBeNull();
      clock.advance(60);
      expect(await withClock.get('session-1')).toBeNull();
    });
  });

  describe('given options', () => {
    it('keeps valid values and instances as given', () => {
      const clock = new FakeClock();
      const sessionStore = new InMemorySessionStore({ clock: clock.now, sweepIntervalSeconds: 0 });
      const userStore = new InMemoryUserStore();
      const passwordHasher = new PlainHasher();
      const audit = new NullAudit();
      const options = {
        secret: SECRET,
        accessTokenTtlSeconds: 60,
        issuer: 'https://issuer.example',
        audience: 'my-api',
        clockToleranceSeconds: 300,
        sessionStore,
        userStore,
        passwordHasher,
        audit,
        registration: false,
        clock: clock.now,
        passwordPolicy: { minLength: 12 },
      };
      const config = resolveAuthConfig(options);
      expect(config).toMatchObject({
        accessTokenTtlSeconds: 60,
        issuer: 'https://issuer.example',
        audience: 'my-api',
        clockToleranceSeconds: 300,
        registration: false,
      });
      expect(authParts.sessionStore(options, config)).toBe(sessionStore);
      expect(authParts.userStore(options, config)).toBe(userStore);
      expect(authParts.passwordHasher(options, config)).toBe(passwordHasher);
      expect(authParts.audit(options, config)).toBe(audit);
      expect(config.clock).toBe(clock.now);
      expect(config.passwordPolicy).toEqual({ minLength: 12, maxLength: 128, blockCommonPasswords: true });
    });

    it('accepts the bounds of each numeric option', () => {
      expect(() => resolveAuthConfig({ secret: SECRET, accessTokenTtlSeconds: 1, clockToleranceSeconds: 0 })).not.toThrow();
      expect(() => resolveAuthConfig({ secret: SECRET, accessTokenTtlSeconds: 86_400 * 30, clockToleranceSeconds: 300 })).not.toThrow();
      expect(() => resolveAuthConfig({ secret: SECRET, passwordPolicy: { minLength: 1, maxLength: 1 } })).not.toThrow();
      expect(() => resolveAuthConfig({ secret: SECRET, passwordPolicy: { minLength: 1024, maxLength: 1024 } })).not.toThrow();
    });

    it('does not change the default password policy when given a custom one', () => {
      resolveAuthConfig({ secret: SECRET, passwordPolicy: { minLength: 20, maxLength: 30 } });
      expect(resolveAuthConfig({ secret: SECRET }).passwordPolicy).toEqual({
        minLength: 8,
        maxLength: 128,
        blockCommonPasswords: true,
      });
    });
  });
});

describe('checkRoutePrefix', () => {
  it('trims slashes from a valid prefix', () => {
    expect(checkRoutePrefix('auth')).toBe('auth');
    expect(checkRoutePrefix('/api/auth/')).toBe('api/auth');
    expect(checkRoutePrefix('')).toBe('');
  });

  it.each([42, null, 'a b', 'auth?x=1', 'auth#frag', 'auth\\x'])('refuses %p', (prefix) => {
    const error = optionsError(() => checkRoutePrefix(prefix));
    expect(error.option).toBe('routePrefix');
  });
});

describe('checkBoolean', () => {
  it('passes booleans through and names the option otherwise', () => {
    expect(checkBoolean('isGlobal', true)).toBe(true);
    expect(checkBoolean('isGlobal', false)).toBe(false);
    const error = optionsError(() => checkBoolean('isGlobal', 'true'));
    expect(error.option).toBe('isGlobal');
    expect(error.message).toBe('nest-warden: invalid option "isGlobal": must be true or false');
  });
});

describe('resolveAuthConfig: throttling and proxies', () => {
  const secret = 'unit-test-secret-that-is-32-bytes-long';

  it('throttles logins by default: 10 per account and device, 50 per IP, 20 registrations per IP, 15 minutes', () => {
    expect(resolveAuthConfig({ secret }).loginThrottle).toEqual({
      maxFailuresPerAccount: 10,
      maxFailuresPerDevice: 10,
      maxFailuresPerIp: 50,
      maxRegistrationsPerIp: 20,
      deviceProofTtlSeconds: 180 * 86_400,
      windowSeconds: 900,
    });
    expect(resolveAuthConfig({ secret, loginThrottle: { maxFailuresPerAccount: 4 } }).loginThrottle?.maxFailuresPerDevice).toBe(4);
    expect(resolveAuthConfig({ secret, loginThrottle: false }).loginThrottle).toBeNull();
  });

  it.each([
    [{ loginThrottle: { maxFailuresPerAccount: 0 } }, 'loginThrottle.maxFailuresPerAccount'],
    [{ loginThrottle: { windowSeconds: 1.5 } }, 'loginThrottle.windowSeconds'],
    [{ loginThrottle: { maxFailuresPerDevice: 0 } }, 'loginThrottle.maxFailuresPerDevice'],
    [{ loginThrottle: { deviceProofTtlSeconds: 10 } }, 'loginThrottle.deviceProofTtlSeconds'],
    [{ loginThrottle: { maxRegistrationsPerIp: -1 } }, 'loginThrottle.maxRegistrationsPerIp'],
    [{ refreshReuseGraceSeconds: 301 }, 'refreshReuseGraceSeconds'],
    [{ maxSessionsPerUser: -1 }, 'maxSessionsPerUser'],
    [{ loginThrottle: 'yes' }, 'loginThrottle'],
    [{ trustProxy: -1 }, 'trustProxy'],
    [{ trustProxy: 'loopback' }, 'trustProxy'],
    [{ throttleStore: {} }, 'throttleStore'],
  ])('refuses %j naming %s', (options, option) => {
    expect(() => resolveAuthConfig({ secret, ...(options as object) })).toThrow(expect.objectContaining({ option }));
  });

  it('limits sessions to 100 per user and gives refresh a 10 s reuse grace by default; 0 turns each off', () => {
    expect(resolveAuthConfig({ secret })).toEqual(expect.objectContaining({ maxSessionsPerUser: 100, refreshReuseGraceSeconds: 10 }));
    expect(resolveAuthConfig({ secret, maxSessionsPerUser: 0, refreshReuseGraceSeconds: 0 })).toEqual(
      expect.objectContaining({ maxSessionsPerUser: 0, refreshReuseGraceSeconds: 0 }),
    );
  });

  it('trusts no proxy by default', () => {
    expect(resolveAuthConfig({ secret }).trustProxy).toBe(false);
    expect(resolveAuthConfig({ secret, trustProxy: 2 }).trustProxy).toBe(2);
  });
});
