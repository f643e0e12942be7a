import { HttpException, HttpStatus, type ExecutionContext, type HttpServer } from '@nestjs/common';
import {
  AUTH_ERROR_MESSAGES,
  AuthError,
  AuthErrorCode,
  TooManyAttemptsError,
  withoutStack,
  type TokenFailureCode,
} from '../auth.errors.js';

/** The JSON body of every error nest-warden answers with. */
export interface AuthErrorBody {
  statusCode: number;
  code: AuthErrorCode;
  message: string;
}

/**
 * An HTTP error with a stable `code`. Its response body is `{ statusCode, code, message }`, so
 * Nest's default exception filter sends it as is. Only the edge (guards, controllers, filters)
 * makes these; services and stores throw {@link AuthError}s.
 */
export class AuthHttpException extends HttpException {
  /** The stable error code. */
  readonly code: AuthErrorCode;

  constructor(status: HttpStatus, code: AuthErrorCode, message: string) {
    const body: AuthErrorBody = { statusCode: status, code, message };
    super(body, status);
    this.code = code;
  }
}

/** How one error code is answered over HTTP. */
export interface AuthHttpErrorRule {
  status: HttpStatus;
  /**
   * The `WWW-Authenticate` challenge (RFC 6750): `credentials` for a refused login or refresh
   * token, `token` for a refused access token (with `error="invalid_token"` once one was sent).
   */
  challenge?: 'credentials' | 'token';
  /**
   * The status when the caller is signed in: a wrong password re-entered by an authenticated
   * caller is 403, since a 401 would tell the client its access token is bad.
   */
  signedInStatus?: HttpStatus;
}

/** The one table from error code to HTTP status and headers. */
export const AUTH_HTTP_ERRORS: Readonly<Record<AuthErrorCode, Readonly<AuthHttpErrorRule>>> = {
  [AuthErrorCode.VALIDATION_FAILED]: { status: HttpStatus.BAD_REQUEST },
  [AuthErrorCode.PASSWORD_POLICY]: { status: HttpStatus.BAD_REQUEST },
  [AuthErrorCode.USERNAME_TAKEN]: { status: HttpStatus.CONFLICT },
  [AuthErrorCode.REGISTRATION_DISABLED]: { status: HttpStatus.FORBIDDEN },
  [AuthErrorCode.INVALID_CREDENTIALS]: { status: HttpStatus.UNAUTHORIZED, challenge: 'credentials', signedInStatus: HttpStatus.FORBIDDEN },
  [AuthErrorCode.TOKEN_MISSING]: { status: HttpStatus.UNAUTHORIZED, challenge: 'token' },
  [AuthErrorCode.TOKEN_INVALID]: { status: HttpStatus.UNAUTHORIZED, challenge: 'token' },
  [AuthErrorCode.TOKEN_EXPIRED]: { status: HttpStatus.UNAUTHORIZED, challenge: 'token' },
  [AuthErrorCode.SESSION_REVOKED]: { status: HttpStatus.UNAUTHORIZED, challenge: 'token' },
  [AuthErrorCode.REFRESH_TOKEN_INVALID]: { status: HttpStatus.UNAUTHORIZED, challenge: 'credentials' },
  [AuthErrorCode.REFRESH_TOKEN_REUSED]: { status: HttpStatus.UNAUTHORIZED, challenge: 'credentials' },
  [AuthErrorCode.SESSION_NOT_FOUND]: { status: HttpStatus.NOT_FOUND },
  [AuthErrorCode.TOO_MANY_ATTEMPTS]: { status: HttpStatus.TOO_MANY_REQUESTS },
  [AuthErrorCode.CSRF_FAILED]: { status: HttpStatus.FORBIDDEN },
  [AuthErrorCode.STORE_UNAVAILABLE]: { status: HttpStatus.SERVICE_UNAVAILABLE },
  [AuthErrorCode.EMAIL_TAKEN]: { status: HttpStatus.CONFLICT },
  [AuthErrorCode.EMAIL_NOT_VERIFIED]: { status: HttpStatus.FORBIDDEN },
  [AuthErrorCode.VERIFICATION_TOKEN_INVALID]: { status: HttpStatus.BAD_REQUEST },
  [AuthErrorCode.MFA_REQUIRED]: { status: HttpStatus.FORBIDDEN },
  [AuthErrorCode.REAUTH_REQUIRED]: { status: HttpStatus.FORBIDDEN },
  [AuthErrorCode.MFA_CODE_INVALID]: { status: HttpStatus.UNAUTHORIZED, challenge: 'credentials', signedInStatus: HttpStatus.FORBIDDEN },
  [AuthErrorCode.MFA_TOKEN_INVALID]: { status: HttpStatus.UNAUTHORIZED, challenge: 'credentials' },
  [AuthErrorCode.MFA_ALREADY_ENABLED]: { status: HttpStatus.CONFLICT },
  [AuthErrorCode.MFA_NOT_ENABLED]: { status: HttpStatus.CONFLICT },
  [AuthErrorCode.MFA_SETUP_MISSING]: { status: HttpStatus.CONFLICT },
  [AuthErrorCode.PASSKEY_CHALLENGE_INVALID]: { status: HttpStatus.BAD_REQUEST },
  [AuthErrorCode.PASSKEY_REGISTRATION_FAILED]: { status: HttpStatus.BAD_REQUEST },
  [AuthErrorCode.PASSKEY_LOGIN_FAILED]: { status: HttpStatus.UNAUTHORIZED, challenge: 'credentials', signedInStatus: HttpStatus.FORBIDDEN },
  [AuthErrorCode.PASSKEY_ALREADY_REGISTERED]: { status: HttpStatus.CONFLICT },
  [AuthErrorCode.PASSKEY_NOT_FOUND]: { status: HttpStatus.NOT_FOUND },
  [AuthErrorCode.OIDC_PROVIDER_UNKNOWN]: { status: HttpStatus.NOT_FOUND },
  [AuthErrorCode.OIDC_PROVIDER_UNAVAILABLE]: { status: HttpStatus.SERVICE_UNAVAILABLE },
  [AuthErrorCode.OIDC_STATE_INVALID]: { status: HttpStatus.BAD_REQUEST },
  [AuthErrorCode.OIDC_CALLBACK_FAILED]: { status: HttpStatus.BAD_REQUEST },
  [AuthErrorCode.OIDC_RETURN_TO_INVALID]: { status: HttpStatus.BAD_REQUEST },
  [AuthErrorCode.OIDC_ACCOUNT_EXISTS]: { status: HttpStatus.CONFLICT },
  [AuthErrorCode.OIDC_IDENTITY_TAKEN]: { status: HttpStatus.CONFLICT },
  [AuthErrorCode.OIDC_CODE_INVALID]: { status: HttpStatus.BAD_REQUEST },
  [AuthErrorCode.OIDC_IDENTITY_NOT_FOUND]: { status: HttpStatus.NOT_FOUND },
  [AuthErrorCode.OIDC_LAST_LOGIN_METHOD]: { status: HttpStatus.CONFLICT },
  [AuthErrorCode.UNSUPPORTED_MEDIA_TYPE]: { status: HttpStatus.UNSUPPORTED_MEDIA_TYPE },
  [AuthErrorCode.PAYLOAD_TOO_LARGE]: { status: HttpStatus.PAYLOAD_TOO_LARGE },
};

