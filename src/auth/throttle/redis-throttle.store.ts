import type { OnModuleDestroy } from '@nestjs/common';
import { RedisConnection, type RedisConnectionOptions } from '../redis/redis-connection.js';
import { ThrottleStore, type ThrottleCount } from './throttle-store.js';

/** Options of {@link RedisThrottleStore}: the connection options of the Redis stores. */
export type RedisThrottleStoreOptions = RedisConnectionOptions;

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
  private readonly redis: RedisConnection;

  constructor(options: RedisThrottleStoreOptions) {
    super();
    this.redis = new RedisConnection(RedisThrottleStore.name, options, {
      nwThrottleHit: { numberOfKeys: 1, lua: HIT },
      nwThrottlePeek: { numberOfKeys: 1, lua: PEEK },
      nwThrottleUndo: { numberOfKeys: 1, lua: UNDO },
    });
  }

  async hit(key: string, windowSeconds: number): Promise<ThrottleCount> {
    return toCount(await this.redis.run('nwThrottleHit', this.key(key), String(windowSeconds * 1000)));
  }

  async peek(key: string): Promise<ThrottleCount> {
    return toCount(await this.redis.run('nwThrottlePeek', this.key(key)));
  }

  async undo(key: string): Promise<void> {
    await this.redis.run('nwThrottleUndo', this.key(key));
  }

  async reset(key: string): Promise<void> {
    await this.redis.call(() => this.redis.client.del(this.key(key)));
  }

  override ping(): Promise<boolean> {
    return this.redis.ping();
  }

  async onModuleDestroy(): Promise<void> {
    await this.redis.close();
  }

  private key(key: string): string {
    return `${this.redis.prefix}:t:${key}`;
  }
}

function toCount(reply: unknown): ThrottleCount {
  const [count, pttl] = reply as [number, number];
  return { count: Number(count), resetInSeconds: pttl > 0 ? Math.ceil(pttl / 1000) : 0 };
}
