import type { OnModuleDestroy } from '@nestjs/common';
import { systemClock, type Clock } from '../clock.js';
import { sessionEndMs, type LiveSession, type RefreshRotation, type Session } from '../sessions/session.interface.js';
import { REFRESH_HISTORY_LENGTH, refreshGraceMs, SessionStore } from '../sessions/session-store.js';
import { isUniqueViolation, SqlConnection, toNumber, type SqlTransaction, type TypeOrmStoreOptions } from './sql-connection.js';
import { SqlSweeper, type SweepOptions } from './sql-sweeper.js';

/** Options of {@link TypeOrmSessionStore}. */
export interface TypeOrmSessionStoreOptions extends TypeOrmStoreOptions, SweepOptions {
  /** Time source, for tests. Default `Date.now`. */
  clock?: Clock;
}

// Most sessions checked by one SELECT.
const MAX_CHECK_BATCH = 256;
const SESSION_ID = /^[A-Za-z0-9_-]{1,64}$/;
const COLUMNS =
  'id, user_id, username, created_at, last_seen_at, expires_at, idle_timeout_ms, refresh_token_hash, previous_hashes, rotated_at, ' +
  'user_agent, ip, amr, auth_time';
// Most characters of the `amr` column: the values, space separated.
const MAX_AMR_LENGTH = 128;
// What no UTF-8 column holds (a lone surrogate) or PostgreSQL refuses in text (NUL).
const UNSTORABLE = /[\0\p{Cs}]/u;

type Row = Record<string, unknown>;

