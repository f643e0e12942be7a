import { Logger, type OnModuleDestroy } from '@nestjs/common';
import { Redis, type Cluster } from 'ioredis';
import { StoreUnavailableError } from '../auth.errors.js';
import { ThrottleStore, type ThrottleCount } from './throttle-store.js';

/** Options of {@link RedisThrottleStore}. Give `url` or `client`. */
export interface RedisThrottleStoreOptions {
  /** `redis://...` URL; the store creates and closes its own client. */
  url?: string;
  /** An ioredis client you own (standalone, Sentinel or Cluster); never closed by the store. */
  client?: Redis | Cluster;
  /** Prefix of every key. Default `"nest-warden"`. */
  keyPrefix?: string;
  /** For a client the store creates. Default 1000 ms. */
  commandTimeoutMs?: number;
}

// INCR and open the window on the first failure, in one step.
const HIT = `
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return {count, redis.call('PTTL', KEYS[1])}`;

const UNDO = `
local count = tonumber(redis.call('GET', KEYS[1]) or '0')
if count > 0 then redis.call('DECR', KEYS[1]) end
return 1`;

const PEEK = `
local count = redis.call('GET', KEYS[1])
if not count then return {0, 0} end
return {tonumber(count), redis.call('PTTL', KEYS[1])}`;

/**
 * A {@link ThrottleStore} on Redis, so every instance counts the same failures. One key per
 * counter with a Redis TTL for its window. Fails closed like `RedisSessionStore`: an outage
 * makes logins answer 503 rather than skip the count.
 */
export class RedisThrottleStore extends ThrottleStore implements OnModuleDestroy {
  private readonly logger = new Logger(RedisThrottleStore.name);
  private readonly client: Redis | Cluster;
  private readonly ownsClient: boolean;
  private readonly prefix: string;
  private available = true;

  constructor(options: RedisThrottleStoreOptions) {
    super();
    if ((options.url === undefined) === (options.client === undefined)) {
      throw new TypeError('RedisThrottleStore: give exactly one of "url" or "client"');
    }
    const prefix = options.keyPrefix ?? 'nest-warden';
    if (typeof prefix !== 'string' || !/^[A-Za-z0-9:._-]{1,64}$/.test(prefix)) {
      throw new TypeError('RedisThrottleStore: "keyPrefix" must be 1-64 characters of A-Z a-z 0-9 : . _ -');
    }
    this.prefix = prefix;
    if (options.client) {
      this.client = options.client;
      this.ownsClient = false;
    } else {
      const timeout = options.commandTimeoutMs ?? 1000;
      if (!Number.isInteger(timeout) || timeout < 10 || timeout > 60_000) {
        throw new TypeError('RedisThrottleStore: "commandTimeoutMs" must be an integer from 10 to 60000');
      }
      this.client = new Redis(options.url!, { commandTimeout: timeout, connectTimeout: timeout, maxRetriesPerRequest: 1 });
      this.client.on('error', () => undefined);
      this.ownsClient = true;
    }
    this.client.defineCommand('nwThrottleHit', { numberOfKeys: 1, lua: HIT });
    this.client.defineCommand('nwThrottlePeek', { numberOfKeys: 1, lua: PEEK });
    this.client.defineCommand('nwThrottleUndo', { numberOfKeys: 1, lua: UNDO });
  }

  async hit(key: string, windowSeconds: number): Promise<ThrottleCount> {
    return toCount(await this.run('nwThrottleHit', this.key(key), String(windowSeconds * 1000)));
  }

  async peek(key: string): Promise<ThrottleCount> {
    return toCount(await this.run('nwThrottlePeek', this.key(key)));
  }

  async undo(key: string): Promise<void> {
    await this.run('nwThrottleUndo', this.key(key));
  }

  async reset(key: string): Promise<void> {
    await this.call(() => this.client.del(this.key(key)));
  }

  async onModuleDestroy(): Promise<void> {
    if (this.ownsClient) await this.client.quit().catch(() => this.client.disconnect());
  }

  private key(key: string): string {
    return `${this.prefix}:t:${key}`;
  }

  private run(name: string, ...args: string[]): Promise<unknown> {
    const command = (this.client as unknown as Record<string, (...a: string[]) => Promise<unknown>>)[name]!;
    return this.call(() => command.apply(this.client, args));
  }

  // Failures become StoreUnavailableError (503); an outage is logged once, not per request.
  private async call<T>(command: () => Promise<T>): Promise<T> {
    try {
      const result = await command();
      this.available = true;
      return result;
    } catch (error) {
      if (this.available) {
        this.available = false;
        this.logger.error(`Redis is unavailable: ${error instanceof Error ? error.message : 'unknown error'}`);
      }
      throw new StoreUnavailableError({ cause: error });
    }
  }
}

function toCount(reply: unknown): ThrottleCount {
  const [count, pttl] = reply as [number, number];
  return { count: Number(count), resetInSeconds: pttl > 0 ? Math.ceil(pttl / 1000) : 0 };
}
