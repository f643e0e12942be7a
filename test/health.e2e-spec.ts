import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { Controller, Get, Module, type INestApplication } from '@nestjs/common';
import { HealthCheck, HealthCheckService, type HealthCheckResult } from '@nestjs/terminus';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { AuthModule, mfaFlow, Public, type AuthModuleOptions } from '../src/auth/index.js';
import { RedisMfaStore, RedisSessionStore, RedisThrottleStore } from '../src/auth/redis/index.js';
import { AuthHealthIndicator, AuthHealthModule } from '../src/auth/terminus/index.js';
import {
  TypeOrmSessionStore,
  TypeOrmThrottleStore,
  TypeOrmUserStore,
  wardenEntities,
  wardenMigrations,
} from '../src/auth/typeorm/index.js';
import { ProfileController } from '../src/demo/profile.controller.js';
import { RedisUserStore } from '../src/demo/redis-user.store.js';
import { ADAPTERS, createApp, TEST_SECRET } from './utils/app.js';
import { startTestRedis, type TestRedis } from './utils/redis-server.js';
import { createTestDatabase, startTestSqlServer, type SqlDialect, type TestSqlServer } from './utils/sql-server.js';

// The health check on real stores: a Redis that goes down and comes back, a DataSource that is
// closed, a database server that stops answering. Over HTTP on Express and Fastify.

jest.setTimeout(60_000);

type Body = HealthCheckResult & { details: { auth: Record<string, { status: string; implementation?: string; reason?: string }> } };

/** GET /health until it answers `status` (a store reconnecting takes a moment), at most `withinMs`. */
async function healthUntil(app: INestApplication, status: number, withinMs = 15_000): Promise<request.Response> {
  const deadline = Date.now() + withinMs;
  let response = await request(app.getHttpServer()).get('/health');
  while (response.status !== status && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    response = await request(app.getHttpServer()).get('/health');
  }
  return response;
}

/** A host app's own health route, as docs/health.md shows it, with the check's timeout given. */
function hostHealthApp(options: AuthModuleOptions, timeoutMs?: number) {
  @Controller('health')
  class HealthController {
    constructor(
      private readonly health: HealthCheckService,
      private readonly auth: AuthHealthIndicator,
    ) {}

    @Public()
    @Get()
    @HealthCheck()
    check(): Promise<HealthCheckResult> {
      return this.health.check([() => this.auth.isHealthy('auth', timeoutMs === undefined ? {} : { timeoutMs })]);
    }
  }

  @Module({ imports: [AuthModule.forRoot({ globalGuard: true, ...options }), AuthHealthModule], controllers: [HealthController] })
  class HealthAppModule {}
  return HealthAppModule;
}

describe.each(ADAPTERS)("the demo's /health on Redis stores, on %s", (adapter) => {
  let redis: TestRedis;
  let app: INestApplication;

  beforeAll(async () => {
    // A private server: the test kills it.
    redis = await startTestRedis({ privateServer: true });
    const url = redis.url;
    // The demo's own route (ProfileController), on the demo's Redis stores and users.
    @Module({
      imports: [
        AuthModule.forRoot({
          secret: TEST_SECRET,
          globalGuard: true,
          sessionStore: new RedisSessionStore({ url, commandTimeoutMs: 200 }),
          throttleStore: new RedisThrottleStore({ url, commandTimeoutMs: 200 }),
          userStore: new RedisUserStore(url),
          flows: [mfaFlow({ encryptionKey: 'a-test-mfa-encryption-key-of-32-bytes-or-more', store: new RedisMfaStore({ url }) })],
        }),
        AuthHealthModule,
      ],
      controllers: [ProfileController],
    })
    class DemoOnRedisModule {}
    app = await createApp(DemoOnRedisModule, adapter);
  }, 60_000);

  afterAll(async () => {
    await app?.close();
    await redis?.stop();
  });

  it('is 200 with every Redis store up, 503 naming them while Redis is down, and 200 again once it is back', async () => {
    const up = await request(app.getHttpServer()).get('/health').expect(200);
    const body = up.body as Body;
    expect(body.status).toBe('ok');
    expect(body.error).toEqual({});
    expect(body.info).toEqual(body.details);
    expect(body.details.auth).toEqual({
      status: 'up',
      sessionStore: { status: 'up', implementation: 'RedisSessionStore', responseTimeMs: expect.any(Number) },
      userStore: { status: 'up', implementation: 'RedisUserStore', responseTimeMs: expect.any(Number) },
      throttleStore: { status: 'up', implementation: 'RedisThrottleStore', responseTimeMs: expect.any(Number) },
      mfaStore: { status: 'up', implementation: 'RedisMfaStore', responseTimeMs: expect.any(Number) },
    });

    await redis.kill();
    try {
      const started = Date.now();
      const down = await request(app.getHttpServer()).get('/health');
      // Bounded by the indicator's timeout (a second), whatever the stores' own.
      expect(Date.now() - started).toBeLessThan(2500);
      expect(down.status).toBe(503);
      const failed = down.body as Body;
      expect(failed.status).toBe('error');
      expect(failed.info).toEqual({});
      expect(failed.error).toEqual(failed.details);
      const auth = failed.details.auth;
      expect(auth.status).toBe('down');
      for (const name of ['sessionStore', 'userStore', 'throttleStore', 'mfaStore']) expect(auth[name]?.status).toBe('down');
      // The stores with a 200 ms command timeout answer false in time; the others are cut at the second.
      expect(auth.sessionStore?.reason).toBe('unavailable');
      expect(auth.throttleStore?.reason).toBe('unavailable');
      expect(['unavailable', 'timeout']).toContain(auth.mfaStore?.reason);
      // Where Redis is, or what it answered, is nobody's business on a public route.
      const text = JSON.stringify(failed);
      expect(text).not.toContain(redis.url);
      expect(text).not.toContain(new URL(redis.url).port);
      expect(text).not.toMatch(/ECONNREFUSED|127\.0\.0\.1|max retries/i);
    } finally {
      await redis.restart();
    }

    const back = await healthUntil(app, 200);
    expect(back.status).toBe(200);
    expect((back.body as Body).details.auth.sessionStore?.status).toBe('up');
  });
});

