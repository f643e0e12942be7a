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
  Post,
  Query,
  Redirect,
  Req,
  Res,
  UseGuards,
  UseInterceptors,
  UsePipes,
} from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { stringifySetCookie } from 'cookie';
import { IsNotEmpty, IsString, MaxLength } from 'class-validator';
import type { AuthConfig } from '../../auth.config.js';
import { AUTH_CONFIG } from '../../auth.constants.js';
import { AuthError, AuthErrorCode } from '../../auth.errors.js';
import { AuthGuard } from '../../auth.guard.js';
import { readCookie } from '../../cookies/cookie-transport.js';
import { CurrentUser } from '../../decorators/current-user.decorator.js';
import { Public } from '../../decorators/public.decorator.js';
import { RequireRecentLogin } from '../../decorators/step-up.decorator.js';
import { TokenResponder, type CookieTokenResponse, type TokenResponse } from '../../http/token-responder.js';
import { AuthErrorInterceptor } from '../../interceptors/auth-error.interceptor.js';
import { JsonBodyInterceptor } from '../../interceptors/json-body.interceptor.js';
import type { AuthUser } from '../../interfaces/auth-user.interface.js';
import type { RequestMeta } from '../../interfaces/request-meta.interface.js';
import { LoginPipeline } from '../../login/login-pipeline.js';
import { ApiOperation, ApiProperty, ApiQuery, ApiResponse, ApiTags } from '../../openapi.js';
import { ApiAuthenticated, ApiAuthErrors, ApiTokenResponse, JSON_BODY_CODES } from '../../http/openapi-responses.js';
import { AuthValidationPipe } from '../../pipes/auth-validation.pipe.js';
import { requestMeta, type HttpRequestLike } from '../../request-meta.js';
import { OIDC_FLOW_CONFIG, type OidcFlowConfig } from './oidc-flow.options.js';
import { OIDC_AMR, OidcService, type IdentityView } from './oidc.service.js';
import { IdentityViewDto, OidcAuthorizationDto, OidcProviderDto } from './oidc.dto.js';

/** Body of `POST /auth/oauth/exchange`. */
export class OidcExchangeDto {
  @ApiProperty({ description: 'The one-time code the callback put in the returnTo URL fragment (60 s, single use)' })
  @IsString()
  @IsNotEmpty()
  @MaxLength(64)
  readonly code!: string;

  @ApiProperty({ description: 'The PKCE verifier whose S256 the client gave as code_challenge when it began the login' })
  @IsString()
  @IsNotEmpty()
  @MaxLength(128)
  readonly codeVerifier!: string;
}

/**
 * Sign-in with OpenID Providers under `routePrefix`: `GET oauth/:provider` sends the browser to
 * the provider, `GET oauth/:provider/callback` comes back and opens the session (cookies, or a
 * one-time code in the `returnTo` fragment for `POST oauth/exchange`), `POST oauth/:provider/link`
 * links a provider to the signed-in account, `GET oauth/identities` and `DELETE
 * oauth/identities/:id` manage the links.
 */
@ApiTags('auth')
@Controller('oauth')
@UseGuards(AuthGuard)
@UsePipes(AuthValidationPipe)
@UseInterceptors(AuthErrorInterceptor)
export class OidcController {
  constructor(
    private readonly oidc: OidcService,
    private readonly pipeline: LoginPipeline,
    private readonly responder: TokenResponder,
    private readonly adapterHost: HttpAdapterHost,
    @Inject(AUTH_CONFIG) private readonly config: AuthConfig,
    @Inject(OIDC_FLOW_CONFIG) private readonly flow: OidcFlowConfig,
  ) {}

  /** `GET /auth/oauth/providers` -> 200 `[{ id, name }]`: what a sign-in page shows buttons for. */
  @ApiOperation({ summary: 'The providers one can sign in with', operationId: 'authOidcProviders' })
  @ApiResponse({ status: 200, description: 'What a sign-in page shows buttons for', type: [OidcProviderDto] })
  @Public()
  @Get('providers')
  providers(): Array<{ id: string; name: string }> {
    return [...this.flow.providers.values()].map(({ id, name }) => ({ id, name }));
  }

  /** `GET /auth/oauth/identities` -> 200 the caller's linked identities. */
  @ApiOperation({ summary: "The caller's linked identities", operationId: 'authListIdentities' })
  @ApiResponse({ status: 200, description: 'Oldest first', type: [IdentityViewDto] })
  @ApiAuthenticated({ csrf: false })
  @Get('identities')
  @Header('Cache-Control', 'no-store')
  identities(@CurrentUser('userId') userId: string): Promise<IdentityView[]> {
    return this.oidc.list(userId);
  }

