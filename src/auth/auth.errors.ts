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
  /** Registration or an email change with an address another account holds. */
  EMAIL_TAKEN: 'AUTH_EMAIL_TAKEN',
  /** A login with the right password to an account whose email address is not verified yet (`emailVerification.required`). */
  EMAIL_NOT_VERIFIED: 'AUTH_EMAIL_NOT_VERIFIED',
  /** An email verification, email change or password reset token that is unknown, used, expired or void. */
  VERIFICATION_TOKEN_INVALID: 'AUTH_VERIFICATION_TOKEN_INVALID',
  /** A route behind `@RequireMfa()` reached by a session signed in without a second factor. */
  MFA_REQUIRED: 'AUTH_MFA_REQUIRED',
  /** A route behind `@RequireRecentLogin()` reached by a session whose last full authentication is too old: `POST /auth/reauthenticate`. */
  REAUTH_REQUIRED: 'AUTH_REAUTH_REQUIRED',
  /** A second-factor code (TOTP or recovery) that is wrong, used, or missing where the account needs one. */
  MFA_CODE_INVALID: 'AUTH_MFA_CODE_INVALID',
  /** The `mfaToken` of a login is unknown, expired, used, or for another account. */
  MFA_TOKEN_INVALID: 'AUTH_MFA_TOKEN_INVALID',
  /** TOTP is already on for the account: turn it off first. */
  MFA_ALREADY_ENABLED: 'AUTH_MFA_ALREADY_ENABLED',
  /** TOTP is not on for the account. */
  MFA_NOT_ENABLED: 'AUTH_MFA_NOT_ENABLED',
  /** A TOTP confirmation without a pending setup (none, or it expired): start again at `/auth/mfa/totp/setup`. */
  MFA_SETUP_MISSING: 'AUTH_MFA_SETUP_MISSING',
  /** A passkey ceremony whose challenge is unknown, expired, used, or another session's: ask for new options. */
  PASSKEY_CHALLENGE_INVALID: 'AUTH_PASSKEY_CHALLENGE_INVALID',
  /** A passkey registration whose response does not verify (origin, RP id, user verification, attestation). */
  PASSKEY_REGISTRATION_FAILED: 'AUTH_PASSKEY_REGISTRATION_FAILED',
  /** A passkey login or second step whose assertion does not verify, or names no passkey of the account. */
  PASSKEY_LOGIN_FAILED: 'AUTH_PASSKEY_LOGIN_FAILED',
  /** A credential that is already registered (to this account or another). */
  PASSKEY_ALREADY_REGISTERED: 'AUTH_PASSKEY_ALREADY_REGISTERED',
  /** No passkey with this id among the caller's. */
  PASSKEY_NOT_FOUND: 'AUTH_PASSKEY_NOT_FOUND',
  /** `/auth/oauth/<provider>` for a provider the app does not have. */
  OIDC_PROVIDER_UNKNOWN: 'AUTH_OIDC_PROVIDER_UNKNOWN',
  /** The provider's discovery or token endpoint cannot be reached: try again later. */
  OIDC_PROVIDER_UNAVAILABLE: 'AUTH_OIDC_PROVIDER_UNAVAILABLE',
  /** A callback without its login's state cookie, or with another login's state, or past its time: start again. */
  OIDC_STATE_INVALID: 'AUTH_OIDC_STATE_INVALID',
  /** The provider refused (consent denied), or its answer did not verify (code, ID token: issuer, audience, nonce, signature, expiry). */
  OIDC_CALLBACK_FAILED: 'AUTH_OIDC_CALLBACK_FAILED',
  /** A `returnTo` outside the allow-list. */
  OIDC_RETURN_TO_INVALID: 'AUTH_OIDC_RETURN_TO_INVALID',
  /** A first login whose address a local account holds: sign in to that account and link the provider from there. */
  OIDC_ACCOUNT_EXISTS: 'AUTH_OIDC_ACCOUNT_EXISTS',
  /** Linking an identity that is linked to another account. */
  OIDC_IDENTITY_TAKEN: 'AUTH_OIDC_IDENTITY_TAKEN',
  /** No linked identity with this id among the caller's. */
  OIDC_IDENTITY_NOT_FOUND: 'AUTH_OIDC_IDENTITY_NOT_FOUND',
  /** Unlinking the last identity of an account that has no other way in (no verified address to reset a password it never set). */
  OIDC_LAST_LOGIN_METHOD: 'AUTH_OIDC_LAST_LOGIN_METHOD',
  /** An exchange code that is unknown, used or expired (60 s). */
  OIDC_CODE_INVALID: 'AUTH_OIDC_CODE_INVALID',
  /** The request body is not `application/json`. */
  UNSUPPORTED_MEDIA_TYPE: 'AUTH_UNSUPPORTED_MEDIA_TYPE',
  /** The request body is over the size limit. */
  PAYLOAD_TOO_LARGE: 'AUTH_PAYLOAD_TOO_LARGE',
} as const;

