import { randomBytes } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import type { AuthAuditEvent, AuthAuditEventName } from './audit/audit-sink.js';
import { resolveAuthConfig, type AuthConfig } from './auth.config.js';
import { AUTH_CONFIG } from './auth.constants.js';
import { AuthErrorCode, TooManyAttemptsError, UsernameTakenError } from './auth.errors.js';
import type { AuthModuleOptions } from './interfaces/auth-module-options.interface.js';
import type { AuthUser } from './interfaces/auth-user.interface.js';
import type { RequestMeta } from './interfaces/request-meta.interface.js';
import { ConcurrencyLimiter } from './passwords/concurrency-limiter.js';
import { isWellFormedText, PASSWORD_INPUT_MAX_LENGTH } from './passwords/credential-policy.js';
import { isLegacySha256Hash, type PasswordCheck } from './passwords/password-hasher.js';
import { requestMeta, type HttpRequestLike } from './request-meta.js';
import { LoginDefence, type LoginAdmission } from './throttle/login-defence.js';
import { sessionEndsAt, type LiveSession, type Session } from './sessions/session.interface.js';
import { deriveChildRefreshToken, issueRefreshToken, parseRefreshToken } from './tokens/refresh-token.js';
import { TokenService, type AccessTokenClaims } from './tokens/token.service.js';
import type { UserRecord } from './users/user-store.js';

/** What a successful {@link AuthService.login} or {@link AuthService.refresh} returns. */
export interface LoginResult {
  accessToken: string;
  /** Opaque, single use: trade it at `refresh` for a new pair. */
  refreshToken: string;
  tokenType: 'Bearer';
  /** Access-token lifetime in seconds. */
  expiresIn: number;
  userId: string;
  sessionId: string;
  /**
   * Login only, while the login throttle is on: the device proof to present at this client's
   * next logins (`deviceToken`), so failures from elsewhere cannot lock this device out.
   * Secret to the client: the cookie transport keeps it in an HttpOnly cookie.
   */
  deviceToken?: string;
}

/** Options of {@link AuthService.login}. */
export interface LoginOptions {
  /** The device proof this client got at an earlier successful login, if any (or several: the first valid one counts). */
  deviceToken?: unknown;
}

/** Outcome of {@link AuthService.rotateRefreshToken}. */
export type RefreshOutcome =
  | { ok: true; tokens: LoginResult }
  | { ok: false; code: typeof AuthErrorCode.REFRESH_TOKEN_INVALID | typeof AuthErrorCode.REFRESH_TOKEN_REUSED };

/** A session as its owner sees it: no token material. */
export interface SessionInfo {
  id: string;
  createdAt: Date;
  lastSeenAt: Date;
  /** When the session ends if unused: the earlier of its absolute and idle expiry. */
  expiresAt: Date;
  userAgent: string | null;
  ip: string | null;
  /** This is the session of the request that asked. */
  current: boolean;
}

/** Outcome of {@link AuthService.changePassword}. */
export type PasswordChangeResult =
  | { ok: true; endedSessions: number }
  | { ok: false; code: typeof AuthErrorCode.INVALID_CREDENTIALS | typeof AuthErrorCode.PASSWORD_POLICY; message: string };

/** A registered user as the API shows it. */
export interface RegisteredUser {
  userId: string;
  username: string;
}

/** Outcome of {@link AuthService.authenticate}. */
export type Authentication =
  | { ok: true; user: AuthUser; claims: AccessTokenClaims }
  | {
      ok: false;
      code: typeof AuthErrorCode.TOKEN_INVALID | typeof AuthErrorCode.TOKEN_EXPIRED | typeof AuthErrorCode.SESSION_REVOKED;
    };

const SESSION_REVOKED: Authentication = Object.freeze({ ok: false, code: AuthErrorCode.SESSION_REVOKED });

/** Options of {@link AuthService.generateToken}. */
export interface GenerateTokenOptions {
  /** Token lifetime. Default: the module's `accessTokenTtlSeconds`. */
  expiresInSeconds?: number;
  /** Sign for this existing session instead of opening a new one. */
  sessionId?: string;
}

const USER_AGENT_MAX = 256;

