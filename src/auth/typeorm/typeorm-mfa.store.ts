import type { OnModuleDestroy } from '@nestjs/common';
import { systemClock, type Clock } from '../clock.js';
import { checkMfaValues, MfaStore, type MfaState, type PendingTotp } from '../flows/mfa/mfa-store.js';
import { isUniqueViolation, SqlConnection, toNumber, type SqlTransaction, type TypeOrmStoreOptions } from './sql-connection.js';
import { SqlSweeper, type SweepOptions } from './sql-sweeper.js';

/** Options of {@link TypeOrmMfaStore}: the sweep options are those of the used-code marks' cleanup job. */
export interface TypeOrmMfaStoreOptions extends TypeOrmStoreOptions, SweepOptions {
  /** Time source, for tests. Default `Date.now`. Pending setups and used marks are judged expired on it. */
  clock?: Clock;
}

const FACTORS = 'warden_mfa_factors';
const CODES = 'warden_mfa_recovery_codes';
const MARKERS = 'warden_mfa_markers';
// Longest user id a row holds (the column's length, as in the other tables).
const MAX_USER_ID = 512;
const MAX_SECRET = 512;
const MAX_DIGEST = 128;
const MAX_MARKER = 64;
// What no UTF-8 column holds (a lone surrogate) or PostgreSQL refuses in text (NUL).
const UNSTORABLE = /[\0\p{Cs}]/u;

type Row = Record<string, unknown>;

/**
 * An {@link MfaStore} in SQL (PostgreSQL, MySQL, MariaDB) through TypeORM, in the tables
 * `warden_mfa_factors` ({@link WardenMfaFactor}: per account, the sealed secret of the factor
 * while it is on and of a pending setup), `warden_mfa_recovery_codes`
 * ({@link WardenMfaRecoveryCode}: one row per unused code digest) and `warden_mfa_markers`
 * ({@link WardenMfaMarker}: the used-code marks), so every instance sees the factors the others
 * turned on and the codes they accepted, across restarts.
 *
 * Each write is atomic, judged by the database, never by a read made before it:
 * - `enableTotp` is one transaction whose first statement, an UPDATE guarded by the pending
 *   secret, its end and no factor being on, decides (of concurrent confirmations, the one that
 *   changed the row wins); the codes are then replaced under that row's lock;
 * - `useRecoveryCode` is one DELETE of the code, guarded by the factor being on: of concurrent
 *   uses exactly one deletes the row;
 * - `replaceRecoveryCodes` and `disableTotp` lock the factor row (`SELECT ... FOR UPDATE`) and
 *   change the codes under it, so they never interleave with an `enableTotp` of the same account;
 * - `resealTotp` is a compare-and-swap UPDATE of the secret;
 * - `markUsed` is, on PostgreSQL, one `INSERT ... ON CONFLICT DO UPDATE` that replaces only an
 *   expired mark; on MySQL and MariaDB a transaction that deletes the mark if it has expired and
 *   inserts it, a duplicate key answering `false`. Either way the primary key decides: of
 *   concurrent marks exactly one is `true`. Marks outlive `disableTotp` (their own table).
 * A `find` is one SELECT (the code count a subquery of it): one consistent view.
 *
 * A pending setup is judged expired on the store's `clock` (`enableTotp` judges it at the later
 * of `enabledAt` and that clock, so a setup `find` already answers as gone is never turned on).
 * An expired setup is not swept: each account has one row at most, a newer setup overwrites it
 * and `disableTotp` removes it, and the secret in it is sealed and was never enabled. Used marks,
 * one per accepted code or challenge, are: expired ones are deleted by the cleanup job
 * (`sweepIntervalSeconds`, `sweepMaxRows`, as in the session store), and are refused by nothing
 * meanwhile (a mark's end is compared with the clock).
 *
 * User ids, secrets and digests are compared byte for byte on MySQL and MariaDB too (the
 * migration makes the columns binary; the statements compare as bytes as well, for a hand-made
 * table, whose primary keys must nonetheless be binary or case-sensitive: a case-insensitive key
 * would let "Alice"'s setup replace "alice"'s). A user id is a non-empty string (else
 * `TypeError`); one no row can hold (over 512 characters, a NUL, a lone surrogate) has nothing
 * stored: `find` answers nothing, changes answer `false`, and `savePendingTotp`, which would
 * store it, throws `TypeError`, as it does for a secret or digest no column can hold.
 *
 * Fails closed like `TypeOrmSessionStore`: `StoreUnavailableError` within `operationTimeoutMs`,
 * and `ping` answers `false`.
 *
 * @example
 * ```ts
 * mfaFlow({ store: new TypeOrmMfaStore({ dataSource }) })
 * ```
 */