/** Liveness checks waiting for the next turn of the event loop. */
class CheckBatch {
  readonly ids: string[] = [];
  reply!: Promise<Map<string, Row>>;
  resolve!: (rows: Map<string, Row>) => void;
  reject!: (error: unknown) => void;
  constructor() {
    this.reply = new Promise((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
  }
}

/**
 * A {@link SessionStore} in SQL (PostgreSQL, MySQL, MariaDB) through TypeORM, in the table
 * `warden_sessions` ({@link WardenSession}): sessions outlive restarts and are shared by every
 * instance on the database.
 *
 * Each session is one row whose `ends_at` (its absolute or idle end) every statement compares
 * with the current time, so an expired row never counts as live, whenever the cleanup job
 * removes it. A refresh rotation is one transaction over the row, locked (`SELECT ... FOR
 * UPDATE`): of concurrent rotations on any number of instances exactly one replaces the hash.
 * Deletes and touches are single conditional statements; a reauthentication
 * (`recordAuthentication`) is one conditional UPDATE of `amr` and `auth_time` and the read of the
 * row it changed, in one transaction. The per-request check is one
 * `SELECT ... WHERE id IN (...)` for all the checks made in the same turn of the event loop.
 *
 * When the database cannot be reached, every method throws `StoreUnavailableError` (503
 * `AUTH_STORE_UNAVAILABLE`) within `operationTimeoutMs`: nothing is let through, and the pool
 * reconnects by itself.
 *
 * @example
 * ```ts
 * AuthModule.forRootAsync({
 *   inject: [DataSource],
 *   useFactory: (dataSource: DataSource) => ({ secret, sessionStore: new TypeOrmSessionStore({ dataSource }) }),
 * })
 * ```
 */
export class TypeOrmSessionStore extends SessionStore implements OnModuleDestroy {
  private readonly db: SqlConnection;
  private readonly clock: Clock;
  private readonly sweeper: SqlSweeper;
  private pending: CheckBatch | undefined;
  private readonly statements: ReturnType<typeof statementsFor>;

  constructor(options: TypeOrmSessionStoreOptions) {
    super();
    this.db = new SqlConnection(TypeOrmSessionStore.name, options);
    this.clock = options.clock ?? systemClock;
    this.statements = statementsFor(this.db);
    this.sweeper = new SqlSweeper(this.db, 'warden_sessions', 'id', 'ends_at', this.clock, options);
  }

  async create(session: Session): Promise<void> {
    if (!SESSION_ID.test(session.id)) throw new TypeError('TypeOrmSessionStore: session ids must be 1-64 base64url characters');
    const idleMs = session.idleTimeoutSeconds === undefined ? null : session.idleTimeoutSeconds * 1000;
    const createdAt = session.createdAt.getTime();
    const lastSeenAt = session.lastSeenAt.getTime();
    const expiresAt = session.expiresAt.getTime();
    const amr = session.amr === undefined ? null : encodeAmr(session.amr);
    const authTime = session.authTime === undefined ? null : timeOf('authTime', session.authTime);
    try {
      await this.db.write(
        this.statements.insert,
        [
          session.id,
          session.userId,
          session.username,
          createdAt,
          lastSeenAt,
          expiresAt,
          idleMs,
          sessionEndMs(expiresAt, lastSeenAt, idleMs ?? undefined),
          session.refreshTokenHash ?? null,
          null,
          null,
          session.userAgent ?? null,
          session.ip ?? null,
          amr,
          authTime,
        ],
        isUniqueViolation,
      );
    } catch (error) {
      if (isUniqueViolation(error)) throw new Error('TypeOrmSessionStore: duplicate session id', { cause: error });
      throw error;
    }
  }

  async get(sessionId: string): Promise<Session | null> {
    if (!SESSION_ID.test(sessionId)) return null;
    const { rows } = await this.db.run(this.statements.get, [sessionId, this.clock()]);
    const row = rows.find((candidate) => candidate.id === sessionId);
    return row ? toSession(row) : null;
  }

  /**
   * One read per call, as the contract requires, but the reads of all calls made in the same
   * turn of the event loop travel together: one SELECT for up to 256 sessions, sent in the
   * next turn. Nothing is cached: every call is answered by a read sent after it was made.
   */
  override checkLive(sessionId: string, userId: string): Promise<LiveSession | null> | null {
    if (!SESSION_ID.test(sessionId)) return null;
    let batch = this.pending;
    if (batch === undefined) {
      const created = new CheckBatch();
      batch = created;
      this.pending = created;
      setImmediate(() => this.sendChecks(created));
    }
    batch.ids.push(sessionId);
    if (batch.ids.length === MAX_CHECK_BATCH) this.sendChecks(batch);
    return batch.reply.then((rows) => {
      const row = rows.get(sessionId);
      // Compared here too: a case-insensitive collation must not match another id or user.
      if (!row || row.user_id !== userId) return null;
      return { username: String(row.username), lastSeenAtMs: toNumber(row.last_seen_at) };
    });
  }

  async touch(sessionId: string, lastSeenAt: Date): Promise<boolean> {
    if (!SESSION_ID.test(sessionId)) return false;
    const at = lastSeenAt.getTime();
    const { affected } = await this.db.write(this.statements.touch, [at, at, sessionId, this.clock()]);
    return affected > 0;
  }

  async rotateRefreshToken(
    sessionId: string,
    presentedHash: string,
    nextHash: string,
    now: Date,
    graceSeconds = 0,
  ): Promise<RefreshRotation> {
    const windowMs = refreshGraceMs(graceSeconds);
    if (!SESSION_ID.test(sessionId)) return { status: 'invalid' };
    const nowMs = now.getTime();
    const clockMs = this.clock();
    return this.db.transaction(async (tx: SqlTransaction): Promise<RefreshRotation> => {
      const { rows } = await tx.query(this.statements.lock, [sessionId, clockMs]);
      const row = rows.find((candidate) => candidate.id === sessionId);
      if (!row || row.refresh_token_hash === null) return { status: 'invalid' };
      const session = toSession(row);
      const history = row.previous_hashes === null ? [] : String(row.previous_hashes).split(' ');
      const lastSeenAtMs = Math.max(session.lastSeenAt.getTime(), nowMs);
      if (row.refresh_token_hash === presentedHash) {
        history.push(presentedHash);
        if (history.length > REFRESH_HISTORY_LENGTH) history.shift();
        await tx.query(this.statements.rotate, [nextHash, history.join(' '), nowMs, lastSeenAtMs, lastSeenAtMs, sessionId]);
        return { status: 'rotated', session: { ...session, refreshTokenHash: nextHash, lastSeenAt: new Date(lastSeenAtMs) } };
      }
      if (!history.includes(presentedHash)) return { status: 'invalid' };
      const rotatedAt = row.rotated_at === null ? undefined : toNumber(row.rotated_at);
      if (
        windowMs > 0 &&
        presentedHash === history.at(-1) &&
        row.refresh_token_hash === nextHash &&
        rotatedAt !== undefined &&
        nowMs - rotatedAt <= windowMs
      ) {
        // The token just rotated away, again, within the window: its child, which is current.
        await tx.query(this.statements.seen, [lastSeenAtMs, lastSeenAtMs, sessionId]);
        return { status: 'rotated', session: { ...session, lastSeenAt: new Date(lastSeenAtMs) }, grace: true };
      }
      // Reuse: the session ends in this same step, as delete() ends it.
      await tx.query(this.statements.remove, [sessionId]);
      return { status: 'reused', session };
    });
  }

  /**
   * One transaction: the UPDATE of `amr` and `auth_time`, guarded as every write here (the id,
   * the owner compared byte for byte, `ends_at` after the store's clock), decides; the row it
   * changed, still locked by it, is then read back, so the answer is the session as it stands.
   */
  override async recordAuthentication(sessionId: string, userId: string, amr: readonly string[], authTime: Date): Promise<Session | null> {
    const encoded = encodeAmr(amr);
    const at = timeOf('authTime', authTime);
    if (typeof userId !== 'string') throw new TypeError('TypeOrmSessionStore: userId must be a string');
    if (!SESSION_ID.test(sessionId)) return null;
    const now = this.clock();
    return this.db.transaction(async (tx: SqlTransaction): Promise<Session | null> => {
      const { affected } = await tx.query(this.statements.authenticate, [encoded, at, sessionId, userId, userId, now]);
      if (affected === 0) return null;
      const { rows } = await tx.query(this.statements.read, [sessionId]);
      const row = rows.find((candidate) => candidate.id === sessionId);
      return row ? toSession(row) : null;
    });
  }

  async delete(sessionId: string): Promise<boolean> {
    if (!SESSION_ID.test(sessionId)) return false;
    const { affected } = await this.db.write(this.statements.delete, [sessionId, this.clock()]);
    return affected > 0;
  }

  async deleteAllForUser(userId: string, exceptSessionId?: string): Promise<number> {
    const now = this.clock();
    const { affected } =
      exceptSessionId === undefined
        ? await this.db.write(this.statements.deleteAll, [userId, userId, now])
        : await this.db.write(this.statements.deleteAllBut, [userId, userId, now, exceptSessionId]);
    return affected;
  }

  async listForUser(userId: string): Promise<Session[]> {
    const { rows } = await this.db.run(this.statements.list, [userId, userId, this.clock()]);
    return rows.filter((row) => row.user_id === userId).map(toSession);
  }

  override ping(): Promise<boolean> {
    return this.db.ping();
  }

  /** Removes expired sessions now, in bounded batches; returns how many. Runs on a timer. */
  sweep(): Promise<number> {
    return this.sweeper.sweep();
  }

  onModuleDestroy(): void {
    this.sweeper.stop();
  }

  private sendChecks(batch: CheckBatch): void {
    if (this.pending !== batch) return;
    this.pending = undefined;
    const ids = [...new Set(batch.ids)];
    const statement = this.db.sql(
      `SELECT id, user_id, username, last_seen_at FROM warden_sessions WHERE id IN (${ids.map(() => '?').join(', ')}) AND ends_at > ?`,
    );
    this.db.run(statement, [...ids, this.clock()]).then(
      ({ rows }) => batch.resolve(new Map(rows.filter((row) => typeof row.id === 'string').map((row) => [row.id as string, row]))),
      (error: unknown) => batch.reject(error),
    );
  }
}

// On MySQL and MariaDB a user id also compares as bytes, whatever the column's collation
// (the migrations make it binary; a hand-made table may not be), so "alice" never ends "Alice"'s sessions.
function statementsFor(db: SqlConnection) {
  const userIs = db.dialect === 'mysql' ? 'user_id = ? AND CAST(user_id AS BINARY) = CAST(? AS BINARY)' : 'user_id = ? AND user_id = ?';
  const endsAfterTouch = 'CASE WHEN idle_timeout_ms IS NULL THEN expires_at ELSE LEAST(expires_at, ? + idle_timeout_ms) END';
  return {
    insert: db.sql(
      'INSERT INTO warden_sessions (id, user_id, username, created_at, last_seen_at, expires_at, idle_timeout_ms, ends_at, ' +
        'refresh_token_hash, previous_hashes, rotated_at, user_agent, ip, amr, auth_time) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
    ),
    get: db.sql(`SELECT ${COLUMNS} FROM warden_sessions WHERE id = ? AND ends_at > ?`),
    lock: db.sql(`SELECT ${COLUMNS} FROM warden_sessions WHERE id = ? AND ends_at > ? FOR UPDATE`),
    // ends_at first: MySQL assigns left to right, and it must see the old last_seen_at.
    touch: db.sql(
      `UPDATE warden_sessions SET ends_at = ${endsAfterTouch.replace('?', 'GREATEST(last_seen_at, ?)')}, last_seen_at = GREATEST(last_seen_at, ?) WHERE id = ? AND ends_at > ?`,
    ),
    rotate: db.sql(
      `UPDATE warden_sessions SET refresh_token_hash = ?, previous_hashes = ?, rotated_at = ?, ends_at = ${endsAfterTouch}, last_seen_at = ? WHERE id = ?`,
    ),
    seen: db.sql(`UPDATE warden_sessions SET ends_at = ${endsAfterTouch}, last_seen_at = ? WHERE id = ?`),
    authenticate: db.sql(`UPDATE warden_sessions SET amr = ?, auth_time = ? WHERE id = ? AND ${userIs} AND ends_at > ?`),
    read: db.sql(`SELECT ${COLUMNS} FROM warden_sessions WHERE id = ?`),
    remove: db.sql('DELETE FROM warden_sessions WHERE id = ?'),
    delete: db.sql('DELETE FROM warden_sessions WHERE id = ? AND ends_at > ?'),
    deleteAll: db.sql(`DELETE FROM warden_sessions WHERE ${userIs} AND ends_at > ?`),
    deleteAllBut: db.sql(`DELETE FROM warden_sessions WHERE ${userIs} AND ends_at > ? AND id <> ?`),
    list: db.sql(`SELECT ${COLUMNS} FROM warden_sessions WHERE ${userIs} AND ends_at > ? ORDER BY created_at, id`),
  };
}

function toSession(row: Row): Session {
  const session: Session = {
    id: String(row.id),
    userId: String(row.user_id),
    username: String(row.username),
    createdAt: new Date(toNumber(row.created_at)),
    lastSeenAt: new Date(toNumber(row.last_seen_at)),
    expiresAt: new Date(toNumber(row.expires_at)),
  };
  if (row.idle_timeout_ms !== null) session.idleTimeoutSeconds = toNumber(row.idle_timeout_ms) / 1000;
  if (row.refresh_token_hash !== null) session.refreshTokenHash = String(row.refresh_token_hash);
  if (row.user_agent !== null) session.userAgent = String(row.user_agent);
  if (row.ip !== null) session.ip = String(row.ip);
  if (row.amr !== null) session.amr = row.amr === '' ? [] : String(row.amr).split(' ');
  if (row.auth_time !== null) session.authTime = new Date(toNumber(row.auth_time));
  return session;
}

// The `amr` column: the values joined by a space, which is why none may hold whitespace (nor be
// empty, which would read back as another list). An empty list is the empty string.
function encodeAmr(amr: readonly string[]): string {
  if (
    !Array.isArray(amr) ||
    !amr.every((value) => typeof value === 'string' && value.length > 0 && !/\s/.test(value) && !UNSTORABLE.test(value)) ||
    amr.join(' ').length > MAX_AMR_LENGTH
  ) {
    throw new TypeError(
      `TypeOrmSessionStore: amr must be an array of non-empty values without whitespace, at most ${MAX_AMR_LENGTH} characters joined by spaces`,
    );
  }
  return amr.join(' ');
}

function timeOf(what: string, date: Date): number {
  const ms = date instanceof Date ? date.getTime() : NaN;
  if (!Number.isSafeInteger(ms)) throw new TypeError(`TypeOrmSessionStore: ${what} must be a valid Date`);
  return ms;
}