/**
 * Everything nest-warden does, as a service: inject it in your own providers.
 * Methods that take untrusted input return `null`/`false` for bad input instead of throwing.
 */
@Injectable()
export class AuthService {
  private readonly logger = new Logger(AuthService.name);
  private dummyHash: Promise<string> | undefined;
  private readonly hashing: ConcurrencyLimiter;
  private readonly defence: LoginDefence;

  constructor(
    @Inject(AUTH_CONFIG) private readonly config: AuthConfig,
    private readonly tokens: TokenService,
  ) {
    this.hashing = new ConcurrencyLimiter(config.maxConcurrentHashes);
    this.defence = new LoginDefence(config);
  }

  /** Hashes a password with the configured hasher (argon2id by default). */
  hashPassword(password: string): Promise<string> {
    return this.hashing.run(() => this.config.passwordHasher.hash(password));
  }

  /** Checks a password against a stored hash. `false` for any mismatch or malformed hash. */
  async verifyPassword(password: string, hash: string): Promise<boolean> {
    if (typeof password !== 'string' || typeof hash !== 'string') return false;
    return (await this.checkPassword(hash, password)).valid;
  }

  /**
   * Checks a username/password pair against the credential policy.
   * @returns `null` when acceptable, else the reason.
   */
  validateCredentials(username: unknown, password: unknown): string | null {
    return this.config.credentialPolicy.check(username, password);
  }

  /**
   * Creates a user. Throws `CredentialPolicyError` for a refused pair and
   * `UsernameTakenError` for a taken username; the controller maps them to 400 and 409.
   * Throws `TooManyAttemptsError` (429) past the login throttle's `maxRegistrationsPerIp`.
   */
  async register(username: string, password: string, meta: RequestMeta = {}): Promise<RegisteredUser> {
    this.config.credentialPolicy.assert(username, password);
    await this.defence.admitRegistration(meta);
    const normalized = username.normalize('NFC');
    if (await this.config.userStore.findByUsername(normalized)) throw new UsernameTakenError();
    const passwordHash = await this.hashPassword(password);
    const user = await this.config.userStore.create({ username: normalized, passwordHash });
    this.audit('register', { userId: user.id }, meta);
    return { userId: user.id, username: user.username };
  }

  /**
   * The login flow: counts the attempt, verifies the password, upgrades an outdated hash,
   * opens a session and signs the tokens. Returns `null` for any bad credentials, never throws
   * for them. An unknown username costs the same hashing time as a wrong password. Throws
   * `TooManyAttemptsError` (429) while the client or the account is over the login throttle;
   * `options.deviceToken`, from an earlier login's result, gives this client its own budget.
   */
  async login(username: unknown, password: unknown, meta: RequestMeta = {}, options: LoginOptions = {}): Promise<LoginResult | null> {
    if (
      typeof username !== 'string' ||
      typeof password !== 'string' ||
      password.length > PASSWORD_INPUT_MAX_LENGTH ||
      !isWellFormedText(password)
    ) {
      this.audit('login.failed', { reason: AuthErrorCode.INVALID_CREDENTIALS }, meta);
      return null;
    }
    const normalized = username.normalize('NFC');
    // Counted before any hashing, and atomically, so concurrent guesses cannot slip past.
    let admission: LoginAdmission;
    try {
      admission = await this.defence.admitLogin(normalized, meta, options.deviceToken, () =>
        this.config.userStore.findByUsername(normalized),
      );
    } catch (error) {
      if (error instanceof TooManyAttemptsError) this.audit('login.throttled', { reason: AuthErrorCode.TOO_MANY_ATTEMPTS }, meta);
      throw error;
    }
    const { user, deviceId, reservation } = admission;
    let check: PasswordCheck;
    try {
      if (!user) {
        await this.checkPassword(await this.getDummyHash(), password);
        check = { valid: false, needsRehash: false };
      } else {
        check = await this.checkPassword(user.passwordHash, password);
        // A legacy SHA-256 check is fast: add the dummy argon2 work so timing does not tell
        // which accounts still carry legacy hashes.
        if (isLegacySha256Hash(user.passwordHash)) await this.checkPassword(await this.getDummyHash(), password);
      }
    } catch (error) {
      // No verdict (a hashing thread failed): the attempt is given back, not counted as a failure.
      await reservation.abandoned();
      throw error;
    }
    if (!user || !check.valid) {
      await reservation.failed();
      this.audit('login.failed', { ...(user ? { userId: user.id } : {}), reason: AuthErrorCode.INVALID_CREDENTIALS }, meta);
      return null;
    }
    await reservation.succeeded();
    if (check.needsRehash) await this.upgradeHash(user, password);

    const { session, refreshToken } = await this.openSession(user, this.config.sessionTtlSeconds, meta, true);
    this.audit('login.succeeded', { userId: user.id, sessionId: session.id }, meta);
    await this.enforceSessionLimit(user.id, session.id, meta);
    const tokens = await this.tokensFor(session, refreshToken!);
    const deviceToken = this.defence.issueDeviceProof(user.id, deviceId);
    return deviceToken === undefined ? tokens : { ...tokens, deviceToken };
  }