export class TypeOrmMfaStore extends MfaStore implements OnModuleDestroy {
  private readonly db: SqlConnection;
  private readonly clock: Clock;
  private readonly sweeper: SqlSweeper;
  private readonly statements: ReturnType<typeof statementsFor>;

  constructor(options: TypeOrmMfaStoreOptions) {
    super();
    this.db = new SqlConnection(TypeOrmMfaStore.name, options);
    this.clock = options.clock ?? systemClock;
    this.statements = statementsFor(this.db);
    // The sweeper's key picks the rows of a batch on PostgreSQL: the table's key is a pair, so
    // the row's own address (ctid), which an update moves on (the row is then kept).
    this.sweeper = new SqlSweeper(this.db, MARKERS, 'ctid', 'expires_at', this.clock, options);
  }

  async find(userId: string): Promise<MfaState> {
    if (!holdsAccount(userId)) return { totp: null, pendingTotp: null, recoveryCodesLeft: 0 };
    const now = this.clock();
    const { rows } = await this.db.run(this.statements.find, [userId, userId, userId, userId]);
    // Compared here too: a case-insensitive collation must not answer another account's row.
    const row = rows.find((candidate) => candidate.user_id === userId);
    if (!row) return { totp: null, pendingTotp: null, recoveryCodesLeft: 0 };
    const on = row.secret !== null && row.enabled_at !== null;
    const expiresAt = row.pending_expires_at === null ? NaN : toNumber(row.pending_expires_at);
    return {
      totp: on ? { secret: String(row.secret), enabledAt: new Date(toNumber(row.enabled_at)) } : null,
      pendingTotp:
        row.pending_secret !== null && expiresAt > now ? { secret: String(row.pending_secret), expiresAt: new Date(expiresAt) } : null,
      recoveryCodesLeft: on ? toNumber(row.codes) : 0,
    };
  }

  /** One upsert of the pending columns: the factor's own columns are never written by it. */
  async savePendingTotp(userId: string, pending: PendingTotp): Promise<void> {
    checkMfaValues(TypeOrmMfaStore.name, { secret: pending.secret });
    if (!holdsAccount(userId)) throw new TypeError('TypeOrmMfaStore: a user id is at most 512 characters, without NUL or lone surrogates');
    const secret = storableSecret(pending.secret);
    const expiresAt = timeOf('expiresAt', pending.expiresAt);
    const values = [userId, secret, expiresAt];
    await this.db.write(this.statements.savePending, this.db.dialect === 'postgres' ? values : [...values, secret, expiresAt]);
  }

  async enableTotp(userId: string, pendingSecret: string, recoveryCodeDigests: readonly string[], enabledAt: Date): Promise<boolean> {
    const digests = storableDigests(recoveryCodeDigests);
    const at = timeOf('enabledAt', enabledAt);
    if (!holdsAccount(userId) || !isStorable(pendingSecret, MAX_SECRET)) return false;
    const now = Math.max(at, this.clock());
    return this.db.transaction(async (tx: SqlTransaction) => {
      const { affected } = await tx.query(this.statements.enable, [pendingSecret, at, userId, userId, pendingSecret, pendingSecret, now]);
      if (affected === 0) return false;
      await this.writeCodes(tx, userId, digests);
      return true;
    });
  }

  async disableTotp(userId: string): Promise<boolean> {
    if (!holdsAccount(userId)) return false;
    return this.db.transaction(async (tx: SqlTransaction) => {
      const row = await this.lockFactor(tx, userId);
      // No row: nothing on and nothing pending (codes only exist under an enabled factor's row).
      if (!row) return false;
      await tx.query(this.statements.deleteFactor, [userId, userId]);
      await tx.query(this.statements.deleteCodes, [userId, userId]);
      return row.secret !== null;
    });
  }

