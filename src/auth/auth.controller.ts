import {
  Body,
  Controller,
  Get,
  Header,
  HttpCode,
  HttpStatus,
  Inject,
  Optional,
  Post,
  Req,
  Res,
  UseGuards,
  UseInterceptors,
  UsePipes,
} from '@nestjs/common';
import { PATH_METADATA } from '@nestjs/common/constants.js';
import type { AuthConfig } from './auth.config.js';
import { AUTH_CONFIG } from './auth.constants.js';
import { AuthError, AuthErrorCode } from './auth.errors.js';
import { AuthGuard } from './auth.guard.js';
import { AuthService, type RegisteredUser } from './auth.service.js';
import { passesCsrfCheck, readCookies } from './cookies/cookie-transport.js';
import { CurrentUser } from './decorators/current-user.decorator.js';
import { AuthErrorInterceptor } from './interceptors/auth-error.interceptor.js';
import { Public } from './decorators/public.decorator.js';
import { PROFILE_FIELDS, type ProfileField } from './flows/auth-flow.js';
import { ChangePasswordDto, LoginDto, MfaVerifyDto, ReauthenticateDto, RefreshDto, RegisterDto } from './dto/credentials.dto.js';
import { RequireRecentLogin } from './decorators/step-up.decorator.js';
import { SecondFactor, SecondFactorRequiredError, type LoginChallenge, type SecondFactorStatus } from './login/second-factor.js';
import { JsonBodyInterceptor } from './interceptors/json-body.interceptor.js';
import { loginDeviceProof, LoginThrottleGuard } from './login/login-throttle.guard.js';
import type { AuthUser } from './interfaces/auth-user.interface.js';
import { ApiOperation, ApiResponse, ApiTags } from './openapi.js';
import { ApiAuthenticated, ApiAuthErrors, ApiTokenResponse, JSON_BODY_CODES } from './http/openapi-responses.js';
import { MeResponseDto, RegisteredUserDto } from './dto/responses.dto.js';
import { AuthValidationPipe } from './pipes/auth-validation.pipe.js';
import type { HttpRequestLike } from './request-meta.js';
import { parseRefreshToken } from './tokens/refresh-token.js';
import {
  TokenResponder,
  type CookieReauthResponse,
  type CookieTokenResponse,
  type ReauthResponse,
  type TokenResponse,
} from './http/token-responder.js';

export type { CookieReauthResponse, CookieTokenResponse, ReauthResponse, TokenResponse } from './http/token-responder.js';
import { UserStore } from './users/user-store.js';

/** What `GET /auth/me` answers. */
export interface MeResponse extends AuthUser {
  /** The account's email address, when it has one. */
  email?: string;
  /** Whether that address is verified. */
  emailVerified?: boolean;
  /** The account's second factors, when a second-factor flow (`mfaFlow`) is on. */
  mfa?: SecondFactorStatus;
  /** The flows' own fields (`identities` with `oidcFlow`), by their names. */
  [field: string]: unknown;
}

/**
 * The HTTP API: register, login, refresh, me, password, logout, logout/all (the sessions routes are the
 * built-in sessions flow, `flows/sessions`). Mounted under `routePrefix`
 * (default `auth`) unless `controller: false`. Bodies are JSON validated by class-validator;
 * errors are `{ statusCode, code, message }`.
 */
@ApiTags('auth')
@Controller('auth')
@UseGuards(AuthGuard)
@UsePipes(AuthValidationPipe)
// AuthErrors leave as the table's HttpExceptions, headers set, before any host interceptor or filter.
@UseInterceptors(AuthErrorInterceptor)
export class AuthController {
  constructor(
    private readonly auth: AuthService,
    @Inject(AUTH_CONFIG) private readonly config: AuthConfig,
    private readonly users: UserStore,
    private readonly responder: TokenResponder,
    @Optional() private readonly secondFactor?: SecondFactor,
    @Optional() @Inject(PROFILE_FIELDS) private readonly profileFields: ProfileField[] = [],
  ) {}

  /** `POST /auth/register {username, password}` -> 201 `{ userId, username }`. */
  @ApiOperation({ summary: 'Create a user', operationId: 'authRegister' })
  @ApiResponse({ status: 201, description: 'The new account', type: RegisteredUserDto })
  @ApiAuthErrors(
    ...JSON_BODY_CODES,
    AuthErrorCode.PASSWORD_POLICY,
    AuthErrorCode.REGISTRATION_DISABLED,
    AuthErrorCode.USERNAME_TAKEN,
    AuthErrorCode.EMAIL_TAKEN,
    AuthErrorCode.TOO_MANY_ATTEMPTS,
    AuthErrorCode.STORE_UNAVAILABLE,
  )
  @Public()
  @Post('register')
  @HttpCode(HttpStatus.CREATED)
  @UseInterceptors(JsonBodyInterceptor)
  register(@Body() body: RegisterDto, @Req() request: HttpRequestLike): Promise<RegisteredUser> {
    if (!this.config.registration) throw new AuthError(AuthErrorCode.REGISTRATION_DISABLED);
    return this.auth.register(
      body.username,
      body.password,
      this.auth.requestMeta(request),
      body.email === undefined ? {} : { email: body.email },
    );
  }