  /**
   * Trades a refresh token for a new access and refresh token; the session stays the same.
   * Returns `null` for an unknown, expired, revoked or replayed token.
   * A replayed (already rotated) token revokes the whole session: see {@link rotateRefreshToken}.
   */
  async refresh(refreshToken: unknown, meta: RequestMeta = {}): Promise<LoginResult | null> {
    const outcome = await this.rotateRefreshToken(refreshToken, meta);
    return outcome.ok ? outcome.tokens : null;
  }

  /**
   * {@link refresh} with the reason for a refusal. Rotation is one atomic step in the store.
   * Within `refreshReuseGraceSeconds` of a rotation, the token just rotated away may come back
   * (two tabs refreshing at once) and gets the same new refresh token, with a fresh access
   * token. Any other spent token is treated as theft: the session ends, with its access and
   * refresh tokens, in the same store step.
   */
  async rotateRefreshToken(refreshToken: unknown, meta: RequestMeta = {}): Promise<RefreshOutcome> {
    const presented = parseRefreshToken(refreshToken);
    if (!presented) {
      this.audit('refresh.failed', { reason: AuthErrorCode.REFRESH_TOKEN_INVALID }, meta);
      return { ok: false, code: AuthErrorCode.REFRESH_TOKEN_INVALID };
    }
    const next = deriveChildRefreshToken(refreshToken as string, this.config.refreshKeys);
    const now = new Date(this.config.clock());
    const result = await this.config.sessionStore.rotateRefreshToken(
      presented.sessionId,
      presented.hash,
      next.hash,
      now,
      this.config.refreshReuseGraceSeconds,
    );
    if (result.status === 'rotated') {
      // A grace answer (the token just rotated away, again) is told apart: it is also what a
      // thief replaying within the window looks like.
      this.audit(
        result.grace ? 'refresh.grace' : 'refresh.succeeded',
        { userId: result.session.userId, sessionId: result.session.id },
        meta,
      );
      return { ok: true, tokens: await this.tokensFor(result.session, next.token) };
    }
    if (result.status === 'reused') {
      // Our stores have ended the session in the same step; a custom store written before
      // they did so may not have: make sure.
      await this.config.sessionStore.delete(result.session.id);
      this.audit(
        'refresh.reused',
        { userId: result.session.userId, sessionId: result.session.id, reason: AuthErrorCode.REFRESH_TOKEN_REUSED },
        meta,
      );
      return { ok: false, code: AuthErrorCode.REFRESH_TOKEN_REUSED };
    }
    this.audit('refresh.failed', { reason: AuthErrorCode.REFRESH_TOKEN_INVALID }, meta);
    return { ok: false, code: AuthErrorCode.REFRESH_TOKEN_INVALID };
  }

  /** The user's live sessions, oldest first, `current` marking `currentSessionId`. `[]` for bad input. */
  async listSessions(userId: string, currentSessionId?: string): Promise<SessionInfo[]> {
    if (typeof userId !== 'string') return [];
    const sessions = await this.config.sessionStore.listForUser(userId);
    return sessions.map((session) => ({
      id: session.id,
      createdAt: session.createdAt,
      lastSeenAt: session.lastSeenAt,
      expiresAt: sessionEndsAt(session),
      userAgent: session.userAgent ?? null,
      ip: session.ip ?? null,
      current: session.id === currentSessionId,
    }));
  }

