import { Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import { Strategy } from 'passport-jwt';
import { JWT_STRATEGY_NAME } from './auth.constants.js';
import { AuthErrorCode } from './auth.errors.js';
import { AuthService } from './auth.service.js';
import type { AuthUser } from './interfaces/auth-user.interface.js';
import { extractBearerToken } from './tokens/bearer-token.extractor.js';
import { TokenService } from './tokens/token.service.js';

/** Raised inside the strategy when the token is fine but its session is not. */
export class SessionRevokedError extends Error {
  readonly code = AuthErrorCode.SESSION_REVOKED;
}

/**
 * passport-jwt strategy: verifies the bearer token (HS256 pinned, `iss`/`aud`/`exp` checked
 * by jsonwebtoken, the rest by {@link TokenService.checkDecoded}), then checks that the
 * session named by `sid` is live. The result becomes `request.user`.
 */
@Injectable()
export class JwtStrategy extends PassportStrategy(Strategy, JWT_STRATEGY_NAME) {
  constructor(
    private readonly tokens: TokenService,
    private readonly auth: AuthService,
  ) {
    super({ ...tokens.passportOptions(), jwtFromRequest: extractBearerToken });
  }

  async validate(decoded: unknown): Promise<AuthUser> {
    const claims = this.tokens.checkDecoded(decoded);
    if (!claims) throw new InvalidClaimsError();
    const result = await this.auth.resolveSession(claims);
    if (!result.ok) throw new SessionRevokedError();
    return result.user;
  }
}

/** Raised inside the strategy when a verified token fails the extra claim checks. */
export class InvalidClaimsError extends Error {
  readonly code = AuthErrorCode.TOKEN_INVALID;
}
