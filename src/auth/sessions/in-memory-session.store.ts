import type { OnModuleDestroy } from '@nestjs/common';
import { systemClock, type Clock } from '../clock.js';
import { sessionEndMs, type LiveSession, type RefreshRotation, type Session } from './session.interface.js';
import { REFRESH_HISTORY_LENGTH, refreshGraceMs, SessionStore } from './session-store.js';

/** Options of {@link InMemorySessionStore}. */
export interface InMemorySessionStoreOptions {
  /** Time source, for tests. Default `Date.now`. */
  clock?: Clock;
  /** How often expired sessions are swept from memory. Default 60 s; 0 turns the sweeper off. */
  sweepIntervalSeconds?: number;
}

// Compact record: epoch milliseconds instead of Date objects keeps each session small.
interface Entry {
  userId: string;
  username: string;
  createdAt: number;
  lastSeenAt: number;
  expiresAt: number;
  idleTimeoutMs: number | undefined;
  refreshTokenHash: string | undefined;
  previousHashes: string[] | undefined;
  /** When the current hash replaced the last of `previousHashes`. */
  rotatedAt: number | undefined;
  userAgent: string | undefined;
  ip: string | undefined;
  amr: string[] | undefined;
  authTime: number | undefined;
}

/**
 * The default {@link SessionStore}: a `Map` in this process. Sessions are lost on restart and
 * not shared between instances; use a shared store (Redis) as soon as you run more than one.
 * Expired sessions are swept on a timer so memory stays bounded, and a per-user index makes
 * logout-all proportional to the user's own sessions. Every operation runs without awaiting
 * in between, so each is atomic on Node's single thread.
 */
export class InMemorySessionStore extends SessionStore implements OnModuleDestroy {
  private readonly sessions = new Map<string, Entry>();
  private readonly byUser = new Map<string, Set<string>>();
  private readonly clock: Clock;
  private readonly sweeper: NodeJS.Timeout | undefined;

  constructor(options: InMemorySessionStoreOptions = {}) {
    super();
    this.clock = options.clock ?? systemClock;
    const sweepSeconds = options.sweepIntervalSeconds ?? 60;
    if (!Number.isFinite(sweepSeconds) || sweepSeconds < 0) {
      throw new TypeError('InMemorySessionStore: sweepIntervalSeconds must be a number >= 0');
    }
    if (sweepSeconds > 0) {
      this.sweeper = setInterval(() => this.sweep(), sweepSeconds * 1000);
      this.sweeper.unref();
    }
  }

  /** Number of sessions held in memory, expired ones not yet swept included. */
  get size(): number {
    return this.sessions.size;
  }

  async create(session: Session): Promise<void> {
    if (this.sessions.has(session.id)) {
      throw new Error('InMemorySessionStore: duplicate session id');
    }
    this.sessions.set(session.id, {
      userId: session.userId,
      username: session.username,
      createdAt: session.createdAt.getTime(),
      lastSeenAt: session.lastSeenAt.getTime(),
      expiresAt: session.expiresAt.getTime(),
      idleTimeoutMs: session.idleTimeoutSeconds === undefined ? undefined : session.idleTimeoutSeconds * 1000,
      refreshTokenHash: session.refreshTokenHash,
      previousHashes: undefined,
      rotatedAt: undefined,
      userAgent: session.userAgent,
      ip: session.ip,
      amr: session.amr === undefined ? undefined : [...session.amr],
      authTime: session.authTime?.getTime(),
    });
    let ids = this.byUser.get(session.userId);
    if (!ids) {
      ids = new Set();
      this.byUser.set(session.userId, ids);
    }
    ids.add(session.id);
  }

  async get(sessionId: string): Promise<Session | null> {
    const entry = this.live(sessionId);
    return entry ? toSession(sessionId, entry) : null;
  }

  // Answers synchronously: the guard then needs no promise for a request.
  override checkLive(sessionId: string, userId: string): LiveSession | null {
    const entry = this.live(sessionId);
    return entry && entry.userId === userId ? { username: entry.username, lastSeenAtMs: entry.lastSeenAt } : null;
  }

  async touch(sessionId: string, lastSeenAt: Date): Promise<boolean> {
    const entry = this.live(sessionId);
    if (!entry) return false;
    entry.lastSeenAt = Math.max(entry.lastSeenAt, lastSeenAt.getTime());
    return true;
  }

