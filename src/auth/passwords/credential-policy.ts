import { CredentialPolicyError } from '../auth.errors.js';

/** Password rules. Lengths count Unicode code points, not UTF-16 units or bytes. */
export interface PasswordPolicy {
  /** Default 8, as the legacy service. */
  minLength: number;
  /** Default 128. Caps hashing cost. */
  maxLength: number;
}

/** The default password policy. */
export const DEFAULT_PASSWORD_POLICY: Readonly<PasswordPolicy> = Object.freeze({ minLength: 8, maxLength: 128 });

/** Username length bounds (code points). */
export const USERNAME_MIN_LENGTH = 3;
export const USERNAME_MAX_LENGTH = 64;
/** Absolute cap on any password input, whatever the policy: longer input is refused unhashed. */
export const PASSWORD_INPUT_MAX_LENGTH = 1024;

// Letters, marks, digits and a few separators used in handles and e-mail addresses.
const USERNAME_PATTERN = /^[\p{L}\p{M}\p{N}._@+-]+$/u;

/**
 * The one credential policy, shared by the DTOs and `AuthService`. Checks a
 * username/password pair and says what is wrong, or `null` when it is acceptable.
 */
export class CredentialPolicy {
  constructor(readonly password: Readonly<PasswordPolicy> = DEFAULT_PASSWORD_POLICY) {}

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

  /** A reason the password is refused, or `null`. */
  checkPassword(password: unknown): string | null {
    if (typeof password !== 'string') return 'password must be a string';
    const length = codePointLength(password.normalize('NFC'));
    if (length < this.password.minLength) {
      return `password must be at least ${this.password.minLength} characters`;
    }
    if (length > this.password.maxLength) {
      return `password must be at most ${this.password.maxLength} characters`;
    }
    return null;
  }

  /** Both checks; the first reason found, or `null`. */
  check(username: unknown, password: unknown): string | null {
    return this.checkUsername(username) ?? this.checkPassword(password);
  }

  /** Throws {@link CredentialPolicyError} naming the field and the reason when the pair is refused. */
  assert(username: unknown, password: unknown): void {
    const usernameReason = this.checkUsername(username);
    if (usernameReason !== null) throw new CredentialPolicyError('username', usernameReason);
    const passwordReason = this.checkPassword(password);
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
