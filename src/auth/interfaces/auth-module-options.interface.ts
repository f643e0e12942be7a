import type { AuthFlow } from '../flows/auth-flow.js';
import type { AuditSink } from '../audit/audit-sink.js';
import type { Clock } from '../clock.js';
import type { CookieTransportOptions } from '../cookies/cookie-transport.js';
import type { PasswordPolicy } from '../passwords/credential-policy.js';
import type { PasswordHasher } from '../passwords/password-hasher.js';
import type { SessionStore } from '../sessions/session-store.js';
import type { ThrottleStore } from '../throttle/throttle-store.js';
import type { JwtKeyOptions } from '../tokens/signing-keys.js';
import type { UserStore } from '../users/user-store.js';

/**
 * Options of `AuthModule.forRoot(options)` and of the factory in `forRootAsync`.
 * Checked once at start-up; a bad value stops the app with an error naming the option.
 */
export interface AuthModuleOptions {
  /**
   * HS256 signing key: at least 32 bytes (RFC 7518 section 3.2). Keep it out of source control.
   * Give either `secret` or `keys`.
   */
  secret?: string | Buffer;
  /**
   * Signing and verification keys, for asymmetric tokens (RS256, ES256, EdDSA) and key
   * rotation: the first key that can sign signs; every listed key verifies tokens carrying
   * its `kid`. Public keys are published at `/.well-known/jwks.json`.
   */
  keys?: JwtKeyOptions[];
  /** Access-token lifetime in seconds. Default 3600. */
  accessTokenTtlSeconds?: number;
  /** `iss` claim set and required. Default `"nest-warden"`. */
  issuer?: string;
  /** `aud` claim set and required. Default `"nest-warden"`. */
  audience?: string;
  /** Allowed clock skew when checking `exp`, `nbf` and `iat`, in seconds. Default 0, max 300. */
  clockToleranceSeconds?: number;
  /** Absolute session lifetime in seconds: re-login after this, however active. Default 43200 (12 h). */
  sessionTtlSeconds?: number;
  /** Idle timeout in seconds: a session unused this long ends. Default 1800 (30 min); 0 turns it off. */
  sessionIdleTimeoutSeconds?: number;
  /** Minimum seconds between two `lastSeenAt` writes for one session on authenticated requests. Default 60. */
  sessionTouchIntervalSeconds?: number;
  /**
   * How recent, in seconds, a session's last full authentication (login or
   * `POST /auth/reauthenticate`) must be on routes behind `@RequireRecentLogin()` without an
   * argument: password change, email change and second-factor enrolment among them. Default 900
   * (15 min, as Ory Kratos's privileged sessions); at most 30 days.
   */
  recentLoginSeconds?: number;
  /**
   * Most live sessions per user; a login past it ends the oldest. Default 100, so one account
   * cannot make its session listing and logout-everywhere unbounded; 0 means no limit.
   */
  maxSessionsPerUser?: number;
  /**
   * Seconds during which the refresh token just rotated away may be presented once more (two
   * tabs refreshing at once): the answer is the same new refresh token, with a fresh access
   * token, so every tab ends up on one lineage. An older token, or this one after the window,
   * is reuse and ends the session. Default 10; 0 is strict (any second use ends the session).
   */
  refreshReuseGraceSeconds?: number;
  /** Session storage. Default: a new `InMemorySessionStore`. */
  sessionStore?: SessionStore;
  /** User storage. Default: a new `InMemoryUserStore`. */
  userStore?: UserStore;
  /** Password length rules (code points). Default `{ minLength: 8, maxLength: 128 }`. */
  passwordPolicy?: Partial<PasswordPolicy>;
  /**
   * Most password hashes or verifications running at once; the rest queue. Keeps a login flood
   * from taking every core from the event loop. Default: CPU cores - 1 (at least 1).
   */
  maxConcurrentHashes?: number;
  /**
   * Brute-force protection on login: failed attempts counted per account and per client IP
   * in shared storage; past a limit, login answers 429 `AUTH_TOO_MANY_ATTEMPTS` with
   * `Retry-After`. `false` turns it off (for tests, or when a proxy does it).
   */
  loginThrottle?: LoginThrottleOptions | false;
  /** Where login-failure counters live. Default: a new `InMemoryThrottleStore`; use `RedisThrottleStore` with several instances. */
  throttleStore?: ThrottleStore;
  /**
   * How the client IP is found, for the per-IP limit, sessions and audit events.
   * `false` (default): the TCP peer address; `X-Forwarded-For` is ignored, so it cannot be
   * spoofed. A number n: n trusted proxies in front; the address n hops from the right of
   * `X-Forwarded-For` (counting the peer) is the client. `true`: the leftmost entry (only
   * when every hop is trusted).
   */
  trustProxy?: boolean | number;
  /**
   * Cookie transport for browser apps (opt-in, default off): login and refresh set `HttpOnly`
   * `__Host-nw_access` and `__Secure-nw_refresh` (the latter only on the refresh path) cookies
   * plus a readable `__Host-nw_csrf` cookie bound to the session (plain names with `secure: false`), and leave the tokens out of the body; the guard accepts the access cookie
   * when no Authorization header is sent, with a double-submit CSRF check on unsafe methods.
   * Bearer headers keep working. `true` for the defaults (`Secure`, `SameSite=Strict`).
   */
  cookies?: boolean | CookieTransportOptions;
  /** Password hashing. Default: argon2id at OWASP's minimum parameters. */
  passwordHasher?: PasswordHasher;
  /** Where audit events go. Default: Nest's `Logger`. */
  audit?: AuditSink;
  /** Whether `POST /auth/register` accepts sign-ups. Default `true`. */
  registration?: boolean;
  /**
   * What `POST /auth/login` takes to find the account: `"username"` (default, the body's
   * `username`), `"email"` (the body's `email`), or `"either"` (the body's `email`, or its
   * `username`, looked up as a verified address first when shaped like one). With `"either"`
   * no new username may look like an address. Email needs a user store that keeps addresses
   * (`keepsEmail`).
   */
  loginIdentifier?: LoginIdentifier;
  /** Time source, for tests. Default `Date.now`. */
  clock?: Clock;
}

