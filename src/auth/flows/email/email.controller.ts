import { Body, Controller, Header, HttpCode, HttpStatus, Inject, Post, Req, UseGuards, UseInterceptors, UsePipes } from '@nestjs/common';
import type { AuthConfig } from '../../auth.config.js';
import { AUTH_CONFIG } from '../../auth.constants.js';
import { AuthError, AuthErrorCode } from '../../auth.errors.js';
import { AuthGuard } from '../../auth.guard.js';
import { CurrentUser } from '../../decorators/current-user.decorator.js';
import { Public } from '../../decorators/public.decorator.js';
import { RequireRecentLogin } from '../../decorators/step-up.decorator.js';
import { AuthErrorInterceptor } from '../../interceptors/auth-error.interceptor.js';
import { JsonBodyInterceptor } from '../../interceptors/json-body.interceptor.js';
import type { AuthUser } from '../../interfaces/auth-user.interface.js';
import { ApiOperation, ApiResponse, ApiTags } from '../../openapi.js';
import { ApiAuthenticated, ApiAuthErrors, JSON_BODY_CODES } from '../../http/openapi-responses.js';
import { AuthValidationPipe } from '../../pipes/auth-validation.pipe.js';
import { requestMeta, type HttpRequestLike } from '../../request-meta.js';
import {
  ChangeEmailDto,
  EmailVerifiedDto,
  ForgotPasswordDto,
  ResendVerificationDto,
  ResetPasswordDto,
  VerifyEmailDto,
} from './email.dto.js';
import { EmailVerificationService } from './email-verification.service.js';
import { PasswordResetService } from './password-reset.service.js';

/** `POST email/verification`, `email/verify` and `email/change` under `routePrefix`. */
@ApiTags('auth')
@Controller('email')
@UseGuards(AuthGuard)
@UsePipes(AuthValidationPipe)
@UseInterceptors(AuthErrorInterceptor)
export class EmailController {
  constructor(
    private readonly verification: EmailVerificationService,
    @Inject(AUTH_CONFIG) private readonly config: AuthConfig,
  ) {}

  /** `POST /auth/email/verification` -> 202; a verification link goes to the caller's address. */
  @ApiOperation({ summary: "Mail a verification link to the caller's address", operationId: 'authRequestEmailVerification' })
  @ApiResponse({ status: 202, description: 'Accepted: the mail is on its way (none if the address is verified already)' })
  @ApiAuthenticated({ csrf: true }, AuthErrorCode.VALIDATION_FAILED, AuthErrorCode.TOO_MANY_ATTEMPTS)
  @Post('verification')
  @HttpCode(HttpStatus.ACCEPTED)
  async requestVerification(@CurrentUser() user: AuthUser, @Req() request: HttpRequestLike): Promise<void> {
    await this.verification.requestVerification(user.userId, this.meta(request));
  }

  /** `POST /auth/email/verification/resend {email}` -> always 202; a new link if the address is an account's, unverified. */
  @ApiOperation({
    summary: 'Mail a new verification link to an address (the answer is the same whether it is an account’s or not)',
    operationId: 'authResendEmailVerification',
  })
  @ApiResponse({ status: 202, description: 'Accepted' })
  @ApiAuthErrors(...JSON_BODY_CODES, AuthErrorCode.TOO_MANY_ATTEMPTS, AuthErrorCode.STORE_UNAVAILABLE)
  @Public()
  @Post('verification/resend')
  @HttpCode(HttpStatus.ACCEPTED)
  @UseInterceptors(JsonBodyInterceptor)
  async resendVerification(@Body() body: ResendVerificationDto, @Req() request: HttpRequestLike): Promise<void> {
    await this.verification.resendVerification(body.email, this.meta(request));
  }

  /** `POST /auth/email/verify {token}` -> 200 `{ emailVerified: true }`; 400 `AUTH_VERIFICATION_TOKEN_INVALID`. */
  @ApiOperation({ summary: 'Use a verification or email-change link', operationId: 'authVerifyEmail' })
  @ApiResponse({ status: 200, description: "The link's address is the account's, verified", type: EmailVerifiedDto })
  @ApiAuthErrors(
    ...JSON_BODY_CODES,
    AuthErrorCode.VERIFICATION_TOKEN_INVALID,
    AuthErrorCode.EMAIL_TAKEN,
    AuthErrorCode.TOO_MANY_ATTEMPTS,
    AuthErrorCode.STORE_UNAVAILABLE,
  )
  @Public()
  @Post('verify')
  @HttpCode(HttpStatus.OK)
  @Header('Cache-Control', 'no-store')
  @UseInterceptors(JsonBodyInterceptor)
  verify(@Body() body: VerifyEmailDto, @Req() request: HttpRequestLike): Promise<{ emailVerified: true }> {
    return this.verification.verify(body.token, this.meta(request));
  }

