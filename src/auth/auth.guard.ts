import { Inject, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { HttpAdapterHost, Reflector } from '@nestjs/core';
import type { AuthConfig } from './auth.config.js';
import { AUTH_CONFIG } from './auth.constants.js';
import { AuthError, AuthErrorCode } from './auth.errors.js';
import { Authenticator, type RequestAuthentication } from './authentication/authenticator.js';
import { PublicRoutes, type RouteRule } from './decorators/public-routes.js';
import { stepUpRefusal } from './authentication/step-up.js';
import { requestOf } from './execution-context.js';
import { edgeException, toHttpException } from './http/http-errors.js';
import type { AuthUser } from './interfaces/auth-user.interface.js';
import { requestMeta, type HttpRequestLike } from './request-meta.js';
import type { WsClientLike } from './websockets/handshake-token.js';

/** A request as the guard leaves it: the caller on `user` once admitted. */
export type GuardedRequest = HttpRequestLike & { user?: AuthUser };

/**
 * Lets a request through when it carries a valid access token whose session is live, and
 * puts the caller on `request.user`. Otherwise answers 401 with a stable code and a
 * `WWW-Authenticate: Bearer` header (RFC 6750). Routes marked `@Public()` are let through.
 * A store outage answers 503 `AUTH_STORE_UNAVAILABLE`: nothing is let through.
 *
 * Per controller: `@UseGuards(AuthGuard)`. Globally: `AuthModule.forRoot({ ..., globalGuard: true })`;
 * then do not also put it on routes, or it runs twice for them.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  private readonly publicRoutes: PublicRoutes;

  constructor(
    reflector: Reflector,
    private readonly authenticator: Authenticator,
    private readonly adapterHost: HttpAdapterHost,
    @Inject(AUTH_CONFIG) private readonly config: AuthConfig,
  ) {
    this.publicRoutes = new PublicRoutes(reflector);
  }

  /**
   * Answers without a promise when nothing had to wait (a token seen before, a store that
   * answers at once); refusals are thrown.
   */
  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    const rule = this.publicRoutes.ruleOf(context);
    if (rule.isPublic) {
      // A public message: the caller as of now, or none (never one an ended session left).
      if (context.getType() === 'ws') return this.authenticator.authenticateSocket(this.socketOf(context), false).then(() => true);
      return true;
    }
    // A WebSocket message (with the global guard on, gateways get this guard too): the token
    // comes from the handshake, the caller goes to the socket's data. WsAuthGuard does the same
    // with coded WsException errors; this guard's refusals reach the client as generic ones.
    if (context.getType() === 'ws') return this.activateSocket(context, rule);
    const request = this.getRequest(context);
    // A GraphQL context without an HTTP request: nothing to authenticate from.
    if (!request?.headers) throw toHttpException(new AuthError(AuthErrorCode.TOKEN_MISSING));
    let result;
    try {
      result = this.authenticator.authenticateRequest(request);
    } catch (error) {
      throw this.edgeError(error);
    }
    if (result instanceof Promise) {
      return result.then(
        (settled) => this.admit(context, request, settled, rule),
        (error: unknown) => {
          throw this.edgeError(error);
        },
      );
    }
    return this.admit(context, request, result, rule);
  }

  private async activateSocket(context: ExecutionContext, rule: RouteRule): Promise<boolean> {
    const result = await this.authenticator.authenticateSocket(this.socketOf(context));
    if (!result.ok) throw toHttpException(new AuthError(result.code));
    const refusal = stepUpRefusal(rule, result.claims, this.config.clock, this.config.recentLoginSeconds);
    if (refusal) throw toHttpException(new AuthError(refusal), { signedIn: true });
    return true;
  }

  // Puts the caller on the request, or throws the refusal; then the route's step-up rule, if any.
  private admit(context: ExecutionContext, request: GuardedRequest, result: RequestAuthentication, rule: RouteRule): true {
    if (result.ok) {
      request.user = result.user;
      if (rule.requireMfa || rule.recentLogin !== null) {
        const refusal = stepUpRefusal(rule, result.claims, this.config.clock, this.config.recentLoginSeconds);
        if (refusal) throw edgeException(new AuthError(refusal), context, this.adapterHost.httpAdapter, { signedIn: true });
      }
      return true;
    }
    this.authenticator.recordRefusal(result.code, requestMeta(request, this.config.trustProxy));
    throw edgeException(new AuthError(result.code), context, this.adapterHost.httpAdapter);
  }

  // A store outage and the like, as the HTTP error of its code; anything else as it is.
  private edgeError(error: unknown): unknown {
    return error instanceof AuthError ? toHttpException(error) : error;
  }

  private socketOf(context: ExecutionContext): WsClientLike {
    return context.switchToWs().getClient<WsClientLike>();
  }

  /** The request to authenticate: the HTTP request, also under GraphQL resolvers. */
  protected getRequest(context: ExecutionContext): GuardedRequest | undefined {
    // HTTP directly: switchToHttp() allocates three closures on every call.
    if (context.getType() === 'http') return context.getArgByIndex<GuardedRequest>(0);
    return requestOf(context) as GuardedRequest | undefined;
  }
}
