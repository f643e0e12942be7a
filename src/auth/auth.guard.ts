import { HttpStatus, Injectable, type ExecutionContext } from '@nestjs/common';
import { HttpAdapterHost, Reflector } from '@nestjs/core';
import { AuthGuard as PassportAuthGuard } from '@nestjs/passport';
import jsonwebtoken from 'jsonwebtoken';
import { IS_PUBLIC_KEY, JWT_STRATEGY_NAME } from './auth.constants.js';
import { AuthErrorCode, AuthHttpException } from './auth.errors.js';
import { AuthService } from './auth.service.js';
import type { AuthUser } from './interfaces/auth-user.interface.js';
import { InvalidClaimsError, SessionRevokedError } from './jwt.strategy.js';
import { requestMeta, type HttpRequestLike } from './request-meta.js';

const AUTHENTICATED = Symbol('nest-warden:authenticated');

type FailureCode =
  | typeof AuthErrorCode.TOKEN_MISSING
  | typeof AuthErrorCode.TOKEN_INVALID
  | typeof AuthErrorCode.TOKEN_EXPIRED
  | typeof AuthErrorCode.SESSION_REVOKED;

const MESSAGES: Record<FailureCode, string> = {
  [AuthErrorCode.TOKEN_MISSING]: 'Authentication required',
  [AuthErrorCode.TOKEN_INVALID]: 'Invalid access token',
  [AuthErrorCode.TOKEN_EXPIRED]: 'Access token expired',
  [AuthErrorCode.SESSION_REVOKED]: 'Session has ended',
};

/**
 * Lets a request through when it carries a valid access token whose session is live, and
 * puts the caller on `request.user`. Otherwise answers 401 with a stable code and a
 * `WWW-Authenticate: Bearer` header (RFC 6750). Routes marked `@Public()` are let through.
 *
 * Per controller: `@UseGuards(AuthGuard)`. Globally: `AuthModule.forRoot({ ..., globalGuard: true })`.
 */
@Injectable()
export class AuthGuard extends PassportAuthGuard(JWT_STRATEGY_NAME) {
  constructor(
    private readonly reflector: Reflector,
    private readonly auth: AuthService,
    private readonly adapterHost: HttpAdapterHost,
  ) {
    super();
  }

  override async canActivate(context: ExecutionContext): Promise<boolean> {
    const isPublic = this.reflector.getAllAndOverride<boolean | undefined>(IS_PUBLIC_KEY, [
      context.getHandler(),
      context.getClass(),
    ]);
    if (isPublic) return true;
    // With the global guard on, routes that also say @UseGuards(AuthGuard) would verify twice.
    const request = this.getRequest(context) as Record<symbol, unknown>;
    if (request[AUTHENTICATED] === true) return true;
    const allowed = (await super.canActivate(context)) as boolean;
    if (allowed) request[AUTHENTICATED] = true;
    return allowed;
  }

  override handleRequest<TUser = AuthUser>(err: unknown, user: unknown, info: unknown, context: ExecutionContext): TUser {
    if (user && !err) return user as TUser;
    const code = failureCode(err, info, this.getRequest(context) as HttpRequestLike);
    if (code === undefined) throw err; // not an authentication failure (a store outage, say)

    const request = this.getRequest(context) as HttpRequestLike;
    this.auth.recordRejectedToken(code, requestMeta(request));
    const challenge =
      code === AuthErrorCode.TOKEN_MISSING
        ? 'Bearer realm="nest-warden"'
        : `Bearer realm="nest-warden", error="invalid_token", error_description="${MESSAGES[code]}"`;
    this.adapterHost.httpAdapter.setHeader(context.switchToHttp().getResponse(), 'WWW-Authenticate', challenge);
    throw new AuthHttpException(HttpStatus.UNAUTHORIZED, code, MESSAGES[code]);
  }
}

function failureCode(err: unknown, info: unknown, request: HttpRequestLike): FailureCode | undefined {
  if (err instanceof SessionRevokedError) return AuthErrorCode.SESSION_REVOKED;
  if (err instanceof InvalidClaimsError) return AuthErrorCode.TOKEN_INVALID;
  if (err) return undefined;
  if (info instanceof jsonwebtoken.TokenExpiredError) return AuthErrorCode.TOKEN_EXPIRED;
  if (info instanceof jsonwebtoken.JsonWebTokenError) return AuthErrorCode.TOKEN_INVALID;
  // passport-jwt reports "No auth token" when the extractor found nothing usable.
  return request.headers.authorization === undefined ? AuthErrorCode.TOKEN_MISSING : AuthErrorCode.TOKEN_INVALID;
}
