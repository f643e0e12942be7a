import { Logger } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import { StoreUnavailableError } from '../auth.errors.js';

/** Options every TypeORM store takes. */
export interface TypeOrmStoreOptions {
  /**
   * The host's TypeORM `DataSource` (PostgreSQL, MySQL or MariaDB), with nest-warden's entities
   * registered (`wardenEntities`) and its migrations run. Initialised by the time the store is
   * first used (with `@nestjs/typeorm`, inject it). The store never closes it.
   */
  dataSource: DataSource;
  /**
   * How long one store operation may take before the request fails with 503
   * `AUTH_STORE_UNAVAILABLE` (a database that does not answer, a pool that stays exhausted).
   * Default 2000 ms.
   */
  operationTimeoutMs?: number;
}

/** The SQL dialects the stores speak. */
export type SqlDialect = 'postgres' | 'mysql';

/** What a statement answered: its rows, and how many rows it changed. */
export interface SqlResult {
  rows: Array<Record<string, unknown>>;
  affected: number;
}

// Deadlocks and serialisation failures: the transaction is retried (it changed nothing).
const RETRYABLE = new Set(['40001', '40P01', 'ER_LOCK_DEADLOCK', 'ER_LOCK_WAIT_TIMEOUT']);
const TRANSACTION_ATTEMPTS = 4;
// After an error, how long the statements must succeed before the state is logged as recovered.
const RECOVERY_QUIET_MS = 5000;

