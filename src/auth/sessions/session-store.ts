import { randomBytes } from 'node:crypto';
import type { LiveSession, RefreshRotation, Session } from './session.interface.js';

/** How many rotated-away refresh-token hashes a store remembers per session for reuse detection. */
export const REFRESH_HISTORY_LENGTH = 8;

/** `graceSeconds` of {@link SessionStore.rotateRefreshToken} in milliseconds, checked. */
export function refreshGraceMs(graceSeconds: number): number {
  if (typeof graceSeconds !== 'number' || !Number.isFinite(graceSeconds) || graceSeconds < 0) {
    throw new TypeError('rotateRefreshToken: graceSeconds must be a finite number >= 0');
  }
  return graceSeconds * 1000;
}

/**
 * Where sessions live. An abstract class so it is both the contract and the DI token:
 * inject `SessionStore` by type, and pass any implementation as the `sessionStore` option.
 *
 * Every implementation must pass `describeSessionStoreContract` from `nestjs-warden/testing`.
 * A session is live until `expiresAt`, and, when it has `idleTimeoutSeconds`, until
 * `lastSeenAt + idleTimeoutSeconds`; every method treats a session past either as absent,
 * whether or not it has been physically removed yet.
 *
 * @example
 * ```ts
 * class MySessionStore extends SessionStore { ... }
 * AuthModule.forRoot({ secret, sessionStore: new MySessionStore() })
 * ```
 */
export abstract class SessionStore {
  /** Stores a new session. Its `id` is chosen by the caller and is unique. */
  abstract create(session: Session): Promise<void>;

  /** The live session with this id, or `null` when unknown, deleted or expired. */
  abstract get(sessionId: string): Promise<Session | null>;

  /**
   * The check made on every authenticated request: when the session is live and belongs to
   * `userId`, its username and `lastSeenAt`; otherwise `null`. It must read the store on every
   * call (a logout on any instance takes effect at once), and, being on every request, should
   * cost one cheap read: stores override this default, which goes through {@link get}. A store
   * that can answer without waiting may return the answer itself rather than a promise.
   */
  checkLive(sessionId: string, userId: string): LiveSession | null | Promise<LiveSession | null> {
    return this.get(sessionId).then((session) =>
      session && session.userId === userId ? { username: session.username, lastSeenAtMs: session.lastSeenAt.getTime() } : null,
    );
  }

  /** Moves `lastSeenAt` forward (never back). Returns `false` when the session is not live. */
  abstract touch(sessionId: string, lastSeenAt: Date): Promise<boolean>;

  /**
   * One atomic refresh step: the answer and every write it implies happen together, even with
   * concurrent calls from other processes. `nextHash` must be the hash of the presented token's
   * child (`deriveChildRefreshToken`), which is derived from the presented token, so presenting
   * one token twice gives one child.
   * - `presentedHash` is current: it is replaced by `nextHash` (compare-and-swap: of concurrent
   *   calls exactly one replaces it), remembered as the predecessor with `now` as its rotation
   *   time and pushed into the history, and `lastSeenAt` moves to `now`: `rotated`.
   * - `presentedHash` is the predecessor, `now` is at most `graceSeconds` after its rotation
   *   time, and the current hash is `nextHash` (its child): `rotated` with `grace: true`, nothing
   *   replaced and the window not extended, so concurrent tabs all end up on the same token.
   * - any other of the last {@link REFRESH_HISTORY_LENGTH} rotated-away hashes, the predecessor
   *   after the window, or any of them with `graceSeconds` 0: reuse. The session ends in this
   *   same step, exactly as {@link delete} ends it (no second call that could fail or race), and
   *   the answer is `reused` with the session as it was.
   * - no live session, or any other hash: `invalid`, and nothing changes.
   *
   * @param now the instant of the request; rotation times and the window are measured with it.
   * @param graceSeconds how long the predecessor may come back. Default 0: strict, any rotated-away
   *   hash is reuse. Not a finite number >= 0: `TypeError`.
   */
  abstract rotateRefreshToken(
    sessionId: string,
    presentedHash: string,
    nextHash: string,
    now: Date,
    graceSeconds?: number,
  ): Promise<RefreshRotation>;

  /**
   * Records a new full authentication of a live session (a reauthentication): its `amr` and
   * `authTime` are replaced in one step, and nothing else changes (not its expiry, not its
   * refresh token). Returns the session as it now stands, or `null` when no live session
   * `sessionId` belongs to `userId`. Stores written before second factors lack it: the default
   * throws, and only `POST /auth/reauthenticate` needs it.
   */
  recordAuthentication(sessionId: string, userId: string, amr: readonly string[], authTime: Date): Promise<Session | null> {
    void sessionId;
    void userId;
    void amr;
    void authTime;
    return Promise.reject(new TypeError(`${this.constructor.name} does not implement SessionStore.recordAuthentication`));
  }

  /** Ends one session. Returns `true` when a live session was ended. */
  abstract delete(sessionId: string): Promise<boolean>;

  /** Ends every session of the user, except `exceptSessionId` if given. Returns how many live sessions were ended. */
  abstract deleteAllForUser(userId: string, exceptSessionId?: string): Promise<number>;

  /** The user's live sessions, oldest first. */
  abstract listForUser(userId: string): Promise<Session[]>;

  /**
   * A new session id for the user: at least 128 random bits, base64url. Stores that shard by
   * user (Redis Cluster) override it to embed a routing tag; the random part must stay.
   */
  generateSessionId(_userId: string): string {
    return randomBytes(16).toString('base64url');
  }

  /** Whether the backing storage answers. Reported by health checks. Default `true`. */
  async ping(): Promise<boolean> {
    return true;
  }
}