/** A DataSource on a private, migrated database of the test server; `close()` also drops the database. */
async function migratedDataSource(server: TestSqlServer) {
  const database = await createTestDatabase(server);
  const dataSource = new DataSource({
    type: server.dialect === 'postgres' ? 'postgres' : 'mariadb',
    url: database.url,
    entities: wardenEntities as never,
    migrations: wardenMigrations as never,
    migrationsRun: true,
    logging: false,
  });
  await dataSource.initialize();
  return {
    dataSource,
    close: async () => {
      if (dataSource.isInitialized) await dataSource.destroy();
      await database.drop();
    },
  };
}

const sqlStores = (dataSource: DataSource): AuthModuleOptions => ({
  secret: TEST_SECRET,
  sessionStore: new TypeOrmSessionStore({ dataSource, sweepIntervalSeconds: 0 }),
  userStore: new TypeOrmUserStore({ dataSource }),
  throttleStore: new TypeOrmThrottleStore({ dataSource, sweepIntervalSeconds: 0 }),
});

describe.each<SqlDialect>(['postgres', 'mysql'])('a host health check on SQL stores in %s', (dialect) => {
  let server: TestSqlServer;

  beforeAll(async () => {
    server = await startTestSqlServer(dialect);
  }, 120_000);

  afterAll(async () => {
    await server?.stop();
  });

  it.each(ADAPTERS)('on %s: 200 on a live DataSource, 503 once it is closed', async (adapter) => {
    const db = await migratedDataSource(server);
    const app = await createApp(hostHealthApp(sqlStores(db.dataSource)), adapter);
    try {
      const up = await request(app.getHttpServer()).get('/health').expect(200);
      expect((up.body as Body).details.auth).toEqual({
        status: 'up',
        sessionStore: { status: 'up', implementation: 'TypeOrmSessionStore', responseTimeMs: expect.any(Number) },
        userStore: { status: 'up', implementation: 'TypeOrmUserStore', responseTimeMs: expect.any(Number) },
        throttleStore: { status: 'up', implementation: 'TypeOrmThrottleStore', responseTimeMs: expect.any(Number) },
      });

      await db.dataSource.destroy();
      const down = await request(app.getHttpServer()).get('/health').expect(503);
      const body = down.body as Body;
      expect(body.status).toBe('error');
      for (const name of ['sessionStore', 'userStore', 'throttleStore']) {
        expect(body.details.auth[name]).toMatchObject({ status: 'down', reason: 'unavailable' });
      }
      expect(JSON.stringify(body)).not.toMatch(/nw_test_|postgres:|mysql:|pool/i);
    } finally {
      await app.close();
      await db.close();
    }
  });
});

describe('a host health check on a PostgreSQL server that stops answering', () => {
  let server: TestSqlServer;
  let db: Awaited<ReturnType<typeof migratedDataSource>>;

  beforeAll(async () => {
    // A private server: the test freezes it.
    server = await startTestSqlServer('postgres', { privateServer: true });
    db = await migratedDataSource(server);
  }, 120_000);

  afterAll(async () => {
    await db?.close();
    await server?.stop();
  });

  it.each(ADAPTERS)(
    'on %s: the ping hangs, the check cuts it at its timeout (503), and is 200 once the server answers again',
    async (adapter) => {
      // The stores' own operation timeout (2 s) is longer than the check's: the check decides.
      const app = await createApp(hostHealthApp(sqlStores(db.dataSource), 300), adapter);
      try {
        await request(app.getHttpServer()).get('/health').expect(200);
        await server.pause();
        try {
          const started = Date.now();
          const down = await request(app.getHttpServer()).get('/health');
          const tookMs = Date.now() - started;
          expect(down.status).toBe(503);
          expect(tookMs).toBeGreaterThanOrEqual(290);
          expect(tookMs).toBeLessThan(1500);
          const auth = (down.body as Body).details.auth;
          for (const name of ['sessionStore', 'userStore', 'throttleStore']) {
            expect(auth[name]).toEqual({ status: 'down', implementation: expect.any(String), responseTimeMs: 300, reason: 'timeout' });
          }
        } finally {
          await server.resume();
        }
        const back = await healthUntil(app, 200);
        expect(back.status).toBe(200);
      } finally {
        await app.close();
      }
    },
  );
});