/** The driver's error code (SQLSTATE on PostgreSQL, `ER_...` on MySQL), if any. */
export function sqlErrorCode(error: unknown): string | undefined {
  const driverError = (error as { driverError?: { code?: unknown } } | undefined)?.driverError;
  const code = driverError?.code ?? (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** Whether a failed INSERT hit a unique key (PostgreSQL 23505, MySQL ER_DUP_ENTRY). */
export function isUniqueViolation(error: unknown): boolean {
  const code = sqlErrorCode(error);
  return code === '23505' || code === 'ER_DUP_ENTRY';
}

/** A row value that the drivers hand back as a string (BIGINT) or a number, as a number. */
export function toNumber(value: unknown): number {
  return typeof value === 'number' ? value : Number(value);
}

/**
 * The part the TypeORM stores share: the dialect, statements written once with `?` and turned
 * into `$1, $2, ...` for PostgreSQL, a bound on every operation, and every database failure
 * turned into {@link StoreUnavailableError} (503) with an outage logged once, not per request.
 * The driver's error is kept as the cause without the statement's parameters (hashes,
 * usernames), which TypeORM copies onto it.
 */
export class SqlConnection {
  readonly dialect: SqlDialect;
  readonly dataSource: DataSource;
  private readonly timeoutMs: number;
  private readonly logger: Logger;
  private down = false;
  private lastErrorAtMs = 0;
  private lastRefusalLogMs = 0;
  private suppressed = 0;

  constructor(owner: string, options: TypeOrmStoreOptions) {
    this.logger = new Logger(owner);
    const dataSource = options?.dataSource as DataSource | undefined;
    if (!dataSource || typeof dataSource.createQueryRunner !== 'function') {
      throw new TypeError(`${owner}: "dataSource" must be a TypeORM DataSource`);
    }
    const type = dataSource.options.type;
    if (type === 'postgres') this.dialect = 'postgres';
    else if (type === 'mysql' || type === 'mariadb') this.dialect = 'mysql';
    else throw new TypeError(`${owner}: supports PostgreSQL, MySQL and MariaDB DataSources, not "${type}"`);
    const timeoutMs = options.operationTimeoutMs ?? 2000;
    if (!Number.isInteger(timeoutMs) || timeoutMs < 10 || timeoutMs > 60_000) {
      throw new TypeError(`${owner}: "operationTimeoutMs" must be an integer from 10 to 60000`);
    }
    if (this.dialect === 'mysql' && [(dataSource.options as { flags?: string | string[] }).flags ?? []].flat().includes('-FOUND_ROWS')) {
      // Without it MySQL counts the rows an UPDATE changed, not those it matched: touch() would
      // report a live session as gone.
      throw new TypeError(`${owner}: the MySQL DataSource must not turn off the FOUND_ROWS flag`);
    }
    const logging = dataSource.options.logging;
    const logsStatements =
      logging === true || logging === 'all' || (Array.isArray(logging) && (logging.includes('query') || logging.includes('error')));
    if (logsStatements || dataSource.options.maxQueryExecutionTime) {
      this.logger.warn(
        'the DataSource logs statements with their parameters (query or error logging, or maxQueryExecutionTime): ' +
          "nest-warden's hold refresh-token and password hashes; keep them out of its logs (docs/sql.md)",
      );
    }
    this.dataSource = dataSource;
    this.timeoutMs = timeoutMs;
  }

  /** A statement written with `?` placeholders, in this dialect. */
  sql(statement: string): string {
    if (this.dialect === 'mysql') return statement;
    let n = 0;
    return statement.replace(/\?/g, () => `$${++n}`);
  }

  /**
   * One statement outside a transaction, for reads (which never wait for row locks); `passThrough`
   * as in {@link call}. Writes go through {@link write}.
   */
  run(statement: string, parameters: unknown[], passThrough?: (error: unknown) => boolean): Promise<SqlResult> {
    return this.call(async () => {
      const runner = this.dataSource.createQueryRunner();
      try {
        return structured(await runner.query(statement, parameters, true));
      } finally {
        await runner.release();
      }
    }, passThrough);
  }

  /** One statement that may wait for a row lock: a transaction of its own, bounded as {@link transaction}'s. */
  write(statement: string, parameters: unknown[], passThrough?: (error: unknown) => boolean): Promise<SqlResult> {
    return this.transaction((tx) => tx.query(statement, parameters), passThrough);
  }

  /**
   * A transaction (READ COMMITTED), retried on a deadlock or serialisation failure while time is
   * left. The database bounds its own waits: on PostgreSQL `lock_timeout` and `statement_timeout`
   * (`SET LOCAL`), on MySQL and MariaDB `innodb_lock_wait_timeout` for the connection while the
   * transaction runs (whole seconds; set back to the server's default after). Once the operation
   * has timed out, the work's next statement, or the commit, throws instead, and the transaction
   * rolls back: an answered 503 does not commit later. `work` must not have effects outside the
   * database.
   */
  transaction<T>(work: (tx: SqlTransaction) => Promise<T>, passThrough?: (error: unknown) => boolean): Promise<T> {
    return this.call(async (deadline) => {
      for (let attempt = 1; ; attempt++) {
        const runner = this.dataSource.createQueryRunner();
        try {
          if (this.dialect === 'mysql') await runner.query(`SET SESSION innodb_lock_wait_timeout = ${Math.ceil(this.timeoutMs / 1000)}`);
          await runner.startTransaction('READ COMMITTED');
          if (this.dialect === 'postgres') {
            await runner.query(`SET LOCAL lock_timeout = ${this.timeoutMs}; SET LOCAL statement_timeout = ${this.timeoutMs}`);
          }
          const tx: SqlTransaction = {
            query: async (statement, parameters) => {
              deadline.check();
              return structured(await runner.query(statement, parameters, true));
            },
          };
          const result = await work(tx);
          deadline.check();
          await runner.commitTransaction();
          return result;
        } catch (error) {
          if (runner.isTransactionActive) await runner.rollbackTransaction().catch(() => undefined);
          if (attempt >= TRANSACTION_ATTEMPTS || deadline.passed || !RETRYABLE.has(sqlErrorCode(error) ?? '')) throw error;
        } finally {
          if (this.dialect === 'mysql') await runner.query('SET SESSION innodb_lock_wait_timeout = DEFAULT').catch(() => undefined);
          await runner.release();
        }
      }
    }, passThrough);
  }

  /**
   * Whether the database answers `SELECT 1` within the operation timeout: the answer of every
   * TypeORM store's `ping()`, for health checks. Never throws; a failure is logged once like any
   * other operation's.
   */
  async ping(): Promise<boolean> {
    try {
      await this.run('SELECT 1', []);
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Runs a database operation within the operation timeout. Errors for which `passThrough`
   * answers true are the caller's to handle (a unique key, say) and are rethrown as a clean
   * error with the driver's code;
   * any other failure becomes a StoreUnavailableError whose cause holds the driver's code and,
   * for connection failures, its message: never a statement, its parameters or a value the
   * server quotes back (a duplicate key, a row).
   */
  async call<T>(operation: (deadline: Deadline) => Promise<T>, passThrough?: (error: unknown) => boolean): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Deadline(this.timeoutMs);
    try {
      const result = await Promise.race([
        operation(deadline),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => {
            deadline.passed = true;
            reject(new Error(`no answer within ${this.timeoutMs} ms`));
          }, this.timeoutMs);
        }),
      ]);
      if (this.down && Date.now() - this.lastErrorAtMs >= RECOVERY_QUIET_MS) {
        this.logger.log(`the database is reachable again (${this.suppressed} more failed operations meanwhile)`);
        this.down = false;
        this.suppressed = 0;
      }
      return result;
    } catch (error) {
      const cause = sanitized(error);
      // Handed back for its code only: the driver's error holds the statement, its parameters
      // and the values the server quotes (in its message and stack).
      if (passThrough?.(error)) throw cause;
      if (isDataError(error)) {
        // A value the database would not take: not an outage (and not something a request can
        // use to hold the outage log shut). Logged at most once a minute.
        if (Date.now() - this.lastRefusalLogMs >= 60_000) {
          this.lastRefusalLogMs = Date.now();
          this.logger.error(`the database refused a value: ${cause.message}`);
        }
      } else {
        this.lastErrorAtMs = Date.now();
        if (!this.down) {
          this.down = true;
          this.logger.error(`the database is unavailable: ${cause.message}`);
        } else {
          this.suppressed++;
        }
      }
      throw new StoreUnavailableError({ cause });
    } finally {
      clearTimeout(timer);
    }
  }
}

