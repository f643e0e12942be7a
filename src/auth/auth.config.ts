import { availableParallelism } from 'node:os';
import { AuditSink, LoggerAuditSink } from './audit/audit-sink.js';
import { AuthOptionsError } from './auth.errors.js';
import { systemClock, type Clock } from './clock.js';
import type { AuthModuleOptions, LoginIdentifier, LoginThrottleOptions } from './interfaces/auth-module-options.interface.js';
import { DEFAULT_PASSWORD_POLICY, PASSWORD_INPUT_MAX_LENGTH, type PasswordPolicy } from './passwords/credential-policy.js';
import { Argon2PasswordHasher, PasswordHasher } from './passwords/password-hasher.js';
import { InMemorySessionStore } from './sessions/in-memory-session.store.js';
import { SessionStore } from './sessions/session-store.js';
import { COOKIE_NAMES, SECURE_COOKIE_NAMES, type CookieSettings } from './cookies/cookie-transport.js';
import { DerivedKeys } from './tokens/derived-keys.js';
import { resolveKeySet, type KeySet } from './tokens/signing-keys.js';
import { InMemoryThrottleStore } from './throttle/in-memory-throttle.store.js';
import { ThrottleStore } from './throttle/throttle-store.js';
import { InMemoryUserStore } from './users/in-memory-user.store.js';
import { UserStore } from './users/user-store.js';

export { MIN_SECRET_BYTES } from './tokens/signing-keys.js';

/**
 * The options after validation and defaults: plain settings, what the providers run on. The
 * pluggable parts (stores, hasher, audit sink) are not here: they are providers under their
 * abstract classes, made from the options by `authParts`.
 */
export interface AuthConfig {
  /** The signing key and every verification key. */
  readonly keys: KeySet;
  readonly accessTokenTtlSeconds: number;
  readonly issuer: string;
  readonly audience: string;
  readonly clockToleranceSeconds: number;
  readonly sessionTtlSeconds: number;
  /** 0 when off. */
  readonly sessionIdleTimeoutSeconds: number;
  readonly sessionTouchIntervalSeconds: number;
  /** 0 when unlimited. */
  readonly maxSessionsPerUser: number;
  /** 0 when reuse is strict. */
  readonly refreshReuseGraceSeconds: number;
  /** MAC keys for session-bound CSRF tokens. */
  readonly csrfKeys: DerivedKeys;
  /** MAC keys from which a refresh token's child is derived (reuse grace). */
  readonly refreshKeys: DerivedKeys;
  /** MAC keys of device proofs (login throttle). */
  readonly deviceProofKeys: DerivedKeys;
  readonly passwordPolicy: Readonly<PasswordPolicy>;
  /** `null` when throttling is off. */
  readonly loginThrottle: Readonly<Required<LoginThrottleOptions>> | null;
  readonly trustProxy: boolean | number;
  /** `null` when the cookie transport is off. */
  readonly cookies: CookieSettings | null;
  readonly maxConcurrentHashes: number;
  readonly registration: boolean;
  readonly loginIdentifier: LoginIdentifier;
  /** How recent a session's last full authentication must be for `@RequireRecentLogin()` without seconds. */
  readonly recentLoginSeconds: number;
  readonly clock: Clock;
}

/**
 * Validates options and fills in defaults. Throws {@link AuthOptionsError} naming the first
 * bad option, so a misconfigured app fails at start-up rather than on the first request.
 */
