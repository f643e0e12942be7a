/** A user as nest-warden needs it. Your own user entity can hold more. */
export interface UserRecord {
  id: string;
  username: string;
  /** A PHC string (argon2id) or, for users carried over from the legacy service, a SHA-256 hex digest. */
  passwordHash: string;
  /** The user's email address (NFC, as given), or `null`; absent from stores that keep none. */
  email?: string | null;
  /** Whether `email` was proven to reach the user (a verification link was used). */
  emailVerified?: boolean;
}

/** What {@link UserStore.create} receives. */
export interface NewUser {
  username: string;
  passwordHash: string;
  /** An email address (NFC), stored unverified. Only given to stores whose `keepsEmail` is `true`. */
  email?: string;
}

/**
 * The form in which email addresses are compared for uniqueness and lookups: NFC, then lower
 * case (RFC 5321 lets the local part be case-sensitive; no provider people use makes it so).
 */
export function foldEmail(email: string): string {
  return email.normalize('NFC').toLowerCase();
}

/**
 * The form in which the default user stores compare usernames for uniqueness: NFKC, then case
 * folded (upper- then lower-cased, so `ß` meets `SS`). They refuse a new username whose folded
 * form is taken, as look-alike accounts help phishing, while logins still compare exactly.
 */
export function foldUsername(username: string): string {
  return username.normalize('NFKC').toUpperCase().toLowerCase();
}

/**
 * Where users live. The host app usually owns its users: extend this class over your
 * repository (TypeORM, Prisma, ...) and pass it as the `userStore` option.
 * Usernames are compared exactly, after Unicode NFC normalisation done by nest-warden; a
 * store may use its own collation (case-insensitive, say): the login throttle counts per
 * resolved account, so it does not depend on it. The default stores also refuse a username
 * that differs from an existing one only in case ({@link foldUsername}).
 */
export abstract class UserStore {
  /** The user with this username, or `null`. */
  abstract findByUsername(username: string): Promise<UserRecord | null>;

  /** The user with this id, or `null`. */
  abstract findById(userId: string): Promise<UserRecord | null>;

  /** Creates a user. Must throw `UsernameTakenError` when the username (in the store's collation) exists, `EmailTakenError` when the email address is taken. */
  abstract create(user: NewUser): Promise<UserRecord>;

  /** Replaces the stored password hash (after a rehash or a password change). */
  abstract updatePasswordHash(userId: string, passwordHash: string): Promise<void>;

  /**
   * Whether this store keeps email addresses (`findByEmail`, `updateEmail`, `email` at `create`).
   * `false` here: a store that keeps them overrides the three methods and says `true`. The email
   * flow refuses to start on a store that does not.
   */
  get keepsEmail(): boolean {
    return false;
  }

  /** The user whose address folds ({@link foldEmail}) to the same as `email`, or `null`. */
  findByEmail(email: string): Promise<UserRecord | null> {
    void email;
    return Promise.reject(new TypeError(`${this.constructor.name} keeps no email addresses (keepsEmail is false)`));
  }

  /**
   * Sets (or, with `null`, removes) the user's email address and its verified flag. Must throw
   * `EmailTakenError` when another user holds an address that folds to the same; a missing user is
   * no error.
   */
  updateEmail(userId: string, email: string | null, verified: boolean): Promise<void> {
    void userId;
    void email;
    void verified;
    return Promise.reject(new TypeError(`${this.constructor.name} keeps no email addresses (keepsEmail is false)`));
  }

  /** Whether the backing storage answers. Reported by health checks. Default `true`. */
  async ping(): Promise<boolean> {
    return true;
  }
}