  /** `DELETE /auth/oauth/identities/:id` -> 204; never the last way into the account. */
  @ApiOperation({ summary: 'Unlink one of your identities', operationId: 'authUnlinkIdentity' })
  @ApiResponse({ status: 204, description: 'Unlinked' })
  @ApiAuthenticated(
    { csrf: true },
    AuthErrorCode.VALIDATION_FAILED,
    AuthErrorCode.REAUTH_REQUIRED,
    AuthErrorCode.OIDC_IDENTITY_NOT_FOUND,
    AuthErrorCode.OIDC_LAST_LOGIN_METHOD,
  )
  @RequireRecentLogin()
  @Delete('identities/:id')
  @HttpCode(HttpStatus.NO_CONTENT)
  async unlink(@CurrentUser('userId') userId: string, @Param('id') id: string, @Req() request: HttpRequestLike): Promise<void> {
    if (!/^[A-Za-z0-9_-]{22}$/.test(id)) throw new AuthError(AuthErrorCode.OIDC_IDENTITY_NOT_FOUND);
    await this.oidc.unlink(userId, id, this.meta(request));
  }

  /** `POST /auth/oauth/exchange {code}` -> the tokens of the session a bearer-mode callback opened. */
  @ApiOperation({ summary: "Trade a callback's one-time code for tokens", operationId: 'authOidcExchange' })
  @ApiTokenResponse()
  @ApiAuthErrors(
    ...JSON_BODY_CODES,
    AuthErrorCode.OIDC_CODE_INVALID,
    AuthErrorCode.OIDC_CALLBACK_FAILED,
    AuthErrorCode.EMAIL_NOT_VERIFIED,
    AuthErrorCode.STORE_UNAVAILABLE,
  )
  @Public()
  @Post('exchange')
  @HttpCode(HttpStatus.OK)
  @Header('Cache-Control', 'no-store')
  @UseInterceptors(JsonBodyInterceptor)
  async exchange(
    @Body() body: OidcExchangeDto,
    @Req() request: HttpRequestLike,
    @Res({ passthrough: true }) response: unknown,
  ): Promise<TokenResponse | CookieTokenResponse> {
    const meta = this.meta(request);
    const user = await this.oidc.redeem(body.code, body.codeVerifier, meta);
    const result = await this.pipeline.loginVerified(user, OIDC_AMR, meta);
    return this.responder.tokens(result, request, response, { routePrefix: this.routePrefix() });
  }

  /** `POST /auth/oauth/:provider/link {returnTo?}` (recent login) -> 200 `{ authorizationUrl }`: send the browser there to link the provider. */
  @ApiOperation({ summary: 'Start linking a provider to the signed-in account', operationId: 'authLinkProvider' })
  @ApiQuery({ name: 'returnTo', required: false, type: String, description: 'Where the browser goes back to: an allowed returnTo URL' })
  @ApiResponse({ status: 200, description: 'Send the browser there (the state cookie is set)', type: OidcAuthorizationDto })
  @ApiAuthenticated(
    { csrf: true },
    AuthErrorCode.VALIDATION_FAILED,
    AuthErrorCode.REAUTH_REQUIRED,
    AuthErrorCode.OIDC_RETURN_TO_INVALID,
    AuthErrorCode.OIDC_PROVIDER_UNKNOWN,
    AuthErrorCode.OIDC_PROVIDER_UNAVAILABLE,
  )
  @RequireRecentLogin()
  @Post(':provider/link')
  @HttpCode(HttpStatus.OK)
  @Header('Cache-Control', 'no-store')
  async link(
    @CurrentUser() user: AuthUser,
    @Param('provider') provider: string,
    @Query('returnTo') returnTo: unknown,
    @Res({ passthrough: true }) response: unknown,
  ): Promise<{ authorizationUrl: string }> {
    const start = await this.oidc.start(provider, {
      returnTo,
      transport: 'cookie',
      link: { userId: user.userId, sessionId: user.sessionId },
    });
    this.setState(response, start.stateCookie, start.maxAgeSeconds);
    return { authorizationUrl: start.authorizationUrl };
  }

