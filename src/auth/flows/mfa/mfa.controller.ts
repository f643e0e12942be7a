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
import { ApiBearerAuth, ApiOperation, ApiProperty, ApiResponse, ApiTags } from '../../openapi.js';
import { AuthValidationPipe } from '../../pipes/auth-validation.pipe.js';
import { requestMeta, type HttpRequestLike } from '../../request-meta.js';
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
  @ApiBearerAuth()
  @ApiOperation({ summary: 'Start TOTP enrolment: a pending secret for the authenticator app' })
  @ApiResponse({ status: 200, description: '{ secret, otpauthUrl, qrCodeSvg }' })
  @ApiResponse({ status: 403, description: 'AUTH_REAUTH_REQUIRED' })
  @ApiResponse({ status: 409, description: 'AUTH_MFA_ALREADY_ENABLED' })
  @Post('totp/setup')
  @HttpCode(HttpStatus.OK)
  @Header('Cache-Control', 'no-store')
  setup(@CurrentUser() user: AuthUser, @Req() request: HttpRequestLike): Promise<TotpSetup> {
    return this.totp.setup(user.userId, this.meta(request));
  }

  /** `POST /auth/mfa/totp/confirm {code}` -> 200 `{ recoveryCodes }` (shown once); TOTP is on. */
  @ApiBearerAuth()
  @ApiOperation({ summary: "Turn TOTP on with the app's first code; answers the recovery codes, once" })
  @ApiResponse({ status: 200, description: '{ recoveryCodes: string[] }' })
  @ApiResponse({ status: 403, description: 'AUTH_MFA_CODE_INVALID or AUTH_REAUTH_REQUIRED' })
  @ApiResponse({ status: 409, description: 'AUTH_MFA_SETUP_MISSING or AUTH_MFA_ALREADY_ENABLED' })
  @ApiResponse({ status: 429, description: 'AUTH_TOO_MANY_ATTEMPTS, with Retry-After' })
  @Post('totp/confirm')
  @HttpCode(HttpStatus.OK)
  @Header('Cache-Control', 'no-store')
  @UseInterceptors(JsonBodyInterceptor)
  confirm(@CurrentUser() user: AuthUser, @Body() body: MfaCodeDto, @Req() request: HttpRequestLike): Promise<RecoveryCodes> {
    return this.totp.confirm(user.userId, body.code, this.meta(request));
  }

  /** `DELETE /auth/mfa/totp {code}` -> 204; TOTP is off and the recovery codes are void. */
  @ApiBearerAuth()
  @ApiOperation({ summary: 'Turn TOTP off (a TOTP or recovery code); the recovery codes go with it' })
  @ApiResponse({ status: 204, description: 'TOTP is off' })
  @ApiResponse({ status: 403, description: 'AUTH_MFA_CODE_INVALID or AUTH_REAUTH_REQUIRED' })
  @ApiResponse({ status: 409, description: 'AUTH_MFA_NOT_ENABLED' })
  @ApiResponse({ status: 429, description: 'AUTH_TOO_MANY_ATTEMPTS, with Retry-After' })
  @Delete('totp')
  @HttpCode(HttpStatus.NO_CONTENT)
  @UseInterceptors(JsonBodyInterceptor)
  async disable(@CurrentUser() user: AuthUser, @Body() body: MfaCodeDto, @Req() request: HttpRequestLike): Promise<void> {
    await this.totp.disable(user.userId, body.code, this.meta(request));
  }

  /** `POST /auth/mfa/recovery-codes {code}` -> 200 `{ recoveryCodes }`; the old ones are void. */
  @ApiBearerAuth()
  @ApiOperation({ summary: 'A new set of recovery codes (a TOTP or recovery code); the old set is void' })
  @ApiResponse({ status: 200, description: '{ recoveryCodes: string[] }' })
  @ApiResponse({ status: 403, description: 'AUTH_MFA_CODE_INVALID or AUTH_REAUTH_REQUIRED' })
  @ApiResponse({ status: 409, description: 'AUTH_MFA_NOT_ENABLED' })
  @ApiResponse({ status: 429, description: 'AUTH_TOO_MANY_ATTEMPTS, with Retry-After' })
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
