import { Inject, Injectable } from '@nestjs/common';
import { AccountService, type PasswordChangeResult, type RegisteredUser } from './accounts/account.service.js';
import { ReauthenticationService, type Reauthentication } from './accounts/reauthentication.service.js';
import { AuditTrail } from './audit/audit-trail.js';
import { authParts, resolveAuthConfig, type AuthConfig } from './auth.config.js';
import { AUTH_CONFIG } from './auth.constants.js';
import { Authenticator, type Authentication } from './authentication/authenticator.js';
import type { AuthModuleOptions } from './interfaces/auth-module-options.interface.js';
import type { RequestMeta } from './interfaces/request-meta.interface.js';
import { LoginPipeline, type LoginOptions } from './login/login-pipeline.js';
import type { RegistrationOptions } from './accounts/account.service.js';
import { CredentialPolicy } from './passwords/credential-policy.js';
import { PasswordService } from './passwords/password.service.js';
import { requestMeta, type HttpRequestLike } from './request-meta.js';
import { SessionService, type LoginResult, type RefreshOutcome, type SessionInfo } from './sessions/session.service.js';
import { LoginDefence } from './throttle/login-defence.js';
import { TokenService, type AccessTokenClaims } from './tokens/token.service.js';

export type { PasswordChangeResult, RegisteredUser } from './accounts/account.service.js';
export type { Reauthentication } from './accounts/reauthentication.service.js';
export type { Authentication } from './authentication/authenticator.js';
export type { LoginOptions } from './login/login-pipeline.js';
export type { LoginResult, RefreshOutcome, SessionInfo } from './sessions/session.service.js';

/** Options of {@link AuthService.generateToken}. */
export interface GenerateTokenOptions {
  /** Token lifetime. Default: the module's `accessTokenTtlSeconds`. */
  expiresInSeconds?: number;
  /** Sign for this existing session instead of opening a new one. */
  sessionId?: string;
}

/**
 * Everything nest-warden does, as one service to inject in your providers. A facade: each method
 * hands over to the provider of its concern (passwords, accounts, the login pipeline, sessions,
 * authentication). Methods that take untrusted input return `null`/`false` for bad input
 * instead of throwing; domain failures are `AuthError`s with a stable `code`.
 */
@Injectable()
export class AuthService {
  constructor(
    @Inject(AUTH_CONFIG) private readonly config: AuthConfig,
    private readonly passwords: PasswordService,
    private readonly policy: CredentialPolicy,
    private readonly accounts: AccountService,
    private readonly pipeline: LoginPipeline,
    private readonly sessions: SessionService,
    private readonly authenticator: Authenticator,
    private readonly tokens: TokenService,
    private readonly reauthentication: ReauthenticationService,
  ) {}

  /** Hashes a password with the configured hasher (argon2id by default). */
  hashPassword(password: string): Promise<string> {
    return this.passwords.hash(password);
  }

  /** Checks a password against a stored hash. `false` for any mismatch or malformed hash. */
  async verifyPassword(password: string, hash: string): Promise<boolean> {
    if (typeof password !== 'string' || typeof hash !== 'string') return false;
    return (await this.passwords.check(hash, password)).valid;
  }

  /**
   * Checks a username/password pair against the credential policy.
   * @returns `null` when acceptable, else the reason.
   */
  validateCredentials(username: unknown, password: unknown): string | null {
    return this.policy.check(username, password);
  }

  /**
   * Creates a user. Throws `CredentialPolicyError` for a refused pair (400), `UsernameTakenError`
   * for a taken username (409), `EmailTakenError` for a taken address (409) and
   * `TooManyAttemptsError` past `maxRegistrationsPerIp` (429).
   */
  register(username: string, password: string, meta: RequestMeta = {}, options: RegistrationOptions = {}): Promise<RegisteredUser> {
    return this.accounts.register(username, password, meta, options);
  }

