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
import { ApiBearerAuth, ApiOperation, ApiResponse, ApiTags } from '../../openapi.js';
import { AuthValidationPipe } from '../../pipes/auth-validation.pipe.js';
import { requestMeta, type HttpRequestLike } from '../../request-meta.js';
import { ChangeEmailDto, ForgotPasswordDto, ResendVerificationDto, ResetPasswordDto, VerifyEmailDto } from './email.dto.js';
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
  @ApiBearerAuth()
  @ApiOperation({ summary: "Mail a verification link to the caller's address" })
  @ApiResponse({ status: 202, description: 'Accepted: the mail is on its way (none if the address is verified already)' })
  @ApiResponse({ status: 400, description: 'AUTH_VALIDATION_FAILED: the account has no address' })
  @ApiResponse({ status: 429, description: 'AUTH_TOO_MANY_ATTEMPTS, with Retry-After' })
  @Post('verification')
  @HttpCode(HttpStatus.ACCEPTED)
  async requestVerification(@CurrentUser() user: AuthUser, @Req() request: HttpRequestLike): Promise<void> {
    await this.verification.requestVerification(user.userId, this.meta(request));
  }

  /** `POST /auth/email/verification/resend {email}` -> always 202; a new link if the address is an account's, unverified. */
  @ApiOperation({ summary: 'Mail a new verification link to an address (the answer is the same whether it is an account’s or not)' })
  @ApiResponse({ status: 202, description: 'Accepted' })
  @ApiResponse({ status: 429, description: 'AUTH_TOO_MANY_ATTEMPTS, with Retry-After' })
  @Public()
  @Post('verification/resend')
  @HttpCode(HttpStatus.ACCEPTED)
  @UseInterceptors(JsonBodyInterceptor)
  async resendVerification(@Body() body: ResendVerificationDto, @Req() request: HttpRequestLike): Promise<void> {
    await this.verification.resendVerification(body.email, this.meta(request));
  }

  /** `POST /auth/email/verify {token}` -> 200 `{ emailVerified: true }`; 400 `AUTH_VERIFICATION_TOKEN_INVALID`. */
  @ApiOperation({ summary: 'Use a verification or email-change link' })
  @ApiResponse({ status: 200, description: '{ emailVerified: true }' })
  @ApiResponse({ status: 400, description: 'AUTH_VERIFICATION_TOKEN_INVALID or AUTH_VALIDATION_FAILED' })
  @ApiResponse({ status: 409, description: 'AUTH_EMAIL_TAKEN: the new address went to another account meanwhile' })
  @ApiResponse({ status: 429, description: 'AUTH_TOO_MANY_ATTEMPTS, with Retry-After' })
  @Public()
  @Post('verify')
  @HttpCode(HttpStatus.OK)
  @Header('Cache-Control', 'no-store')
  @UseInterceptors(JsonBodyInterceptor)
  verify(@Body() body: VerifyEmailDto, @Req() request: HttpRequestLike): Promise<{ emailVerified: true }> {
    return this.verification.verify(body.token, this.meta(request));
  }

  /** `POST /auth/email/change {newEmail, password}` -> 202; a link to the new address, a notice to the old one. */
  @ApiBearerAuth()
  @ApiOperation({ summary: "Change the caller's address: it changes when the link sent to the new one is used" })
  @ApiResponse({ status: 202, description: 'Accepted: the link is on its way' })
  @ApiResponse({
    status: 403,
    description: 'AUTH_INVALID_CREDENTIALS: the password is wrong; AUTH_REAUTH_REQUIRED: the last login is not recent',
  })
  @ApiResponse({ status: 429, description: 'AUTH_TOO_MANY_ATTEMPTS, with Retry-After' })
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
  @ApiOperation({ summary: 'Mail a password reset link (the answer is the same whether the account exists or not)' })
  @ApiResponse({ status: 202, description: 'Accepted' })
  @ApiResponse({ status: 429, description: 'AUTH_TOO_MANY_ATTEMPTS, with Retry-After' })
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
  @ApiOperation({ summary: 'Set a new password with a reset link; ends every session of the account' })
  @ApiResponse({ status: 204, description: 'The password is set' })
  @ApiResponse({ status: 400, description: 'AUTH_VERIFICATION_TOKEN_INVALID, AUTH_PASSWORD_POLICY or AUTH_VALIDATION_FAILED' })
  @ApiResponse({ status: 429, description: 'AUTH_TOO_MANY_ATTEMPTS, with Retry-After' })
  @Public()
  @Post('reset')
  @HttpCode(HttpStatus.NO_CONTENT)
  @Header('Cache-Control', 'no-store')
  @UseInterceptors(JsonBodyInterceptor)
  async resetPassword(@Body() body: ResetPasswordDto, @Req() request: HttpRequestLike): Promise<void> {
    await this.reset.reset(body.token, body.newPassword, requestMeta(request, this.config.trustProxy));
  }
}