  async replaceRecoveryCodes(userId: string, digests: readonly string[]): Promise<boolean> {
    const fresh = storableDigests(digests);
    if (!holdsAccount(userId)) return false;
    return this.db.transaction(async (tx: SqlTransaction) => {
      const row = await this.lockFactor(tx, userId);
      if (!row || row.secret === null) return false;
      await this.writeCodes(tx, userId, fresh);
      return true;
    });
  }

  async useRecoveryCode(userId: string, digest: string): Promise<boolean> {
    if (!holdsAccount(userId) || !isStorable(digest, MAX_DIGEST)) return false;
    const { affected } = await this.db.write(this.statements.useCode, [userId, userId, digest, digest, userId, userId]);
    return affected > 0;
  }

  async resealTotp(userId: string, current: string, next: string): Promise<boolean> {
    checkMfaValues(TypeOrmMfaStore.name, { secret: next });
    const sealed = storableSecret(next);
    if (!holdsAccount(userId) || !isStorable(current, MAX_SECRET)) return false;
    const { affected } = await this.db.write(this.statements.reseal, [sealed, userId, userId, current, current]);
    return affected > 0;
  }

  /**
   * A mark that cannot be kept is never answered as kept: a user id no row holds, or a marker
   * with a NUL or a lone surrogate, throws `TypeError`.
   */
  async markUsed(userId: string, marker: string, expiresAt: Date): Promise<boolean> {
    checkMfaValues(TypeOrmMfaStore.name, { marker });
    if (!isStorable(marker, MAX_MARKER)) throw new TypeError('TypeOrmMfaStore: a marker holds no NUL or lone surrogate');
    const end = timeOf('expiresAt', expiresAt);
    if (!holdsAccount(userId)) throw new TypeError('TypeOrmMfaStore: a user id is at most 512 characters, without NUL or lone surrogates');
    const now = this.clock();
    if (this.db.dialect === 'postgres') {
      const { affected } = await this.db.write(this.statements.mark, [userId, marker, end, now]);
      return affected > 0;
    }
    return this.db.transaction(async (tx: SqlTransaction) => {
      await tx.query(this.statements.unmarkExpired, [userId, userId, marker, marker, now]);
      try {
        await tx.query(this.statements.mark, [userId, marker, end]);
        return true;
      } catch (error) {
        // A live mark holds the key (or another transaction's, committed first): used already.
        // MySQL undoes the statement only, and the transaction goes on.
        if (isUniqueViolation(error)) return false;
        throw error;
      }
    });
  }

  /** Removes expired used marks now, in bounded batches; returns how many. Runs on a timer. */
  sweep(): Promise<number> {
    return this.sweeper.sweep();
  }

  onModuleDestroy(): void {
    this.sweeper.stop();
  }

  override ping(): Promise<boolean> {
    return this.db.ping();
  }

  // The account's factor row, locked until the transaction ends, or undefined when it has none.
  private async lockFactor(tx: SqlTransaction, userId: string): Promise<Row | undefined> {
    const { rows } = await tx.query(this.statements.lock, [userId, userId]);
    return rows.find((candidate) => candidate.user_id === userId);
  }

  // Replaces the account's codes: called with its factor row locked, as every writer of codes is.
  private async writeCodes(tx: SqlTransaction, userId: string, digests: readonly string[]): Promise<void> {
    await tx.query(this.statements.deleteCodes, [userId, userId]);
    if (digests.length === 0) return;
    const statement = this.db.sql(`INSERT INTO ${CODES} (user_id, digest) VALUES ${digests.map(() => '(?, ?)').join(', ')}`);
    await tx.query(
      statement,
      digests.flatMap((digest) => [userId, digest]),
    );
  }
}