/** An {@link AuthError} as an HTTP response: status, body and the headers that go with it. */
export interface AuthErrorResponse {
  status: HttpStatus;
  body: AuthErrorBody;
  headers: Record<string, string>;
}

const REALM = 'Bearer realm="nest-warden"';

/** The `WWW-Authenticate` challenge for a refused access token (RFC 6750 section 3). */
export function bearerChallenge(code: TokenFailureCode): string {
  return code === AuthErrorCode.TOKEN_MISSING ? REALM : `${REALM}, error="invalid_token", error_description="${AUTH_ERROR_MESSAGES[code]}"`;
}

/** How the edge answers `error`: the table's status and headers, the error's code and message. */
export function authErrorResponse(error: AuthError, options: { signedIn?: boolean } = {}): AuthErrorResponse {
  const rule = AUTH_HTTP_ERRORS[error.code];
  const status = (options.signedIn && rule.signedInStatus) || rule.status;
  const headers: Record<string, string> = {};
  if (status === HttpStatus.UNAUTHORIZED && rule.challenge === 'credentials') headers['WWW-Authenticate'] = REALM;
  if (rule.challenge === 'token') headers['WWW-Authenticate'] = bearerChallenge(error.code as TokenFailureCode);
  if (error instanceof TooManyAttemptsError) headers['Retry-After'] = String(error.retryAfterSeconds);
  return { status, body: { statusCode: status, code: error.code, message: error.message }, headers };
}

/** `error` as an `HttpException`, for contexts that render those themselves (GraphQL); headers are left out. */
export function toHttpException(error: AuthError, options: { signedIn?: boolean } = {}): AuthHttpException {
  return httpExceptionOf(authErrorResponse(error, options));
}

// A refusal's exception is made without a stack trace, like the AuthError it comes from; a 5xx keeps one.
function httpExceptionOf({ status, body }: AuthErrorResponse): AuthHttpException {
  const make = (): AuthHttpException => new AuthHttpException(status, body.code, body.message);
  return status >= 500 ? make() : withoutStack(make);
}

/** The response for `code` with its table message. */
export function authHttpError(code: AuthErrorCode, message?: string): AuthHttpException {
  return toHttpException(new AuthError(code, message));
}

/**
 * `error` thrown at the edge of a guard or a handler: the table's `HttpException`, with its
 * headers (`WWW-Authenticate`, `Retry-After`) set on the response when there is one (HTTP; GraphQL
 * and WebSockets report errors in their own bodies).
 */
export function edgeException(
  error: AuthError,
  context: ExecutionContext,
  adapter: Pick<HttpServer, 'setHeader'>,
  options: { signedIn?: boolean } = {},
): AuthHttpException {
  const answer = authErrorResponse(error, options);
  if (context.getType() === 'http') {
    const response = context.getArgByIndex<unknown>(1);
    for (const name in answer.headers) adapter.setHeader(response, name, answer.headers[name]!);
  }
  return httpExceptionOf(answer);
}
