import { Inject, Injectable } from '@nestjs/common';
import { AuditTrail } from '../audit/audit-trail.js';
import type { AuthConfig } from '../auth.config.js';
import { AUTH_CONFIG } from '../auth.constants.js';
import { AuthErrorCode } from '../auth.errors.js';
import { passesCsrfCheck, readCookie, type CookieNames } from '../cookies/cookie-transport.js';
import type { AuthUser } from '../interfaces/auth-user.interface.js';
import type { RequestMeta } from '../interfaces/request-meta.interface.js';
import type { HttpRequestLike } from '../request-meta.js';
import type { LiveSession } from '../sessions/session.interface.js';
import { SessionStore } from '../sessions/session-store.js';
import { bearerCredentials, isCompactJws } from '../tokens/bearer-token.extractor.js';
import { TokenService, type AccessTokenClaims } from '../tokens/token.service.js';
import { AuthenticatedUser } from './authenticated-user.js';
import { handshakeToken, type HandshakeRefusal, type WsClientLike } from '../websockets/handshake-token.js';

/** Outcome of authenticating a token: the caller, or why not. */
export type Authentication =
  | { ok: true; user: AuthUser; claims: AccessTokenClaims }
  | {
      ok: false;
      code: typeof AuthErrorCode.TOKEN_INVALID | typeof AuthErrorCode.TOKEN_EXPIRED | typeof AuthErrorCode.SESSION_REVOKED;
    };

/** Outcome of authenticating a request: also no token at all, or a cookie without its CSRF token. */
export type RequestAuthentication =
  Authentication | { ok: false; code: typeof AuthErrorCode.TOKEN_MISSING | typeof AuthErrorCode.CSRF_FAILED };

const refusal = <C extends Extract<RequestAuthentication, { ok: false }>['code']>(code: C): { ok: false; code: C } =>
  Object.freeze({ ok: false, code });
const TOKEN_MISSING = refusal(AuthErrorCode.TOKEN_MISSING);
const TOKEN_INVALID = refusal(AuthErrorCode.TOKEN_INVALID);
const CSRF_FAILED = refusal(AuthErrorCode.CSRF_FAILED);
const SESSION_REVOKED = refusal(AuthErrorCode.SESSION_REVOKED);

/**
 * The one per-request authentication path, used by `AuthGuard`, `JwtStrategy`, `WsAuthGuard`
 * and GraphQL: the token verified (from cache when seen before), a cookie-borne token's CSRF
 * token checked against its session, then the session: live, the token's user's, and touched
 * at most once per `sessionTouchIntervalSeconds` for the idle timeout.
 *
 * Answers come without a promise when no step had to wait (a token verified before, a store that
 * answers at once); refusals are shared frozen objects. This runs on every guarded request.
 */
@Injectable()
export class Authenticator {
  /** The cookie names, when the cookie transport is on. */
  readonly cookieNames: Readonly<CookieNames> | null;

  constructor(
    @Inject(AUTH_CONFIG) private readonly config: AuthConfig,
    private readonly tokens: TokenService,
    private readonly store: SessionStore,
    private readonly audit: AuditTrail,
  ) {
    this.cookieNames = config.cookies?.names ?? null;
  }

  /** A token from anywhere (a script, a handshake): verified, then its session. Never throws for bad input. */
  authenticate(token: unknown): Authentication | Promise<Authentication> {
    return this.check(token, null, false) as Authentication | Promise<Authentication>;
  }

  /**
   * A request: the `Authorization: Bearer` header (strict: one header, one space, a compact JWS),
   * else, with the cookie transport on, the access cookie and the CSRF check bound to its session.
   */
  authenticateRequest(request: HttpRequestLike): RequestAuthentication | Promise<RequestAuthentication> {
    if (request.headers.authorization === undefined) {
      const fromCookie = this.cookieNames ? readCookie(request, this.cookieNames.access) : undefined;
      if (fromCookie === undefined) return TOKEN_MISSING;
      return this.check(fromCookie, request, false);
    }
    // The compact-JWS check is left to a token not seen before: the cache only holds tokens that passed it.
    const token = bearerCredentials(request);
    return token === null ? TOKEN_INVALID : this.check(token, null, true);
  }

