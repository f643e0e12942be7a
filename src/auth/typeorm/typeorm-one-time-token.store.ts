import type { OnModuleDestroy } from '@nestjs/common';
import { systemClock, type Clock } from '../clock.js';
import { OneTimeTokenStore, type OneTimeToken } from '../one-time-tokens/one-time-token.store.js';
import { SqlConnection, toNumber, type SqlTransaction, type TypeOrmStoreOptions } from './sql-connection.js';
import { SqlSweeper, type SweepOptions } from './sql-sweeper.js';

/** Options of {@link TypeOrmOneTimeTokenStore}. */
export interface TypeOrmOneTimeTokenStoreOptions extends TypeOrmStoreOptions, SweepOptions {
  /** Time source, for tests. Default `Date.now`. */
  clock?: Clock;
}

const TABLE = 'warden_one_time_tokens';
const COLUMNS = 'token_hash, purpose, user_id, subject, expires_at';
const TOKEN_HASH = /^[0-9a-f]{64}$/;
// What no UTF-8 column holds (a lone surrogate) or PostgreSQL refuses in text (NUL).
const UNSTORABLE = /[\0\p{Cs}]/u;

type Row = Record<string, unknown>;

/**
 * A {@link OneTimeTokenStore} in SQL (PostgreSQL, MySQL, MariaDB) through TypeORM, in the table
 * `warden_one_time_tokens` ({@link WardenOneTimeToken}), so every instance honours the links the
 * others sent, across restarts.
 *
 * A take is one atomic step: on PostgreSQL a `DELETE ... RETURNING`; on MySQL and MariaDB the row
 * read with `SELECT ... FOR UPDATE` and deleted in the same transaction. Of concurrent takes on
 * any number of instances exactly one gets the token. Purposes, hashes and user ids are compared
 * again in the process (MySQL collations may ignore case). Expiry compares `expires_at` with the
 * store's clock; the cleanup job removes expired rows. A `replace` deletes the user's other
 * tokens of that purpose in the transaction that inserts the new one.
 *
 * Fails closed like `TypeOrmSessionStore`: `StoreUnavailableError` within `operationTimeoutMs`.
 *
 * @example
 * ```ts
 * const oneTimeTokens = new TypeOrmOneTimeTokenStore({ dataSource });
 * ```
 */
export class TypeOrmOneTimeTokenStore extends OneTimeTokenStore implements OnModuleDestroy {
  private readonly db: SqlConnection;
  private readonly clock: Clock;
  private readonly sweeper: SqlSweeper;
  private readonly statements: ReturnType<typeof statementsFor>;

  constructor(options: TypeOrmOneTimeTokenStoreOptions) {
    super();
    this.db = new SqlConnection(TypeOrmOneTimeTokenStore.name, options);
    this.clock = options.clock ?? systemClock;
    this.statements = statementsFor(this.db);
    this.sweeper = new SqlSweeper(this.db, TABLE, 'token_hash', 'expires_at', this.clock, options);
  }

  async save(token: OneTimeToken, options: { replace: boolean }): Promise<void> {
    assertStorable(token);
    const values = [token.hash, token.purpose, token.userId, token.subject, token.expiresAt];
    const upsert = this.db.dialect === 'postgres' ? values : [...values, ...values.slice(1)];
    if (!options.replace) {
      await this.db.write(this.statements.upsert, upsert);
      return;
    }
    await this.db.transaction(async (tx: SqlTransaction) => {
      await tx.query(this.statements.revoke, [token.userId, token.userId, token.purpose, token.purpose]);
      await tx.query(this.statements.upsert, upsert);
    });
  }

