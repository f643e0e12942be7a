import { AuthError, AuthErrorCode } from '../auth.errors.js';
import type { RequestMeta } from '../interfaces/request-meta.interface.js';
import type { UserRecord } from '../users/user-store.js';

/**
 * What `POST /auth/login` answers, instead of tokens, for an account with a second factor: the
 * password was right, and `POST /auth/mfa/verify { mfaToken, code }` finishes the login.
 */
export interface LoginChallenge {
  mfaRequired: true;
  /** Single use, short-lived, bound to the account and to this password check; worthless anywhere else. */
  mfaToken: string;
  /** What the code may be: `totp`, `recovery`. */
  methods: string[];
}

/**
 * Thrown by `AuthService.login` (and the login pipeline) when the password was right and the
 * account has a second factor: no session is open yet. `challenge` is what the client needs for
 * the second step; `POST /auth/login` answers it with 200. The precedent is Firebase's
 * `MultiFactorError`: `login` keeps its `LoginResult | null` answer for everyone else.
 */
export class SecondFactorRequiredError extends AuthError {
  constructor(readonly challenge: LoginChallenge) {
    super(AuthErrorCode.MFA_REQUIRED, 'A second factor is required: send the code with the mfaToken to POST /auth/mfa/verify');
    this.name = 'SecondFactorRequiredError';
  }
}

/** What a redeemed challenge hands the login pipeline to finish the login. */
export interface SecondStep {
  user: UserRecord;
  /** The device id of the device proof the first step came with, if any, to renew it. */
  deviceId: string | null;
  /** The `amr` values the second factor adds (RFC 8176): `otp`. */
  amr: string[];
}

/** What `GET /auth/me` shows of the caller's second factors. */
export interface SecondFactorStatus {
  totp: boolean;
  recoveryCodesLeft: number;
}

/**
 * The second step of login and of reauthentication, provided by a flow (`mfaFlow`) under this
 * class; without one, every account logs in with its password alone. The core calls it after the
 * password has passed and never sees secrets or codes beyond handing them over.
 */
export abstract class SecondFactor {
  /** The challenge for an account that passed its password, or `null` when it has no second factor. */
  abstract challenge(user: UserRecord, deviceId: string | null, meta: RequestMeta): Promise<LoginChallenge | null>;

  /**
   * Redeems a challenge's token with a code, once. Throws `AUTH_MFA_TOKEN_INVALID` for a token that
   * is malformed, expired, used or no longer matches its account, `AUTH_MFA_CODE_INVALID` for a
   * wrong code, and `TooManyAttemptsError` past the account's code budget.
   */
  abstract redeem(mfaToken: unknown, code: unknown, meta: RequestMeta): Promise<SecondStep>;

  /**
   * The `amr` values a code adds when a signed-in account reauthenticates: `null` when the
   * account has no second factor (no code needed), else the code is required and checked like
   * at login (`AUTH_MFA_CODE_INVALID`, `TooManyAttemptsError`).
   */
  abstract reauthenticate(user: UserRecord, code: unknown, meta: RequestMeta): Promise<string[] | null>;

  /** The account's second factors, for `GET /auth/me`. */
  abstract status(userId: string): Promise<SecondFactorStatus>;
}
