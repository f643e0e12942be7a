import { Controller, Get, HttpStatus, Res } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { ApiBearerAuth } from '@nestjs/swagger';
import { CurrentUser, Public, SessionStore, type AuthUser } from '../auth/index.js';

/** Demo routes: a public health check and a guarded profile. */
@Controller()
export class ProfileController {
  constructor(
    private readonly sessions: SessionStore,
    private readonly adapterHost: HttpAdapterHost,
  ) {}

  /** 200 `{ status: "ok", sessionStore: "up" }`, or 503 with `"down"` when the store does not answer. */
  @Public()
  @Get('health')
  async health(@Res({ passthrough: true }) response: unknown): Promise<{ status: 'ok' | 'unavailable'; sessionStore: 'up' | 'down' }> {
    const up = await this.sessions.ping();
    if (!up) this.adapterHost.httpAdapter.status(response, HttpStatus.SERVICE_UNAVAILABLE);
    return { status: up ? 'ok' : 'unavailable', sessionStore: up ? 'up' : 'down' };
  }

  @ApiBearerAuth()
  @Get('profile')
  profile(@CurrentUser() user: AuthUser): AuthUser {
    return user;
  }
}
