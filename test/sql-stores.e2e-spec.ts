import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { TypeOrmHostAppModule } from './fixtures/typeorm/app.module.js';
import { ADAPTERS, createApp } from './utils/app.js';
import { uniqueUsername } from './utils/auth-client.js';
import { createTestDatabase, startTestSqlServer, type SqlDialect, type TestSqlServer } from './utils/sql-server.js';

const PASSWORD = 'correct horse battery staple';

describe.each<SqlDialect>(['postgres', 'mysql'])('a host app with users and sessions in %s', (dialect) => {
  let server: TestSqlServer;
  let database: Awaited<ReturnType<typeof createTestDatabase>>;

  beforeAll(async () => {
    server = await startTestSqlServer(dialect);
    database = await createTestDatabase(server);
  }, 120_000);

  afterAll(async () => {
    await database?.drop();
    await server?.stop();
  });

  describe.each(ADAPTERS)('on %s, two instances on one database', (adapter) => {
    let a: INestApplication;
    let b: INestApplication;

    beforeAll(async () => {
      const module = () => TypeOrmHostAppModule.on(database.url, dialect === 'postgres' ? 'postgres' : 'mariadb');
      // One after the other: both run the migrations at start, the second finds them done.
      a = await createApp(module(), adapter);
      b = await createApp(module(), adapter);
    }, 60_000);

    afterAll(async () => {
      await a?.close();
      await b?.close();
    });

    it('registers on A, logs in on B, and A accepts the token', async () => {
      const username = uniqueUsername('sql');
      await request(a.getHttpServer()).post('/auth/register').send({ username, password: PASSWORD }).expect(201);
      await request(b.getHttpServer()).post('/auth/register').send({ username: username.toUpperCase(), password: PASSWORD }).expect(409);
      const login = await request(b.getHttpServer()).post('/auth/login').send({ username, password: PASSWORD }).expect(200);
      const token = (login.body as { accessToken: string }).accessToken;
      expect((await request(a.getHttpServer()).get('/notes').auth(token, { type: 'bearer' }).expect(200)).body).toEqual({
        owner: username,
      });
      const me = await request(a.getHttpServer()).get('/auth/me').auth(token, { type: 'bearer' }).expect(200);
      expect(me.body).toMatchObject({ username });
    });

    it('refreshes on one instance, detects the replay on the other, and ends the session everywhere', async () => {
      const username = uniqueUsername('sql');
      await request(a.getHttpServer()).post('/auth/register').send({ username, password: PASSWORD }).expect(201);
      const login = (await request(a.getHttpServer()).post('/auth/login').send({ username, password: PASSWORD }).expect(200)).body as {
        accessToken: string;
        refreshToken: string;
      };
      const refreshed = (await request(b.getHttpServer()).post('/auth/refresh').send({ refreshToken: login.refreshToken }).expect(200))
        .body as { accessToken: string; refreshToken: string };
      await request(b.getHttpServer()).post('/auth/refresh').send({ refreshToken: refreshed.refreshToken }).expect(200);
      const replay = await request(a.getHttpServer()).post('/auth/refresh').send({ refreshToken: login.refreshToken });
      expect(replay.status).toBe(401);
      expect(replay.body.code).toBe('AUTH_REFRESH_TOKEN_REUSED');
      const after = await request(b.getHttpServer()).get('/notes').auth(refreshed.accessToken, { type: 'bearer' });
      expect(after.status).toBe(401);
    });

    it('lists the sessions, revokes one from the other instance, and logs out everywhere', async () => {
      const username = uniqueUsername('sql');
      await request(a.getHttpServer()).post('/auth/register').send({ username, password: PASSWORD }).expect(201);
      const tokens: string[] = [];
      for (const app of [a, b, a]) {
        const login = await request(app.getHttpServer()).post('/auth/login').send({ username, password: PASSWORD }).expect(200);
        tokens.push((login.body as { accessToken: string }).accessToken);
      }
      const listed = await request(b.getHttpServer()).get('/auth/sessions').auth(tokens[0]!, { type: 'bearer' }).expect(200);
      const sessions = listed.body as Array<{ id: string; current: boolean }>;
      expect(sessions).toHaveLength(3);
      const other = sessions.find((session) => !session.current)!;
      await request(b.getHttpServer()).delete(`/auth/sessions/${other.id}`).auth(tokens[0]!, { type: 'bearer' }).expect(204);
      const left = await request(a.getHttpServer()).get('/auth/sessions').auth(tokens[0]!, { type: 'bearer' }).expect(200);
      expect(left.body).toHaveLength(2);
      await request(a.getHttpServer()).post('/auth/logout/all').auth(tokens[0]!, { type: 'bearer' }).expect(204);
      for (const token of tokens) {
        expect((await request(b.getHttpServer()).get('/notes').auth(token, { type: 'bearer' })).status).toBe(401);
      }
    });

    it('counts failed logins across instances: the account locks after 3 wherever they land', async () => {
      const username = uniqueUsername('sql');
      await request(a.getHttpServer()).post('/auth/register').send({ username, password: PASSWORD }).expect(201);
      const statuses: number[] = [];
      for (const app of [a, b, a, b]) {
        statuses.push((await request(app.getHttpServer()).post('/auth/login').send({ username, password: 'wrong password here' })).status);
      }
      expect(statuses).toEqual([401, 401, 401, 429]);
      const locked = await request(b.getHttpServer()).post('/auth/login').send({ username, password: PASSWORD });
      expect(locked.status).toBe(429);
      expect(Number(locked.headers['retry-after'])).toBeGreaterThan(0);
    });

    it('changes a password on one instance and the old one stops working on the other', async () => {
      const username = uniqueUsername('sql');
      await request(a.getHttpServer()).post('/auth/register').send({ username, password: PASSWORD }).expect(201);
      const login = await request(a.getHttpServer()).post('/auth/login').send({ username, password: PASSWORD }).expect(200);
      const token = (login.body as { accessToken: string }).accessToken;
      const newPassword = 'another horse battery staple';
      await request(a.getHttpServer())
        .post('/auth/password')
        .auth(token, { type: 'bearer' })
        .send({ currentPassword: PASSWORD, newPassword })
        .expect((response) => expect(response.status).toBeLessThan(300));
      expect((await request(b.getHttpServer()).post('/auth/login').send({ username, password: PASSWORD })).status).toBe(401);
      await request(b.getHttpServer()).post('/auth/login').send({ username, password: newPassword }).expect(200);
    });
  });
});
