import { randomBytes } from 'node:crypto';
import { Logger } from '@nestjs/common';
import type { AuthModuleOptions } from '../auth/index.js';
import { RedisSessionStore, RedisThrottleStore } from '../auth/redis/index.js';
import { RedisUserStore } from './redis-user.store.js';

/**
 * The demo's signing secret: `AUTH_SECRET` when set. In production it is required; in
 * development a random one is made, with a warning that tokens die on restart.
 */
export function demoSecret(env: NodeJS.ProcessEnv = process.env): string {
  const secret = env.AUTH_SECRET;
  if (secret) return secret;
  if (env.NODE_ENV === 'production') {
    throw new Error('AUTH_SECRET is required when NODE_ENV=production (at least 32 bytes)');
  }
  new Logger('Demo').warn('AUTH_SECRET is not set: using a random secret; tokens stop working on restart');
  return randomBytes(32).toString('base64url');
}

/**
 * The demo's AuthModule options from the environment: in-memory stores by default;
 * `AUTH_SESSION_STORE=redis` puts sessions and users in Redis at `REDIS_URL`
 * (default `redis://127.0.0.1:6379`), with the login-failure counters, so several instances
 * share them and restarts keep them.
 */
export function demoAuthOptions(env: NodeJS.ProcessEnv = process.env): AuthModuleOptions {
  const secret = demoSecret(env);
  const store = env.AUTH_SESSION_STORE ?? 'memory';
  if (store === 'memory') return { secret };
  if (store === 'redis') {
    const url = env.REDIS_URL ?? 'redis://127.0.0.1:6379';
    return {
      secret,
      sessionStore: new RedisSessionStore({ url }),
      userStore: new RedisUserStore(url),
      throttleStore: new RedisThrottleStore({ url }),
    };
  }
  throw new Error(`AUTH_SESSION_STORE must be "memory" or "redis", not "${store}"`);
}
