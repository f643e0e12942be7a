import { Inject, Injectable } from '@nestjs/common';
import { AuditTrail } from '../audit/audit-trail.js';
import type { AuthConfig } from '../auth.config.js';
import { AUTH_CONFIG } from '../auth.constants.js';
import { AuthErrorCode } from '../auth.errors.js';
import type { RequestMeta } from '../interfaces/request-meta.interface.js';
import { boundedUserAgent } from '../request-meta.js';
import { deriveChildRefreshToken, issueRefreshToken, parseRefreshToken } from '../tokens/refresh-token.js';
import { TokenService, type TokenAuthentication } from '../tokens/token.service.js';
import type { UserRecord } from '../users/user-store.js';
import { sessionAuthTime, sessionEndsAt, sessionFactors, type Session } from './session.interface.js';
import { SessionStore } from './session-store.js';

/** What a successful login or refresh returns. */
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

/** Outcome of a refresh-token rotation. */
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

/**
 * Sessions: opening them (with the per-user limit), the tokens of a session, refresh-token
 * rotation with reuse detection, listing and ending them. Everything goes through the
 * {@link SessionStore}.
 */
@Injectable()
export class SessionService {
  constructor(
    @Inject(AUTH_CONFIG) private readonly config: AuthConfig,
    private readonly store: SessionStore,
    private readonly tokens: TokenService,
    private readonly audit: AuditTrail,
  ) {}

  /** Opens a login session (refresh token, idle timeout) for `user`, authenticated by `amr` (RFC 8176) now. */
  async open(user: UserRecord, meta: RequestMeta, amr: readonly string[] = ['pwd']): Promise<{ session: Session; refreshToken: string }> {
    const session = this.newSession(user, this.config.sessionTtlSeconds, meta);
    session.amr = [...amr];
    session.authTime = session.createdAt;
    const issued = issueRefreshToken(session.id);
    session.refreshTokenHash = issued.hash;
    if (this.config.sessionIdleTimeoutSeconds > 0) session.idleTimeoutSeconds = this.config.sessionIdleTimeoutSeconds;
    await this.store.create(session);
    return { session, refreshToken: issued.token };
  }

  /** Opens a session without a refresh token that lives `ttlSeconds`, for a token signed by a script or test. */
  async openForToken(user: UserRecord, ttlSeconds: number): Promise<Session> {
    const session = this.newSession(user, ttlSeconds, {});
    await this.store.create(session);
    return session;
  }

  /** The access token of `session` (its `amr` and `auth_time` in it) and the refresh token that goes with it. */
  async tokensFor(session: Session, refreshToken: string): Promise<LoginResult> {
    return {
      accessToken: await this.accessToken(session, this.config.accessTokenTtlSeconds),
      refreshToken,
      tokenType: 'Bearer',
      expiresIn: this.config.accessTokenTtlSeconds,
      userId: session.userId,
      sessionId: session.id,
    };
  }

  /** Lifetime of the access tokens this service signs. */
  get accessTokenTtlSeconds(): number {
    return this.config.accessTokenTtlSeconds;
  }

  /** An access token for `session` that says how it was authenticated. */
  accessToken(session: Session, expiresInSeconds: number): Promise<string> {
    return this.tokens.sign(session.userId, session.id, expiresInSeconds, authenticationOf(session));
  }

  /**
   * Records a new full authentication (a reauthentication) of the user's live session: its
   * factors and time replaced, and an access token that says so. `null` when the session is not
   * the user's or not live.
   */
  async reauthenticated(
    userId: string,
    sessionId: string,
    amr: readonly string[],
  ): Promise<{ session: Session; accessToken: string } | null> {
    const session = await this.store.recordAuthentication(sessionId, userId, amr, new Date(this.config.clock()));
    if (!session) return null;
    return { session, accessToken: await this.accessToken(session, this.config.accessTokenTtlSeconds) };
  }

  /**
   * Ends the oldest sessions past `maxSessionsPerUser`, never `keepSessionId` (sessions created
   * in the same millisecond may list in any order). Concurrent logins may overshoot briefly; the
   * next login trims again.
   */
  async enforceLimit(userId: string, keepSessionId: string, meta: RequestMeta): Promise<void> {
    const limit = this.config.maxSessionsPerUser;
    if (limit === 0) return;
    const others = (await this.store.listForUser(userId)).filter((session) => session.id !== keepSessionId);
    for (const session of others.slice(0, Math.max(0, others.length - (limit - 1)))) {
      if (await this.store.delete(session.id)) this.audit.record('session.evicted', { userId, sessionId: session.id }, meta);
    }
  }

