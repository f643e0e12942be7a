import type { Clock } from '../clock.js';
import type { SqlConnection } from './sql-connection.js';

/** The cleanup job's options, shared by the TypeORM session and throttle stores. */
export interface SweepOptions {
  /** How often expired rows are deleted. Default 300 s; 0 turns the job off (run `sweep()` yourself). */
  sweepIntervalSeconds?: number;
  /** Most rows one sweep deletes (in batches of 500), so it never holds long locks. Default 5000. */
  sweepMaxRows?: number;
}

const BATCH = 500;

/**
 * Deletes the rows of a table whose end time has passed, in batches of 500 and at most
 * `sweepMaxRows` a run, on a timer. Expiry does not wait for it: every statement of the stores
 * compares the end time with the clock. A failed run is logged by the connection and retried
 * at the next tick.
 */
export class SqlSweeper {
  private readonly timer: NodeJS.Timeout | undefined;
  private readonly maxRows: number;
  private readonly statement: string;
  private running = false;

  constructor(
    private readonly db: SqlConnection,
    table: string,
    key: string,
    endColumn: string,
    private readonly clock: Clock,
    options: SweepOptions,
  ) {
    const seconds = options.sweepIntervalSeconds ?? 300;
    if (!Number.isFinite(seconds) || seconds < 0) throw new TypeError('sweepIntervalSeconds must be a number >= 0');
    const maxRows = options.sweepMaxRows ?? 5000;
    if (!Number.isInteger(maxRows) || maxRows < 1) throw new TypeError('sweepMaxRows must be an integer >= 1');
    this.maxRows = maxRows;
    // PostgreSQL has no DELETE ... LIMIT; MySQL has no LIMIT in an IN (subquery).
    this.statement = db.sql(
      db.dialect === 'mysql'
        ? `DELETE FROM ${table} WHERE ${endColumn} <= ? LIMIT ${BATCH}`
        : // The end is checked again on the row itself: a write that moved it on while the DELETE
          // waited for the row's lock keeps the row (the subquery saw the older version).
          `DELETE FROM ${table} WHERE ${key} IN (SELECT ${key} FROM ${table} WHERE ${endColumn} <= ? LIMIT ${BATCH}) AND ${endColumn} <= ?`,
    );
    if (seconds > 0) {
      this.timer = setInterval(() => void this.sweep().catch(() => undefined), seconds * 1000);
      this.timer.unref();
    }
  }

  /** Deletes expired rows now; returns how many. A run already going on makes this one return 0. */
  async sweep(): Promise<number> {
    if (this.running) return 0;
    this.running = true;
    try {
      let removed = 0;
      while (removed < this.maxRows) {
        const now = this.clock();
        const { affected } = await this.db.write(this.statement, this.db.dialect === 'mysql' ? [now] : [now, now]);
        removed += affected;
        if (affected < BATCH) break;
      }
      return removed;
    } finally {
      this.running = false;
    }
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }
}