export function resolveAuthConfig(options: AuthModuleOptions | undefined): AuthConfig {
  if (options === null || typeof options !== 'object') {
    throw new AuthOptionsError('secret', 'is required (AuthModule.forRoot(secret) or forRoot({ secret }))');
  }
  const keys = resolveKeySet(options.secret, options.keys);

  const policy = { ...DEFAULT_PASSWORD_POLICY, ...(options.passwordPolicy ?? {}) };
  checkInteger('passwordPolicy.minLength', policy.minLength, 1, PASSWORD_INPUT_MAX_LENGTH);
  checkInteger('passwordPolicy.maxLength', policy.maxLength, policy.minLength, PASSWORD_INPUT_MAX_LENGTH);
  checkBoolean('passwordPolicy.blockCommonPasswords', policy.blockCommonPasswords);

  const sessionTtlSeconds = checkInteger('sessionTtlSeconds', options.sessionTtlSeconds ?? 43_200, 60, 86_400 * 400);
  const sessionIdleTimeoutSeconds = checkInteger(
    'sessionIdleTimeoutSeconds',
    options.sessionIdleTimeoutSeconds ?? Math.min(1800, sessionTtlSeconds),
    0,
    sessionTtlSeconds,
  );
  const sessionTouchIntervalSeconds = checkInteger(
    'sessionTouchIntervalSeconds',
    options.sessionTouchIntervalSeconds ?? Math.min(60, Math.floor((sessionIdleTimeoutSeconds || 120) / 2)),
    0,
    sessionIdleTimeoutSeconds === 0 ? 86_400 : Math.floor(sessionIdleTimeoutSeconds / 2),
  );

  const clock = checkFunction('clock', options.clock) ?? systemClock;
  checkInstance('sessionStore', options.sessionStore, SessionStore);
  checkInstance('userStore', options.userStore, UserStore);
  checkInstance('passwordHasher', options.passwordHasher, PasswordHasher);
  checkInstance('throttleStore', options.throttleStore, ThrottleStore);
  checkInstance('audit', options.audit, AuditSink);

  return {
    keys,
    accessTokenTtlSeconds: checkInteger('accessTokenTtlSeconds', options.accessTokenTtlSeconds ?? 3600, 1, 86_400 * 30),
    issuer: checkName('issuer', options.issuer ?? 'nest-warden'),
    audience: checkName('audience', options.audience ?? 'nest-warden'),
    clockToleranceSeconds: checkInteger('clockToleranceSeconds', options.clockToleranceSeconds ?? 0, 0, 300),
    sessionTtlSeconds,
    sessionIdleTimeoutSeconds,
    sessionTouchIntervalSeconds,
    maxSessionsPerUser: checkInteger('maxSessionsPerUser', options.maxSessionsPerUser ?? 100, 0, 10_000),
    refreshReuseGraceSeconds: checkInteger('refreshReuseGraceSeconds', options.refreshReuseGraceSeconds ?? 10, 0, 300),
    csrfKeys: new DerivedKeys(keys, 'csrf'),
    refreshKeys: new DerivedKeys(keys, 'refresh-child'),
    deviceProofKeys: new DerivedKeys(keys, 'device-proof'),
    passwordPolicy: Object.freeze(policy),
    loginThrottle: resolveThrottle(options.loginThrottle),
    trustProxy: checkTrustProxy(options.trustProxy ?? false),
    cookies: resolveCookies(options.cookies),
    maxConcurrentHashes: checkInteger(
      'maxConcurrentHashes',
      options.maxConcurrentHashes ?? Math.max(1, availableParallelism() - 1),
      1,
      256,
    ),
    registration: checkBoolean('registration', options.registration ?? true),
    loginIdentifier: checkLoginIdentifier(options.loginIdentifier ?? 'username', options.userStore),
    recentLoginSeconds: checkInteger('recentLoginSeconds', options.recentLoginSeconds ?? 900, 1, 86_400 * 30),
    clock,
  };
}

function checkLoginIdentifier(value: unknown, userStore: UserStore | undefined): LoginIdentifier {
  if (value !== 'username' && value !== 'email' && value !== 'either') {
    throw new AuthOptionsError('loginIdentifier', 'must be "username", "email" or "either"');
  }
  // The default store keeps addresses; a host's store must say it does.
  if (value !== 'username' && userStore !== undefined && !userStore.keepsEmail) {
    throw new AuthOptionsError('loginIdentifier', `is "${value}", but the userStore keeps no email addresses (keepsEmail is false)`);
  }
  return value;
}

/** The pluggable parts: the instances given in the options, else the defaults. */
export interface AuthParts {
  sessionStore: SessionStore;
  userStore: UserStore;
  throttleStore: ThrottleStore;
  passwordHasher: PasswordHasher;
  audit: AuditSink;
}

/**
 * Makes each pluggable part from the (validated) options: what `AuthModule` provides under each
 * part's abstract class, and what `createAuthService` wires by hand.
 */
export const authParts: { readonly [K in keyof AuthParts]: (options: AuthModuleOptions, config: AuthConfig) => AuthParts[K] } = {
  sessionStore: (options, config) => options.sessionStore ?? new InMemorySessionStore({ clock: config.clock }),
  userStore: (options) => options.userStore ?? new InMemoryUserStore(),
  throttleStore: (options, config) => options.throttleStore ?? new InMemoryThrottleStore({ clock: config.clock }),
  passwordHasher: (options) => options.passwordHasher ?? new Argon2PasswordHasher(),
  audit: (options) => options.audit ?? new LoggerAuditSink(),
};