  /** `POST /auth/login {username, password}` -> 200 `{ accessToken, tokenType, expiresIn }`, or 401. */
  @ApiOperation({ summary: 'Log in: opens a session, returns an access and a refresh token', operationId: 'authLogin' })
  @ApiTokenResponse({ challenge: true })
  @ApiAuthErrors(
    ...JSON_BODY_CODES,
    AuthErrorCode.INVALID_CREDENTIALS,
    AuthErrorCode.EMAIL_NOT_VERIFIED,
    AuthErrorCode.TOO_MANY_ATTEMPTS,
    AuthErrorCode.STORE_UNAVAILABLE,
  )
  @Public()
  @Post('login')
  @UseGuards(LoginThrottleGuard)
  @HttpCode(HttpStatus.OK)
  @Header('Cache-Control', 'no-store')
  @Header('Pragma', 'no-cache')
  @UseInterceptors(JsonBodyInterceptor)
  async login(
    @Body() body: LoginDto,
    @Req() request: HttpRequestLike,
    @Res({ passthrough: true }) response: unknown,
  ): Promise<TokenResponse | CookieTokenResponse | LoginChallenge> {
    // Cookie transport: the device proof travels in its own cookie, sent only to this route.
    const deviceToken = loginDeviceProof(body, request, this.config);
    const { identifier, identifiedBy } = loginIdentifierOf(body, this.config);
    let result;
    try {
      result = await this.auth.login(identifier, body.password, this.auth.requestMeta(request), { deviceToken, identifiedBy });
    } catch (error) {
      // The right password of an account with a second factor: the challenge, no tokens, no cookies.
      if (error instanceof SecondFactorRequiredError) return error.challenge;
      throw error;
    }
    if (!result) throw new AuthError(AuthErrorCode.INVALID_CREDENTIALS);
    return this.responder.tokens(result, request, response, { routePrefix: this.routePrefix() });
  }

  /**
   * `POST /auth/mfa/verify {mfaToken, code | passkey}` -> what a login answers: the second step of a login
   * that answered `{ mfaRequired: true, mfaToken }`. 401 `AUTH_MFA_CODE_INVALID` for a wrong code,
   * `AUTH_MFA_TOKEN_INVALID` for an expired, used or foreign `mfaToken`; 429 past the account's code budget.
   */
  @ApiOperation({ summary: "Finish a login with the second factor's code", operationId: 'authVerifySecondFactor' })
  @ApiTokenResponse()
  @ApiAuthErrors(
    ...JSON_BODY_CODES,
    AuthErrorCode.MFA_TOKEN_INVALID,
    AuthErrorCode.MFA_CODE_INVALID,
    AuthErrorCode.PASSKEY_CHALLENGE_INVALID,
    AuthErrorCode.PASSKEY_LOGIN_FAILED,
    AuthErrorCode.TOO_MANY_ATTEMPTS,
    AuthErrorCode.STORE_UNAVAILABLE,
  )
  @Public()
  @Post('mfa/verify')
  @HttpCode(HttpStatus.OK)
  @Header('Cache-Control', 'no-store')
  @Header('Pragma', 'no-cache')
  @UseInterceptors(JsonBodyInterceptor)
  async verifySecondFactor(
    @Body() body: MfaVerifyDto,
    @Req() request: HttpRequestLike,
    @Res({ passthrough: true }) response: unknown,
  ): Promise<TokenResponse | CookieTokenResponse> {
    if (body.code !== undefined && body.passkey !== undefined)
      throw new AuthError(AuthErrorCode.VALIDATION_FAILED, 'give code or passkey, not both');
    const proof = body.passkey === undefined ? body.code : { method: 'passkey', response: body.passkey };
    const result = await this.auth.completeLogin(body.mfaToken, proof, this.auth.requestMeta(request));
    return this.responder.tokens(result, request, response, { routePrefix: this.routePrefix() });
  }