  /**
   * Ends one of the user's own sessions. Returns `false` when the user has no live session
   * with that id (including when the id belongs to somebody else: never across users).
   */
  async revokeSession(userId: string, sessionId: string, meta: RequestMeta = {}): Promise<boolean> {
    if (typeof userId !== 'string' || typeof sessionId !== 'string') return false;
    const session = await this.config.sessionStore.get(sessionId);
    if (!session || session.userId !== userId) return false;
    const ended = await this.config.sessionStore.delete(sessionId);
    if (ended) this.audit('session.revoked', { userId, sessionId }, meta);
    return ended;
  }

  /**
   * Changes a password after checking the current one and the password policy, then ends
   * every other session of the user (`keepSessionId`, the caller's own, survives).
   */
  async changePassword(
    userId: string,
    currentPassword: unknown,
    newPassword: unknown,
    options: { keepSessionId?: string; meta?: RequestMeta } = {},
  ): Promise<PasswordChangeResult> {
    const meta = options.meta ?? {};
    const user = typeof userId === 'string' ? await this.config.userStore.findById(userId) : null;
    let valid = false;
    if (
      user !== null &&
      typeof currentPassword === 'string' &&
      currentPassword.length <= PASSWORD_INPUT_MAX_LENGTH &&
      isWellFormedText(currentPassword)
    ) {
      // Checking the current password is a guess like a login: the account's failure budget.
      const reservation = await this.defence.admitPasswordCheck(user.id);
      try {
        valid = (await this.checkPassword(user.passwordHash, currentPassword)).valid;
      } catch (error) {
        await reservation.abandoned();
        throw error;
      }
      await (valid ? reservation.succeeded() : reservation.failed());
    }
    if (!user || !valid) {
      this.audit('password.change.failed', { userId, reason: AuthErrorCode.INVALID_CREDENTIALS }, meta);
      return { ok: false, code: AuthErrorCode.INVALID_CREDENTIALS, message: 'Current password is wrong' };
    }
    const reason = this.config.credentialPolicy.checkPassword(newPassword, user.username);
    if (reason !== null) {
      this.audit('password.change.failed', { userId, reason: AuthErrorCode.PASSWORD_POLICY }, meta);
      return { ok: false, code: AuthErrorCode.PASSWORD_POLICY, message: reason };
    }
    await this.config.userStore.updatePasswordHash(user.id, await this.hashPassword(newPassword as string));
    const endedSessions = await this.config.sessionStore.deleteAllForUser(user.id, options.keepSessionId);
    this.audit('password.changed', { userId: user.id }, meta);
    return { ok: true, endedSessions };
  }

  /**
   * Signs an access token for a user, for scripts and tests. Without `sessionId` it opens a
   * new session that lives as long as the token, so the token passes `isAuthenticated`.
   * Throws `TypeError` for an unknown user or session (a caller mistake).
   */
  async generateToken(userId: string, options: GenerateTokenOptions = {}): Promise<string> {
    const expiresInSeconds = options.expiresInSeconds ?? this.config.accessTokenTtlSeconds;
    if (!Number.isInteger(expiresInSeconds) || expiresInSeconds <= 0) {
      throw new TypeError('generateToken: expiresInSeconds must be a positive integer');
    }
    if (options.sessionId !== undefined) {
      const session = await this.config.sessionStore.get(options.sessionId);
      if (!session || session.userId !== userId) throw new TypeError('generateToken: no live session for that user');
      return this.tokens.sign(userId, session.id, expiresInSeconds);
    }
    const user = await this.config.userStore.findById(userId);
    if (!user) throw new TypeError('generateToken: unknown user');
    const { session } = await this.openSession(user, expiresInSeconds, {}, false);
    return this.tokens.sign(user.id, session.id, expiresInSeconds);
  }

  /** The token's claims when its signature and claims are valid, else `null`. Does not look at the session. */
  async verifyToken(token: unknown): Promise<AccessTokenClaims | null> {
    const result = await this.tokens.verify(token);
    return result.ok ? result.claims : null;
  }

