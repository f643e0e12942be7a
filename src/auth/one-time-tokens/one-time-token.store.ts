/**
 * A single-use token as stored: its SHA-256, never the token itself, bound to an account, a
 * purpose and a subject (what else it is bound to: the address a link was sent to).
 */
export interface OneTimeToken {
  /** SHA-256 (64 lower-case hex digits) of the token the user holds. */
  hash: string;
  /** What the token is for (`email-verification`, `password-reset`, `email-change`, ...): at most 64 characters. */
  purpose: string;
  /** The account it belongs to: at most 512 characters. */
  userId: string;
  /** What the token is bound to besides the account, checked when it is used: at most 1024 characters. */
  subject: string;
  /** When it stops working, epoch milliseconds. */
  expiresAt: number;
}

/**
 * Where single-use tokens (email verification, password reset, email change) live until used or
 * expired: in-process by default, Redis or SQL when instances must share them. An abstract
 * class, so it is both the contract and the DI token. Every implementation must pass
 * `describeOneTimeTokenStoreContract` from `nestjs-warden/testing`.
 */
export abstract class OneTimeTokenStore {
  /**
   * Stores a token. With `replace`, every other token of the same user and purpose is void from
   * then on, in the same atomic step (a newer reset request voids the older links).
   */
  abstract save(token: OneTimeToken, options: { replace: boolean }): Promise<void>;

  /**
   * Takes the token with this hash if its purpose is one of `purposes` and it has not expired:
   * answers it and deletes it in one atomic step, so of concurrent takes exactly one gets it.
   * `null` otherwise; a token of another purpose is left as it is.
   */
  abstract take(hash: string, purposes: readonly string[]): Promise<OneTimeToken | null>;

  /** Voids every token of the user with this purpose. */
  abstract revokeAll(userId: string, purpose: string): Promise<void>;

  /** Whether the backing storage answers. Reported by health checks. Default `true`. */
  async ping(): Promise<boolean> {
    return true;
  }
}
