import { Logger } from '@nestjs/common';
import { Redis, type Cluster } from 'ioredis';
import { StoreUnavailableError } from '../auth.errors.js';

/** Connection options shared by the Redis stores. Give `url` or `client`. */
export interface RedisConnectionOptions {
  /** `redis://[:password@]host:port[/db]` (or `rediss://`). The store creates and closes its own client. */
  url?: string;
  /**
   * An ioredis client you own (`new Redis(...)`, a Sentinel client, or `new Cluster(...)`). The
   * store never closes it. Set `commandTimeout` on it so an outage answers 503 quickly, and do
   * not set ioredis' own `keyPrefix` (use the store's `keyPrefix`).
   */
  client?: Redis | Cluster;
  /** Prefix of every key. Default `"nest-warden"`. Different apps on one Redis need different prefixes. */
  keyPrefix?: string;
  /** For a client the store creates: how long a command may take before the request fails with 503. Default 1000 ms. */
  commandTimeoutMs?: number;
}

/** A Lua script the store registers as a command. */
export interface RedisScript {
  /** Omitted for a script whose number of keys varies: it is then called with that number first. */
  numberOfKeys?: number;
  lua: string;
}

/** Script errors whose message starts with this are the store's own, passed through unchanged. */
export const SCRIPT_ERROR_MARKER = 'NW_';

type ScriptRunner = (...args: Array<string | number>) => Promise<unknown>;

// A Cluster slot being moved (or a topology change ioredis could not follow within its
// redirections): the data is there, Redis will not serve a multi-key step on it yet.
const MIGRATION_ERROR = /^(?:TRYAGAIN|ASK|MOVED)\b|^Too many Cluster redirections\. Last error: (?:\w+: )?(?:TRYAGAIN|ASK|MOVED)\b/;
// After an error, how long the commands must succeed before the state is logged as recovered:
// on a Cluster, other slots keep answering during a migration or while one master is down.
const RECOVERY_QUIET_MS = 5000;

/** Whether a store error comes from a Cluster slot being migrated (not from Redis being down). */
export function isMigrationError(error: unknown): boolean {
  const cause = error instanceof StoreUnavailableError ? (error as Error & { cause?: unknown }).cause : error;
  return cause instanceof Error && MIGRATION_ERROR.test(cause.message);
}

/** What the last command told of Redis, so each change is logged once rather than per request. */
type RedisState = 'up' | 'down' | 'migrating';

/**
 * The part every nest-warden Redis store shares: options checked once, a client created with
 * fail-fast settings (or the caller's own), scripts registered, and every failure turned into
 * {@link StoreUnavailableError} (503), with an outage logged once rather than per request.
 */
export class RedisConnection {
  readonly client: Redis | Cluster;
  readonly prefix: string;
  private readonly ownsClient: boolean;
  private readonly logger: Logger;
  private state: RedisState = 'up';
  private lastErrorAtMs = 0;
  private suppressed = 0;

  /**
   * `autoPipelining: false` is for a store that batches its frequent commands itself: ioredis'
   * auto-pipelining would hold each batch back one more turn of the event loop. It applies to
   * the client the connection creates, not to a caller's own client.
   */
  constructor(owner: string, options: RedisConnectionOptions, scripts: Record<string, RedisScript>, { autoPipelining = true } = {}) {
    this.logger = new Logger(owner);
    if ((options.url === undefined) === (options.client === undefined)) {
      throw new TypeError(`${owner}: give exactly one of "url" or "client"`);
    }
    const prefix = options.keyPrefix ?? 'nest-warden';
    if (typeof prefix !== 'string' || !/^[A-Za-z0-9:._-]{1,64}$/.test(prefix)) {
      throw new TypeError(`${owner}: "keyPrefix" must be 1-64 characters of A-Z a-z 0-9 : . _ -`);
    }
    const timeoutMs = options.commandTimeoutMs ?? 1000;
    if (!Number.isInteger(timeoutMs) || timeoutMs < 10 || timeoutMs > 60_000) {
      throw new TypeError(`${owner}: "commandTimeoutMs" must be an integer from 10 to 60000`);
    }
    this.prefix = prefix;
    if (options.client) {
      if ((options.client as { options?: { keyPrefix?: string } }).options?.keyPrefix) {
        throw new TypeError(`${owner}: the ioredis client must not set keyPrefix; use the store's "keyPrefix"`);
      }
      this.client = options.client;
      this.ownsClient = false;
    } else {
      this.client = new Redis(options.url!, {
        commandTimeout: timeoutMs,
        connectTimeout: timeoutMs,
        maxRetriesPerRequest: 1,
        // Concurrent requests share round trips instead of paying one each under load.
        enableAutoPipelining: autoPipelining,
        // Reconnect for ever, at most a second apart, so the store recovers by itself.
        retryStrategy: (attempt: number) => Math.min(attempt * 100, 1000),
      });
      // Connection errors surface as failed commands; this only stops ioredis from printing them.
      this.client.on('error', () => undefined);
      this.ownsClient = true;
    }
    for (const [name, script] of Object.entries(scripts)) this.client.defineCommand(name, script);
  }

  /** Runs a registered script. */
  run(name: string, ...args: Array<string | number>): Promise<unknown> {
    const runner = (this.client as unknown as Record<string, ScriptRunner>)[name]!;
    return this.call(() => runner.apply(this.client, args));
  }

  /** Runs a command; any failure but the store's own script errors becomes a StoreUnavailableError. */
  async call<T>(command: () => Promise<T>): Promise<T> {
    try {
      const result = await command();
      if (this.state !== 'up' && Date.now() - this.lastErrorAtMs >= RECOVERY_QUIET_MS) {
        const what = this.state === 'down' ? 'Redis is reachable again' : 'Redis Cluster: the slot migration has settled';
        this.logger.log(`${what} (${this.suppressed} more failed commands meanwhile)`);
        this.state = 'up';
        this.suppressed = 0;
      }
      return result;
    } catch (error) {
      if (error instanceof Error && error.message.includes(SCRIPT_ERROR_MARKER)) throw error;
      const message = error instanceof Error ? error.message : 'unknown error';
      const state: RedisState = MIGRATION_ERROR.test(message) ? 'migrating' : 'down';
      this.lastErrorAtMs = Date.now();
      if (this.state !== state) {
        this.state = state;
        if (state === 'down') this.logger.error(`Redis is unavailable: ${message}`);
        // Not an outage: the keys of one slot are moving between nodes. Requests on that slot
        // answer 503 (never "gone") until it settles; the rest are served.
        else this.logger.warn(`Redis Cluster: a slot is being migrated, its requests answer 503 until it settles: ${message}`);
      } else {
        this.suppressed++;
      }
      // ioredis puts the command's arguments on its errors (token hashes, usernames): not kept.
      if (typeof error === 'object' && error !== null && 'command' in error) delete (error as { command?: unknown }).command;
      throw new StoreUnavailableError({ cause: error });
    }
  }

  /**
   * Whether Redis answers a `PING`, within the command timeout for a client the connection
   * created: the answer of every Redis store's `ping()`, for health checks. Never throws; a
   * failure is logged once like any other command's.
   */
  async ping(): Promise<boolean> {
    try {
      await this.call(() => this.client.ping());
      return true;
    } catch {
      return false;
    }
  }

  /** Closes the client if the store created it. */
  async close(): Promise<void> {
    if (!this.ownsClient) return;
    try {
      await this.client.quit();
    } catch {
      this.client.disconnect();
    }
  }
}