  /**
   * Trades a refresh token for a new pair, in one atomic store step. Within
   * `refreshReuseGraceSeconds` of a rotation, the token just rotated away may come back (two
   * tabs refreshing at once) and gets the same new refresh token, with a fresh access token.
   * Any other spent token is treated as theft: the session ends in the same store step.
   */
  async rotate(refreshToken: unknown, meta: RequestMeta): Promise<RefreshOutcome> {
    const presented = parseRefreshToken(refreshToken);
    if (!presented) return this.refused(AuthErrorCode.REFRESH_TOKEN_INVALID, meta);
    const next = deriveChildRefreshToken(refreshToken as string, this.config.refreshKeys);
    const now = new Date(this.config.clock());
    const result = await this.store.rotateRefreshToken(
      presented.sessionId,
      presented.hash,
      next.hash,
      now,
      this.config.refreshReuseGraceSeconds,
    );
    if (result.status === 'rotated') {
      // A grace answer (the token just rotated away, again) is told apart: it is also what a
      // thief replaying within the window looks like.
      const fields = { userId: result.session.userId, sessionId: result.session.id };
      this.audit.record(result.grace ? 'refresh.grace' : 'refresh.succeeded', fields, meta);
      return { ok: true, tokens: await this.tokensFor(result.session, next.token) };
    }
    if (result.status === 'reused') {
      // Our stores have ended the session in the same step; a custom store written before
      // they did so may not have: make sure.
      await this.store.delete(result.session.id);
      const fields = { userId: result.session.userId, sessionId: result.session.id };
      this.audit.record('refresh.reused', { ...fields, reason: AuthErrorCode.REFRESH_TOKEN_REUSED }, meta);
      return { ok: false, code: AuthErrorCode.REFRESH_TOKEN_REUSED };
    }
    return this.refused(AuthErrorCode.REFRESH_TOKEN_INVALID, meta);
  }

  /** The user's live sessions, oldest first, `current` marking `currentSessionId`. */
  async list(userId: string, currentSessionId?: string): Promise<SessionInfo[]> {
    const sessions = await this.store.listForUser(userId);
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

  /** The live session `sessionId` of `userId`, or `null` (never another user's). */
  async findOwn(userId: string, sessionId: string): Promise<Session | null> {
    const session = await this.store.get(sessionId);
    return session && session.userId === userId ? session : null;
  }

  /** Ends one of the user's own sessions; `false` when the user has no live session with that id. */
  async revoke(userId: string, sessionId: string, meta: RequestMeta): Promise<boolean> {
    if (!(await this.findOwn(userId, sessionId))) return false;
    const ended = await this.store.delete(sessionId);
    if (ended) this.audit.record('session.revoked', { userId, sessionId }, meta);
    return ended;
  }

  /** Ends one session (logout); `false` when it was not live. */
  async end(sessionId: string, meta: RequestMeta): Promise<boolean> {
    const session = await this.store.get(sessionId);
    const ended = await this.store.delete(sessionId);
    if (ended) this.audit.record('logout', { userId: session?.userId, sessionId }, meta);
    return ended;
  }

  /** Ends every session of the user (logout everywhere); how many ended. */
  async endAll(userId: string, meta: RequestMeta): Promise<number> {
    const ended = await this.store.deleteAllForUser(userId);
    this.audit.record('logout.all', { userId }, meta);
    return ended;
  }

  /** Ends every session of the user but `keepSessionId` (after a password change, recorded by the caller); how many ended. */
  endOthers(userId: string, keepSessionId: string | undefined): Promise<number> {
    return this.store.deleteAllForUser(userId, keepSessionId);
  }

  // Sessions a script opened (no factors recorded, no refresh token) sign tokens without them.
  private newSession(user: UserRecord, ttlSeconds: number, meta: RequestMeta): Session {
    const now = this.config.clock();
    const session: Session = {
      id: this.store.generateSessionId(user.id),
      userId: user.id,
      username: user.username,
      createdAt: new Date(now),
      lastSeenAt: new Date(now),
      expiresAt: new Date(now + ttlSeconds * 1000),
    };
    if (meta.userAgent) session.userAgent = boundedUserAgent(meta.userAgent);
    if (meta.ip) session.ip = meta.ip;
    return session;
  }

  private refused(code: typeof AuthErrorCode.REFRESH_TOKEN_INVALID, meta: RequestMeta): RefreshOutcome {
    this.audit.record('refresh.failed', { reason: code }, meta);
    return { ok: false, code };
  }
}

/** How a session was authenticated, for its tokens: `undefined` for a session a script opened without a login. */
export function authenticationOf(session: Session): TokenAuthentication | undefined {
  if (session.amr === undefined && session.refreshTokenHash === undefined) return undefined;
  return { amr: sessionFactors(session), authTime: sessionAuthTime(session) };
}
