import { Inject, Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import { Strategy } from 'passport-jwt';
import type { AuthConfig } from './auth.config.js';
import { AUTH_CONFIG, JWT_STRATEGY_NAME } from './auth.constants.js';
import { COOKIE_NAMES, passesCsrfCheck, readCookie } from './cookies/cookie-transport.js';
import { AuthErrorCode, tokenFailure } from './auth.errors.js';
import { AuthService, type Authentication } from './auth.service.js';
import type { AuthUser } from './interfaces/auth-user.interface.js';
import type { HttpRequestLike } from './request-meta.js';
import { extractBearerToken } from './tokens/bearer-token.extractor.js';
import { TokenService } from './tokens/token.service.js';

/** Outcome of {@link JwtStrategy.authenticateRequest}. */
export type RequestAuthentication =
  | Authentication
  | { ok: false; code: typeof AuthErrorCode.TOKEN_MISSING | typeof AuthErrorCode.CSRF_FAILED };

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

  constructor(
    private readonly tokens: TokenService,
    private readonly auth: AuthService,
    @Inject(AUTH_CONFIG) config: AuthConfig,
  ) {
    super({ ...tokens.passportOptions(), jwtFromRequest: extractBearerToken });
    this.cookies = config.cookies !== null;
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

  /** The whole check for one request: strict bearer extraction, token, live session. */
  authenticateRequest(request: HttpRequestLike): Promise<RequestAuthentication> | RequestAuthentication {
    if (request.headers.authorization === undefined) {
      // Cookie transport: the access cookie, and a CSRF check, when no header is sent.
      const fromCookie = this.cookies ? readCookie(request, COOKIE_NAMES.access) : undefined;
      if (fromCookie === undefined) return { ok: false, code: AuthErrorCode.TOKEN_MISSING };
      if (!passesCsrfCheck(request)) return { ok: false, code: AuthErrorCode.CSRF_FAILED };
      return this.auth.authenticate(fromCookie);
    }
    const token = extractBearerToken(request);
    return token === null ? { ok: false, code: AuthErrorCode.TOKEN_INVALID } : this.auth.authenticate(token);
  }
}
