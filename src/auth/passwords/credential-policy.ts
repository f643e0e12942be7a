import { dictionary } from '@zxcvbn-ts/language-common';
import { CredentialPolicyError } from '../auth.errors.js';

/** Password rules. Lengths count Unicode code points, not UTF-16 units or bytes. */
export interface PasswordPolicy {
  /** Default 8, as the legacy service. */
  minLength: number;
  /** Default 128. Caps hashing cost. */
  maxLength: number;
  /**
   * Refuse the ~49,000 most common passwords (the list of @zxcvbn-ts/language-common, from
   * leaked-password corpora), compared case-insensitively. Default `true` (ASVS 6.2.4, NIST).
   */
  blockCommonPasswords: boolean;
}

/** The default password policy. */
export const DEFAULT_PASSWORD_POLICY: Readonly<PasswordPolicy> = Object.freeze({
  minLength: 8,
  maxLength: 128,
  blockCommonPasswords: true,
});

let commonPasswords: Set<string> | undefined;

/** Whether a password is on the common-password list (case-insensitive). */
export function isCommonPassword(password: string): boolean {
  commonPasswords ??= new Set(dictionary['passwords-common'].map((entry: string) => entry.toLowerCase()));
  return commonPasswords.has(password.normalize('NFC').toLowerCase());
}

/** Shortest username (code points). */
export const USERNAME_MIN_LENGTH = 3;
/** Longest username (code points). */
export const USERNAME_MAX_LENGTH = 64;
/** Absolute cap on any password input, whatever the policy: longer input is refused unhashed. */
export const PASSWORD_INPUT_MAX_LENGTH = 1024;

/** Longest username a login body may carry (in UTF-16 units): room for any spelling of a valid username. */
export const LOGIN_USERNAME_INPUT_MAX_LENGTH = USERNAME_MAX_LENGTH * 4;

// An unpaired UTF-16 surrogate: not text. UTF-8 encoding (argon2, SHA-256) would turn every
// one of them into U+FFFD, making different passwords hash alike.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Whether a string is well-formed Unicode text (no unpaired surrogates). */
export function isWellFormedText(value: string): boolean {
  return !LONE_SURROGATE.test(value);
}

// Letters, marks, digits and a few separators used in handles and e-mail addresses.
const USERNAME_PATTERN = /^[\p{L}\p{M}\p{N}._@+-]+$/u;

/**
 * The one credential policy, shared by the DTOs and `AuthService`. Checks a
 * username/password pair and says what is wrong, or `null` when it is acceptable.
 */
export class CredentialPolicy {
  readonly password: Readonly<PasswordPolicy>;

  constructor(password: Readonly<Partial<PasswordPolicy>> = DEFAULT_PASSWORD_POLICY) {
    this.password = { ...DEFAULT_PASSWORD_POLICY, ...password };
  }

  /** A reason the username is refused, or `null`. */
  checkUsername(username: unknown): string | null {
    if (typeof username !== 'string') return 'username must be a string';
    const length = codePointLength(username.normalize('NFC'));
    if (length < USERNAME_MIN_LENGTH || length > USERNAME_MAX_LENGTH) {
      return `username must be ${USERNAME_MIN_LENGTH} to ${USERNAME_MAX_LENGTH} characters`;
    }
    if (!USERNAME_PATTERN.test(username)) {
      return 'username may contain only letters, digits and . _ @ + -';
    }
    return null;
  }

  /**
   * A reason the password is refused, or `null`: length in code points, the common-password
   * list, and (when given) a password that equals or contains the username.
   */
  checkPassword(password: unknown, username?: string): string | null {
    if (typeof password !== 'string') return 'password must be a string';
    if (!isWellFormedText(password)) return 'password must be valid Unicode text';
    const normalized = password.normalize('NFC');
    const length = codePointLength(normalized);
    if (length < this.password.minLength) {
      return `password must be at least ${this.password.minLength} characters`;
    }
    if (length > this.password.maxLength) {
      return `password must be at most ${this.password.maxLength} characters`;
    }
    if (username && normalized.toLowerCase().includes(username.normalize('NFC').toLowerCase())) {
      return 'password must not contain the username';
    }
    if (this.password.blockCommonPasswords && isCommonPassword(normalized)) {
      return 'password is too common; choose a less guessable one';
    }
    return null;
  }

  /** Both checks; the first reason found, or `null`. */
  check(username: unknown, password: unknown): string | null {
    return this.checkUsername(username) ?? this.checkPassword(password, username as string);
  }

  /** Throws {@link CredentialPolicyError} naming the field and the reason when the pair is refused. */
  assert(username: unknown, password: unknown): void {
    const usernameReason = this.checkUsername(username);
    if (usernameReason !== null) throw new CredentialPolicyError('username', usernameReason);
    const passwordReason = this.checkPassword(password, username as string);
    if (passwordReason !== null) throw new CredentialPolicyError('password', passwordReason);
  }
}

/** Number of Unicode code points in a string. */
export function codePointLength(value: string): number {
  let count = 0;
  for (let i = 0; i < value.length; i++) {
    const unit = value.charCodeAt(i);
    // A high surrogate followed by a low one is one code point.
    if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < value.length) {
      const next = value.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) i++;
    }
    count++;
  }
  return count;
}