  /** `GET /auth/oauth/:provider?returnTo=&transport=cookie|bearer` -> 302 to the provider. */
  @ApiOperation({ summary: 'Sign in with a provider: redirects to it', operationId: 'authStartOidcLogin' })
  @ApiQuery({ name: 'returnTo', required: false, type: String, description: 'Where the browser goes back to: an allowed returnTo URL' })
  @ApiQuery({ name: 'transport', required: false, enum: ['cookie', 'bearer'], description: 'Default cookie with the cookie transport on' })
  @ApiQuery({
    name: 'code_challenge',
    required: false,
    type: String,
    description: 'Bearer mode: the S256 of a PKCE verifier the client keeps for POST /auth/oauth/exchange',
  })
  @ApiResponse({
    status: 302,
    description: 'To the provider; with errorUrl, a failure (all but an unknown provider) goes to errorUrl?error=<code> instead',
    headers: {
      Location: { description: "The provider's authorization URL, or the error page", schema: { type: 'string' } },
      'Set-Cookie': { description: 'The state cookie of this sign-in', schema: { type: 'string' } },
    },
  })
  @ApiAuthErrors(
    AuthErrorCode.VALIDATION_FAILED,
    AuthErrorCode.OIDC_RETURN_TO_INVALID,
    AuthErrorCode.OIDC_PROVIDER_UNKNOWN,
    AuthErrorCode.OIDC_PROVIDER_UNAVAILABLE,
  )
  @Public()
  @Get(':provider')
  @Redirect()
  @Header('Cache-Control', 'no-store')
  async start(
    @Param('provider') provider: string,
    @Query('returnTo') returnTo: unknown,
    @Query('transport') transport: unknown,
    @Query('code_challenge') clientChallenge: unknown,
    @Res({ passthrough: true }) response: unknown,
  ): Promise<Redirection> {
    let start;
    try {
      start = await this.oidc.start(provider, { returnTo, transport: this.transportOf(transport), clientChallenge });
    } catch (error) {
      // A browser navigated here: it ends on the error page too, as a failed callback does.
      const page = this.errorPage(error);
      if (page !== null) return found(page);
      throw error;
    }
    this.setState(response, start.stateCookie, start.maxAgeSeconds);
    return found(start.authorizationUrl);
  }

  /** `GET /auth/oauth/:provider/callback` -> 302 to `returnTo` with the session (cookies, or `#code=` for the exchange). */
  @ApiOperation({ summary: "The provider's redirect back: opens the session", operationId: 'authOidcCallback' })
  @ApiResponse({
    status: 302,
    description:
      "To returnTo, signed in: the session cookies, or (bearer mode) #code=<one-time code> for POST /auth/oauth/exchange. With errorUrl, the provider's or the state's refusal goes to errorUrl?error=<code> instead",
    headers: {
      Location: { description: 'returnTo, or the error page', schema: { type: 'string' } },
      'Set-Cookie': { description: 'The state cookie cleared, and the session cookies (cookie transport)', schema: { type: 'string' } },
    },
  })
  @ApiAuthErrors(
    AuthErrorCode.VALIDATION_FAILED,
    AuthErrorCode.OIDC_STATE_INVALID,
    AuthErrorCode.OIDC_CALLBACK_FAILED,
    AuthErrorCode.MFA_REQUIRED,
    AuthErrorCode.EMAIL_NOT_VERIFIED,
    AuthErrorCode.OIDC_PROVIDER_UNKNOWN,
    AuthErrorCode.OIDC_IDENTITY_TAKEN,
    AuthErrorCode.OIDC_ACCOUNT_EXISTS,
    AuthErrorCode.OIDC_PROVIDER_UNAVAILABLE,
    AuthErrorCode.STORE_UNAVAILABLE,
  )
  @Public()
  @Get(':provider/callback')
  @Redirect()
  @Header('Cache-Control', 'no-store')
  @Header('Referrer-Policy', 'no-referrer')
  async callback(
    @Param('provider') provider: string,
    @Req() request: HttpRequestLike & { url?: string },
    @Res({ passthrough: true }) response: unknown,
  ): Promise<Redirection> {
    const meta = this.meta(request);
    const url = request.url ?? '';
    const query = url.includes('?') ? url.slice(url.indexOf('?')) : '';
    const stateCookie = readCookie(request, this.stateCookieName());
    // The state is single use: cleared whatever happens next.
    const clear = this.stateCookie('', 0);
    try {
      const outcome = await this.oidc.callback(provider, query, stateCookie, meta);
      if (outcome.linked) {
        this.adapterHost.httpAdapter.setHeader(response, 'Set-Cookie', [clear] as unknown as string);
        return found(outcome.returnTo);
      }
      if (outcome.transport === 'cookie' && this.config.cookies) {
        const result = await this.pipeline.loginVerified(outcome.user, OIDC_AMR, meta);
        this.responder.tokens(result, request, response, { cookieSession: true, routePrefix: this.routePrefix() });
        this.appendCookie(response, clear);
        return found(outcome.returnTo);
      }
      // Bearer mode: tokens never travel in a URL; a one-time code in the fragment (kept out of logs and Referer) does.
      const code = await this.oidc.exchangeCode(outcome.user, outcome.clientChallenge!);
      const target = new URL(outcome.returnTo);
      target.hash = `code=${code}`;
      this.adapterHost.httpAdapter.setHeader(response, 'Set-Cookie', [clear] as unknown as string);
      return found(target.href);
    } catch (error) {
      // Whatever refused it (the provider's answer, a login step such as a required verified
      // address, a store down while the session opens), the browser ends on the error page and the
      // state cookie is gone.
      this.adapterHost.httpAdapter.setHeader(response, 'Set-Cookie', [clear] as unknown as string);
      const page = this.errorPage(error);
      if (page !== null) return found(page);
      throw error;
    }
  }

