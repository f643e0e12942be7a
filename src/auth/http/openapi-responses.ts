// How nest-warden's routes describe their answers in an OpenAPI document: the error body and,
// per route, the codes it can answer with (grouped by the status the error table gives them),
// the security schemes of the bearer and cookie transports, and the answers that carry tokens.
// Everything goes through the optional-peer shim in ../openapi.ts: without @nestjs/swagger these
// decorators do nothing.
import { applyDecorators, type INestApplicationContext } from '@nestjs/common';
import { AUTH_CONFIG } from '../auth.constants.js';
import type { AuthConfig } from '../auth.config.js';
import { AUTH_ERROR_MESSAGES, AuthErrorCode } from '../auth.errors.js';
import { CSRF_HEADER, SECURE_COOKIE_NAMES, TRANSPORT_HEADER } from '../cookies/cookie-transport.js';
import {
  CookieReauthResponseDto,
  CookieTokenResponseDto,
  LoginChallengeDto,
  ReauthResponseDto,
  TokenResponseDto,
} from '../dto/responses.dto.js';
import { AUTH_HTTP_ERRORS, type AuthErrorBody } from './http-errors.js';
import { ApiExtraModels, ApiHeader, ApiProperty, ApiResponse, ApiResponseModel, ApiSecurity, schemaRef } from '../openapi.js';

/** The error body of every refusal, `{ statusCode, code, message }`, as an OpenAPI model (`AuthErrorBody`). */
@ApiResponseModel('The body of every error nest-warden answers with. Clients branch on code; message is for people and may change.')
export class AuthErrorBodyDto implements AuthErrorBody {
  @ApiProperty({ type: 'integer', description: 'The HTTP status, repeated', example: 401 })
  readonly statusCode!: number;

  @ApiProperty({ enum: Object.values(AuthErrorCode), enumName: 'AuthErrorCode', description: 'Stable: clients may branch on it' })
  readonly code!: AuthErrorCode;

  @ApiProperty({ description: 'For people; may change', example: 'Authentication required' })
  readonly message!: string;
}

/**
 * The names under which {@link addAuthSecuritySchemes} declares nest-warden's security schemes
 * and the guarded routes require them: `bearer` (`Authorization: Bearer <access token>`), or
 * `cookie` (the access cookie of the cookie transport) with `csrf` (its `X-CSRF-Token` header)
 * on the routes that change state.
 */
export const AUTH_SECURITY_SCHEMES = Object.freeze({ bearer: 'bearer', cookie: 'cookie', csrf: 'csrf' } as const);

/** What {@link addAuthSecuritySchemes} needs of `@nestjs/swagger`'s `DocumentBuilder`. */
export interface SecuritySchemeTarget {
  addSecurity(
    name: string,
    scheme: { type: 'http' | 'apiKey'; description?: string; scheme?: string; bearerFormat?: string; in?: string; name?: string },
  ): unknown;
}

/**
 * Declares the security schemes the guarded routes require ({@link AUTH_SECURITY_SCHEMES}) on a
 * `DocumentBuilder`: bearer (`http`, JWT), and the cookie transport's access cookie and CSRF
 * header (`apiKey`s in a cookie and a header) under the names `app`'s `cookies` option gives
 * them (`__Host-nw_access` when `secure`, `nw_access` without). Without the cookie transport
 * they are declared with the secure names and say it is off.
 *
 * @example
 * ```ts
 * const config = addAuthSecuritySchemes(new DocumentBuilder().setTitle('my api'), app).build();
 * SwaggerModule.setup('docs', app, () => SwaggerModule.createDocument(app, config));
 * ```
 */
export function addAuthSecuritySchemes<T extends SecuritySchemeTarget>(builder: T, app: Pick<INestApplicationContext, 'get'>): T {
  const config = app.get<AuthConfig>(AUTH_CONFIG, { strict: false });
  const names = config.cookies?.names ?? SECURE_COOKIE_NAMES;
  const off = config.cookies ? '' : ' The cookie transport is off in this app (the cookies option).';
  builder.addSecurity(AUTH_SECURITY_SCHEMES.bearer, {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
    description: 'The accessToken of a login, refresh or reauthentication: Authorization: Bearer <accessToken>.',
  });
  builder.addSecurity(AUTH_SECURITY_SCHEMES.cookie, {
    type: 'apiKey',
    in: 'cookie',
    name: names.access,
    description: `The access cookie of the cookie transport, set by a login with ${TRANSPORT_HEADER}: cookie (or always, with mode "always").${off}`,
  });
  builder.addSecurity(AUTH_SECURITY_SCHEMES.csrf, {
    type: 'apiKey',
    in: 'header',
    name: CSRF_HEADER,
    description: `With the access cookie, on requests that change state: the value of the ${names.csrf} cookie.${off}`,
  });
  return builder;
}

/** What `AuthGuard` refuses a guarded request with: no, a bad or an expired token, an ended session, a store outage. */
const GUARD_CODES: readonly AuthErrorCode[] = [
  AuthErrorCode.TOKEN_MISSING,
  AuthErrorCode.TOKEN_INVALID,
  AuthErrorCode.TOKEN_EXPIRED,
  AuthErrorCode.SESSION_REVOKED,
  AuthErrorCode.STORE_UNAVAILABLE,
];

/** What a route with a JSON body can be refused with before its handler: validation, the media type, the size. */
export const JSON_BODY_CODES: readonly AuthErrorCode[] = [
  AuthErrorCode.VALIDATION_FAILED,
  AuthErrorCode.UNSUPPORTED_MEDIA_TYPE,
  AuthErrorCode.PAYLOAD_TOO_LARGE,
];