/** What a login names its account by: see `AuthModuleOptions.loginIdentifier`. */
export type LoginIdentifier = 'username' | 'email' | 'either';

/** Limits of the login throttle. */
export interface LoginThrottleOptions {
  /** Failed logins allowed per account within the window. Default 10. */
  maxFailuresPerAccount?: number;
  /** Failed logins allowed per client IP within the window. Default 50. */
  maxFailuresPerIp?: number;
  /** Window in which failures count, and lockout length once a limit is reached. Default 900 (15 min). */
  windowSeconds?: number;
  /**
   * Failed logins allowed within the window from a client that presents a valid device proof
   * for the account (a device it logged in from before). Such a client is not locked out by
   * failures from elsewhere. Default: `maxFailuresPerAccount`.
   */
  maxFailuresPerDevice?: number;
  /** Lifetime of a device proof, in seconds; each successful login renews it. Default 15552000 (180 days). */
  deviceProofTtlSeconds?: number;
  /** Registrations (successful or not) allowed per client IP within the window. Default 20. */
  maxRegistrationsPerIp?: number;
}

/**
 * Options that shape the module itself, so they are given next to (not inside) the async
 * factory in `forRootAsync`, and inside the options object in `forRoot`.
 */
export interface AuthModuleExtras {
  /** Register the module globally. Default `false`. */
  isGlobal?: boolean;
  /** Register `AuthGuard` as `APP_GUARD` so every route is guarded unless `@Public()`. Default `false`. */
  globalGuard?: boolean;
  /** Mount `AuthController`. Default `true`; `false` for apps that want only the guard and service. */
  controller?: boolean;
  /** Path prefix of the controller's routes, and of the flows' controllers. Default `"auth"`. */
  routePrefix?: string;
  /**
   * Flows to plug in: each brings its providers, controllers and login steps (see `AuthFlow`).
   * Default none.
   */
  flows?: readonly AuthFlow[];
}