  // `<errorUrl>?error=<code>` for a failure a browser should see there, or null (a 4xx answer).
  private errorPage(error: unknown): string | null {
    if (!(error instanceof AuthError) || this.flow.errorUrl === null || error.code === AuthErrorCode.OIDC_PROVIDER_UNKNOWN) return null;
    const target = new URL(this.flow.errorUrl);
    target.searchParams.set('error', error.code);
    return target.href;
  }

  private transportOf(given: unknown): 'cookie' | 'bearer' {
    if (given === undefined) return this.config.cookies ? 'cookie' : 'bearer';
    if (given === 'bearer' || (given === 'cookie' && this.config.cookies)) return given;
    throw new AuthError(
      AuthErrorCode.VALIDATION_FAILED,
      this.config.cookies ? 'transport must be "cookie" or "bearer"' : 'transport must be "bearer" (the cookie transport is off)',
    );
  }

  private setState(response: unknown, value: string, maxAgeSeconds: number): void {
    this.adapterHost.httpAdapter.setHeader(response, 'Set-Cookie', [this.stateCookie(value, maxAgeSeconds)] as unknown as string);
  }

  // Appends to the Set-Cookie the responder wrote.
  private appendCookie(response: unknown, cookie: string): void {
    const adapter = this.adapterHost.httpAdapter as unknown as { getHeader?: (response: unknown, name: string) => unknown };
    const raw = response as { getHeader?: (name: string) => unknown; raw?: { getHeader?: (name: string) => unknown } };
    const existing = adapter.getHeader?.(response, 'Set-Cookie') ?? raw.getHeader?.('Set-Cookie') ?? raw.raw?.getHeader?.('Set-Cookie');
    const list = Array.isArray(existing) ? (existing as string[]) : typeof existing === 'string' ? [existing] : [];
    this.adapterHost.httpAdapter.setHeader(response, 'Set-Cookie', [...list, cookie] as unknown as string);
  }

  // Secure (and __Host-) unless the callback itself is plain http (development on localhost).
  private stateCookieName(): string {
    return this.secure() ? '__Host-nw_oidc' : 'nw_oidc';
  }

  private stateCookie(value: string, maxAgeSeconds: number): string {
    return stringifySetCookie({
      name: this.stateCookieName(),
      value,
      httpOnly: true,
      path: '/',
      maxAge: maxAgeSeconds,
      secure: this.secure(),
      sameSite: 'lax',
    });
  }

  private secure(): boolean {
    const first = this.flow.providers.values().next().value;
    return first === undefined || first.redirectUri.startsWith('https:');
  }

  private meta(request: HttpRequestLike): RequestMeta {
    return requestMeta(request, this.config.trustProxy);
  }

  private routePrefix(): string {
    const path = Reflect.getMetadata('path', this.constructor) as unknown;
    return typeof path === 'string' ? path.replace(/\/?oauth$/, '') || 'auth' : 'auth';
  }
}

/** What a `@Redirect()` handler answers. */
interface Redirection {
  url: string;
  statusCode: number;
}

function found(url: string): Redirection {
  return { url, statusCode: HttpStatus.FOUND };
}