/** One of the `AuthErrorCode` values. */
export type AuthErrorCode = (typeof AuthErrorCode)[keyof typeof AuthErrorCode];

/** The message that goes with each code when the error has nothing more specific to say. */
export const AUTH_ERROR_MESSAGES: Readonly<Record<AuthErrorCode, string>> = {
  [AuthErrorCode.VALIDATION_FAILED]: 'Request is invalid',
  [AuthErrorCode.PASSWORD_POLICY]: 'Password does not meet the password policy',
  [AuthErrorCode.USERNAME_TAKEN]: 'Username is already taken',
  [AuthErrorCode.REGISTRATION_DISABLED]: 'Registration is disabled',
  [AuthErrorCode.INVALID_CREDENTIALS]: 'Invalid username or password',
  [AuthErrorCode.TOKEN_MISSING]: 'Authentication required',
  [AuthErrorCode.TOKEN_INVALID]: 'Invalid access token',
  [AuthErrorCode.TOKEN_EXPIRED]: 'Access token expired',
  [AuthErrorCode.SESSION_REVOKED]: 'Session has ended',
  [AuthErrorCode.REFRESH_TOKEN_INVALID]: 'Invalid refresh token',
  [AuthErrorCode.REFRESH_TOKEN_REUSED]: 'Refresh token was already used; the session has been revoked',
  [AuthErrorCode.SESSION_NOT_FOUND]: 'No such session',
  [AuthErrorCode.TOO_MANY_ATTEMPTS]: 'Too many failed login attempts; try again later',
  [AuthErrorCode.CSRF_FAILED]: 'CSRF check failed: send the CSRF cookie value in X-CSRF-Token',
  [AuthErrorCode.STORE_UNAVAILABLE]: 'Authentication store is unavailable',
  [AuthErrorCode.EMAIL_TAKEN]: 'Email address is already in use',
  [AuthErrorCode.EMAIL_NOT_VERIFIED]: 'Email address is not verified: use the link sent to it, or ask for a new one',
  [AuthErrorCode.VERIFICATION_TOKEN_INVALID]: 'The link is invalid, used or expired; ask for a new one',
  [AuthErrorCode.MFA_REQUIRED]: 'This needs a session signed in with a second factor',
  [AuthErrorCode.REAUTH_REQUIRED]: 'This needs a recent login: reauthenticate and try again',
  [AuthErrorCode.MFA_CODE_INVALID]: 'Invalid authentication code',
  [AuthErrorCode.MFA_TOKEN_INVALID]: 'The second-factor step has expired or was already used; log in again',
  [AuthErrorCode.MFA_ALREADY_ENABLED]: 'Two-factor authentication is already on',
  [AuthErrorCode.MFA_NOT_ENABLED]: 'Two-factor authentication is not on',
  [AuthErrorCode.MFA_SETUP_MISSING]: 'No pending two-factor setup: start a new one',
  [AuthErrorCode.PASSKEY_CHALLENGE_INVALID]: 'The passkey challenge has expired or was already used; ask for new options',
  [AuthErrorCode.PASSKEY_REGISTRATION_FAILED]: 'The passkey could not be verified',
  [AuthErrorCode.PASSKEY_LOGIN_FAILED]: 'Passkey authentication failed',
  [AuthErrorCode.PASSKEY_ALREADY_REGISTERED]: 'This passkey is already registered',
  [AuthErrorCode.PASSKEY_NOT_FOUND]: 'No such passkey',
  [AuthErrorCode.OIDC_PROVIDER_UNKNOWN]: 'No such sign-in provider',
  [AuthErrorCode.OIDC_PROVIDER_UNAVAILABLE]: 'The sign-in provider cannot be reached; try again later',
  [AuthErrorCode.OIDC_STATE_INVALID]: 'The sign-in has expired or belongs to another attempt; start again',
  [AuthErrorCode.OIDC_CALLBACK_FAILED]: 'The sign-in provider did not sign you in',
  [AuthErrorCode.OIDC_RETURN_TO_INVALID]: 'returnTo is not an allowed address',
  [AuthErrorCode.OIDC_ACCOUNT_EXISTS]: 'An account with this email address exists: sign in to it and link the provider there',
  [AuthErrorCode.OIDC_IDENTITY_TAKEN]: 'This identity is linked to another account',
  [AuthErrorCode.OIDC_IDENTITY_NOT_FOUND]: 'No such linked identity',
  [AuthErrorCode.OIDC_LAST_LOGIN_METHOD]: 'This is the last way to sign in to the account: add another first',
  [AuthErrorCode.OIDC_CODE_INVALID]: 'The sign-in code has expired or was already used',
  [AuthErrorCode.UNSUPPORTED_MEDIA_TYPE]: 'request body must be application/json',
  [AuthErrorCode.PAYLOAD_TOO_LARGE]: 'request body is too large',
};

