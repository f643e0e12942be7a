import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { HttpAdapterHost, Reflector } from '@nestjs/core';
import { IS_PUBLIC_KEY } from './auth.constants.js';
import { AuthErrorCode, bearerChallenge, csrfFailure, tokenFailure } from './auth.errors.js';
import { AuthService } from './auth.service.js';
import type { AuthUser } from './interfaces/auth-user.interface.js';
import { JwtStrategy, type RequestAuthentication } from './jwt.strategy.js';
import { requestOf } from './execution-context.js';
import { authenticateSocket, refreshSocketUser, type WsClientLike } from './websockets/handshake-token.js';
import type { HttpRequestLike } from './request-meta.js';

type GuardedRequest = HttpRequestLike & { user?: AuthUser };

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
  constructor(
    private readonly reflector: Reflector,
    private readonly strategy: JwtStrategy,
    private readonly auth: AuthService,
    private readonly adapterHost: HttpAdapterHost,
  ) {}

  // Route metadata does not change after start-up: look @Public() up once per class and handler.
  private readonly publicRoutes = new WeakMap<object, WeakMap<object, boolean>>();

  /**
   * Answers without a promise when nothing had to wait (a token seen before, a store that
   * answers at once); refusals are thrown.
   */
  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    if (this.isPublic(context)) {
      // A public message: the caller as of now, or none (never one an ended session left).
      if (context.getType() === 'ws')
        return refreshSocketUser(this.auth, context.switchToWs().getClient<WsClientLike>(), this.socketOptions()).then(() => true);
      return true;
    }
    // A WebSocket message (with the global guard on, gateways get this guard too): the token
    // comes from the handshake, the caller goes to the socket's data. WsAuthGuard does the same
    // with coded WsException errors; this guard's refusals reach the client as generic ones.
    if (context.getType() === 'ws') return this.activateSocket(context);
    const request = this.getRequest(context);
    // A GraphQL context without an HTTP request: nothing to authenticate from.
    if (!request?.headers) throw tokenFailure(AuthErrorCode.TOKEN_MISSING);
    const result = this.strategy.authenticateRequest(request);
    if (result instanceof Promise) return result.then((settled) => this.admit(context, request, settled));
    return this.admit(context, request, result);
  }

  private async activateSocket(context: ExecutionContext): Promise<boolean> {
    const client = context.switchToWs().getClient<WsClientLike>();
    const result = await authenticateSocket(this.auth, client, this.socketOptions());
    if (result.ok) return true;
    throw result.code === AuthErrorCode.CSRF_FAILED ? csrfFailure() : tokenFailure(result.code);
  }

  // Puts the caller on the request, or throws the refusal.
  private admit(context: ExecutionContext, request: GuardedRequest, result: RequestAuthentication): true {
    if (result.ok) {
      request.user = result.user;
      return true;
    }
    this.auth.recordRejectedToken(result.code, this.auth.requestMeta(request));
    if (result.code === AuthErrorCode.CSRF_FAILED) {
      throw csrfFailure();
    }
    // The challenge header belongs to HTTP responses; GraphQL reports the error in its body.
    if (context.getType() === 'http') {
      this.adapterHost.httpAdapter.setHeader(context.switchToHttp().getResponse(), 'WWW-Authenticate', bearerChallenge(result.code));
    }
    throw tokenFailure(result.code);
  }

  private socketOptions(): { cookies: boolean; accessCookie?: string } {
    const names = this.strategy.cookieNames;
    return names ? { cookies: true, accessCookie: names.access } : { cookies: false };
  }

  private isPublic(context: ExecutionContext): boolean {
    const handler = context.getHandler();
    const type = context.getClass();
    let handlers = this.publicRoutes.get(type);
    if (!handlers) {
      handlers = new WeakMap();
      this.publicRoutes.set(type, handlers);
    }
    let isPublic = handlers.get(handler);
    if (isPublic === undefined) {
      isPublic = this.reflector.getAllAndOverride<boolean | undefined>(IS_PUBLIC_KEY, [handler, type]) === true;
      handlers.set(handler, isPublic);
    }
    return isPublic;
  }

  /** The request to authenticate: the HTTP request, also under GraphQL resolvers. */
  protected getRequest(context: ExecutionContext): GuardedRequest | undefined {
    // HTTP directly: switchToHttp() allocates three closures on every call.
    if (context.getType() === 'http') return context.getArgByIndex<GuardedRequest>(0);
    return requestOf(context) as GuardedRequest | undefined;
  }
}