function resolveThrottle(value: AuthModuleOptions['loginThrottle']): Required<LoginThrottleOptions> | null {
  if (value === false) return null;
  if (value !== undefined && (typeof value !== 'object' || value === null)) {
    throw new AuthOptionsError('loginThrottle', 'must be false or an object');
  }
  const given = value ?? {};
  const maxFailuresPerAccount = checkInteger('loginThrottle.maxFailuresPerAccount', given.maxFailuresPerAccount ?? 10, 1, 10_000);
  return {
    maxFailuresPerAccount,
    maxFailuresPerDevice: checkInteger(
      'loginThrottle.maxFailuresPerDevice',
      given.maxFailuresPerDevice ?? maxFailuresPerAccount,
      1,
      10_000,
    ),
    deviceProofTtlSeconds: checkInteger('loginThrottle.deviceProofTtlSeconds', given.deviceProofTtlSeconds ?? 15_552_000, 60, 86_400 * 400),
    maxRegistrationsPerIp: checkInteger('loginThrottle.maxRegistrationsPerIp', given.maxRegistrationsPerIp ?? 20, 1, 1_000_000),
    maxFailuresPerIp: checkInteger('loginThrottle.maxFailuresPerIp', given.maxFailuresPerIp ?? 50, 1, 1_000_000),
    windowSeconds: checkInteger('loginThrottle.windowSeconds', given.windowSeconds ?? 900, 1, 86_400),
  };
}

function resolveCookies(value: AuthModuleOptions['cookies']): CookieSettings | null {
  if (value === undefined || value === false) return null;
  const given = value === true ? {} : value;
  if (typeof given !== 'object' || given === null) throw new AuthOptionsError('cookies', 'must be true, false or an object');
  const sameSite = given.sameSite ?? 'strict';
  if (sameSite !== 'strict' && sameSite !== 'lax') throw new AuthOptionsError('cookies.sameSite', 'must be "strict" or "lax"');
  const secure = checkBoolean('cookies.secure', given.secure ?? true);
  const mode = given.mode ?? 'always';
  if (mode !== 'always' && mode !== 'on-request') throw new AuthOptionsError('cookies.mode', 'must be "always" or "on-request"');
  return { sameSite, secure, mode, names: secure ? SECURE_COOKIE_NAMES : COOKIE_NAMES };
}

function checkTrustProxy(value: unknown): boolean | number {
  if (typeof value === 'boolean') return value;
  if (typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 32) return value === 0 ? false : value;
  throw new AuthOptionsError('trustProxy', 'must be true, false or a number of proxies from 0 to 32');
}

/** Checks the structural options (`forRoot` extras) at import time. */
export function checkRoutePrefix(prefix: unknown): string {
  if (typeof prefix !== 'string' || !/^[A-Za-z0-9._~\-/]*$/.test(prefix)) {
    throw new AuthOptionsError('routePrefix', 'must be a path such as "auth" or "api/auth"');
  }
  return prefix.replace(/^\/+|\/+$/g, '');
}

/** Returns `value` when it is a boolean, else throws {@link AuthOptionsError} naming `option`. */
export function checkBoolean(option: string, value: unknown): boolean {
  if (typeof value !== 'boolean') throw new AuthOptionsError(option, 'must be true or false');
  return value;
}

export function checkInteger(option: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new AuthOptionsError(option, `must be an integer from ${min} to ${max}`);
  }
  return value;
}

function checkName(option: string, value: unknown): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > 256) {
    throw new AuthOptionsError(option, 'must be a non-empty string of at most 256 characters');
  }
  return value;
}

function checkInstance<T>(option: string, value: T | undefined, type: abstract new (...args: never[]) => T): T | undefined {
  if (value === undefined) return undefined;
  if (!(value instanceof type)) {
    throw new AuthOptionsError(option, `must be an instance of a class extending ${type.name}`);
  }
  return value;
}

function checkFunction<T>(option: string, value: T | undefined): T | undefined {
  if (value !== undefined && typeof value !== 'function') throw new AuthOptionsError(option, 'must be a function');
  return value;
}
