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
  /** What the second step may use: `totp`, `recovery`, `passkey`. */
  methods: string[];
  /**
   * With `passkey` among the methods: the request options for `navigator.credentials.get()`
   * (the account's passkeys, a challenge bound to this `mfaToken`).
   */
  passkey?: unknown;
}

/**
 * The proof of a second step: a code (TOTP or recovery) as a string, or another method's answer
 * (`{ method: 'passkey', response }`, the browser's WebAuthn response).
 */
export type SecondFactorProof = string | { method: string; response: unknown };

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
  /** The `amr` values the second factor adds (RFC 8176): `otp`, or `hwk` (and `user`) for a passkey. */
  amr: string[];
}

/** What `GET /auth/me` shows of the caller's second factors. */
export interface SecondFactorStatus {
  totp: boolean;
  recoveryCodesLeft: number;
}

/**
 * A second factor another flow adds beside the second-factor flow's own (a passkey beside TOTP),
 * listed in the flow's `secondFactorMethods`. The second-factor flow offers it after a password
 * to an account that has a second factor on and this method `enrolled`, puts its `options` in
 * the challenge under its `name`, and hands it the proof at `POST /auth/mfa/verify`.
 */
export abstract class SecondFactorMethod {
  /** The method's name in `methods`, in the challenge and in the proof: `passkey`. */
  abstract readonly name: string;
  /** Whether the account can use this method. */
  abstract enrolled(userId: string): Promise<boolean>;
  /** What the client needs to answer (bound to `mfaToken`, the login it belongs to). */
  abstract options(userId: string, mfaToken: string): Promise<unknown>;
  /**
   * Checks `proof` for the account and this `mfaToken`; answers the `amr` values it adds, or
   * throws an `AuthError` (`AUTH_MFA_CODE_INVALID`, or the method's own code).
   */
  abstract verify(userId: string, mfaToken: string, proof: unknown, meta: RequestMeta): Promise<string[]>;
}

/** The injection token of the {@link SecondFactorMethod}s of every flow, in order. */
export const SECOND_FACTOR_METHODS = Symbol('nest-warden:second-factor-methods');

/**
 * The second step of login and of reauthentication, provided by a flow (`mfaFlow`) under this
 * class; without one, every account logs in with its password alone. The core calls it after the
 * password has passed and never sees secrets or codes beyond handing them over.
 */
export abstract class SecondFactor {
  /** The challenge for an account that passed its password, or `null` when it has no second factor. */
  abstract challenge(user: UserRecord, deviceId: string | null, meta: RequestMeta): Promise<LoginChallenge | null>;

  /**
   * Redeems a challenge's token with a code (a {@link SecondFactorProof}), once. Throws `AUTH_MFA_TOKEN_INVALID` for a token that
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
