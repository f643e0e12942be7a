import { Inject, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { WsException } from '@nestjs/websockets';
import { AuthError, AuthErrorCode, type TokenFailureCode } from '../auth.errors.js';
import { Authenticator } from '../authentication/authenticator.js';
import type { AuthConfig } from '../auth.config.js';
import { AUTH_CONFIG } from '../auth.constants.js';
import { stepUpRefusal } from '../authentication/step-up.js';
import { PublicRoutes } from '../decorators/public-routes.js';
import type { WsClientLike } from './handshake-token.js';

/** What a refused message gets back on the `exception` event. */
export interface WsAuthErrorBody {
  status: 'error';
  code: TokenFailureCode | typeof AuthErrorCode.CSRF_FAILED | typeof AuthErrorCode.MFA_REQUIRED | typeof AuthErrorCode.REAUTH_REQUIRED;
  message: string;
}

const CROSS_ORIGIN_MESSAGE = 'Cookie-authenticated handshake refused: it is not same-origin';

/**
 * Guards WebSocket gateway messages. The access token comes from the Socket.IO handshake:
 * `auth: { token }` (bare or `Bearer ...`), or the handshake's `Authorization: Bearer` header.
 * Every message checks the token and that its session is still live, so a session ended by
 * logout or revocation is refused on its next message. The caller is put on
 * `client.data.user`, where `@CurrentUser()` finds it. A refusal is a `WsException` whose
 * error is `{ status: 'error', code, message }`, sent on the `exception` event.
 *
 * With the cookie transport on, a handshake with neither token authenticates from its
 * access cookie, but only when it is same-origin (its `Origin`, if any, names the `Host`
 * it was sent to, and `Sec-Fetch-Site`, if any, is `same-origin`); otherwise every message is
 * refused with `AUTH_CSRF_FAILED` (cross-site WebSocket hijacking). Like a handshake token, the
 * cookie is the one sent when the socket connected: after a refresh, reconnect.
 *
 * @example
 * ```ts
 * @WebSocketGateway()
 * @UseGuards(WsAuthGuard)
 * export class ChatGateway {
 *   @SubscribeMessage('whoami')
 *   whoami(@CurrentUser() user: AuthUser) { return user; }
 * }
 * ```
 */
@Injectable()
export class WsAuthGuard implements CanActivate {
  private readonly publicRoutes: PublicRoutes;

  constructor(
    reflector: Reflector,
    private readonly authenticator: Authenticator,
    @Inject(AUTH_CONFIG) private readonly config: AuthConfig,
  ) {
    this.publicRoutes = new PublicRoutes(reflector);
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const client = context.switchToWs().getClient<WsClientLike>();
    const rule = this.publicRoutes.ruleOf(context);
    if (rule.isPublic) {
      await this.authenticator.authenticateSocket(client, false);
      return true;
    }
    const result = await this.authenticator.authenticateSocket(client);
    if (result.ok) {
      const refusal = stepUpRefusal(rule, result.claims, this.config.clock, this.config.recentLoginSeconds);
      if (!refusal) return true;
      const body: WsAuthErrorBody = { status: 'error', code: refusal, message: new AuthError(refusal).message };
      throw new WsException(body);
    }
    const message = result.code === AuthErrorCode.CSRF_FAILED ? CROSS_ORIGIN_MESSAGE : new AuthError(result.code).message;
    const body: WsAuthErrorBody = { status: 'error', code: result.code, message };
    throw new WsException(body);
  }
}
