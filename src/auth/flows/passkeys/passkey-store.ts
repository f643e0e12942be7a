/** A registered passkey (a WebAuthn credential) as stored: its public key, never a secret. */
export interface Passkey {
  /** nest-warden's id for it (22 base64url characters): what the management routes take. */
  id: string;
  /** The account it belongs to: at most 512 characters. */
  userId: string;
  /** The authenticator's credential id, base64url: unique across accounts, at most 1,364 characters (1,023 bytes). */
  credentialId: string;
  /** The credential's COSE public key, base64url. */
  publicKey: string;
  /** The signature counter last seen (0 for authenticators that keep none, as synced passkeys do). */
  counter: number;
  /** The transports the browser reported (`internal`, `hybrid`, `usb`, ...), as hints for the next ceremony. */
  transports: string[];
  /** `multiDevice` for a passkey that can sync (backup eligible), `singleDevice` for one bound to its authenticator. */
  deviceType: 'singleDevice' | 'multiDevice';
  /** Whether it is backed up (synced) now: the flag of its last ceremony. */
  backedUp: boolean;
  /** The name its owner gave it: 1 to 64 characters. */
  name: string;
  /** When it was registered, epoch milliseconds. */
  createdAt: number;
  /** When it last signed a login or a second step, epoch milliseconds, or `null`. */
  lastUsedAt: number | null;
}

/** What a ceremony changes on a passkey: its counter, its backup flag and when it was used. */
export interface PasskeyUse {
  counter: number;
  backedUp: boolean;
  usedAt: number;
}

/** At most this many passkeys per account (a store may refuse more). */
export const MAX_PASSKEYS_PER_ACCOUNT = 100;

/**
 * Where passkeys live: in-process by default (`InMemoryPasskeyStore`), Redis or SQL for real
 * accounts. An abstract class, so it is both the contract and the DI token. Every implementation
 * must pass `describePasskeyStoreContract` from `nestjs-warden/testing`.
 */
export abstract class PasskeyStore {
  /**
   * Stores a new passkey: `false`, and nothing stored, when its credential id (or its `id`) is
   * already registered, to any account; atomic, so of two concurrent registrations of one
   * credential exactly one succeeds.
   */
  abstract create(passkey: Passkey): Promise<boolean>;

  /** The passkey with this credential id, or `null`. */
  abstract findByCredentialId(credentialId: string): Promise<Passkey | null>;

  /** The account's passkeys, oldest first. */
  abstract listByUser(userId: string): Promise<Passkey[]>;

  /**
   * Records a ceremony's use of the passkey if its counter is still `expectedCounter` (compare and
   * set: of two concurrent uses of one signature counter at most one counts, so a cloned
   * authenticator cannot race the real one). `false` when the passkey is gone or its counter moved.
   */
  abstract recordUse(credentialId: string, expectedCounter: number, use: PasskeyUse): Promise<boolean>;

  /** Renames one of the account's passkeys: the renamed passkey, or `null` when the account has none with this id. */
  abstract rename(userId: string, id: string, name: string): Promise<Passkey | null>;

  /** Removes one of the account's passkeys: `false` when the account has none with this id. */
  abstract remove(userId: string, id: string): Promise<boolean>;

  /** Whether the backing storage answers. Reported by health checks. Default `true`. */
  async ping(): Promise<boolean> {
    return true;
  }
}
