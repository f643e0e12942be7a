import {
  Body,
  Controller,
  Delete,
  Get,
  Header,
  HttpCode,
  HttpStatus,
  Inject,
  Param,
  Patch,
  Post,
  Req,
  Res,
  UseGuards,
  UseInterceptors,
  UsePipes,
} from '@nestjs/common';
import { PATH_METADATA } from '@nestjs/common/constants.js';
import type { PublicKeyCredentialCreationOptionsJSON, PublicKeyCredentialRequestOptionsJSON } from '@simplewebauthn/server';
import {
  IsNotEmpty,
  IsObject,
  IsOptional,
  IsString,
  MaxLength,
  Validate,
  type ValidatorConstraintInterface,
  ValidatorConstraint,
} from 'class-validator';
import type { AuthConfig } from '../../auth.config.js';
import { AUTH_CONFIG } from '../../auth.constants.js';
import { AuthError, AuthErrorCode } from '../../auth.errors.js';
import { AuthGuard } from '../../auth.guard.js';
import { CurrentUser } from '../../decorators/current-user.decorator.js';
import { Public } from '../../decorators/public.decorator.js';
import { RequireRecentLogin } from '../../decorators/step-up.decorator.js';
import { TokenResponder, type CookieTokenResponse, type TokenResponse } from '../../http/token-responder.js';
import { AuthErrorInterceptor } from '../../interceptors/auth-error.interceptor.js';
import { JsonBodyInterceptor } from '../../interceptors/json-body.interceptor.js';
import type { AuthUser } from '../../interfaces/auth-user.interface.js';
import type { RequestMeta } from '../../interfaces/request-meta.interface.js';
import { ApiOperation, ApiProperty, ApiResponse, ApiTags } from '../../openapi.js';
import { ApiAuthenticated, ApiAuthErrors, ApiTokenResponse, JSON_BODY_CODES } from '../../http/openapi-responses.js';
import { isWellFormedText } from '../../passwords/credential-policy.js';
import { AuthValidationPipe } from '../../pipes/auth-validation.pipe.js';
import { requestMeta, type HttpRequestLike } from '../../request-meta.js';
import { LoginPipeline } from '../../login/login-pipeline.js';
import { PASSKEY_LOGIN_AMR, PasskeyService, type PasskeyView } from './passkey.service.js';
import { PasskeyCreationOptionsDto, PasskeyRequestOptionsDto, PasskeyViewDto } from './passkeys.dto.js';

/** The longest passkey name. */
export const PASSKEY_NAME_MAX_LENGTH = 64;

@ValidatorConstraint({ name: 'passkeyName' })
class PasskeyNameConstraint implements ValidatorConstraintInterface {
  validate(value: unknown): boolean {
    return typeof value === 'string' && value.trim().length > 0 && value.length <= PASSKEY_NAME_MAX_LENGTH && isWellFormedText(value);
  }
  defaultMessage(): string {
    return `name must be 1 to ${PASSKEY_NAME_MAX_LENGTH} characters of text`;
  }
}

/** Body of `POST /auth/passkeys/register/verify`. */
export class PasskeyRegistrationDto {
  @ApiProperty({ description: "The browser's registration response as JSON (`PublicKeyCredential.toJSON()`)", type: Object })
  @IsObject()
  readonly response!: Record<string, unknown>;

  @ApiProperty({
    description: 'A name for the passkey ("Work laptop"); default "Passkey"',
    maxLength: PASSKEY_NAME_MAX_LENGTH,
    required: false,
  })
  @IsOptional()
  @Validate(PasskeyNameConstraint)
  readonly name?: string;
}

/** Body of `POST /auth/passkeys/login/verify`. */
export class PasskeyLoginDto {
  @ApiProperty({ description: "The browser's authentication response as JSON (`PublicKeyCredential.toJSON()`)", type: Object })
  @IsObject()
  readonly response!: Record<string, unknown>;
}

/** Body of `PATCH /auth/passkeys/:id`. */
export class PasskeyRenameDto {
  @ApiProperty({ maxLength: PASSKEY_NAME_MAX_LENGTH })
  @IsString()
  @IsNotEmpty()
  @MaxLength(PASSKEY_NAME_MAX_LENGTH)
  @Validate(PasskeyNameConstraint)
  readonly name!: string;
}

