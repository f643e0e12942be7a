import { Logger } from '@nestjs/common';
import type { DataSource, EntityManager } from 'typeorm';
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
    this.dataSource = dataSource;
    this.timeoutMs = timeoutMs;
  }

  /** A statement written with `?` placeholders, in this dialect. */
  sql(statement: string): string {
    if (this.dialect === 'mysql') return statement;
    let n = 0;
    return statement.replace(/\?/g, () => `$${++n}`);
  }

  /** One statement outside a transaction; `passThrough` as in {@link call}. */
  run(statement: string, parameters: unknown[], passThrough?: (error: unknown) => boolean): Promise<SqlResult> {
    return this.call(async () => {
      const runner = this.dataSource.createQueryRunner();
      try {
        const result = await runner.query(statement, parameters, true);
        return { rows: (result.records ?? []) as Array<Record<string, unknown>>, affected: result.affected ?? 0 };
      } finally {
        await runner.release();
      }
    }, passThrough);
  }

  /**
   * A transaction (READ COMMITTED), retried on a deadlock or serialisation failure. `work`
   * runs its statements on `manager.query` and must not have effects outside the database.
   */
  transaction<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    return this.call(async () => {
      for (let attempt = 1; ; attempt++) {
        try {
          return await this.dataSource.transaction('READ COMMITTED', work);
        } catch (error) {
          if (attempt >= TRANSACTION_ATTEMPTS || !RETRYABLE.has(sqlErrorCode(error) ?? '')) throw error;
        }
      }
    });
  }

  /**
   * Runs a database operation within the operation timeout. Errors for which `passThrough`
   * answers true are the caller's to handle (a unique key, say) and are rethrown as they are;
   * any other failure becomes a StoreUnavailableError.
   */
  async call<T>(operation: () => Promise<T>, passThrough?: (error: unknown) => boolean): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    try {
      const result = await Promise.race([
        operation(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer within ${this.timeoutMs} ms`)), this.timeoutMs);
        }),
      ]);
      if (this.down && Date.now() - this.lastErrorAtMs >= RECOVERY_QUIET_MS) {
        this.logger.log(`the database is reachable again (${this.suppressed} more failed operations meanwhile)`);
        this.down = false;
        this.suppressed = 0;
      }
      return result;
    } catch (error) {
      // TypeORM copies the statement and its parameters (hashes, usernames) onto its errors.
      for (const holder of [error, (error as { driverError?: unknown } | null)?.driverError]) {
        if (typeof holder !== 'object' || holder === null) continue;
        for (const key of ['parameters', 'query', 'sql']) delete (holder as Record<string, unknown>)[key];
      }
      if (passThrough?.(error)) throw error;
      this.lastErrorAtMs = Date.now();
      if (!this.down) {
        this.down = true;
        this.logger.error(`the database is unavailable: ${describe(error)}`);
      } else {
        this.suppressed++;
      }
      throw new StoreUnavailableError({ cause: error });
    } finally {
      clearTimeout(timer);
    }
  }
}

// The driver's message and code; never the statement or its parameters.
function describe(error: unknown): string {
  const message = error instanceof Error ? error.message : 'unknown error';
  const code = sqlErrorCode(error);
  return code && !message.includes(code) ? `${message} (${code})` : message;
}
