import {
  Body,
  Controller,
  Get,
  Header,
  HttpCode,
  HttpStatus,
  Inject,
  Post,
  Req,
  Res,
  UseGuards,
  UseInterceptors,
  UsePipes,
} from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { AuthConfig } from './auth.config.js';
import { AUTH_CONFIG } from './auth.constants.js';
import { AuthErrorCode, AuthHttpException, CredentialPolicyError, UsernameTakenError } from './auth.errors.js';
import { AuthGuard } from './auth.guard.js';
import { AuthService, type RegisteredUser } from './auth.service.js';
import { CurrentUser } from './decorators/current-user.decorator.js';
import { Public } from './decorators/public.decorator.js';
import { LoginDto, RegisterDto } from './dto/credentials.dto.js';
import { JsonBodyInterceptor } from './interceptors/json-body.interceptor.js';
import type { AuthUser } from './interfaces/auth-user.interface.js';
import { AuthValidationPipe } from './pipes/auth-validation.pipe.js';
import { requestMeta, type HttpRequestLike } from './request-meta.js';

/** What `POST /auth/login` answers. */
export interface TokenResponse {
  accessToken: string;
  tokenType: 'Bearer';
  /** Seconds until the access token expires. */
  expiresIn: number;
}

/**
 * The HTTP API: register, login, me, logout, logout/all. Mounted under `routePrefix`
 * (default `auth`) unless `controller: false`. Bodies are JSON validated by class-validator;
 * errors are `{ statusCode, code, message }`.
 */
@Controller('auth')
@UseGuards(AuthGuard)
@UsePipes(AuthValidationPipe)
export class AuthController {
  constructor(
    private readonly auth: AuthService,
    @Inject(AUTH_CONFIG) private readonly config: AuthConfig,
    private readonly adapterHost: HttpAdapterHost,
  ) {}

  /** `POST /auth/register {username, password}` -> 201 `{ userId, username }`. */
  @Public()
  @Post('register')
  @HttpCode(HttpStatus.CREATED)
  @UseInterceptors(JsonBodyInterceptor)
  async register(@Body() body: RegisterDto, @Req() request: HttpRequestLike): Promise<RegisteredUser> {
    if (!this.config.registration) {
      throw new AuthHttpException(HttpStatus.FORBIDDEN, AuthErrorCode.REGISTRATION_DISABLED, 'Registration is disabled');
    }
    try {
      return await this.auth.register(body.username, body.password, requestMeta(request));
    } catch (error) {
      if (error instanceof UsernameTakenError) {
        throw new AuthHttpException(HttpStatus.CONFLICT, AuthErrorCode.USERNAME_TAKEN, 'Username is already taken');
      }
      if (error instanceof CredentialPolicyError) {
        const code = error.field === 'password' ? AuthErrorCode.PASSWORD_POLICY : AuthErrorCode.VALIDATION_FAILED;
        throw new AuthHttpException(HttpStatus.BAD_REQUEST, code, error.message);
      }
      throw error;
    }
  }

  /** `POST /auth/login {username, password}` -> 200 `{ accessToken, tokenType, expiresIn }`, or 401. */
  @Public()
  @Post('login')
  @HttpCode(HttpStatus.OK)
  @Header('Cache-Control', 'no-store')
  @Header('Pragma', 'no-cache')
  @UseInterceptors(JsonBodyInterceptor)
  async login(
    @Body() body: LoginDto,
    @Req() request: HttpRequestLike,
    @Res({ passthrough: true }) response: unknown,
  ): Promise<TokenResponse> {
    const result = await this.auth.login(body.username, body.password, requestMeta(request));
    if (!result) {
      this.adapterHost.httpAdapter.setHeader(response, 'WWW-Authenticate', 'Bearer realm="nest-warden"');
      throw new AuthHttpException(
        HttpStatus.UNAUTHORIZED,
        AuthErrorCode.INVALID_CREDENTIALS,
        'Invalid username or password',
      );
    }
    return { accessToken: result.accessToken, tokenType: result.tokenType, expiresIn: result.expiresIn };
  }

  /** `GET /auth/me` -> the caller `{ userId, username, sessionId }`. */
  @Get('me')
  @Header('Cache-Control', 'no-store')
  me(@CurrentUser() user: AuthUser): AuthUser {
    return { userId: user.userId, username: user.username, sessionId: user.sessionId };
  }

  /** `POST /auth/logout` -> 204; ends the caller's session. */
  @Post('logout')
  @HttpCode(HttpStatus.NO_CONTENT)
  async logout(@CurrentUser() user: AuthUser, @Req() request: HttpRequestLike): Promise<void> {
    await this.auth.logoutSession(user.sessionId, requestMeta(request));
  }

  /** `POST /auth/logout/all` -> 204; ends every session of the caller. */
  @Post('logout/all')
  @HttpCode(HttpStatus.NO_CONTENT)
  async logoutAll(@CurrentUser() user: AuthUser, @Req() request: HttpRequestLike): Promise<void> {
    await this.auth.logout(user.userId, requestMeta(request));
  }
}
