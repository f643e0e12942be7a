import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { HttpAdapterHost, Reflector } from '@nestjs/core';
import { IS_PUBLIC_KEY } from './auth.constants.js';
import { bearerChallenge, tokenFailure } from './auth.errors.js';
import { AuthService } from './auth.service.js';
import type { AuthUser } from './interfaces/auth-user.interface.js';
import { JwtStrategy } from './jwt.strategy.js';
import { requestMeta, type HttpRequestLike } from './request-meta.js';

const AUTHENTICATED = Symbol('nest-warden:authenticated');

type GuardedRequest = HttpRequestLike & { user?: AuthUser; [AUTHENTICATED]?: true };

/**
 * Lets a request through when it carries a valid access token whose session is live, and
 * puts the caller on `request.user`. Otherwise answers 401 with a stable code and a
 * `WWW-Authenticate: Bearer` header (RFC 6750). Routes marked `@Public()` are let through.
 * A store outage answers 503 `AUTH_STORE_UNAVAILABLE`: nothing is let through.
 *
 * Per controller: `@UseGuards(AuthGuard)`. Globally: `AuthModule.forRoot({ ..., globalGuard: true })`.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly strategy: JwtStrategy,
    private readonly auth: AuthService,
    private readonly adapterHost: HttpAdapterHost,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const isPublic = this.reflector.getAllAndOverride<boolean | undefined>(IS_PUBLIC_KEY, [
      context.getHandler(),
      context.getClass(),
    ]);
    if (isPublic) return true;
    const request = this.getRequest(context);
    // With the global guard on, routes that also say @UseGuards(AuthGuard) would verify twice.
    if (request[AUTHENTICATED] === true) return true;

    const result = await this.strategy.authenticateRequest(request);
    if (result.ok) {
      request.user = result.user;
      request[AUTHENTICATED] = true;
      return true;
    }
    this.auth.recordRejectedToken(result.code, requestMeta(request));
    this.adapterHost.httpAdapter.setHeader(context.switchToHttp().getResponse(), 'WWW-Authenticate', bearerChallenge(result.code));
    throw tokenFailure(result.code);
  }

  /** The request to authenticate. Override for other transports. */
  protected getRequest(context: ExecutionContext): GuardedRequest {
    return context.switchToHttp().getRequest<GuardedRequest>();
  }
}