  /** Checks a token and its session: what the guard does on every request. Never throws for bad input. */
  authenticate(token: unknown): Promise<Authentication> {
    // Not async, and the cached-token path without a promise of its own: this runs on every
    // guarded request.
    const known = this.tokens.verifyKnown(token);
    if (known) return known.ok ? this.resolveSession(known.claims) : Promise.resolve(known);
    return this.tokens.verifyNew(token as string).then((result) => (result.ok ? this.resolveSession(result.claims) : result));
  }

  /** The session half of {@link authenticate}, for claims that have already been verified. */
  async resolveSession(claims: AccessTokenClaims): Promise<Authentication> {
    return this.checkSession(claims, this.config.clock());
  }

  /**
   * {@link resolveSession} at a given clock reading, answering without a promise when the
   * store's `checkLive` does (the guard's hot path): the session must be live and the token's
   * user's, and `lastSeenAt`, which feeds the idle timeout, is written at most once per interval
   * so that a request costs one read. Always a native promise when it waits.
   */
  checkSession(claims: AccessTokenClaims, nowMs: number): Authentication | Promise<Authentication> {
    const live = this.config.sessionStore.checkLive(claims.sid, claims.sub);
    // Any thenable counts (a store may hand back another realm's promise or its own).
    if (live !== null && typeof (live as { then?: unknown }).then === 'function') {
      return Promise.resolve(live).then((session) => this.admitSession(claims, session, nowMs));
    }
    return this.admitSession(claims, live as LiveSession | null, nowMs);
  }

  private admitSession(claims: AccessTokenClaims, live: LiveSession | null, nowMs: number): Authentication | Promise<Authentication> {
    if (live === null) return SESSION_REVOKED;
    const result: Authentication = { ok: true, claims, user: { userId: claims.sub, username: live.username, sessionId: claims.sid } };
    if (nowMs - live.lastSeenAtMs < this.config.sessionTouchIntervalSeconds * 1000) return result;
    return Promise.resolve(this.config.sessionStore.touch(claims.sid, new Date(nowMs))).then(() => result);
  }

  /** `true` when the token is valid and its session is live. */
  async isAuthenticated(token: unknown): Promise<boolean> {
    return (await this.authenticate(token)).ok;
  }

  /** Ends every session of the user (every device). Returns how many were ended. */
  async logout(userId: string, meta: RequestMeta = {}): Promise<number> {
    if (typeof userId !== 'string') return 0;
    const ended = await this.config.sessionStore.deleteAllForUser(userId);
    this.audit('logout.all', { userId }, meta);
    return ended;
  }

  /** Ends one session. Returns `false` when it was not live. */
  async logoutSession(sessionId: string, meta: RequestMeta = {}): Promise<boolean> {
    if (typeof sessionId !== 'string') return false;
    const session = await this.config.sessionStore.get(sessionId);
    const ended = await this.config.sessionStore.delete(sessionId);
    if (ended) this.audit('logout', { userId: session?.userId, sessionId }, meta);
    return ended;
  }

  /** Client IP and user agent of a request, with the module's `trustProxy` setting. */
  requestMeta(request: HttpRequestLike): RequestMeta {
    return requestMeta(request, this.config.trustProxy);
  }

  /** Records a refused token (called by the guard). */
  recordRejectedToken(code: string, meta: RequestMeta): void {
    this.audit('token.rejected', { reason: code }, meta);
  }

  private async openSession(
    user: UserRecord,
    ttlSeconds: number,
    meta: RequestMeta,
    withRefreshToken: boolean,
  ): Promise<{ session: Session; refreshToken?: string }> {
    const now = this.config.clock();
    const session: Session = {
      id: this.config.sessionStore.generateSessionId(user.id),
      userId: user.id,
      username: user.username,
      createdAt: new Date(now),
      lastSeenAt: new Date(now),
      expiresAt: new Date(now + ttlSeconds * 1000),
    };
    let refreshToken: string | undefined;
    if (withRefreshToken) {
      const issued = issueRefreshToken(session.id);
      session.refreshTokenHash = issued.hash;
      refreshToken = issued.token;
      if (this.config.sessionIdleTimeoutSeconds > 0) session.idleTimeoutSeconds = this.config.sessionIdleTimeoutSeconds;
    }
    if (meta.userAgent) session.userAgent = meta.userAgent.slice(0, USER_AGENT_MAX);
    if (meta.ip) session.ip = meta.ip;
    await this.config.sessionStore.create(session);
    return refreshToken === undefined ? { session } : { session, refreshToken };
  }