  async rotateRefreshToken(
    sessionId: string,
    presentedHash: string,
    nextHash: string,
    now: Date,
    graceSeconds = 0,
  ): Promise<RefreshRotation> {
    const windowMs = refreshGraceMs(graceSeconds);
    // From here on nothing awaits: the answer and its writes are one step.
    const entry = this.live(sessionId);
    if (!entry || entry.refreshTokenHash === undefined) return { status: 'invalid' };
    const nowMs = now.getTime();
    if (entry.refreshTokenHash === presentedHash) {
      const history = entry.previousHashes ?? [];
      history.push(presentedHash);
      if (history.length > REFRESH_HISTORY_LENGTH) history.shift();
      entry.previousHashes = history;
      entry.refreshTokenHash = nextHash;
      entry.rotatedAt = nowMs;
      entry.lastSeenAt = Math.max(entry.lastSeenAt, nowMs);
      return { status: 'rotated', session: toSession(sessionId, entry) };
    }
    const history = entry.previousHashes;
    if (!history?.includes(presentedHash)) return { status: 'invalid' };
    if (
      windowMs > 0 &&
      presentedHash === history.at(-1) &&
      entry.refreshTokenHash === nextHash &&
      entry.rotatedAt !== undefined &&
      nowMs - entry.rotatedAt <= windowMs
    ) {
      // The token just rotated away, again, within the window: its child, which is current.
      entry.lastSeenAt = Math.max(entry.lastSeenAt, nowMs);
      return { status: 'rotated', session: toSession(sessionId, entry), grace: true };
    }
    // Reuse: the session ends in this same step, as delete() ends it.
    const session = toSession(sessionId, entry);
    this.remove(sessionId);
    return { status: 'reused', session };
  }

  override async recordAuthentication(sessionId: string, userId: string, amr: readonly string[], authTime: Date): Promise<Session | null> {
    const entry = this.live(sessionId);
    if (!entry || entry.userId !== userId) return null;
    entry.amr = [...amr];
    entry.authTime = authTime.getTime();
    return toSession(sessionId, entry);
  }

  async delete(sessionId: string): Promise<boolean> {
    const live = this.live(sessionId) !== undefined;
    this.remove(sessionId);
    return live;
  }

  async deleteAllForUser(userId: string, exceptSessionId?: string): Promise<number> {
    const ids = this.byUser.get(userId);
    if (!ids) return 0;
    let ended = 0;
    for (const id of [...ids]) {
      if (id === exceptSessionId) continue;
      if (this.live(id)) ended++;
      this.remove(id);
    }
    return ended;
  }

  async listForUser(userId: string): Promise<Session[]> {
    const ids = this.byUser.get(userId);
    if (!ids) return [];
    const sessions: Session[] = [];
    for (const id of [...ids]) {
      const entry = this.live(id);
      if (entry) sessions.push(toSession(id, entry));
    }
    return sessions.sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime());
  }

  /** Removes every expired or idle session now. Runs on a timer; callable directly. */
  sweep(): number {
    const now = this.clock();
    let removed = 0;
    for (const [id, entry] of this.sessions) {
      if (!isLive(entry, now)) {
        this.remove(id);
        removed++;
      }
    }
    return removed;
  }

  onModuleDestroy(): void {
    if (this.sweeper) clearInterval(this.sweeper);
  }

  private live(sessionId: string): Entry | undefined {
    const entry = this.sessions.get(sessionId);
    if (!entry) return undefined;
    if (!isLive(entry, this.clock())) {
      this.remove(sessionId);
      return undefined;
    }
    return entry;
  }

  private remove(sessionId: string): void {
    const entry = this.sessions.get(sessionId);
    if (!entry) return;
    this.sessions.delete(sessionId);
    const ids = this.byUser.get(entry.userId);
    if (ids) {
      ids.delete(sessionId);
      if (ids.size === 0) this.byUser.delete(entry.userId);
    }
  }
}

function isLive(entry: Entry, now: number): boolean {
  return sessionEndMs(entry.expiresAt, entry.lastSeenAt, entry.idleTimeoutMs) > now;
}

function toSession(id: string, entry: Entry): Session {
  const session: Session = {
    id,
    userId: entry.userId,
    username: entry.username,
    createdAt: new Date(entry.createdAt),
    lastSeenAt: new Date(entry.lastSeenAt),
    expiresAt: new Date(entry.expiresAt),
  };
  if (entry.idleTimeoutMs !== undefined) session.idleTimeoutSeconds = entry.idleTimeoutMs / 1000;
  if (entry.refreshTokenHash !== undefined) session.refreshTokenHash = entry.refreshTokenHash;
  if (entry.userAgent !== undefined) session.userAgent = entry.userAgent;
  if (entry.ip !== undefined) session.ip = entry.ip;
  if (entry.amr !== undefined) session.amr = [...entry.amr];
  if (entry.authTime !== undefined) session.authTime = new Date(entry.authTime);
  return session;
}