  /**
   * The login flow: counts the attempt, verifies the password, upgrades an outdated hash, runs
   * the flows' login steps, opens a session and signs the tokens. Returns `null` for any bad
   * credentials, never throws for them. An unknown username costs the same hashing time as a
   * wrong password. Throws `TooManyAttemptsError` (429) while the client or the account is over
   * the login throttle; `options.deviceToken`, from an earlier login's result, gives this
   * client its own budget. For an account with a second factor (`mfaFlow`), the right password
   * throws `SecondFactorRequiredError`, whose `challenge` goes to {@link completeLogin} with a code.
   */
  login(username: unknown, password: unknown, meta: RequestMeta = {}, options: LoginOptions = {}): Promise<LoginResult | null> {
    return this.pipeline.login(username, password, meta, options);
  }

  /**
   * The second step of a login that answered a challenge (`SecondFactorRequiredError`): the
   * challenge's `mfaToken` with a TOTP or recovery code opens the session, `amr` `["pwd", "otp"]`.
   * Throws `AUTH_MFA_TOKEN_INVALID` (expired, used, another account's), `AUTH_MFA_CODE_INVALID`
   * and `TooManyAttemptsError` past the account's code budget.
   */
  completeLogin(mfaToken: unknown, code: unknown, meta: RequestMeta = {}): Promise<LoginResult> {
    return this.pipeline.completeSecondFactor(mfaToken, code, meta);
  }

  /**
   * Proves again who the caller of a live session is (its password, and its second factor's
   * code when the account has one) and records it on the session, which stays the same: the
   * answer's access token passes `@RequireRecentLogin()`, and `@RequireMfa()` when a code was used.
   */
  reauthenticate(userId: string, sessionId: string, password: unknown, code?: unknown, meta: RequestMeta = {}): Promise<Reauthentication> {
    return this.reauthentication.reauthenticate(userId, sessionId, password, code, meta);
  }

  /**
   * Trades a refresh token for a new access and refresh token; the session stays the same.
   * Returns `null` for an unknown, expired, revoked or replayed token.
   * A replayed (already rotated) token revokes the whole session: see {@link rotateRefreshToken}.
   */
  async refresh(refreshToken: unknown, meta: RequestMeta = {}): Promise<LoginResult | null> {
    const outcome = await this.sessions.rotate(refreshToken, meta);
    return outcome.ok ? outcome.tokens : null;
  }

  /**
   * {@link refresh} with the reason for a refusal. Rotation is one atomic step in the store.
   * Within `refreshReuseGraceSeconds` of a rotation, the token just rotated away may come back
   * (two tabs refreshing at once) and gets the same new refresh token, with a fresh access
   * token. Any other spent token is treated as theft: the session ends, with its access and
   * refresh tokens, in the same store step.
   */
  rotateRefreshToken(refreshToken: unknown, meta: RequestMeta = {}): Promise<RefreshOutcome> {
    return this.sessions.rotate(refreshToken, meta);
  }

  /** The user's live sessions, oldest first, `current` marking `currentSessionId`. `[]` for bad input. */
  async listSessions(userId: string, currentSessionId?: string): Promise<SessionInfo[]> {
    if (typeof userId !== 'string') return [];
    return this.sessions.list(userId, currentSessionId);
  }

  /**
   * Ends one of the user's own sessions. Returns `false` when the user has no live session
   * with that id (including when the id belongs to somebody else: never across users).
   */
  async revokeSession(userId: string, sessionId: string, meta: RequestMeta = {}): Promise<boolean> {
    if (typeof userId !== 'string' || typeof sessionId !== 'string') return false;
    return this.sessions.revoke(userId, sessionId, meta);
  }

