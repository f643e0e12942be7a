import { SetMetadata } from '@nestjs/common';
import { RECENT_LOGIN_KEY, REQUIRE_MFA_KEY } from '../auth.constants.js';

/**
 * Lets through only sessions signed in with a second factor (their tokens' `amr` holds one of
 * `SECOND_FACTOR_AMR`: `otp`, `hwk`, `swk` or `mfa`); any other caller gets 403 `AUTH_MFA_REQUIRED`. On a route, a controller or a GraphQL
 * resolver, behind `AuthGuard` (or `WsAuthGuard` on a gateway).
 *
 * @example
 * ```ts
 * @RequireMfa()
 * @Get('billing')
 * billing(@CurrentUser() user: AuthUser) { ... }
 * ```
 */
export const RequireMfa = (): MethodDecorator & ClassDecorator => SetMetadata(REQUIRE_MFA_KEY, true);

/**
 * Lets through only sessions whose last full authentication (login or `POST /auth/reauthenticate`)
 * is at most `seconds` old (default: the module's `recentLoginSeconds`, 900); older ones get 403
 * `AUTH_REAUTH_REQUIRED` and renew it with `POST /auth/reauthenticate`, without a new session.
 * Judged by the access token's `auth_time`: after reauthenticating, use the token it answers.
 *
 * @example
 * ```ts
 * @RequireRecentLogin(300)
 * @Post('close-account')
 * close(@CurrentUser() user: AuthUser) { ... }
 * ```
 */
export const RequireRecentLogin = (seconds?: number): MethodDecorator & ClassDecorator => {
  if (seconds !== undefined && (!Number.isInteger(seconds) || seconds < 1 || seconds > 86_400 * 30)) {
    throw new TypeError('RequireRecentLogin: seconds must be an integer from 1 to 2592000');
  }
  return SetMetadata(RECENT_LOGIN_KEY, seconds ?? 0);
};