  /**
   * `POST /auth/reauthenticate {password, code?}` -> 200 a new access token for the same session,
   * whose `auth_time` is now (and `amr` has `otp` when a code was given): what
   * `@RequireRecentLogin()` asks for. The code is required when the account has a second factor.
   */
  @ApiOperation({
    summary: 'Prove who you are again: renews the session for routes that need a recent login',
    operationId: 'authReauthenticate',
  })
  @ApiTokenResponse({ reauth: true })
  @ApiAuthenticated(
    { csrf: true },
    ...JSON_BODY_CODES,
    AuthErrorCode.INVALID_CREDENTIALS,
    AuthErrorCode.MFA_CODE_INVALID,
    AuthErrorCode.TOO_MANY_ATTEMPTS,
  )
  @Post('reauthenticate')
  @HttpCode(HttpStatus.OK)
  @Header('Cache-Control', 'no-store')
  @Header('Pragma', 'no-cache')
  @UseInterceptors(JsonBodyInterceptor)
  async reauthenticate(
    @CurrentUser() user: AuthUser,
    @Body() body: ReauthenticateDto,
    @Req() request: HttpRequestLike,
    @Res({ passthrough: true }) response: unknown,
  ): Promise<ReauthResponse | CookieReauthResponse> {
    const result = await this.auth.reauthenticate(user.userId, user.sessionId, body.password, body.code, this.auth.requestMeta(request));
    // A caller signed in by cookie (no Authorization header) keeps the cookie transport.
    const byCookie = request.headers.authorization === undefined;
    return this.responder.accessToken(result, request, response, { cookieSession: byCookie });
  }

  /**
   * `POST /auth/refresh {refreshToken}` -> 200 with a new access and refresh token; the old
   * refresh token is spent. 401 `AUTH_REFRESH_TOKEN_INVALID`, or `AUTH_REFRESH_TOKEN_REUSED`
   * when a spent token comes back (the session is then revoked).
   */
  @ApiOperation({
    summary: 'Trade a refresh token (or, with the cookie transport, the refresh cookie) for a new pair; the old one is spent',
    operationId: 'authRefresh',
  })
  @ApiTokenResponse()
  @ApiAuthErrors(
    ...JSON_BODY_CODES,
    AuthErrorCode.REFRESH_TOKEN_INVALID,
    AuthErrorCode.REFRESH_TOKEN_REUSED,
    AuthErrorCode.CSRF_FAILED,
    AuthErrorCode.STORE_UNAVAILABLE,
  )
  @Public()
  @Post('refresh')
  @HttpCode(HttpStatus.OK)
  @Header('Cache-Control', 'no-store')
  @Header('Pragma', 'no-cache')
  @UseInterceptors(JsonBodyInterceptor)
  async refresh(
    @Body() body: RefreshDto,
    @Req() request: HttpRequestLike,
    @Res({ passthrough: true }) response: unknown,
  ): Promise<TokenResponse | CookieTokenResponse> {
    let presented = body.refreshToken ?? undefined;
    const fromCookie = presented === undefined && this.config.cookies !== null;
    if (presented === undefined && this.config.cookies) {
      // Cookie transport: the refresh cookie, sent only to this route, with the CSRF check
      // bound to the refresh token's session.
      const { names } = this.config.cookies;
      const candidates = readCookies(request, names.refresh);
      const sessions = candidates.filter((candidate) => parseRefreshToken(candidate) !== null);
      if (sessions.length > 0) {
        // Of several (one planted for the parent domain), the one whose session the CSRF token is bound to.
        presented = sessions.find((candidate) => {
          const sessionId = parseRefreshToken(candidate)!.sessionId;
          return passesCsrfCheck(request, names.csrf, { keys: this.config.csrfKeys, sessionId });
        });
        if (presented === undefined) throw new AuthError(AuthErrorCode.CSRF_FAILED);
      } else {
        // No session to bind a CSRF token to: refused as an invalid refresh token, as the guard
        // refuses a malformed access cookie before any CSRF check (rotation leaves it untouched).
        presented = candidates[0];
      }
    }
    if (presented === undefined) {
      throw new AuthError(AuthErrorCode.VALIDATION_FAILED, 'refreshToken is required');
    }
    const outcome = await this.auth.rotateRefreshToken(presented, this.auth.requestMeta(request));
    if (!outcome.ok) throw new AuthError(outcome.code);
    // A refresh by cookie answers with cookies, whatever the transport mode.
    return this.responder.tokens(outcome.tokens, request, response, { cookieSession: fromCookie, routePrefix: this.routePrefix() });
  }

