import { randomBytes } from 'node:crypto';
import { DerivedKeys } from '../../tokens/derived-keys.js';
import type { KeySet } from '../../tokens/signing-keys.js';
import type { UserRecord } from '../../users/user-store.js';

/** What a login challenge's `mfaToken` says, once its MAC and expiry have been checked. */
export interface MfaLoginClaims {
  userId: string;
  deviceId: string | null;
  /** Unique per challenge: its single use is marked by it. */
  jti: string;
  expiresAt: number;
  /** The MAC of the account's password hash at the password check. */
  binding: string;
}

const MAX_TOKEN_LENGTH = 1024;

/**
 * The `mfaToken` of a login that needs a second factor: a MAC'd (HMAC-SHA256, a key derived from
 * the module's signing keys for this purpose only, so it passes nowhere else) statement of the
 * account, the device proof's id, an expiry and a binding to the password hash the password was
 * checked against, so a password change voids it. Stateless: its single use is a marker set
 * when it is redeemed. Format `<base64url JSON>.<MAC>`.
 */
export class MfaLoginTokens {
  private readonly keys: DerivedKeys;

  constructor(
    keySet: KeySet,
    private readonly ttlSeconds: number,
  ) {
    this.keys = new DerivedKeys(keySet, 'mfa-login');
  }

  /** A token for `user`, who has just given the right password, valid `ttlSeconds` from `nowMs`. */
  issue(user: Pick<UserRecord, 'id' | 'passwordHash'>, deviceId: string | null, nowMs: number): string {
    const claims = {
      u: user.id,
      d: deviceId,
      j: randomBytes(16).toString('base64url'),
      e: nowMs + this.ttlSeconds * 1000,
      b: this.binding(user),
    };
    const payload = Buffer.from(JSON.stringify(claims), 'utf8').toString('base64url');
    return `${payload}.${this.keys.mac(`mfa-login\n${payload}`)}`;
  }

  /** The claims of a well-formed, authentic, unexpired token, else `null`. */
  read(token: unknown, nowMs: number): MfaLoginClaims | null {
    if (typeof token !== 'string' || token.length > MAX_TOKEN_LENGTH) return null;
    const dot = token.indexOf('.');
    if (dot <= 0 || dot !== token.lastIndexOf('.')) return null;
    const payload = token.slice(0, dot);
    if (!this.keys.verify(`mfa-login\n${payload}`, token.slice(dot + 1))) return null;
    let parsed: unknown;
    try {
      parsed = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
    } catch {
      return null;
    }
    const { u, d, j, e, b } = (parsed ?? {}) as Record<string, unknown>;
    if (typeof u !== 'string' || (d !== null && typeof d !== 'string') || typeof j !== 'string' || typeof b !== 'string') return null;
    if (typeof e !== 'number' || !Number.isFinite(e) || e <= nowMs) return null;
    return { userId: u, deviceId: d, jti: j, expiresAt: e, binding: b };
  }

  /** Whether the token was issued for the account as it is now (same password hash). */
  matches(claims: MfaLoginClaims, user: Pick<UserRecord, 'id' | 'passwordHash'>): boolean {
    return claims.userId === user.id && this.keys.verify(`mfa-binding\n${user.id}\n${user.passwordHash}`, claims.binding);
  }

  private binding(user: Pick<UserRecord, 'id' | 'passwordHash'>): string {
    return this.keys.mac(`mfa-binding\n${user.id}\n${user.passwordHash}`);
  }
}