  /**
   * A socket, for one message: the handshake's token (`handshakeToken`), then its session. The
   * caller is put on `client.data.user`, or taken off it. With `recordRefusal`, a refusal is an
   * audit event (a guarded message); a `@Public()` message is not refused, only refreshed.
   */
  async authenticateSocket(client: WsClientLike, recordRefusal = true): Promise<Authentication | HandshakeRefusal> {
    const token = handshakeToken(client, this.cookieNames ? { cookies: true, accessCookie: this.cookieNames.access } : {});
    const result = typeof token === 'string' ? await this.authenticate(token) : token;
    if (result.ok) {
      client.data ??= {};
      client.data.user = result.user;
    } else {
      if (client.data) delete client.data.user;
      if (recordRefusal) this.recordRefusal(result.code, {});
    }
    return result;
  }

  /** The session half, for claims already verified (passport-jwt's callback). */
  async resolveSession(claims: AccessTokenClaims): Promise<Authentication> {
    return this.checkSession(claims, this.config.clock());
  }

  /**
   * The session half at a given clock reading, answering without a promise when the store's
   * `checkLive` does. Always a native promise when it waits.
   */
  checkSession(claims: AccessTokenClaims, nowMs: number): Authentication | Promise<Authentication> {
    const live = this.store.checkLive(claims.sid, claims.sub);
    // Any thenable counts (a store may hand back another realm's promise or its own).
    if (live !== null && typeof (live as { then?: unknown }).then === 'function') {
      return Promise.resolve(live).then((session) => this.admit(claims, session, nowMs));
    }
    return this.admit(claims, live as LiveSession | null, nowMs);
  }

  /** Records a refused token as an audit event. */
  recordRefusal(code: string, meta: RequestMeta): void {
    this.audit.record('token.rejected', { reason: code }, meta);
  }

  // Verification (one clock read when nothing waits), the CSRF check of a cookie-borne token, the session.
  private check(
    token: unknown,
    csrfOf: HttpRequestLike | null,
    checkShape: boolean,
  ): RequestAuthentication | Promise<RequestAuthentication> {
    const nowMs = this.config.clock();
    const known = this.tokens.verifyKnown(token, nowMs);
    if (known !== undefined) return known.ok ? this.afterVerification(known.claims, csrfOf, nowMs) : known;
    if (checkShape && !isCompactJws(token as string)) return TOKEN_INVALID;
    return this.tokens
      .verifyNew(token as string)
      .then((result) => (result.ok ? this.afterVerification(result.claims, csrfOf, this.config.clock()) : result));
  }

  private afterVerification(
    claims: AccessTokenClaims,
    csrfOf: HttpRequestLike | null,
    nowMs: number,
  ): RequestAuthentication | Promise<RequestAuthentication> {
    if (csrfOf && !passesCsrfCheck(csrfOf, this.cookieNames!.csrf, { keys: this.config.csrfKeys, sessionId: claims.sid }))
      return CSRF_FAILED;
    return this.checkSession(claims, nowMs);
  }

  private admit(claims: AccessTokenClaims, live: LiveSession | null, nowMs: number): Authentication | Promise<Authentication> {
    if (live === null) return SESSION_REVOKED;
    const result: Authentication = { ok: true, claims, user: new AuthenticatedUser(claims.sub, live.username, claims.sid) };
    if (nowMs - live.lastSeenAtMs < this.config.sessionTouchIntervalSeconds * 1000) return result;
    return Promise.resolve(this.store.touch(claims.sid, new Date(nowMs))).then(() => result);
  }
}