  /**
   * Changes a password after checking the current one and the password policy, then ends
   * every other session of the user (`keepSessionId`, the caller's own, survives).
   */
  changePassword(
    userId: string,
    currentPassword: unknown,
    newPassword: unknown,
    options: { keepSessionId?: string; meta?: RequestMeta } = {},
  ): Promise<PasswordChangeResult> {
    return this.accounts.changePassword(userId, currentPassword, newPassword, options.keepSessionId, options.meta ?? {});
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
      const session = await this.sessions.findOwn(userId, options.sessionId);
      if (!session) throw new TypeError('generateToken: no live session for that user');
      return this.sessions.accessToken(session, expiresInSeconds);
    }
    const user = await this.accounts.findUser(userId);
    if (!user) throw new TypeError('generateToken: unknown user');
    const session = await this.sessions.openForToken(user, expiresInSeconds);
    return this.tokens.sign(user.id, session.id, expiresInSeconds);
  }

  /** The token's claims when its signature and claims are valid, else `null`. Does not look at the session. */
  async verifyToken(token: unknown): Promise<AccessTokenClaims | null> {
    const result = await this.tokens.verify(token);
    return result.ok ? result.claims : null;
  }

  /** Checks a token and its session: what the guard does on every request. Never throws for bad input. */
  async authenticate(token: unknown): Promise<Authentication> {
    // Awaited here, so a store that throws synchronously still rejects the promise.
    return this.authenticator.authenticate(token);
  }

  /** The session half of {@link authenticate}, for claims that have already been verified. */
  resolveSession(claims: AccessTokenClaims): Promise<Authentication> {
    return this.authenticator.resolveSession(claims);
  }

  /**
   * {@link resolveSession} at a given clock reading, answering without a promise when the
   * store's `checkLive` does: the session must be live and the token's user's, and `lastSeenAt`,
   * which feeds the idle timeout, is written at most once per interval.
   */
  checkSession(claims: AccessTokenClaims, nowMs: number): Authentication | Promise<Authentication> {
    return this.authenticator.checkSession(claims, nowMs);
  }

  /** `true` when the token is valid and its session is live. */
  async isAuthenticated(token: unknown): Promise<boolean> {
    return (await this.authenticate(token)).ok;
  }

  /** Ends every session of the user (every device). Returns how many were ended. */
  async endAllSessions(userId: string, meta: RequestMeta = {}): Promise<number> {
    if (typeof userId !== 'string') return 0;
    return this.sessions.endAll(userId, meta);
  }

  /** The seed's name for {@link endAllSessions}: `logout(user_id)`. */
  logout(userId: string, meta: RequestMeta = {}): Promise<number> {
    return this.endAllSessions(userId, meta);
  }

  /** Ends one session. Returns `false` when it was not live. */
  async endSession(sessionId: string, meta: RequestMeta = {}): Promise<boolean> {
    if (typeof sessionId !== 'string') return false;
    return this.sessions.end(sessionId, meta);
  }

  /** The earlier name of {@link endSession}. */
  logoutSession(sessionId: string, meta: RequestMeta = {}): Promise<boolean> {
    return this.endSession(sessionId, meta);
  }

  /** Client IP and user agent of a request, with the module's `trustProxy` setting. */
  requestMeta(request: HttpRequestLike): RequestMeta {
    return requestMeta(request, this.config.trustProxy);
  }

  /** Records a refused token as an audit event. */
  recordRejectedToken(code: string, meta: RequestMeta): void {
    this.authenticator.recordRefusal(code, meta);
  }
}

/**
 * Creates an {@link AuthService} outside Nest's DI, for scripts and tests: the counterpart
 * of the legacy `create_auth_service(secret)`. The same providers as `AuthModule`, wired by hand.
 *
 * @example
 * ```ts
 * const auth = createAuthService(process.env.AUTH_SECRET!);
 * await auth.register('alice', 'correct horse battery');
 * const tokens = await auth.login('alice', 'correct horse battery');
 * ```
 */
export function createAuthService(secret: string | Buffer, options: Omit<AuthModuleOptions, 'secret'> = {}): AuthService {
  const given: AuthModuleOptions = { ...options, secret };
  const config = resolveAuthConfig(given);
  const store = authParts.sessionStore(given, config);
  const users = authParts.userStore(given, config);
  const audit = new AuditTrail(config, authParts.audit(given, config));
  const policy = new CredentialPolicy(config.passwordPolicy);
  const tokens = new TokenService(config);
  const passwords = new PasswordService(config, authParts.passwordHasher(given, config));
  const defence = new LoginDefence(config, authParts.throttleStore(given, config));
  const sessions = new SessionService(config, store, tokens, audit);
  const accounts = new AccountService(users, policy, passwords, defence, sessions, audit, config);
  const pipeline = new LoginPipeline(users, passwords, defence, sessions, audit, config);
  const authenticator = new Authenticator(config, tokens, store, audit);
  const reauthentication = new ReauthenticationService(users, passwords, defence, sessions, audit);
  return new AuthService(config, passwords, policy, accounts, pipeline, sessions, authenticator, tokens, reauthentication);
}