/**
 * Runs `make` with stack traces turned off: for the edge's `HttpException`s of refusals.
 */
export function withoutStack<T>(make: () => T): T {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return make();
  } finally {
    Error.stackTraceLimit = limit;
  }
}

/**
 * The one base of nest-warden's domain errors: a stable `AuthErrorCode` and a message for
 * people. Services and stores throw these and know nothing of HTTP; the edge (controller,
 * guards, `AuthExceptionFilter`) turns them into responses with one table,
 * {@link AUTH_HTTP_ERRORS}. Caller mistakes (a wrong argument type, a bad option) are
 * `TypeError`s instead.
 */
export class AuthError extends Error {
  /** The stable error code. */
  readonly code: AuthErrorCode;

  constructor(code: AuthErrorCode, message: string = AUTH_ERROR_MESSAGES[code], options?: { cause?: unknown }) {
    // A refusal is an answer, not a fault: it is made without a stack trace, which would cost
    // more than the rest of a refused request (a flood of bad tokens or throttled logins makes
    // them by the thousand). An outage keeps its stack.
    const stackTraceLimit = Error.stackTraceLimit;
    if (code !== AuthErrorCode.STORE_UNAVAILABLE) Error.stackTraceLimit = 0;
    try {
      super(message);
    } finally {
      Error.stackTraceLimit = stackTraceLimit;
    }
    this.code = code;
    this.name = 'AuthError';
    // Kept off the enumerable properties: a cause may hold a backend's details, never for a response or log line.
    if (options?.cause !== undefined) Object.defineProperty(this, 'cause', { value: options.cause, enumerable: false });
  }
}

/**
 * Thrown by a store whose backend cannot be reached (timeout, connection lost): a 503
 * `AUTH_STORE_UNAVAILABLE` at the edge, and nothing is let through while the store is down.
 * Custom stores should throw it for outages too.
 */
export class StoreUnavailableError extends AuthError {
  constructor(options?: { cause?: unknown }) {
    super(AuthErrorCode.STORE_UNAVAILABLE, AUTH_ERROR_MESSAGES[AuthErrorCode.STORE_UNAVAILABLE], options);
    this.name = 'StoreUnavailableError';
  }
}

/** Thrown while the account, client or device is over the login throttle (HTTP 429 with `Retry-After`). */
export class TooManyAttemptsError extends AuthError {
  constructor(
    /** Seconds until another attempt will be considered. */
    readonly retryAfterSeconds: number,
    message?: string,
  ) {
    super(AuthErrorCode.TOO_MANY_ATTEMPTS, message);
    this.name = 'TooManyAttemptsError';
  }
}

/** Thrown by a {@link UserStore} when `create` is asked for a username that exists. */
export class UsernameTakenError extends AuthError {
  declare readonly code: typeof AuthErrorCode.USERNAME_TAKEN;

  constructor() {
    super(AuthErrorCode.USERNAME_TAKEN);
    this.name = 'UsernameTakenError';
  }
}

/** Thrown by a {@link UserStore} when `create` or `updateEmail` is given an address another user holds. */
export class EmailTakenError extends AuthError {
  declare readonly code: typeof AuthErrorCode.EMAIL_TAKEN;

  constructor() {
    super(AuthErrorCode.EMAIL_TAKEN);
    this.name = 'EmailTakenError';
  }
}

/**
 * Thrown when a password or username breaks the credential policy: `AUTH_PASSWORD_POLICY` for the
 * password, `AUTH_VALIDATION_FAILED` for the username.
 */
export class CredentialPolicyError extends AuthError {
  constructor(
    /** Which credential was refused. */
    readonly field: 'username' | 'password',
    message: string,
  ) {
    super(field === 'password' ? AuthErrorCode.PASSWORD_POLICY : AuthErrorCode.VALIDATION_FAILED, message);
    this.name = 'CredentialPolicyError';
  }
}

/** The failure codes of a request's access token. */
export type TokenFailureCode =
  | typeof AuthErrorCode.TOKEN_MISSING
  | typeof AuthErrorCode.TOKEN_INVALID
  | typeof AuthErrorCode.TOKEN_EXPIRED
  | typeof AuthErrorCode.SESSION_REVOKED;

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
