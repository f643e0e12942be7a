import { Controller, Get, HttpCode, HttpStatus, Post, Res } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { ApiBearerAuth } from '@nestjs/swagger';
import { CurrentUser, Public, RequireMfa, RequireRecentLogin, SessionStore, type AuthUser } from '../auth/index.js';

/**
 * Demo routes: a public health check, a guarded profile, and one route for each step-up rule:
 * `GET /profile/secure` needs a session signed in with a second factor, `POST /profile/danger`
 * a login (or reauthentication) in the last 5 minutes.
 */
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

  /** 200 for a session signed in with TOTP; 403 `AUTH_MFA_REQUIRED` for a password-only one. */
  @ApiBearerAuth()
  @RequireMfa()
  @Get('profile/secure')
  secure(@CurrentUser() user: AuthUser): { userId: string; secure: true } {
    return { userId: user.userId, secure: true };
  }

  /** 200 within 5 minutes of the last login; after that 403 `AUTH_REAUTH_REQUIRED` until `POST /auth/reauthenticate`. */
  @ApiBearerAuth()
  @RequireRecentLogin(300)
  @Post('profile/danger')
  @HttpCode(HttpStatus.OK)
  danger(@CurrentUser() user: AuthUser): { userId: string; done: true } {
    return { userId: user.userId, done: true };
  }
}
