import { describeSessionStoreContract } from '../testing/session-store.contract.js';
import { InMemorySessionStore } from './in-memory-session.store.js';
import type { RefreshRotation, Session } from './session.interface.js';
import { SessionStore } from './session-store.js';

// A store that keeps SessionStore's default checkLive (through get), as a custom store would.
class DefaultCheckStore extends SessionStore {
  constructor(private readonly inner: InMemorySessionStore) {
    super();
  }
  create(session: Session): Promise<void> {
    return this.inner.create(session);
  }
  get(sessionId: string): Promise<Session | null> {
    return this.inner.get(sessionId);
  }
  touch(sessionId: string, lastSeenAt: Date): Promise<boolean> {
    return this.inner.touch(sessionId, lastSeenAt);
  }
  rotateRefreshToken(
    sessionId: string,
    presentedHash: string,
    nextHash: string,
    now: Date,
    graceSeconds?: number,
  ): Promise<RefreshRotation> {
    return this.inner.rotateRefreshToken(sessionId, presentedHash, nextHash, now, graceSeconds);
  }
  override recordAuthentication(sessionId: string, userId: string, amr: readonly string[], authTime: Date): Promise<Session | null> {
    return this.inner.recordAuthentication(sessionId, userId, amr, authTime);
  }
  delete(sessionId: string): Promise<boolean> {
    return this.inner.delete(sessionId);
  }
  deleteAllForUser(userId: string, exceptSessionId?: string): Promise<number> {
    return this.inner.deleteAllForUser(userId, exceptSessionId);
  }
  listForUser(userId: string): Promise<Session[]> {
    return this.inner.listForUser(userId);
  }
}

// InMemorySessionStore and RedisSessionStore run the contract, checkLive included, in their own
// specs; this one holds SessionStore's default checkLive to it.
describeSessionStoreContract(
  'SessionStore with the default checkLive (through get)',
  ({ clock }) => new DefaultCheckStore(new InMemorySessionStore({ clock: clock.now, sweepIntervalSeconds: 0 })),
);
