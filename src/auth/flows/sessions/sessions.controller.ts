import { Controller, Delete, Get, Header, HttpCode, HttpStatus, Inject, Param, Req, UseGuards, UseInterceptors } from '@nestjs/common';
import type { AuthConfig } from '../../auth.config.js';
import { AUTH_CONFIG } from '../../auth.constants.js';
import { AuthError, AuthErrorCode } from '../../auth.errors.js';
import { AuthGuard } from '../../auth.guard.js';
import { CurrentUser } from '../../decorators/current-user.decorator.js';
import { AuthErrorInterceptor } from '../../interceptors/auth-error.interceptor.js';
import type { AuthUser } from '../../interfaces/auth-user.interface.js';
import { ApiOperation, ApiResponse, ApiTags } from '../../openapi.js';
import { ApiAuthenticated } from '../../http/openapi-responses.js';
import { requestMeta, type HttpRequestLike } from '../../request-meta.js';
import { SessionService, type SessionInfo } from '../../sessions/session.service.js';
import { SessionInfoDto } from './sessions.dto.js';

// Session ids are at most this long; a longer id is answered without a store round trip.
const MAX_SESSION_ID_LENGTH = 64;

/** `GET sessions` and `DELETE sessions/:id` under `routePrefix`: the caller's own sessions. */
@ApiTags('auth')
@Controller('sessions')
@UseGuards(AuthGuard)
@UseInterceptors(AuthErrorInterceptor)
export class SessionsController {
  constructor(
    private readonly sessions: SessionService,
    @Inject(AUTH_CONFIG) private readonly config: AuthConfig,
  ) {}

  /** `GET /auth/sessions` -> the caller's live sessions, oldest first, no token material. */
  @ApiOperation({ summary: "The caller's live sessions", operationId: 'authListSessions' })
  @ApiResponse({ status: 200, description: 'Oldest first; current marks the session of this request', type: [SessionInfoDto] })
  @ApiAuthenticated({ csrf: false })
  @Get()
  @Header('Cache-Control', 'no-store')
  list(@CurrentUser() user: AuthUser): Promise<SessionInfo[]> {
    return this.sessions.list(user.userId, user.sessionId);
  }

  /** `DELETE /auth/sessions/:id` -> 204; 404 for an unknown id or another user's session. */
  @ApiOperation({ summary: "End one of the caller's sessions", operationId: 'authRevokeSession' })
  @ApiResponse({ status: 204, description: 'The session has ended' })
  @ApiAuthenticated({ csrf: true }, AuthErrorCode.VALIDATION_FAILED, AuthErrorCode.SESSION_NOT_FOUND)
  @Delete(':id')
  @HttpCode(HttpStatus.NO_CONTENT)
  async revoke(@CurrentUser() user: AuthUser, @Param('id') id: string, @Req() request: HttpRequestLike): Promise<void> {
    const ended =
      id.length <= MAX_SESSION_ID_LENGTH && (await this.sessions.revoke(user.userId, id, requestMeta(request, this.config.trustProxy)));
    if (!ended) throw new AuthError(AuthErrorCode.SESSION_NOT_FOUND);
  }
}
