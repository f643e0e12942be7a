import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { dirname, join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { Injectable, Module, type DynamicModule, type INestApplication } from '@nestjs/common';
import { EventEmitter2, EventEmitterModule, OnEvent } from '@nestjs/event-emitter';
import { Registry } from 'prom-client';
import request from 'supertest';
import {
  AuditSink,
  AuthErrorCode,
  AuthModule,
  combineAuditSinks,
  InMemorySessionStore,
  InMemoryThrottleStore,
  InMemoryUserStore,
  type AuthAuditEvent,
  type SessionStore,
} from '../src/auth/index.js';
import { EventEmitterAuditSink, OnAuthEvent, type AuthEvent } from '../src/auth/event-emitter/index.js';
import { PrometheusAuditSink } from '../src/auth/prometheus/index.js';
import { RedisSessionStore } from '../src/auth/redis/index.js';
import { demoMetricsEnabled } from '../src/demo/metrics.controller.js';
import { ADAPTERS, createApp, TEST_SECRET } from './utils/app.js';
import { registerAndLogin, uniqueUsername } from './utils/auth-client.js';
import { startTestRedis, type TestRedis } from './utils/redis-server.js';

const PASSWORD = 'correct horse battery staple';

/** One series of a Prometheus text exposition. */
interface Series {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses the text format (version 0.0.4): every sample line, comments left out. */
function parseScrape(text: string): Series[] {
  return text
    .split('\n')
    .filter((line) => line.length > 0 && !line.startsWith('#'))
    .map((line) => {
      const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
      if (!match) throw new Error(`not a sample line: ${line}`);
      const labels: Record<string, string> = {};
      for (const [, key, value] of (match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[key!] = value!;
      return { name: match[1]!, labels, value: Number(match[3]) };
    });
}

/** The value of one series (exactly these labels), 0 when absent. */
function valueOf(series: Series[], name: string, labels: Record<string, string> = {}): number {
  const wanted = Object.entries(labels);
  const found = series.find(
    (one) =>
      one.name === name && Object.keys(one.labels).length === wanted.length && wanted.every(([key, value]) => one.labels[key] === value),
  );
  return found?.value ?? 0;
}

/** Every counter series' change from `before` to `after`, keyed `name{labels}`, zeros left out. */
function counterDeltas(before: Series[], after: Series[]): Record<string, number> {
  const deltas: Record<string, number> = {};
  for (const one of after) {
    if (!one.name.endsWith('_total')) continue;
    const delta = one.value - valueOf(before, one.name, one.labels);
    const labels = Object.entries(one.labels)
      .map(([key, value]) => `${key}="${value}"`)
      .join(',');
    if (delta !== 0) deltas[labels ? `${one.name}{${labels}}` : one.name] = delta;
  }
  return deltas;
}

/** Records every audit event, beside the sinks under test. */
class ListSink extends AuditSink {
  readonly events: AuthAuditEvent[] = [];
  emit(event: AuthAuditEvent): void {
    this.events.push(event);
  }
}

// ---------------------------------------------------------------------------------------------
// @nestjs/event-emitter

@Injectable()
class BrokenListeners {
  calls = 0;

  @OnEvent('auth.login.succeeded')
  throws(): void {
    this.calls += 1;
    throw new Error('a bug in the host listener');
  }

  // Nest rethrows this one: the rejection reaches the sink's emitAsync, which must catch it.
  @OnEvent('auth.login.succeeded', { suppressErrors: false })
  async rejects(): Promise<void> {
    this.calls += 1;
    throw new Error('a bug in the host listener');
  }
}

@Injectable()
class AuthEventLog {
  readonly logins: AuthEvent[] = [];
  readonly names: string[] = [];

  @OnAuthEvent('login.succeeded')
  onLogin(event: AuthAuditEvent): void {
    this.logins.push(event);
  }

  @OnEvent('auth.**')
  onAny(event: AuthEvent): void {
    this.names.push(event.name);
  }
}

@Module({
  imports: [
    EventEmitterModule.forRoot({ wildcard: true }),
    AuthModule.forRootAsync({
      inject: [EventEmitter2],
      useFactory: (emitter: EventEmitter2) => ({ secret: TEST_SECRET, audit: new EventEmitterAuditSink(emitter) }),
    }),
  ],
  // The broken listeners first: they run before the log's, which still gets every event.
  providers: [BrokenListeners, AuthEventLog],
})
class EventsAppModule {}

describe.each(ADAPTERS)('audit events on @nestjs/event-emitter on %s', (adapter) => {
  let app: INestApplication;
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown): void => void unhandled.push(reason);

  beforeAll(async () => {
    process.on('unhandledRejection', onUnhandled);
    app = await createApp(EventsAppModule, adapter);
  });

  afterAll(async () => {
    await app.close();
    process.off('unhandledRejection', onUnhandled);
  });

  it('emits auth.login.succeeded to an @OnEvent listener: ids, never the password or a token', async () => {
    const user = await registerAndLogin(app);
    const log = app.get(AuthEventLog);
    const logins = log.logins.filter((event) => event.userId === user.userId);
    expect(logins).toEqual([
      { name: 'login.succeeded', at: expect.any(Date), userId: user.userId, sessionId: expect.any(String), ip: expect.any(String) },
    ]);
    expect(Object.isFrozen(logins[0])).toBe(true);
    const everything = JSON.stringify(log.logins);
    expect(everything).not.toContain(PASSWORD);
    expect(everything).not.toContain(user.accessToken);
  });

  it('keeps the login working when listeners throw and reject, with nothing left unhandled', async () => {
    const broken = app.get(BrokenListeners);
    const before = broken.calls;
    const user = await registerAndLogin(app);
    expect(broken.calls - before).toBe(2);
    await request(app.getHttpServer()).get('/auth/me').set('Authorization', `Bearer ${user.accessToken}`).expect(200);
    await new Promise((resolve) => setImmediate(resolve));
    expect(unhandled).toEqual([]);
    expect(app.get(AuthEventLog).logins.some((event) => event.userId === user.userId)).toBe(true);
  });

  it('reaches an auth.** listener with every event, a failed login included', async () => {
    const log = app.get(AuthEventLog);
    const from = log.names.length;
    const username = uniqueUsername('events');
    const http = request(app.getHttpServer());
    await http.post('/auth/register').send({ username, password: PASSWORD }).expect(201);
    await http.post('/auth/login').send({ username, password: 'not the password at all' }).expect(401);
    await http.post('/auth/login').send({ username, password: PASSWORD }).expect(200);
    expect(log.names.slice(from)).toEqual(['register', 'login.failed', 'login.succeeded']);
  });
});

// ---------------------------------------------------------------------------------------------
// prom-client

@Module({})
class MetricsAppModule {
  /** The module with a sink on `registry`, every core store instrumented, `list` seeing the same events. */
  static with(registry: Registry, list: ListSink, sessionStore: SessionStore = new InMemorySessionStore()): DynamicModule {
    const metrics = new PrometheusAuditSink({ registry });
    return {
      module: MetricsAppModule,
      imports: [
        AuthModule.forRoot({
          secret: TEST_SECRET,
          audit: combineAuditSinks(list, metrics),
          sessionStore: metrics.instrument(sessionStore, 'session'),
          userStore: metrics.instrument(new InMemoryUserStore(), 'user'),
          throttleStore: metrics.instrument(new InMemoryThrottleStore(), 'throttle'),
          loginThrottle: { maxFailuresPerAccount: 3 },
          // Strict reuse: a rotated-away token presented again is reuse at once.
          refreshReuseGraceSeconds: 0,
        }),
      ],
    };
  }
}

const LABEL_VALUES: Record<string, (value: string) => boolean> = {
  outcome: (value) => ['succeeded', 'failed', 'throttled', 'mfa_required', 'grace', 'reused', 'ok', 'error'].includes(value),
  code: (value) => value === 'other' || (Object.values(AuthErrorCode) as string[]).includes(value),
  name: (value) => /^[a-z_]+(\.[a-z_]+)*$/.test(value),
  store: (value) => ['session', 'user', 'throttle'].includes(value),
  operation: (value) => /^[a-zA-Z]+$/.test(value),
  le: (value) => value === '+Inf' || Number.isFinite(Number(value)),
};

describe.each(ADAPTERS)('metrics on prom-client on %s', (adapter) => {
  let app: INestApplication;
  let registry: Registry;
  let list: ListSink;
  let redis: TestRedis;

  beforeAll(async () => {
    redis = await startTestRedis();
    registry = new Registry();
    list = new ListSink();
    app = await createApp(MetricsAppModule.with(registry, list), adapter);
  });

  afterAll(async () => {
    await app.close();
    await redis.stop();
  });

  it('moves the counters by exactly the events that happened: register, failed, throttled and successful logins, refresh reuse', async () => {
    const http = request(app.getHttpServer());
    const before = parseScrape(await registry.metrics());
    const from = list.events.length;

    const victim = uniqueUsername('metrics');
    await http.post('/auth/register').send({ username: victim, password: PASSWORD }).expect(201);
    for (let i = 0; i < 3; i++) await http.post('/auth/login').send({ username: victim, password: 'not the password at all' }).expect(401);
    await http.post('/auth/login').send({ username: victim, password: PASSWORD }).expect(429);

    const owner = uniqueUsername('metrics');
    await http.post('/auth/register').send({ username: owner, password: PASSWORD }).expect(201);
    const tokens = (await http.post('/auth/login').send({ username: owner, password: PASSWORD }).expect(200)).body as {
      refreshToken: string;
    };
    await http.post('/auth/refresh').send({ refreshToken: tokens.refreshToken }).expect(200);
    const replay = await http.post('/auth/refresh').send({ refreshToken: tokens.refreshToken }).expect(401);
    expect(replay.body.code).toBe('AUTH_REFRESH_TOKEN_REUSED');

    const happened = list.events.slice(from).map((event) => event.name);
    expect(happened).toEqual([
      'register',
      'login.failed',
      'login.failed',
      'login.failed',
      'login.throttled',
      'register',
      'login.succeeded',
      'refresh.succeeded',
      'refresh.reused',
    ]);
    expect(counterDeltas(before, parseScrape(await registry.metrics()))).toEqual({
      'nest_warden_events_total{name="register"}': 2,
      'nest_warden_events_total{name="login.failed"}': 3,
      'nest_warden_events_total{name="login.throttled"}': 1,
      'nest_warden_events_total{name="login.succeeded"}': 1,
      'nest_warden_events_total{name="refresh.succeeded"}': 1,
      'nest_warden_events_total{name="refresh.reused"}': 1,
      'nest_warden_logins_total{outcome="failed"}': 3,
      'nest_warden_logins_total{outcome="throttled"}': 1,
      'nest_warden_logins_total{outcome="succeeded"}': 1,
      'nest_warden_refusals_total{code="AUTH_INVALID_CREDENTIALS"}': 3,
      'nest_warden_refusals_total{code="AUTH_TOO_MANY_ATTEMPTS"}': 1,
      'nest_warden_refusals_total{code="AUTH_REFRESH_TOKEN_REUSED"}': 1,
      nest_warden_throttle_hits_total: 1,
      'nest_warden_refresh_total{outcome="succeeded"}': 1,
      'nest_warden_refresh_total{outcome="reused"}': 1,
      nest_warden_refresh_reuse_total: 1,
    });
  });

  it('times the operations of the instrumented in-memory stores, with bounded labels and nothing personal', async () => {
    const before = parseScrape(await registry.metrics());
    const user = await registerAndLogin(app);
    await request(app.getHttpServer()).get('/auth/me').set('Authorization', `Bearer ${user.accessToken}`).expect(200);
    const scrape = await registry.metrics();
    const after = parseScrape(scrape);
    const count = (store: string, operation: string): number =>
      valueOf(after, 'nest_warden_store_operation_duration_seconds_count', { store, operation, outcome: 'ok' }) -
      valueOf(before, 'nest_warden_store_operation_duration_seconds_count', { store, operation, outcome: 'ok' });
    // One login: one user created, one looked up by name, one session opened.
    expect(count('user', 'create')).toBe(1);
    expect(count('user', 'findByUsername')).toBeGreaterThanOrEqual(1);
    expect(count('session', 'create')).toBe(1);
    expect(
      valueOf(after, 'nest_warden_store_operation_duration_seconds_sum', { store: 'session', operation: 'create', outcome: 'ok' }),
    ).toBeGreaterThan(0);

    for (const one of after) {
      for (const [label, value] of Object.entries(one.labels)) {
        expect({ label, value, ok: LABEL_VALUES[label]?.(value) ?? false }).toEqual({ label, value, ok: true });
      }
    }
    for (const personal of [user.username, user.userId, PASSWORD, '127.0.0.1']) expect(scrape).not.toContain(personal);
  });

  it('times an instrumented Redis session store: creates and rotations, and the app closes its client', async () => {
    const redisRegistry = new Registry();
    const store = new RedisSessionStore({ url: redis.url, keyPrefix: `nw-observability-${randomBytes(4).toString('hex')}` });
    const redisApp = await createApp(MetricsAppModule.with(redisRegistry, new ListSink(), store), adapter);
    try {
      const http = request(redisApp.getHttpServer());
      const username = uniqueUsername('redis');
      await http.post('/auth/register').send({ username, password: PASSWORD }).expect(201);
      const tokens = (await http.post('/auth/login').send({ username, password: PASSWORD }).expect(200)).body as { refreshToken: string };
      await http.post('/auth/refresh').send({ refreshToken: tokens.refreshToken }).expect(200);
      const series = parseScrape(await redisRegistry.metrics());
      const count = (operation: string): number =>
        valueOf(series, 'nest_warden_store_operation_duration_seconds_count', { store: 'session', operation, outcome: 'ok' });
      expect(count('create')).toBe(1);
      expect(count('rotateRefreshToken')).toBe(1);
      expect(
        valueOf(series, 'nest_warden_store_operation_duration_seconds_sum', { store: 'session', operation: 'create', outcome: 'ok' }),
      ).toBeGreaterThan(0);
    } finally {
      await redisApp.close();
    }
    // Nest's shutdown hook reached the store through the proxy: its client is closed.
    expect(await store.ping()).toBe(false);
  });
});

// ---------------------------------------------------------------------------------------------
// The demo's AUTH_METRICS

describe.each(ADAPTERS)('the demo with AUTH_METRICS=1 on %s', (adapter) => {
  let app: INestApplication;

  beforeAll(async () => {
    process.env.AUTH_SECRET = TEST_SECRET;
    process.env.AUTH_METRICS = '1';
    // Imported here, after AUTH_METRICS is set: the demo's module reads it when it loads.
    const { AppModule } = await import('../src/app.module.js');
    app = await createApp(AppModule, adapter);
  });

  afterAll(async () => {
    delete process.env.AUTH_SECRET;
    delete process.env.AUTH_METRICS;
    await app.close();
  });

  it('serves GET /metrics, public: a failed login is counted, its username and password nowhere', async () => {
    const http = request(app.getHttpServer());
    const username = uniqueUsername('scraped');
    const password = 'a password that must never be scraped';
    await http.post('/auth/login').send({ username, password }).expect(401);
    const response = await http.get('/metrics').expect(200);
    // The Prometheus text format, version 0.0.4 (the parameters in any order: Express 5.2 puts the charset first).
    const [type, ...parameters] = String(response.headers['content-type'])
      .split(';')
      .map((part) => part.trim());
    expect({ type, parameters: parameters.sort() }).toEqual({ type: 'text/plain', parameters: ['charset=utf-8', 'version=0.0.4'] });
    expect(response.headers['cache-control']).toBe('no-store');
    expect(response.text).toContain('nest_warden_logins_total{outcome="failed"} 1\n');
    expect(response.text).toContain('nest_warden_refusals_total{code="AUTH_INVALID_CREDENTIALS"} 1\n');
    expect(response.text).toMatch(
      /nest_warden_store_operation_duration_seconds_count\{store="user",operation="findByUsername",outcome="ok"\} \d+/,
    );
    expect(response.text).not.toContain(username);
    expect(response.text).not.toContain(password);
  });
});

describe('the demo without AUTH_METRICS', () => {
  it('reads AUTH_METRICS as 1 or true (on), unset, 0 or false (off), and stops the start on anything else', () => {
    for (const on of ['1', 'true', 'TRUE']) expect(demoMetricsEnabled({ AUTH_METRICS: on })).toBe(true);
    for (const off of [undefined, '', '0', 'false']) expect(demoMetricsEnabled({ AUTH_METRICS: off })).toBe(false);
    expect(() => demoMetricsEnabled({ AUTH_METRICS: 'yes' })).toThrow('AUTH_METRICS must be "1" or "true"');
  });

  it('has no /metrics route', async () => {
    process.env.AUTH_SECRET = TEST_SECRET;
    delete process.env.AUTH_METRICS;
    try {
      // A module registry of its own: the demo's module is loaded afresh, with AUTH_METRICS unset.
      await jest.isolateModulesAsync(async () => {
        const { AppModule } = await import('../src/app.module.js');
        const { createApp: createIsolatedApp } = await import('./utils/app.js');
        const demo = await createIsolatedApp(AppModule, 'express');
        try {
          await request(demo.getHttpServer()).get('/metrics').expect(404);
          await request(demo.getHttpServer()).get('/health').expect(200);
        } finally {
          await demo.close();
        }
      });
    } finally {
      delete process.env.AUTH_SECRET;
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Optional peers

describe('the root entry', () => {
  // The modules the root entry loads, from the sources' import statements (relative ones followed).
  function packagesLoadedBy(entry: string): Set<string> {
    const seen = new Set<string>();
    const packages = new Set<string>();
    const visit = (file: string): void => {
      if (seen.has(file)) return;
      seen.add(file);
      const source = readFileSync(file, 'utf8');
      for (const [, typeOnly, specifier] of source.matchAll(/^(?:import|export)\s+(type\s+)?[^'";]*?from\s+'([^']+)'/gm)) {
        if (typeOnly) continue;
        if (specifier!.startsWith('.')) visit(resolve(dirname(file), specifier!.replace(/\.js$/, '.ts')));
        else packages.add(specifier!);
      }
    };
    visit(entry);
    return packages;
  }

  it('loads neither prom-client nor @nestjs/event-emitter; their entries do', () => {
    const root = packagesLoadedBy(join('src', 'auth', 'index.ts'));
    expect(root.has('@nestjs/common')).toBe(true);
    expect(root.has('prom-client')).toBe(false);
    expect(root.has('@nestjs/event-emitter')).toBe(false);
    expect(packagesLoadedBy(join('src', 'auth', 'prometheus', 'index.ts')).has('prom-client')).toBe(true);
    expect(packagesLoadedBy(join('src', 'auth', 'event-emitter', 'index.ts')).has('@nestjs/event-emitter')).toBe(true);
  });
});