  async take(hash: string, purposes: readonly string[]): Promise<OneTimeToken | null> {
    if (!Array.isArray(purposes) || !purposes.every((purpose) => typeof purpose === 'string')) {
      throw new TypeError('TypeOrmOneTimeTokenStore: purposes must be an array of strings');
    }
    // The hash comes from a link: anything else is no token, and never reaches the database.
    if (typeof hash !== 'string' || !TOKEN_HASH.test(hash)) return null;
    const wanted = [...new Set(purposes.filter((purpose) => isStorable(purpose, 64)))];
    if (wanted.length === 0) return null;
    const now = this.clock();
    let row: Row | undefined;
    if (this.db.dialect === 'postgres') {
      const statement = this.db.sql(
        `DELETE FROM ${TABLE} WHERE token_hash = ? AND purpose IN (${wanted.map(() => '?').join(', ')}) RETURNING ${COLUMNS}`,
      );
      row = (await this.db.write(statement, [hash, ...wanted])).rows[0];
    } else {
      row = await this.db.transaction(async (tx: SqlTransaction) => {
        const { rows } = await tx.query(this.statements.lock, [hash]);
        const found = rows.find((candidate) => candidate.token_hash === hash && wanted.includes(String(candidate.purpose)));
        if (found) await tx.query(this.statements.remove, [hash]);
        return found;
      });
    }
    if (!row || row.token_hash !== hash || !wanted.includes(String(row.purpose))) return null;
    const expiresAt = toNumber(row.expires_at);
    if (!(expiresAt > now)) return null;
    return { hash, purpose: String(row.purpose), userId: String(row.user_id), subject: String(row.subject), expiresAt };
  }

  async revokeAll(userId: string, purpose: string): Promise<void> {
    if (typeof userId !== 'string' || typeof purpose !== 'string') {
      throw new TypeError('TypeOrmOneTimeTokenStore: userId and purpose must be strings');
    }
    // Values save() refuses are no one's tokens: nothing to void, and nothing to ask the database.
    if (!isStorable(userId, 512) || !isStorable(purpose, 64)) return;
    await this.db.write(this.statements.revoke, [userId, userId, purpose, purpose]);
  }

  override ping(): Promise<boolean> {
    return this.db.ping();
  }

  /** Removes expired tokens now, in bounded batches; returns how many. Runs on a timer. */
  sweep(): Promise<number> {
    return this.sweeper.sweep();
  }

  onModuleDestroy(): void {
    this.sweeper.stop();
  }
}

// On MySQL and MariaDB user ids and purposes also compare as bytes, whatever the columns'
// collation (the migration makes them binary; a hand-made table may not), so "Alice"'s tokens
// are never "alice"'s.
function statementsFor(db: SqlConnection) {
  const owner =
    db.dialect === 'mysql'
      ? 'user_id = ? AND CAST(user_id AS BINARY) = CAST(? AS BINARY) AND purpose = ? AND CAST(purpose AS BINARY) = CAST(? AS BINARY)'
      : 'user_id = ? AND user_id = ? AND purpose = ? AND purpose = ?';
  return {
    upsert: db.sql(
      `INSERT INTO ${TABLE} (${COLUMNS}) VALUES (?, ?, ?, ?, ?) ` +
        (db.dialect === 'postgres'
          ? 'ON CONFLICT (token_hash) DO UPDATE SET purpose = EXCLUDED.purpose, user_id = EXCLUDED.user_id, ' +
            'subject = EXCLUDED.subject, expires_at = EXCLUDED.expires_at'
          : 'ON DUPLICATE KEY UPDATE purpose = ?, user_id = ?, subject = ?, expires_at = ?'),
    ),
    revoke: db.sql(`DELETE FROM ${TABLE} WHERE ${owner}`),
    lock: db.sql(`SELECT ${COLUMNS} FROM ${TABLE} WHERE token_hash = ? FOR UPDATE`),
    remove: db.sql(`DELETE FROM ${TABLE} WHERE token_hash = ?`),
  };
}

function isStorable(value: unknown, maxLength: number, minLength = 1): value is string {
  return typeof value === 'string' && value.length >= minLength && value.length <= maxLength && !UNSTORABLE.test(value);
}

function assertStorable(token: OneTimeToken): void {
  if (
    typeof token?.hash !== 'string' ||
    !TOKEN_HASH.test(token.hash) ||
    !isStorable(token.purpose, 64) ||
    !isStorable(token.userId, 512) ||
    !isStorable(token.subject, 1024, 0) ||
    !Number.isSafeInteger(token.expiresAt)
  ) {
    throw new TypeError(
      'TypeOrmOneTimeTokenStore: a token needs a SHA-256 hex hash, a purpose of 1-64, a userId of 1-512 and a subject of at most 1024 characters (no NUL, no lone surrogate), and expiresAt in integer milliseconds',
    );
  }
}
