import { Inject, Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import { Strategy } from 'passport-jwt';
import type { AuthConfig } from './auth.config.js';
import { AUTH_CONFIG, JWT_STRATEGY_NAME } from './auth.constants.js';
import { passesCsrfCheck, readCookie, type CookieNames } from './cookies/cookie-transport.js';
import { AuthErrorCode, tokenFailure } from './auth.errors.js';
import { AuthService, type Authentication } from './auth.service.js';
import type { AuthUser } from './interfaces/auth-user.interface.js';
import type { HttpRequestLike } from './request-meta.js';
import { bearerCredentials, extractBearerToken, isCompactJws } from './tokens/bearer-token.extractor.js';
import { TokenService, type AccessTokenClaims } from './tokens/token.service.js';

/** Outcome of {@link JwtStrategy.authenticateRequest}. */
export type RequestAuthentication =
  Authentication | { ok: false; code: typeof AuthErrorCode.TOKEN_MISSING | typeof AuthErrorCode.CSRF_FAILED };

const refusal = <C extends Extract<RequestAuthentication, { ok: false }>['code']>(code: C): { ok: false; code: C } =>
  Object.freeze({ ok: false, code });
const TOKEN_MISSING = refusal(AuthErrorCode.TOKEN_MISSING);
const TOKEN_INVALID = refusal(AuthErrorCode.TOKEN_INVALID);
const CSRF_FAILED = refusal(AuthErrorCode.CSRF_FAILED);

/**
 * The JWT strategy, registered with passport as `nest-warden-jwt`: verifies the bearer
 * token (HS256 pinned, `iss`/`aud`/`exp` checked by jsonwebtoken, the rest by
 * {@link TokenService.checkDecoded}), then checks that the session named by `sid` is live.
 *
 * `AuthGuard` calls {@link authenticateRequest}, which applies the same checks without
 * passport's per-request machinery (several times cheaper); apps that prefer passport's own
 * guard can use `AuthGuard('nest-warden-jwt')` from `@nestjs/passport` with this strategy.
 */
@Injectable()
export class JwtStrategy extends PassportStrategy(Strategy, JWT_STRATEGY_NAME) {
  /** Whether the cookie transport is on (the `cookies` option). */
  readonly cookies: boolean;
  /** The cookie names in use, when the cookie transport is on. */
  readonly cookieNames: Readonly<CookieNames> | null;

  constructor(
    private readonly tokens: TokenService,
    private readonly auth: AuthService,
    @Inject(AUTH_CONFIG) private readonly config: AuthConfig,
  ) {
    super({ ...tokens.passportOptions(), jwtFromRequest: extractBearerToken });
    this.cookies = config.cookies !== null;
    this.cookieNames = config.cookies?.names ?? null;
  }

  /**
   * passport-jwt's callback, once jsonwebtoken has verified signature, algorithm, `iss`, `aud`
   * and `exp`. Throws the same 401s as `AuthGuard` for what is left.
   */
  async validate(decoded: unknown): Promise<AuthUser> {
    const claims = this.tokens.checkDecoded(decoded);
    if (!claims) throw tokenFailure(AuthErrorCode.TOKEN_INVALID);
    const result = await this.auth.resolveSession(claims);
    if (!result.ok) throw tokenFailure(result.code);
    return result.user;
  }

  /**
   * The whole check for one request: strict bearer extraction, token, live session. The answer
   * comes without a promise when no step has to wait (a token verified before, a store that
   * answers at once); failures are shared frozen objects.
   */
  authenticateRequest(request: HttpRequestLike): Promise<RequestAuthentication> | RequestAuthentication {
    let token: string | null;
    let fromHeader = false;
    if (request.headers.authorization === undefined) {
      // Cookie transport: the access cookie, when no header is sent, and then the CSRF check
      // against the token's session.
      const fromCookie = this.cookieNames ? readCookie(request, this.cookieNames.access) : undefined;
      if (fromCookie === undefined) return TOKEN_MISSING;
      token = fromCookie;
    } else {
      // extractBearerToken's checks, with the compact-JWS one left to a token not seen before:
      // the verified-token cache only holds tokens that passed it.
      token = bearerCredentials(request);
      if (token === null) return TOKEN_INVALID;
      fromHeader = true;
    }
    // The same checks as AuthService.authenticate, in the same order, with one clock read.
    const nowMs = this.config.clock();
    const known = this.tokens.verifyKnown(token, nowMs);
    if (known === undefined) {
      if (fromHeader && !isCompactJws(token)) return TOKEN_INVALID;
      return this.tokens
        .verifyNew(token)
        .then((result) => (result.ok ? this.checkVerified(request, fromHeader, result.claims, this.config.clock()) : result));
    }
    return known.ok ? this.checkVerified(request, fromHeader, known.claims, nowMs) : known;
  }

  // A cookie-borne token passes only with a CSRF token bound to its session.
  private checkVerified(
    request: HttpRequestLike,
    fromHeader: boolean,
    claims: AccessTokenClaims,
    nowMs: number,
  ): RequestAuthentication | Promise<RequestAuthentication> {
    if (!fromHeader && !passesCsrfCheck(request, this.cookieNames!.csrf, { keys: this.config.csrfKeys, sessionId: claims.sid })) {
      return CSRF_FAILED;
    }
    return this.auth.checkSession(claims, nowMs);
  }
}
