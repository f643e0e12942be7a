import { createHash, randomBytes } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import type { AuthConfig } from '../../auth.config.js';
import { AUTH_CONFIG } from '../../auth.constants.js';
import { OneTimeTokenStore, type OneTimeToken } from '../../one-time-tokens/one-time-token.store.js';
import { foldEmail, type UserRecord } from '../../users/user-store.js';

/** The purposes of the flow's tokens. */
export const TokenPurpose = {
  VERIFY_EMAIL: 'email-verification',
  CHANGE_EMAIL: 'email-change',
  RESET_PASSWORD: 'password-reset',
} as const;
export type TokenPurpose = (typeof TokenPurpose)[keyof typeof TokenPurpose];

// 32 random bytes in base64url.
const TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/;

/** Issues and takes the flow's single-use tokens: 256 random bits, stored as their SHA-256 only. */
@Injectable()
export class RecoveryTokens {
  constructor(
    private readonly store: OneTimeTokenStore,
    @Inject(AUTH_CONFIG) private readonly config: AuthConfig,
  ) {}

  /** A new token for the account, bound to `subject`; with `replace`, the account's older tokens of the purpose are void. */
  async issue(purpose: TokenPurpose, userId: string, subject: string, ttlSeconds: number, replace: boolean): Promise<string> {
    const token = randomBytes(32).toString('base64url');
    await this.store.save(
      { hash: hashOf(token), purpose, userId, subject, expiresAt: this.config.clock() + ttlSeconds * 1000 },
      { replace },
    );
    return token;
  }

  /** The stored token if `token` is a live one of these purposes (it is spent by this), else `null`. */
  take(token: string, purposes: readonly TokenPurpose[]): Promise<OneTimeToken | null> {
    return TOKEN_PATTERN.test(token) ? this.store.take(hashOf(token), purposes) : Promise.resolve(null);
  }

  /** Puts a taken token back (the request it came with was refused for another reason). */
  restore(token: OneTimeToken): Promise<void> {
    return this.store.save(token, { replace: false });
  }

  revokeAll(userId: string, purpose: TokenPurpose): Promise<void> {
    return this.store.revokeAll(userId, purpose);
  }
}

/**
 * What a reset link is bound to: the password hash and the address it was asked for under, so any
 * password change and any address change void it.
 */
export function resetBinding(user: Pick<UserRecord, 'passwordHash' | 'email'>): string {
  return createHash('sha256')
    .update(`reset\n${user.passwordHash}\n${user.email ? foldEmail(user.email) : ''}`)
    .digest('hex');
}

/**
 * What an email-change link is bound to: the new address, and the password hash it was asked
 * for under, so a password change or reset (of an account someone took over) voids it.
 */
export function changeBinding(newEmail: string, passwordHash: string): string {
  return `${createHash('sha256').update(`change\n${passwordHash}`).digest('hex')}\n${newEmail}`;
}

/** The new address of an email-change link, when it is still bound to this password hash; else `null`. */
export function changedEmail(subject: string, passwordHash: string): string | null {
  const cut = subject.indexOf('\n');
  if (cut < 0) return null;
  const newEmail = subject.slice(cut + 1);
  return changeBinding(newEmail, passwordHash) === subject ? newEmail : null;
}

function hashOf(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}