/** What a transaction's work runs its statements on. */
export interface SqlTransaction {
  query(statement: string, parameters: unknown[]): Promise<SqlResult>;
}

/** The end of an operation's time: past it, a transaction's next statement or commit throws. */
export class Deadline {
  passed = false;
  constructor(private readonly timeoutMs: number) {}

  check(): void {
    if (this.passed) throw new Error(`no answer within ${this.timeoutMs} ms: rolled back`);
  }
}

function structured(result: { records?: unknown[]; affected?: number }): SqlResult {
  return { rows: (result.records ?? []) as Array<Record<string, unknown>>, affected: result.affected ?? 0 };
}

// Errors about a value rather than the database: SQLSTATE classes 22 (data) and 23 (constraint)
// on PostgreSQL; their MySQL counterparts.
const MYSQL_DATA_ERRORS = new Set([
  'ER_DUP_ENTRY',
  'ER_DATA_TOO_LONG',
  'ER_TRUNCATED_WRONG_VALUE',
  'ER_TRUNCATED_WRONG_VALUE_FOR_FIELD',
  'ER_BAD_NULL_ERROR',
  'ER_WARN_DATA_OUT_OF_RANGE',
  'ER_NO_DEFAULT_FOR_FIELD',
  'ER_NO_REFERENCED_ROW_2',
  'ER_ROW_IS_REFERENCED_2',
  'ER_CHECK_CONSTRAINT_VIOLATED',
  // mysql2 puts the values into the statement it sends: a syntax error may quote them.
  'ER_PARSE_ERROR',
]);

function isDataError(error: unknown): boolean {
  const code = sqlErrorCode(error) ?? '';
  return /^2[23][0-9A-Z]{3}$/.test(code) || MYSQL_DATA_ERRORS.has(code);
}

// A fresh error with the driver's code, and its message only when it cannot hold data.
function sanitized(error: unknown): Error & { code?: string } {
  const code = sqlErrorCode(error);
  const message = isDataError(error)
    ? `the statement failed${code ? ` (${code})` : ''}`
    : `${error instanceof Error ? error.message : 'unknown error'}${code && !(error instanceof Error && error.message.includes(code)) ? ` (${code})` : ''}`;
  const clean: Error & { code?: string } = new Error(message);
  if (code) clean.code = code;
  return clean;
}
