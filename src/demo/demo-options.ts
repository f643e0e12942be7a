import { randomBytes } from 'node:crypto';
import { Logger } from '@nestjs/common';
import {
  combineAuditSinks,
  InMemorySessionStore,
  InMemoryThrottleStore,
  InMemoryUserStore,
  LoggerAuditSink,
  type AuthModuleOptions,
} from '../auth/index.js';
import type { PrometheusAuditSink } from '../auth/prometheus/index.js';
import { RedisSessionStore, RedisThrottleStore } from '../auth/redis/index.js';
import { TypeOrmSessionStore, TypeOrmThrottleStore, TypeOrmUserStore } from '../auth/typeorm/index.js';
import type { DataSource } from 'typeorm';
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

/** Where the demo keeps its state (`AUTH_SESSION_STORE`): `memory` (default), `redis` or `sql`. */
export type DemoStoreKind = 'memory' | 'redis' | 'sql';

/** `AUTH_SESSION_STORE`, checked. */
export function demoStoreKind(env: NodeJS.ProcessEnv = process.env): DemoStoreKind {
  const store = env.AUTH_SESSION_STORE ?? 'memory';
  if (store !== 'memory' && store !== 'redis' && store !== 'sql') {
    throw new Error(`AUTH_SESSION_STORE must be "memory", "redis" or "sql", not "${store}"`);
  }
  return store;
}

/** The error of `AUTH_SESSION_STORE=sql` without a database. */
export const SQL_STORE_NEEDS_DATABASE = 'AUTH_SESSION_STORE=sql needs AUTH_DATABASE_URL (postgres://... or mysql://...)';

/** The Redis of `AUTH_SESSION_STORE=redis`: `REDIS_URL`, default `redis://127.0.0.1:6379`. */
export function demoRedisUrl(env: NodeJS.ProcessEnv = process.env): string {
  return env.REDIS_URL ?? 'redis://127.0.0.1:6379';
}

/**
 * The demo's AuthModule options from the environment: in-memory stores by default.
 * - `AUTH_DATABASE_URL` (then `dataSource` is its TypeORM DataSource) keeps the demo's users in
 *   that database (`TypeOrmUserStore`).
 * - `AUTH_SESSION_STORE=redis` puts sessions and the login-failure counters in Redis at
 *   `REDIS_URL` (default `redis://127.0.0.1:6379`), and the users too unless they are in SQL, so
 *   several instances share them and restarts keep them.
 * - `AUTH_SESSION_STORE=sql` puts sessions and counters in the database of `AUTH_DATABASE_URL`.
 *
 * Logins take a username or an email address (`loginIdentifier: 'either'`; the email flow is in
 * `demoEmailFlow`). The cookie transport is on request (`X-Auth-Transport: cookie`): the demo's
 * web page at `/` signs in with cookies and CSRF, curl and other clients get bearer tokens.
 * Cookies are `Secure` in production only (plain http://localhost in development).
 */
export function demoAuthOptions(env: NodeJS.ProcessEnv = process.env, dataSource?: DataSource): AuthModuleOptions {
  const secret = demoSecret(env);
  const store = demoStoreKind(env);
  const cookies = { mode: 'on-request' as const, sameSite: 'strict' as const, secure: env.NODE_ENV === 'production' };
  const common = { secret, loginIdentifier: 'either' as const, cookies };
  const sqlUsers = dataSource ? { userStore: new TypeOrmUserStore({ dataSource }) } : {};
  if (store === 'memory') return { ...common, ...sqlUsers };
  if (store === 'redis') {
    const url = demoRedisUrl(env);
    return {
      ...common,
      sessionStore: new RedisSessionStore({ url }),
      userStore: new RedisUserStore(url),
      throttleStore: new RedisThrottleStore({ url }),
      ...sqlUsers,
    };
  }
  if (!dataSource) throw new Error(SQL_STORE_NEEDS_DATABASE);
  return {
    ...common,
    sessionStore: new TypeOrmSessionStore({ dataSource }),
    throttleStore: new TypeOrmThrottleStore({ dataSource }),
    ...sqlUsers,
  };
}

/**
 * The demo's options with metrics (`AUTH_METRICS=1`, see `DemoMetricsModule`), or `options` as
 * they are without `metrics`: audit events to the log and to `metrics`, and the session, user and
 * throttle stores (the in-memory defaults, made here, when none is set) timed by it.
 */
export function withDemoMetrics(options: AuthModuleOptions, metrics: PrometheusAuditSink | undefined): AuthModuleOptions {
  if (!metrics) return options;
  return {
    ...options,
    audit: combineAuditSinks(new LoggerAuditSink(), metrics),
    sessionStore: metrics.instrument(options.sessionStore ?? new InMemorySessionStore(), 'session'),
    userStore: metrics.instrument(options.userStore ?? new InMemoryUserStore(), 'user'),
    throttleStore: metrics.instrument(options.throttleStore ?? new InMemoryThrottleStore(), 'throttle'),
  };
}