const PASSKEY_ID = /^[A-Za-z0-9_-]{22}$/;

/**
 * Passkeys under `routePrefix`: registration and management by the signed-in account (changes
 * need a recent login), and the passwordless login (public). The second step after a password
 * is `POST /auth/mfa/verify { mfaToken, passkey }`.
 */
@ApiTags('auth')
@Controller('passkeys')
@UseGuards(AuthGuard)
@UsePipes(AuthValidationPipe)
@UseInterceptors(AuthErrorInterceptor)
export class PasskeysController {
  constructor(
    private readonly passkeys: PasskeyService,
    private readonly pipeline: LoginPipeline,
    private readonly responder: TokenResponder,
    @Inject(AUTH_CONFIG) private readonly config: AuthConfig,
  ) {}

  /** `POST /auth/passkeys/register/options` -> 200 creation options (a challenge for 5 minutes, bound to this session). */
  @ApiOperation({
    summary: 'Start registering a passkey: creation options for navigator.credentials.create()',
    operationId: 'authPasskeyRegistrationOptions',
  })
  @ApiResponse({ status: 200, description: 'The creation options (a challenge bound to this session)', type: PasskeyCreationOptionsDto })
  @ApiAuthenticated({ csrf: true }, AuthErrorCode.REAUTH_REQUIRED, AuthErrorCode.MFA_REQUIRED, AuthErrorCode.PASSKEY_REGISTRATION_FAILED)
  @RequireRecentLogin()
  @Post('register/options')
  @HttpCode(HttpStatus.OK)
  @Header('Cache-Control', 'no-store')
  registrationOptions(@CurrentUser() user: AuthUser): Promise<PublicKeyCredentialCreationOptionsJSON> {
    return this.passkeys.registrationOptions(user);
  }

  /** `POST /auth/passkeys/register/verify {response, name?}` -> 201 `{ id, name, createdAt, ... }`. */
  @ApiOperation({ summary: "Finish registering a passkey with the browser's response", operationId: 'authRegisterPasskey' })
  @ApiResponse({ status: 201, description: 'The new passkey', type: PasskeyViewDto })
  @ApiAuthenticated(
    { csrf: true },
    ...JSON_BODY_CODES,
    AuthErrorCode.REAUTH_REQUIRED,
    AuthErrorCode.MFA_REQUIRED,
    AuthErrorCode.PASSKEY_CHALLENGE_INVALID,
    AuthErrorCode.PASSKEY_REGISTRATION_FAILED,
    AuthErrorCode.PASSKEY_ALREADY_REGISTERED,
  )
  @RequireRecentLogin()
  @Post('register/verify')
  @HttpCode(HttpStatus.CREATED)
  @UseInterceptors(JsonBodyInterceptor)
  register(@CurrentUser() user: AuthUser, @Body() body: PasskeyRegistrationDto, @Req() request: HttpRequestLike): Promise<PasskeyView> {
    return this.passkeys.register(user, body.response, body.name?.trim(), this.meta(request));
  }

  /** `GET /auth/passkeys` -> 200 the caller's passkeys, oldest first. */
  @ApiOperation({ summary: "The caller's passkeys", operationId: 'authListPasskeys' })
  @ApiResponse({ status: 200, description: 'Oldest first', type: [PasskeyViewDto] })
  @ApiAuthenticated({ csrf: false })
  @Get()
  @Header('Cache-Control', 'no-store')
  list(@CurrentUser('userId') userId: string): Promise<PasskeyView[]> {
    return this.passkeys.list(userId);
  }

  /** `PATCH /auth/passkeys/:id {name}` -> 200 the renamed passkey. */
  @ApiOperation({ summary: 'Rename one of your passkeys', operationId: 'authRenamePasskey' })
  @ApiResponse({ status: 200, description: 'The renamed passkey', type: PasskeyViewDto })
  @ApiAuthenticated({ csrf: true }, ...JSON_BODY_CODES, AuthErrorCode.REAUTH_REQUIRED, AuthErrorCode.PASSKEY_NOT_FOUND)
  @RequireRecentLogin()
  @Patch(':id')
  @UseInterceptors(JsonBodyInterceptor)
  rename(
    @CurrentUser() user: AuthUser,
    @Param('id') id: string,
    @Body() body: PasskeyRenameDto,
    @Req() request: HttpRequestLike,
  ): Promise<PasskeyView> {
    return this.passkeys.rename(user, passkeyId(id), body.name.trim(), this.meta(request));
  }

