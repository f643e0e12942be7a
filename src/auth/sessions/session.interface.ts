/** A server-side session: one login on one device. */
export interface Session {
  /** Random, at least 128 bits, base64url. Carried in access tokens as `sid`. */
  id: string;
  userId: string;
  username: string;
  createdAt: Date;
  /** Last time the session was used (refresh, or an authenticated request; throttled). */
  lastSeenAt: Date;
  /** Absolute end: the session ends at this instant whatever happens. */
  expiresAt: Date;
  /** Idle timeout: the session ends when `lastSeenAt` is this many seconds in the past. */
  idleTimeoutSeconds?: number;
  /** SHA-256 (base64url) of the current refresh token. Never the token itself. */
  refreshTokenHash?: string;
  userAgent?: string;
  ip?: string;
  /**
   * How the user proved who they are at the last full authentication (login or
   * reauthentication): RFC 8176 `amr` values, `pwd` for a password, `otp` for a one-time code,
   * `hwk` for a security key. Absent: a password (`["pwd"]`), as before second factors.
   */
  amr?: string[];
  /** The last full authentication of the session (login or reauthentication). Absent: `createdAt`. */
  authTime?: Date;
}

/** The factors of a session: its `amr`, or `["pwd"]` for a session stored without one. */
export function sessionFactors(session: Pick<Session, 'amr'>): readonly string[] {
  return session.amr ?? ['pwd'];
}

/** The last full authentication of a session: its `authTime`, or `createdAt` for a session stored without one. */
export function sessionAuthTime(session: Pick<Session, 'authTime' | 'createdAt'>): Date {
  return session.authTime ?? session.createdAt;
}

/**
 * What {@link SessionStore.checkLive} answers for a live session: what an authenticated request
 * needs of it, and no more.
 */
export interface LiveSession {
  username: string;
  /** `lastSeenAt` in milliseconds since the epoch. */
  lastSeenAtMs: number;
}

/**
 * Outcome of {@link SessionStore.rotateRefreshToken}. `session` is the session as it stands
 * after the step (for `reused`: as it stood when it was ended, for the audit trail).
 */
export type RefreshRotation =
  /**
   * The presented hash was current and has been replaced by the child's; or (`grace: true`) it
   * is the predecessor presented again within the grace window while its child is current, and
   * nothing was replaced: either way the caller hands out the child.
   */
  | { status: 'rotated'; session: Session; grace?: true }
  /** A rotated-away hash outside the grace rule: the token was replayed, and the store has ended the session in the same step. */
  | { status: 'reused'; session: Session }
  /** No live session, or a hash the session never had (or has forgotten). */
  | { status: 'invalid' };

/** The instant a session ends: its absolute expiry or its idle expiry, whichever is first. */
export function sessionEndsAt(session: Pick<Session, 'expiresAt' | 'lastSeenAt' | 'idleTimeoutSeconds'>): Date {
  const idleMs = session.idleTimeoutSeconds === undefined ? undefined : session.idleTimeoutSeconds * 1000;
  return new Date(sessionEndMs(session.expiresAt.getTime(), session.lastSeenAt.getTime(), idleMs));
}

/** {@link sessionEndsAt} in epoch milliseconds, for stores that keep times as numbers. */
export function sessionEndMs(expiresAtMs: number, lastSeenAtMs: number, idleTimeoutMs: number | undefined): number {
  return idleTimeoutMs === undefined ? expiresAtMs : Math.min(expiresAtMs, lastSeenAtMs + idleTimeoutMs);
}