  private async tokensFor(session: Session, refreshToken: string): Promise<LoginResult> {
    return {
      accessToken: await this.tokens.sign(session.userId, session.id, this.config.accessTokenTtlSeconds),
      refreshToken,
      tokenType: 'Bearer',
      expiresIn: this.config.accessTokenTtlSeconds,
      userId: session.userId,
      sessionId: session.id,
    };
  }

  // Ends the oldest sessions past maxSessionsPerUser, never the one just opened (sessions
  // created in the same millisecond may list in any order). Concurrent logins may overshoot
  // briefly; the next login trims again.
  private async enforceSessionLimit(userId: string, newSessionId: string, meta: RequestMeta): Promise<void> {
    const limit = this.config.maxSessionsPerUser;
    if (limit === 0) return;
    const others = (await this.config.sessionStore.listForUser(userId)).filter((session) => session.id !== newSessionId);
    for (const session of others.slice(0, Math.max(0, others.length - (limit - 1)))) {
      if (await this.config.sessionStore.delete(session.id)) {
        this.audit('session.evicted', { userId, sessionId: session.id }, meta);
      }
    }
  }

  private async upgradeHash(user: UserRecord, password: string): Promise<void> {
    try {
      await this.config.userStore.updatePasswordHash(user.id, await this.hashPassword(password));
    } catch (error) {
      // The login itself is valid; the upgrade is retried on the next login.
      this.logger.warn(`password hash upgrade failed for user ${user.id}: ${errorName(error)}`);
    }
  }

  // Every hash and verify goes through the limiter: at most maxConcurrentHashes at once.
  private checkPassword(hash: string, password: string): Promise<PasswordCheck> {
    return this.hashing.run(() => this.config.passwordHasher.verify(hash, password));
  }

  private getDummyHash(): Promise<string> {
    if (!this.dummyHash) {
      const dummy = this.hashPassword(randomBytes(32).toString('base64url'));
      this.dummyHash = dummy;
      // A failed hash is not kept: the next login tries again.
      dummy.catch(() => {
        if (this.dummyHash === dummy) this.dummyHash = undefined;
      });
    }
    return this.dummyHash;
  }

  private audit(name: AuthAuditEventName, fields: Partial<AuthAuditEvent>, meta: RequestMeta): void {
    const event: AuthAuditEvent = { name, at: new Date(this.config.clock()) };
    if (fields.userId !== undefined) event.userId = fields.userId;
    if (fields.sessionId !== undefined) event.sessionId = fields.sessionId;
    if (fields.reason !== undefined) event.reason = fields.reason;
    if (meta.ip) event.ip = meta.ip;
    if (meta.userAgent) event.userAgent = meta.userAgent.slice(0, USER_AGENT_MAX);
    try {
      const pending = this.config.audit.emit(event);
      if (pending) pending.catch((error: unknown) => this.logger.error(`audit sink failed: ${errorName(error)}`));
    } catch (error) {
      this.logger.error(`audit sink failed: ${errorName(error)}`);
    }
  }
}

/**
 * Creates an {@link AuthService} outside Nest's DI, for scripts and tests: the counterpart
 * of the legacy `create_auth_service(secret)`.
 *
 * @example
 * ```ts
 * const auth = createAuthService(process.env.AUTH_SECRET!);
 * await auth.register('alice', 'correct horse battery');
 * const tokens = await auth.login('alice', 'correct horse battery');
 * ```
 */
export function createAuthService(secret: string | Buffer, options: Omit<AuthModuleOptions, 'secret'> = {}): AuthService {
  const config = resolveAuthConfig({ ...options, secret });
  return new AuthService(config, new TokenService(config));
}

function errorName(error: unknown): string {
  return error instanceof Error ? error.name : 'unknown error';
}