// On MySQL and MariaDB user ids, secrets and digests also compare as bytes, whatever the
// columns' collation (the migration makes them binary; a hand-made table may not): sealed
// secrets and digests are base64url, where case matters. The same parameters on PostgreSQL.
function statementsFor(db: SqlConnection) {
  const same = (column: string): string =>
    db.dialect === 'mysql' ? `${column} = ? AND CAST(${column} AS BINARY) = CAST(? AS BINARY)` : `${column} = ? AND ${column} = ?`;
  return {
    find: db.sql(
      `SELECT user_id, secret, enabled_at, pending_secret, pending_expires_at, ` +
        `(SELECT COUNT(*) FROM ${CODES} c WHERE ${same('c.user_id')}) AS codes FROM ${FACTORS} WHERE ${same('user_id')}`,
    ),
    savePending: db.sql(
      `INSERT INTO ${FACTORS} (user_id, pending_secret, pending_expires_at) VALUES (?, ?, ?) ` +
        (db.dialect === 'postgres'
          ? 'ON CONFLICT (user_id) DO UPDATE SET pending_secret = EXCLUDED.pending_secret, pending_expires_at = EXCLUDED.pending_expires_at'
          : 'ON DUPLICATE KEY UPDATE pending_secret = ?, pending_expires_at = ?'),
    ),
    enable: db.sql(
      `UPDATE ${FACTORS} SET secret = ?, enabled_at = ?, pending_secret = NULL, pending_expires_at = NULL ` +
        `WHERE ${same('user_id')} AND ${same('pending_secret')} AND pending_expires_at > ? AND secret IS NULL`,
    ),
    lock: db.sql(`SELECT user_id, secret FROM ${FACTORS} WHERE ${same('user_id')} FOR UPDATE`),
    deleteFactor: db.sql(`DELETE FROM ${FACTORS} WHERE ${same('user_id')}`),
    deleteCodes: db.sql(`DELETE FROM ${CODES} WHERE ${same('user_id')}`),
    // The subquery's user_id is the factor's (the innermost table's column).
    useCode: db.sql(
      `DELETE FROM ${CODES} WHERE ${same('user_id')} AND ${same('digest')} ` +
        `AND EXISTS (SELECT 1 FROM ${FACTORS} WHERE ${same('user_id')} AND secret IS NOT NULL)`,
    ),
    reseal: db.sql(`UPDATE ${FACTORS} SET secret = ? WHERE ${same('user_id')} AND ${same('secret')}`),
    // PostgreSQL: inserted, or an expired mark replaced (the UPDATE's WHERE), is one row; a live mark none.
    mark: db.sql(
      `INSERT INTO ${MARKERS} (user_id, marker, expires_at) VALUES (?, ?, ?)` +
        (db.dialect === 'postgres'
          ? ` ON CONFLICT (user_id, marker) DO UPDATE SET expires_at = EXCLUDED.expires_at WHERE ${MARKERS}.expires_at <= ?`
          : ''),
    ),
    unmarkExpired: db.sql(`DELETE FROM ${MARKERS} WHERE ${same('user_id')} AND ${same('marker')} AND expires_at <= ?`),
  };
}

function isStorable(value: unknown, maxLength: number): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= maxLength && !UNSTORABLE.test(value);
}

// Whether a row can hold this user id; throws for what is no user id at all.
function holdsAccount(userId: unknown): userId is string {
  if (typeof userId !== 'string' || userId.length === 0) throw new TypeError('TypeOrmMfaStore: userId must be a non-empty string');
  return isStorable(userId, MAX_USER_ID);
}

function storableSecret(secret: unknown): string {
  if (!isStorable(secret, MAX_SECRET)) {
    throw new TypeError('TypeOrmMfaStore: a sealed secret is 1 to 512 characters, without NUL or lone surrogates');
  }
  return secret;
}

// The digests, each once (the table's key is the pair): checked as every store checks them, and
// for what no column holds.
function storableDigests(digests: readonly string[]): string[] {
  checkMfaValues(TypeOrmMfaStore.name, { digests });
  if (!digests.every((digest) => isStorable(digest, MAX_DIGEST))) {
    throw new TypeError('TypeOrmMfaStore: a recovery-code digest holds no NUL or lone surrogate');
  }
  return [...new Set(digests)];
}

function timeOf(what: string, date: Date): number {
  const ms = date instanceof Date ? date.getTime() : NaN;
  if (!Number.isSafeInteger(ms)) throw new TypeError(`TypeOrmMfaStore: ${what} must be a valid Date`);
  return ms;
}
