import type { Session } from './session.interface.js';

/**
 * Where sessions live. An abstract class so it is both the contract and the DI token:
 * inject `SessionStore` by type, and pass any implementation as the `sessionStore` option.
 *
 * Every implementation must pass `describeSessionStoreContract` from `nest-warden/testing`.
 * A session whose `expiresAt` has passed must be treated as absent by every method, whether
 * or not it has been physically removed yet.
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

  /** Moves `lastSeenAt` forward. Returns `false` when the session is not live. */
  abstract touch(sessionId: string, lastSeenAt: Date): Promise<boolean>;

  /** Ends one session. Returns `true` when a live session was ended. */
  abstract delete(sessionId: string): Promise<boolean>;

  /** Ends every session of the user. Returns how many live sessions were ended. */
  abstract deleteAllForUser(userId: string): Promise<number>;

  /** The user's live sessions, oldest first. */
  abstract listForUser(userId: string): Promise<Session[]>;
}