  /**
   * `POST /auth/password {currentPassword, newPassword}` -> 204; every other session of the
   * caller ends. 403 `AUTH_INVALID_CREDENTIALS` for a wrong current password, 400 for the policy,
   * 403 `AUTH_REAUTH_REQUIRED` when the session's last login is older than `recentLoginSeconds`.
   */
  @RequireRecentLogin()
  @ApiOperation({ summary: 'Change the password; ends every other session', operationId: 'authChangePassword' })
  @ApiResponse({ status: 204, description: 'The password is changed; every other session of the caller has ended' })
  @ApiAuthenticated(
    { csrf: true },
    ...JSON_BODY_CODES,
    AuthErrorCode.REAUTH_REQUIRED,
    AuthErrorCode.INVALID_CREDENTIALS,
    AuthErrorCode.PASSWORD_POLICY,
    AuthErrorCode.TOO_MANY_ATTEMPTS,
  )
  @Post('password')
  @HttpCode(HttpStatus.NO_CONTENT)
  @UseInterceptors(JsonBodyInterceptor)
  async changePassword(@CurrentUser() user: AuthUser, @Body() body: ChangePasswordDto, @Req() request: HttpRequestLike): Promise<void> {
    const result = await this.auth.changePassword(user.userId, body.currentPassword, body.newPassword, {
      keepSessionId: user.sessionId,
      meta: this.auth.requestMeta(request),
    });
    // A wrong current password from a signed-in caller is a 403 (the table's signed-in status).
    if (!result.ok) throw new AuthError(result.code, result.message);
  }

  /** `GET /auth/me` -> the caller `{ userId, username, sessionId }`, and `email`, `emailVerified` when the account has an address. */
  @ApiOperation({ summary: 'The caller', operationId: 'authMe' })
  @ApiResponse({ status: 200, description: "The caller, with the flows' fields", type: MeResponseDto })
  @ApiAuthenticated({ csrf: false })
  @Get('me')
  @Header('Cache-Control', 'no-store')
  async me(@CurrentUser() user: AuthUser): Promise<MeResponse> {
    const caller = { userId: user.userId, username: user.username, sessionId: user.sessionId };
    const [record, mfa, ...fields] = await Promise.all([
      this.users.keepsEmail ? this.users.findById(user.userId) : null,
      this.secondFactor ? this.secondFactor.status(user.userId) : undefined,
      ...this.profileFields.map((field) => field.valueFor(user.userId)),
    ]);
    // The flows' fields first: the core's own cannot be shadowed.
    const extra = Object.fromEntries(this.profileFields.map((field, index) => [field.name, fields[index]]));
    return {
      ...extra,
      ...caller,
      ...(record?.email ? { email: record.email, emailVerified: record.emailVerified === true } : {}),
      ...(mfa ? { mfa } : {}),
    };
  }

  /** `POST /auth/logout` -> 204; ends the caller's session. */
  @ApiOperation({ summary: "End the caller's session", operationId: 'authLogout' })
  @ApiResponse({ status: 204, description: 'The session has ended (and its cookies are cleared)' })
  @ApiAuthenticated({ csrf: true })
  @Post('logout')
  @HttpCode(HttpStatus.NO_CONTENT)
  async logout(
    @CurrentUser() user: AuthUser,
    @Req() request: HttpRequestLike,
    @Res({ passthrough: true }) response: unknown,
  ): Promise<void> {
    await this.auth.endSession(user.sessionId, this.auth.requestMeta(request));
    this.responder.clear(request, response, { routePrefix: this.routePrefix() });
  }

  /** `POST /auth/logout/all` -> 204; ends every session of the caller. */
  @ApiOperation({ summary: 'End every session of the caller', operationId: 'authLogoutAll' })
  @ApiResponse({ status: 204, description: 'Every session of the caller has ended (and its cookies are cleared)' })
  @ApiAuthenticated({ csrf: true })
  @Post('logout/all')
  @HttpCode(HttpStatus.NO_CONTENT)
  async logoutAll(
    @CurrentUser() user: AuthUser,
    @Req() request: HttpRequestLike,
    @Res({ passthrough: true }) response: unknown,
  ): Promise<void> {
    await this.auth.endAllSessions(user.userId, this.auth.requestMeta(request));
    this.responder.clear(request, response, { routePrefix: this.routePrefix() });
  }

  // The controller's path is the configured routePrefix (set by AuthModule on this class).
  private routePrefix(): string {
    const prefix = Reflect.getMetadata(PATH_METADATA, this.constructor) as unknown;
    return typeof prefix === 'string' ? prefix : 'auth';
  }
}

// What names the account at login, as loginIdentifier says: the body's username, its email, or either.
function loginIdentifierOf(body: LoginDto, config: AuthConfig): { identifier: string; identifiedBy: 'username' | 'email' } {
  const by = config.loginIdentifier;
  if (by !== 'email' && body.email === undefined) return { identifier: body.username, identifiedBy: 'username' };
  if (by === 'username') throw new AuthError(AuthErrorCode.VALIDATION_FAILED, 'log in with username, not email');
  if (body.email === undefined) {
    if (by === 'either') return { identifier: body.username, identifiedBy: 'username' };
    throw new AuthError(AuthErrorCode.VALIDATION_FAILED, 'email is required');
  }
  if (body.username !== undefined) throw new AuthError(AuthErrorCode.VALIDATION_FAILED, 'give username or email, not both');
  return { identifier: body.email, identifiedBy: 'email' };
}
