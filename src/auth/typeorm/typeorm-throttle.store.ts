import { createHash } from 'node:crypto';
import type { OnModuleDestroy } from '@nestjs/common';
import { systemClock, type Clock } from '../clock.js';
import { ThrottleStore, type ThrottleCount } from '../throttle/throttle-store.js';
import { SqlConnection, toNumber, type SqlTransaction, type TypeOrmStoreOptions } from './sql-connection.js';
import { SqlSweeper, type SweepOptions } from './sql-sweeper.js';

/** Options of {@link TypeOrmThrottleStore}. */
export interface TypeOrmThrottleStoreOptions extends TypeOrmStoreOptions, SweepOptions {
  /** Time source, for tests. Default `Date.now`. */
  clock?: Clock;
}

type Row = Record<string, unknown>;

/**
 * A {@link ThrottleStore} in SQL through TypeORM, in `warden_throttle_counters`
 * ({@link WardenThrottleCounter}), so every instance counts the same failures. A hit is one
 * upsert that opens a new window when the old one has ended (PostgreSQL: `INSERT ... ON CONFLICT
 * ... RETURNING`; MySQL and MariaDB: `INSERT ... ON DUPLICATE KEY UPDATE` and its read in one
 * transaction), so concurrent hits are never lost. Keys are stored as SHA-256 hashes: they hold
 * usernames and addresses. Fails closed like `TypeOrmSessionStore`.
 */
export class TypeOrmThrottleStore extends ThrottleStore implements OnModuleDestroy {
  private readonly db: SqlConnection;
  private readonly clock: Clock;
  private readonly sweeper: SqlSweeper;
  private readonly statements: ReturnType<typeof statementsFor>;

  constructor(options: TypeOrmThrottleStoreOptions) {
    super();
    this.db = new SqlConnection(TypeOrmThrottleStore.name, options);
    this.clock = options.clock ?? systemClock;
    this.statements = statementsFor(this.db);
    this.sweeper = new SqlSweeper(this.db, 'warden_throttle_counters', 'key_hash', 'window_ends_at', this.clock, options);
  }

  async hit(key: string, windowSeconds: number): Promise<ThrottleCount> {
    const now = this.clock();
    const endsAt = now + Math.round(windowSeconds * 1000);
    const hash = keyHash(key);
    if (this.db.dialect === 'postgres') {
      const { rows } = await this.db.write(this.statements.hit, [hash, endsAt, now, now]);
      return toCount(rows[0], now);
    }
    return this.db.transaction(async (tx: SqlTransaction) => {
      await tx.query(this.statements.hit, [hash, endsAt, now, now, endsAt]);
      const { rows } = await tx.query(this.statements.read, [hash]);
      return toCount(rows[0], now);
    });
  }

  async peek(key: string): Promise<ThrottleCount> {
    const now = this.clock();
    const { rows } = await this.db.run(this.statements.peek, [keyHash(key), now]);
    return toCount(rows[0], now);
  }

  async undo(key: string): Promise<void> {
    await this.db.write(this.statements.undo, [keyHash(key), this.clock()]);
  }

  async reset(key: string): Promise<void> {
    await this.db.write(this.statements.reset, [keyHash(key)]);
  }

  override ping(): Promise<boolean> {
    return this.db.ping();
  }

  /** Removes ended counters now, in bounded batches; returns how many. Runs on a timer. */
  sweep(): Promise<number> {
    return this.sweeper.sweep();
  }

  onModuleDestroy(): void {
    this.sweeper.stop();
  }
}

function keyHash(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

function toCount(row: Row | undefined, now: number): ThrottleCount {
  if (!row) return { count: 0, resetInSeconds: 0 };
  const left = toNumber(row.window_ends_at) - now;
  return { count: toNumber(row.count), resetInSeconds: left > 0 ? Math.ceil(left / 1000) : 0 };
}

function statementsFor(db: SqlConnection) {
  const t = 'warden_throttle_counters';
  return {
    // A window that has ended counts as none: the hit opens a new one.
    hit: db.sql(
      db.dialect === 'postgres'
        ? `INSERT INTO ${t} AS c (key_hash, count, window_ends_at) VALUES (?, 1, ?) ON CONFLICT (key_hash) DO UPDATE SET ` +
            'count = CASE WHEN c.window_ends_at <= ? THEN 1 ELSE c.count + 1 END, ' +
            'window_ends_at = CASE WHEN c.window_ends_at <= ? THEN EXCLUDED.window_ends_at ELSE c.window_ends_at END ' +
            'RETURNING count, window_ends_at'
        : // MySQL assigns left to right: count first, while window_ends_at is still the old one.
          `INSERT INTO ${t} (key_hash, count, window_ends_at) VALUES (?, 1, ?) ON DUPLICATE KEY UPDATE ` +
            'count = IF(window_ends_at <= ?, 1, count + 1), window_ends_at = IF(window_ends_at <= ?, ?, window_ends_at)',
    ),
    read: db.sql(`SELECT count, window_ends_at FROM ${t} WHERE key_hash = ?`),
    peek: db.sql(`SELECT count, window_ends_at FROM ${t} WHERE key_hash = ? AND window_ends_at > ?`),
    undo: db.sql(`UPDATE ${t} SET count = count - 1 WHERE key_hash = ? AND count > 0 AND window_ends_at > ?`),
    reset: db.sql(`DELETE FROM ${t} WHERE key_hash = ?`),
  };
}
