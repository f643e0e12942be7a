import { Controller, Get, HttpCode, HttpStatus, Post } from '@nestjs/common';
import { ApiBearerAuth } from '@nestjs/swagger';
import { HealthCheck, HealthCheckService, type HealthCheckResult } from '@nestjs/terminus';
import { CurrentUser, Public, RequireMfa, RequireRecentLogin, type AuthUser } from '../auth/index.js';
import { AuthHealthIndicator } from '../auth/terminus/index.js';

/**
 * Demo routes: a public health check, a guarded profile, and one route for each step-up rule:
 * `GET /profile/secure` needs a session signed in with a second factor, `POST /profile/danger`
 * a login (or reauthentication) in the last 5 minutes.
 */
@Controller()
export class ProfileController {
  constructor(
    private readonly healthCheck: HealthCheckService,
    private readonly authHealth: AuthHealthIndicator,
  ) {}

  /**
   * Terminus' health check of every store (docs/health.md): 200 `{ status: "ok", info, error, details }`
   * with `details.auth.sessionStore`, `userStore`, ... each `up`, or 503 `{ status: "error", ... }`
   * when one of them does not answer within a second.
   */
  @Public()
  @Get('health')
  @HealthCheck()
  health(): Promise<HealthCheckResult> {
    return this.healthCheck.check([() => this.authHealth.isHealthy('auth')]);
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
