/** An account's TOTP factor, on: its secret as sealed by the flow (never the plain secret). */
export interface TotpFactor {
  /** The sealed secret (`SecretBox` format): at most 512 characters. */
  secret: string;
  enabledAt: Date;
}

/** A TOTP setup waiting for its first code: its sealed secret, until `expiresAt`. */
export interface PendingTotp {
  /** The sealed secret: at most 512 characters. */
  secret: string;
  expiresAt: Date;
}

/** What {@link MfaStore.find} answers for an account. */
export interface MfaState {
  /** The TOTP factor when it is on, else `null`. */
  totp: TotpFactor | null;
  /** The pending setup while it has not expired, else `null`. */
  pendingTotp: PendingTotp | null;
  /** How many recovery codes are left unused (0 while TOTP is off). */
  recoveryCodesLeft: number;
}

/** Most recovery codes one account holds. */
export const MAX_RECOVERY_CODES = 32;

/**
 * Where second factors live: each account's TOTP secret (sealed by the flow: a store only ever
 * sees ciphertext), a pending setup, and the digests of its recovery codes (never the codes).
 * In-process by default, Redis or SQL when instances must share them. An abstract class, so it
 * is both the contract and the DI token. Every implementation must pass
 * `describeMfaStoreContract` from `nestjs-warden/testing`; each write is atomic, so concurrent
 * requests on several instances cannot both win.
 */
export abstract class MfaStore {
  /** The account's factors; a pending setup past its `expiresAt` is answered as `null`. */
  abstract find(userId: string): Promise<MfaState>;

  /** Stores a pending TOTP setup, replacing any earlier one; an enabled factor is left as it is. */
  abstract savePendingTotp(userId: string, pending: PendingTotp): Promise<void>;

  /**
   * Turns TOTP on in one atomic step, only when the pending setup is `pendingSecret`, has not
   * expired at `enabledAt`, and no factor is on: the pending secret becomes the factor, the
   * pending setup is removed and the recovery codes are replaced by `recoveryCodeDigests`.
   * `false` (and nothing changed) otherwise, so of two concurrent confirmations one wins.
   */
  abstract enableTotp(userId: string, pendingSecret: string, recoveryCodeDigests: readonly string[], enabledAt: Date): Promise<boolean>;

  /** Turns TOTP off: the factor, any pending setup and every recovery code go. `true` when a factor was on. */
  abstract disableTotp(userId: string): Promise<boolean>;

  /** Replaces every recovery code, in one step, while TOTP is on; `false` (nothing changed) when it is off. */
  abstract replaceRecoveryCodes(userId: string, digests: readonly string[]): Promise<boolean>;

  /** Uses up the recovery code with this digest: `true` for exactly one of concurrent uses, `false` for an unknown or used one. */
  abstract useRecoveryCode(userId: string, digest: string): Promise<boolean>;

  /**
   * Replaces the sealed secret of the enabled factor by `next` (the same secret under a newer
   * key) only when it is still `current`; `false` otherwise.
   */
  abstract resealTotp(userId: string, current: string, next: string): Promise<boolean>;

  /**
   * Marks `marker` (a TOTP time step just accepted, a login challenge just redeemed: at most 64
   * characters) as used by the account until `expiresAt`: `true` when it was not marked (or its
   * mark has expired, on the store's clock), `false` when it is; of concurrent calls, on any
   * number of instances, exactly one is `true`. Marks expire by themselves, and are never
   * dropped early to make room (a dropped mark would let a code be replayed).
   */
  abstract markUsed(userId: string, marker: string, expiresAt: Date): Promise<boolean>;

  /** Whether the backing storage answers. Reported by health checks. Default `true`. */
  async ping(): Promise<boolean> {
    return true;
  }
}

/** Throws `TypeError` for values no store keeps: for the stores' own argument checks. */
export function checkMfaValues(what: string, values: { secret?: string; digests?: readonly string[]; marker?: string }): void {
  if (values.marker !== undefined && (typeof values.marker !== 'string' || values.marker.length === 0 || values.marker.length > 64)) {
    throw new TypeError(`${what}: a marker is 1 to 64 characters`);
  }
  if (values.secret !== undefined && (typeof values.secret !== 'string' || values.secret.length === 0 || values.secret.length > 512)) {
    throw new TypeError(`${what}: a sealed secret is 1 to 512 characters`);
  }
  if (values.digests !== undefined) {
    if (!Array.isArray(values.digests) || values.digests.length > MAX_RECOVERY_CODES) {
      throw new TypeError(`${what}: at most ${MAX_RECOVERY_CODES} recovery codes`);
    }
    for (const digest of values.digests) {
      if (typeof digest !== 'string' || digest.length === 0 || digest.length > 128) {
        throw new TypeError(`${what}: a recovery-code digest is 1 to 128 characters`);
      }
    }
  }
}
