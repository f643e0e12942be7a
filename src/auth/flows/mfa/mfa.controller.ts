import {
  Body,
  Controller,
  Delete,
  Header,
  HttpCode,
  HttpStatus,
  Inject,
  Post,
  Req,
  UseGuards,
  UseInterceptors,
  UsePipes,
} from '@nestjs/common';
import { IsNotEmpty, IsString, MaxLength } from 'class-validator';
import type { AuthConfig } from '../../auth.config.js';
import { AUTH_CONFIG } from '../../auth.constants.js';
import { AuthGuard } from '../../auth.guard.js';
import { CurrentUser } from '../../decorators/current-user.decorator.js';
import { RequireRecentLogin } from '../../decorators/step-up.decorator.js';
import { MFA_CODE_MAX_LENGTH } from '../../dto/credentials.dto.js';
import { AuthErrorInterceptor } from '../../interceptors/auth-error.interceptor.js';
import { JsonBodyInterceptor } from '../../interceptors/json-body.interceptor.js';
import type { AuthUser } from '../../interfaces/auth-user.interface.js';
import type { RequestMeta } from '../../interfaces/request-meta.interface.js';
import { AuthErrorCode } from '../../auth.errors.js';
import { ApiOperation, ApiProperty, ApiResponse, ApiTags } from '../../openapi.js';
import { ApiAuthenticated, JSON_BODY_CODES } from '../../http/openapi-responses.js';
import { AuthValidationPipe } from '../../pipes/auth-validation.pipe.js';
import { requestMeta, type HttpRequestLike } from '../../request-meta.js';
import { RecoveryCodesDto, TotpSetupDto } from './mfa.dto.js';
import { TotpFactorService, type RecoveryCodes, type TotpSetup } from './totp-factor.service.js';

/** Body of `POST /auth/mfa/totp/confirm`, `DELETE /auth/mfa/totp` and `POST /auth/mfa/recovery-codes`. */
export class MfaCodeDto {
  @ApiProperty({ description: 'A 6-digit TOTP code (or, to turn TOTP off or get new recovery codes, a recovery code)', example: '123456' })
  @IsString()
  @IsNotEmpty()
  @MaxLength(MFA_CODE_MAX_LENGTH)
  readonly code!: string;
}

/**
 * Enrolment of the second factor under `routePrefix`: `POST mfa/totp/setup`, `mfa/totp/confirm`,
 * `DELETE mfa/totp`, `POST mfa/recovery-codes`. Each needs a recent login (`recentLoginSeconds`);
 * `POST mfa/verify`, the second step of login, is the module's own route.
 */
@ApiTags('auth')
@Controller('mfa')
@UseGuards(AuthGuard)
@UsePipes(AuthValidationPipe)
@UseInterceptors(AuthErrorInterceptor)
@RequireRecentLogin()
export class MfaController {
  constructor(
    private readonly totp: TotpFactorService,
    @Inject(AUTH_CONFIG) private readonly config: AuthConfig,
  ) {}

  /** `POST /auth/mfa/totp/setup` -> 200 `{ secret, otpauthUrl, qrCodeSvg }`: a pending secret; a new setup replaces it. */
  @ApiOperation({ summary: 'Start TOTP enrolment: a pending secret for the authenticator app', operationId: 'authStartTotpSetup' })
  @ApiResponse({ status: 200, description: 'The pending secret; a new setup replaces it', type: TotpSetupDto })
  @ApiAuthenticated({ csrf: true }, AuthErrorCode.REAUTH_REQUIRED, AuthErrorCode.MFA_ALREADY_ENABLED)
  @Post('totp/setup')
  @HttpCode(HttpStatus.OK)
  @Header('Cache-Control', 'no-store')
  setup(@CurrentUser() user: AuthUser, @Req() request: HttpRequestLike): Promise<TotpSetup> {
    return this.totp.setup(user.userId, this.meta(request));
  }

  /** `POST /auth/mfa/totp/confirm {code}` -> 200 `{ recoveryCodes }` (shown once); TOTP is on. */
  @ApiOperation({ summary: "Turn TOTP on with the app's first code; answers the recovery codes, once", operationId: 'authConfirmTotp' })
  @ApiResponse({ status: 200, description: 'TOTP is on; the recovery codes, shown this once', type: RecoveryCodesDto })
  @ApiAuthenticated(
    { csrf: true },
    ...JSON_BODY_CODES,
    AuthErrorCode.REAUTH_REQUIRED,
    AuthErrorCode.MFA_CODE_INVALID,
    AuthErrorCode.MFA_ALREADY_ENABLED,
    AuthErrorCode.MFA_SETUP_MISSING,
    AuthErrorCode.TOO_MANY_ATTEMPTS,
  )
  @Post('totp/confirm')
  @HttpCode(HttpStatus.OK)
  @Header('Cache-Control', 'no-store')
  @UseInterceptors(JsonBodyInterceptor)
  confirm(@CurrentUser() user: AuthUser, @Body() body: MfaCodeDto, @Req() request: HttpRequestLike): Promise<RecoveryCodes> {
    return this.totp.confirm(user.userId, body.code, this.meta(request));
  }

  /** `DELETE /auth/mfa/totp {code}` -> 204; TOTP is off and the recovery codes are void. */
  @ApiOperation({ summary: 'Turn TOTP off (a TOTP or recovery code); the recovery codes go with it', operationId: 'authDisableTotp' })
  @ApiResponse({ status: 204, description: 'TOTP is off' })
  @ApiAuthenticated(
    { csrf: true },
    ...JSON_BODY_CODES,
    AuthErrorCode.REAUTH_REQUIRED,
    AuthErrorCode.MFA_CODE_INVALID,
    AuthErrorCode.MFA_NOT_ENABLED,
    AuthErrorCode.TOO_MANY_ATTEMPTS,
  )
  @Delete('totp')
  @HttpCode(HttpStatus.NO_CONTENT)
  @UseInterceptors(JsonBodyInterceptor)
  async disable(@CurrentUser() user: AuthUser, @Body() body: MfaCodeDto, @Req() request: HttpRequestLike): Promise<void> {
    await this.totp.disable(user.userId, body.code, this.meta(request));
  }

  /** `POST /auth/mfa/recovery-codes {code}` -> 200 `{ recoveryCodes }`; the old ones are void. */
  @ApiOperation({
    summary: 'A new set of recovery codes (a TOTP or recovery code); the old set is void',
    operationId: 'authReplaceRecoveryCodes',
  })
  @ApiResponse({ status: 200, description: 'The new recovery codes, shown this once', type: RecoveryCodesDto })
  @ApiAuthenticated(
    { csrf: true },
    ...JSON_BODY_CODES,
    AuthErrorCode.REAUTH_REQUIRED,
    AuthErrorCode.MFA_CODE_INVALID,
    AuthErrorCode.MFA_NOT_ENABLED,
    AuthErrorCode.TOO_MANY_ATTEMPTS,
  )
  @Post('recovery-codes')
  @HttpCode(HttpStatus.OK)
  @Header('Cache-Control', 'no-store')
  @UseInterceptors(JsonBodyInterceptor)
  replaceRecoveryCodes(@CurrentUser() user: AuthUser, @Body() body: MfaCodeDto, @Req() request: HttpRequestLike): Promise<RecoveryCodes> {
    return this.totp.replaceRecoveryCodes(user.userId, body.code, this.meta(request));
  }

  private meta(request: HttpRequestLike): RequestMeta {
    return requestMeta(request, this.config.trustProxy);
  }
}