/**
 * Documents the error answers of a route open to anonymous callers: one response per HTTP
 * status of the error table (`AUTH_HTTP_ERRORS`), its body an {@link AuthErrorBodyDto} whose
 * `code` is an enum of exactly the given codes of that status, with an example of each and the
 * `WWW-Authenticate` or `Retry-After` header that goes with it.
 */
export function ApiAuthErrors(...codes: AuthErrorCode[]): MethodDecorator {
  return errorResponses(codes, false);
}

/** What a route behind `AuthGuard` is documented with by {@link ApiAuthenticated}. */
export interface ApiAuthenticatedOptions {
  /**
   * The route changes state (POST, PATCH, DELETE): a caller signed in by cookie sends the CSRF
   * header too, and may be refused with 403 `AUTH_CSRF_FAILED`.
   */
  csrf: boolean;
}

/**
 * Documents a route behind `AuthGuard`: the bearer or cookie security scheme (with the CSRF header
 * when `options.csrf`), the guard's refusals (401 for the token, 403 `AUTH_CSRF_FAILED`, 503 for a
 * store outage), and `codes` as {@link ApiAuthErrors} does, each at the status it has for a
 * signed-in caller (a wrong password re-entered is 403, not 401).
 *
 * @example
 * ```ts
 * @ApiAuthenticated({ csrf: true }, AuthErrorCode.REAUTH_REQUIRED)
 * @RequireRecentLogin()
 * @Post('danger')
 * danger() {}
 * ```
 */
export function ApiAuthenticated(options: ApiAuthenticatedOptions, ...codes: AuthErrorCode[]): MethodDecorator {
  const { bearer, cookie, csrf } = AUTH_SECURITY_SCHEMES;
  return applyDecorators(
    ApiSecurity(bearer),
    ApiSecurity(options.csrf ? { [cookie]: [], [csrf]: [] } : { [cookie]: [] }),
    errorResponses([...GUARD_CODES, ...(options.csrf ? [AuthErrorCode.CSRF_FAILED] : []), ...codes], true),
  );
}

/**
 * The 200 of a route that opens or renews a session: the tokens in the body, or, with the cookie
 * transport (always, or asked for with `X-Auth-Transport: cookie`), in cookies; a login may answer
 * the second-factor challenge instead (`challenge`), a reauthentication a new access token only (`reauth`).
 */
export function ApiTokenResponse(options: { challenge?: boolean; reauth?: boolean } = {}): MethodDecorator {
  const models = options.reauth
    ? [ReauthResponseDto, CookieReauthResponseDto]
    : [TokenResponseDto, CookieTokenResponseDto, ...(options.challenge ? [LoginChallengeDto] : [])];
  return applyDecorators(
    ApiExtraModels(...models),
    ApiHeader({
      name: TRANSPORT_HEADER,
      required: false,
      description: 'cookie: answer with the cookie transport (with its mode "on-request"), tokens in cookies instead of the body',
      schema: { type: 'string', enum: ['cookie'] },
    }),
    ApiResponse({
      status: 200,
      description: options.challenge
        ? 'Signed in (tokens in the body, or in cookies), or the second-factor challenge'
        : 'The tokens in the body, or in cookies with the cookie transport',
      schema: { oneOf: models.map(schemaRef) },
      headers: { 'Set-Cookie': { description: 'With the cookie transport: the session cookies', schema: { type: 'string' } } },
    }),
  );
}

// One @ApiResponse per status of the table: the codes of that status as the enum of `code`.
function errorResponses(given: readonly AuthErrorCode[], signedIn: boolean): MethodDecorator {
  const byStatus = new Map<number, AuthErrorCode[]>();
  for (const code of new Set(given)) {
    const rule = AUTH_HTTP_ERRORS[code];
    const status = (signedIn && rule.signedInStatus) || rule.status;
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  const responses = [...byStatus]
    .sort(([a], [b]) => a - b)
    .map(([status, codes]) =>
      ApiResponse({
        status,
        description: codes.map((code) => `${code}: ${AUTH_ERROR_MESSAGES[code]}`).join('. '),
        schema: {
          allOf: [
            schemaRef(AuthErrorBodyDto),
            {
              type: 'object',
              required: ['statusCode', 'code'],
              properties: { statusCode: { type: 'integer', enum: [status] }, code: { type: 'string', enum: codes } },
            },
          ],
        },
        examples: Object.fromEntries(
          codes.map((code) => [code, { summary: code, value: { statusCode: status, code, message: AUTH_ERROR_MESSAGES[code] } }]),
        ),
        ...headersOf(status, codes),
      }),
    );
  return applyDecorators(ApiExtraModels(AuthErrorBodyDto), ...responses);
}

// WWW-Authenticate on a 401 (RFC 6750), Retry-After on a 429, as http-errors.ts sets them.
function headersOf(status: number, codes: AuthErrorCode[]): { headers?: Record<string, { description: string; schema: object }> } {
  if (status === 401 && codes.some((code) => AUTH_HTTP_ERRORS[code].challenge !== undefined)) {
    return { headers: { 'WWW-Authenticate': { description: 'Bearer realm="nest-warden" (RFC 6750)', schema: { type: 'string' } } } };
  }
  if (status === 429) {
    return { headers: { 'Retry-After': { description: 'Seconds to wait before trying again', schema: { type: 'integer' } } } };
  }
  return {};
}
