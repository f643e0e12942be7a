import { createHash, randomBytes } from 'node:crypto';
import type { DerivedKeys } from './derived-keys.js';

/** Bytes of randomness in a refresh token's secret part (256 bits). */
export const REFRESH_TOKEN_BYTES = 32;

// "<session id>.<secret>", both base64url. Two parts, so it can never pass for a JWS (three).
const REFRESH_TOKEN = /^([A-Za-z0-9_-]{16,64})\.([A-Za-z0-9_-]{43})$/;

/** A new refresh token and the hash to store. */
export interface IssuedRefreshToken {
  token: string;
  hash: string;
}

/** Makes an opaque refresh token bound to a session. Only its hash is ever stored. */
export function issueRefreshToken(sessionId: string): IssuedRefreshToken {
  const token = `${sessionId}.${randomBytes(REFRESH_TOKEN_BYTES).toString('base64url')}`;
  return { token, hash: hashRefreshToken(token) };
}

/**
 * The child of a presented refresh token: `<session id>.<MAC of the presented token>`, under the
 * `refresh-child` key. Deterministic, so the same token presented twice (two tabs) yields the
 * same child; only the server can compute it, and nothing more is stored. Its `hash` is what
 * `SessionStore.rotateRefreshToken` takes as `nextHash`.
 *
 * @param presentedToken a token that {@link parseRefreshToken} accepted; anything else is a
 *   caller mistake (`TypeError`).
 */
export function deriveChildRefreshToken(presentedToken: string, keys: DerivedKeys): IssuedRefreshToken {
  const match = typeof presentedToken === 'string' ? REFRESH_TOKEN.exec(presentedToken) : null;
  if (!match) throw new TypeError('deriveChildRefreshToken: presentedToken must be a well-formed refresh token');
  const token = `${match[1]!}.${keys.mac(presentedToken)}`;
  return { token, hash: hashRefreshToken(token) };
}

/** The session id and stored-hash form of a presented refresh token, or `null` when malformed. */
export function parseRefreshToken(token: unknown): { sessionId: string; hash: string } | null {
  if (typeof token !== 'string') return null;
  const match = REFRESH_TOKEN.exec(token);
  return match ? { sessionId: match[1]!, hash: hashRefreshToken(token) } : null;
}

// A refresh token carries 256 random bits, so a plain SHA-256 is a safe storage form.
function hashRefreshToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('base64url');
}