  /** `DELETE /auth/passkeys/:id` -> 204. */
  @ApiOperation({ summary: 'Remove one of your passkeys', operationId: 'authRemovePasskey' })
  @ApiResponse({ status: 204, description: 'Removed' })
  @ApiAuthenticated({ csrf: true }, AuthErrorCode.VALIDATION_FAILED, AuthErrorCode.REAUTH_REQUIRED, AuthErrorCode.PASSKEY_NOT_FOUND)
  @RequireRecentLogin()
  @Delete(':id')
  @HttpCode(HttpStatus.NO_CONTENT)
  async remove(@CurrentUser() user: AuthUser, @Param('id') id: string, @Req() request: HttpRequestLike): Promise<void> {
    await this.passkeys.remove(user, passkeyId(id), this.meta(request));
  }

  /** `POST /auth/passkeys/login/options` -> 200 request options (discoverable credentials: no username). */
  @ApiOperation({
    summary: 'Start a passkey login: request options for navigator.credentials.get()',
    operationId: 'authPasskeyLoginOptions',
  })
  @ApiResponse({ status: 200, description: 'The request options (discoverable credentials: no username)', type: PasskeyRequestOptionsDto })
  @ApiAuthErrors(AuthErrorCode.TOO_MANY_ATTEMPTS, AuthErrorCode.STORE_UNAVAILABLE)
  @Public()
  @Post('login/options')
  @HttpCode(HttpStatus.OK)
  @Header('Cache-Control', 'no-store')
  loginOptions(@Req() request: HttpRequestLike): Promise<PublicKeyCredentialRequestOptionsJSON> {
    return this.passkeys.loginOptions(this.meta(request));
  }

  /** `POST /auth/passkeys/login/verify {response}` -> what a login answers (tokens, or cookies). */
  @ApiOperation({ summary: 'Finish a passkey login: opens a session (amr hwk, user)', operationId: 'authLoginWithPasskey' })
  @ApiTokenResponse()
  @ApiAuthErrors(
    ...JSON_BODY_CODES,
    AuthErrorCode.PASSKEY_CHALLENGE_INVALID,
    AuthErrorCode.PASSKEY_LOGIN_FAILED,
    AuthErrorCode.EMAIL_NOT_VERIFIED,
    AuthErrorCode.TOO_MANY_ATTEMPTS,
    AuthErrorCode.STORE_UNAVAILABLE,
  )
  @Public()
  @Post('login/verify')
  @HttpCode(HttpStatus.OK)
  @Header('Cache-Control', 'no-store')
  @Header('Pragma', 'no-cache')
  @UseInterceptors(JsonBodyInterceptor)
  async login(
    @Body() body: PasskeyLoginDto,
    @Req() request: HttpRequestLike,
    @Res({ passthrough: true }) response: unknown,
  ): Promise<TokenResponse | CookieTokenResponse> {
    const meta = this.meta(request);
    const user = await this.passkeys.authenticate(body.response, meta);
    const result = await this.pipeline.loginVerified(user, PASSKEY_LOGIN_AMR, meta);
    return this.responder.tokens(result, request, response, { routePrefix: this.routePrefix() });
  }

  private meta(request: HttpRequestLike): RequestMeta {
    return requestMeta(request, this.config.trustProxy);
  }

  // This controller is mounted at `<routePrefix>/passkeys`.
  private routePrefix(): string {
    const path = Reflect.getMetadata(PATH_METADATA, this.constructor) as unknown;
    return typeof path === 'string' ? path.replace(/\/?passkeys$/, '') || 'auth' : 'auth';
  }
}

// A malformed id names no passkey: 404, as another account's does.
function passkeyId(id: string): string {
  if (!PASSKEY_ID.test(id)) throw new AuthError(AuthErrorCode.PASSKEY_NOT_FOUND);
  return id;
}
