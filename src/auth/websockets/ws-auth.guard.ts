import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { WsException } from '@nestjs/websockets';
import { IS_PUBLIC_KEY } from '../auth.constants.js';
import { tokenFailureMessage, type TokenFailureCode } from '../auth.errors.js';
import { AuthService } from '../auth.service.js';
import { authenticateSocket, type WsClientLike } from './handshake-token.js';

/** What a refused message gets back on the `exception` event. */
export interface WsAuthErrorBody {
  status: 'error';
  code: TokenFailureCode;
  message: string;
}

/**
 * Guards WebSocket gateway messages. The access token comes from the Socket.IO handshake:
 * `auth: { token }` (bare or `Bearer ...`), or the handshake's `Authorization: Bearer` header.
 * Every message checks the token and that its session is still live, so a session ended by
 * logout or revocation is refused on its next message. The caller is put on
 * `client.data.user`, where `@CurrentUser()` finds it. A refusal is a `WsException` whose
 * error is `{ status: 'error', code, message }`, sent on the `exception` event.
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
  constructor(
    private readonly reflector: Reflector,
    private readonly auth: AuthService,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const isPublic = this.reflector.getAllAndOverride<boolean | undefined>(IS_PUBLIC_KEY, [context.getHandler(), context.getClass()]);
    if (isPublic) return true;
    const result = await authenticateSocket(this.auth, context.switchToWs().getClient<WsClientLike>());
    if (result.ok) return true;
    const body: WsAuthErrorBody = { status: 'error', code: result.code, message: tokenFailureMessage(result.code) };
    throw new WsException(body);
  }
}