  /** `POST /auth/email/change {newEmail, password}` -> 202; a link to the new address, a notice to the old one. */
  @ApiOperation({
    summary: "Change the caller's address: it changes when the link sent to the new one is used",
    operationId: 'authChangeEmail',
  })
  @ApiResponse({ status: 202, description: 'Accepted: the link is on its way' })
  @ApiAuthenticated(
    { csrf: true },
    ...JSON_BODY_CODES,
    AuthErrorCode.REAUTH_REQUIRED,
    AuthErrorCode.INVALID_CREDENTIALS,
    AuthErrorCode.TOO_MANY_ATTEMPTS,
  )
  @RequireRecentLogin()
  @Post('change')
  @HttpCode(HttpStatus.ACCEPTED)
  @UseInterceptors(JsonBodyInterceptor)
  async change(@CurrentUser() user: AuthUser, @Body() body: ChangeEmailDto, @Req() request: HttpRequestLike): Promise<void> {
    await this.verification.requestChange(user.userId, body.newEmail, body.password, this.meta(request));
  }

  private meta(request: HttpRequestLike) {
    return requestMeta(request, this.config.trustProxy);
  }
}

/** `POST password/forgot` and `password/reset` under `routePrefix`: both open to anonymous callers. */
@ApiTags('auth')
@Controller('password')
@UseGuards(AuthGuard)
@UsePipes(AuthValidationPipe)
@UseInterceptors(AuthErrorInterceptor)
export class PasswordResetController {
  constructor(
    private readonly reset: PasswordResetService,
    @Inject(AUTH_CONFIG) private readonly config: AuthConfig,
  ) {}

  /** `POST /auth/password/forgot {email}` or `{username}` -> always 202, whether or not the account exists. */
  @ApiOperation({
    summary: 'Mail a password reset link (the answer is the same whether the account exists or not)',
    operationId: 'authForgotPassword',
  })
  @ApiResponse({ status: 202, description: 'Accepted' })
  @ApiAuthErrors(...JSON_BODY_CODES, AuthErrorCode.TOO_MANY_ATTEMPTS, AuthErrorCode.STORE_UNAVAILABLE)
  @Public()
  @Post('forgot')
  @HttpCode(HttpStatus.ACCEPTED)
  @UseInterceptors(JsonBodyInterceptor)
  async forgot(@Body() body: ForgotPasswordDto, @Req() request: HttpRequestLike): Promise<void> {
    if (body.email !== undefined && body.username !== undefined) {
      throw new AuthError(AuthErrorCode.VALIDATION_FAILED, 'give email or username, not both');
    }
    const account = body.email !== undefined ? { email: body.email } : { username: body.username! };
    await this.reset.forgot(account, requestMeta(request, this.config.trustProxy));
  }

  /** `POST /auth/password/reset {token, newPassword}` -> 204; every session of the account ends. */
  @ApiOperation({ summary: 'Set a new password with a reset link; ends every session of the account', operationId: 'authResetPassword' })
  @ApiResponse({ status: 204, description: 'The password is set' })
  @ApiAuthErrors(
    ...JSON_BODY_CODES,
    AuthErrorCode.VERIFICATION_TOKEN_INVALID,
    AuthErrorCode.PASSWORD_POLICY,
    AuthErrorCode.TOO_MANY_ATTEMPTS,
    AuthErrorCode.STORE_UNAVAILABLE,
  )
  @Public()
  @Post('reset')
  @HttpCode(HttpStatus.NO_CONTENT)
  @Header('Cache-Control', 'no-store')
  @UseInterceptors(JsonBodyInterceptor)
  async resetPassword(@Body() body: ResetPasswordDto, @Req() request: HttpRequestLike): Promise<void> {
    await this.reset.reset(body.token, body.newPassword, requestMeta(request, this.config.trustProxy));
  }
}
