/** A user as nest-warden needs it. Your own user entity can hold more. */
export interface UserRecord {
  id: string;
  username: string;
  /** A PHC string (argon2id) or, for users carried over from the legacy service, a SHA-256 hex digest. */
  passwordHash: string;
}

/** What {@link UserStore.create} receives. */
export interface NewUser {
  username: string;
  passwordHash: string;
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

  /** Creates a user. Must throw `UsernameTakenError` when the username (in the store's collation) exists. */
  abstract create(user: NewUser): Promise<UserRecord>;

  /** Replaces the stored password hash (after a rehash or a password change). */
  abstract updatePasswordHash(userId: string, passwordHash: string): Promise<void>;
}
