import { HttpException, HttpStatus } from '@nestjs/common';

/**
 * Every error code nest-warden puts in a response body. Codes are stable:
 * clients may branch on them. Messages are for people and may change.
 */
export const AuthErrorCode = {
  /** The body failed validation: wrong types, missing or extra fields, not a JSON object. */
  VALIDATION_FAILED: 'AUTH_VALIDATION_FAILED',
  /** The password breaks the configured password policy. */
  PASSWORD_POLICY: 'AUTH_PASSWORD_POLICY',
  /** Registration was attempted with a username that already exists. */
  USERNAME_TAKEN: 'AUTH_USERNAME_TAKEN',
  /** Registration is turned off in this app. */
  REGISTRATION_DISABLED: 'AUTH_REGISTRATION_DISABLED',
  /** Unknown username or wrong password (never says which). */
  INVALID_CREDENTIALS: 'AUTH_INVALID_CREDENTIALS',
  /** No `Authorization: Bearer` header on a guarded route. */
  TOKEN_MISSING: 'AUTH_TOKEN_MISSING',
  /** The token is malformed, badly signed, or fails a claim check. */
  TOKEN_INVALID: 'AUTH_TOKEN_INVALID',
  /** The token's `exp` has passed. */
  TOKEN_EXPIRED: 'AUTH_TOKEN_EXPIRED',
  /** The token is well-formed but its session has ended (logout, expiry, revocation). */
  SESSION_REVOKED: 'AUTH_SESSION_REVOKED',
  /** The refresh token is unknown, malformed, expired or its session has ended. */
  REFRESH_TOKEN_INVALID: 'AUTH_REFRESH_TOKEN_INVALID',
  /** A refresh token that was already rotated was presented again: the session is revoked. */
  REFRESH_TOKEN_REUSED: 'AUTH_REFRESH_TOKEN_REUSED',
  /** No session of the caller has that id. */
  SESSION_NOT_FOUND: 'AUTH_SESSION_NOT_FOUND',
  /** Too many failed logins (account, client or device), registrations from the client, or wrong current passwords: wait `Retry-After` seconds. */
  TOO_MANY_ATTEMPTS: 'AUTH_TOO_MANY_ATTEMPTS',
  /** A cookie-authenticated unsafe request without a matching X-CSRF-Token, or cross-site. */
  CSRF_FAILED: 'AUTH_CSRF_FAILED',
  /** The session or user store cannot be reached: the request is refused (fail closed). */
  STORE_UNAVAILABLE: 'AUTH_STORE_UNAVAILABLE',
  /** The request body is not `application/json`. */
  UNSUPPORTED_MEDIA_TYPE: 'AUTH_UNSUPPORTED_MEDIA_TYPE',
  /** The request body is over the size limit. */
  PAYLOAD_TOO_LARGE: 'AUTH_PAYLOAD_TOO_LARGE',
} as const;

/** One of the {@link AuthErrorCode} values. */
export type AuthErrorCode = (typeof AuthErrorCode)[keyof typeof AuthErrorCode];

/** The JSON body of every error nest-warden answers with. */
export interface AuthErrorBody {
  statusCode: number;
  code: AuthErrorCode;
  message: string;
}

/**
 * An HTTP error with a stable `code`. Its response body is
 * `{ statusCode, code, message }`, so Nest's default exception filter sends it as is.
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

/**
 * Thrown by a store whose backend cannot be reached (timeout, connection lost). It is an
 * HTTP 503 `AUTH_STORE_UNAVAILABLE` wherever it surfaces: nothing is let through while the
 * store is down. Custom stores should throw it for outages too.
 */
export class StoreUnavailableError extends AuthHttpException {
  constructor(options?: { cause?: unknown }) {
    super(HttpStatus.SERVICE_UNAVAILABLE, AuthErrorCode.STORE_UNAVAILABLE, 'Authentication store is unavailable');
    this.name = 'StoreUnavailableError';
    if (options?.cause !== undefined) Object.defineProperty(this, 'cause', { value: options.cause, enumerable: false });
  }
}

/** Thrown by `AuthService.login` while the account or client is locked out (HTTP 429). */
export class TooManyAttemptsError extends AuthHttpException {
  constructor(
    /** Seconds until another attempt will be considered. */
    readonly retryAfterSeconds: number,
    message = 'Too many failed login attempts; try again later',
  ) {
    super(HttpStatus.TOO_MANY_REQUESTS, AuthErrorCode.TOO_MANY_ATTEMPTS, message);
    this.name = 'TooManyAttemptsError';
  }
}

/** The 403 for a cookie-authenticated request that fails the CSRF check. */
export function csrfFailure(): AuthHttpException {
  return new AuthHttpException(
    HttpStatus.FORBIDDEN,
    AuthErrorCode.CSRF_FAILED,
    'CSRF check failed: send the CSRF cookie value in X-CSRF-Token',
  );
}

/** The failure codes of a request's access token. */
export type TokenFailureCode =
  | typeof AuthErrorCode.TOKEN_MISSING
  | typeof AuthErrorCode.TOKEN_INVALID
  | typeof AuthErrorCode.TOKEN_EXPIRED
  | typeof AuthErrorCode.SESSION_REVOKED;

const TOKEN_FAILURE_MESSAGES: Record<TokenFailureCode, string> = {
  [AuthErrorCode.TOKEN_MISSING]: 'Authentication required',
  [AuthErrorCode.TOKEN_INVALID]: 'Invalid access token',
  [AuthErrorCode.TOKEN_EXPIRED]: 'Access token expired',
  [AuthErrorCode.SESSION_REVOKED]: 'Session has ended',
};

/** The message that goes with a refused access token's code. */
export function tokenFailureMessage(code: TokenFailureCode): string {
  return TOKEN_FAILURE_MESSAGES[code];
}

/** The 401 for a refused access token. */
export function tokenFailure(code: TokenFailureCode): AuthHttpException {
  return new AuthHttpException(HttpStatus.UNAUTHORIZED, code, TOKEN_FAILURE_MESSAGES[code]);
}

/** The `WWW-Authenticate` challenge for a refused access token (RFC 6750 section 3). */
export function bearerChallenge(code: TokenFailureCode): string {
  return code === AuthErrorCode.TOKEN_MISSING
    ? 'Bearer realm="nest-warden"'
    : `Bearer realm="nest-warden", error="invalid_token", error_description="${TOKEN_FAILURE_MESSAGES[code]}"`;
}

/** Thrown by a {@link UserStore} when `create` is asked for a username that exists. */
export class UsernameTakenError extends Error {
  readonly code = AuthErrorCode.USERNAME_TAKEN;

  constructor() {
    super('Username is already taken');
    this.name = 'UsernameTakenError';
  }
}

/** Thrown when a password or username breaks the credential policy. */
export class CredentialPolicyError extends Error {
  constructor(
    /** Which credential was refused. */
    readonly field: 'username' | 'password',
    message: string,
  ) {
    super(message);
    this.name = 'CredentialPolicyError';
  }
}

/** Thrown at start-up when an {@link AuthModuleOptions} value is wrong. Names the option. */
export class AuthOptionsError extends TypeError {
  constructor(
    readonly option: string,
    reason: string,
  ) {
    super(`nest-warden: invalid option "${option}": ${reason}`);
    this.name = 'AuthOptionsError';
  }
}
