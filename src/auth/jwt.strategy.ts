import { Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import { Strategy } from 'passport-jwt';
import { JWT_STRATEGY_NAME } from './auth.constants.js';
import { AuthError, AuthErrorCode } from './auth.errors.js';
import { Authenticator } from './authentication/authenticator.js';
import { toHttpException } from './http/http-errors.js';
import type { AuthUser } from './interfaces/auth-user.interface.js';
import { extractBearerToken } from './tokens/bearer-token.extractor.js';
import { TokenService } from './tokens/token.service.js';

/**
 * The JWT strategy, registered with passport as `nest-warden-jwt`: passport-jwt verifies the
 * bearer token (algorithm pinned per key, `iss`/`aud`/`exp` checked by jsonwebtoken, the rest by
 * {@link TokenService.checkDecoded}), then the session named by `sid` must be live: the same
 * {@link Authenticator} session check as `AuthGuard`.
 *
 * `AuthGuard` goes through the {@link Authenticator} without passport's per-request machinery
 * (cheaper: see bench/RESULTS.md); apps that prefer passport's own guard can use
 * `AuthGuard('nest-warden-jwt')` from `@nestjs/passport` with this strategy.
 */
@Injectable()
export class JwtStrategy extends PassportStrategy(Strategy, JWT_STRATEGY_NAME) {
  constructor(
    private readonly tokens: TokenService,
    private readonly authenticator: Authenticator,
  ) {
    super({ ...tokens.passportOptions(), jwtFromRequest: extractBearerToken });
  }

  /**
   * passport-jwt's callback, once jsonwebtoken has verified signature, algorithm, `iss`, `aud`
   * and `exp`. Throws the same 401s as `AuthGuard` for what is left.
   */
  async validate(decoded: unknown): Promise<AuthUser> {
    const claims = this.tokens.checkDecoded(decoded);
    if (!claims) throw toHttpException(new AuthError(AuthErrorCode.TOKEN_INVALID));
    let result;
    try {
      result = await this.authenticator.resolveSession(claims);
    } catch (error) {
      throw error instanceof AuthError ? toHttpException(error) : error;
    }
    if (!result.ok) throw toHttpException(new AuthError(result.code));
    return result.user;
  }
}
