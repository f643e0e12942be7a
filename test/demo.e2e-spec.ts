import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { AppModule } from '../src/app.module.js';
import { serveDemoDocs } from '../src/demo/configure-app.js';
import { ADAPTERS, createApp, TEST_SECRET } from './utils/app.js';
import { uniqueUsername } from './utils/auth-client.js';

describe.each(ADAPTERS)('the demo app (npm start) on %s', (adapter) => {
  let app: INestApplication;

  beforeAll(async () => {
    process.env.AUTH_SECRET = TEST_SECRET;
    app = await createApp(AppModule, adapter);
  });

  afterAll(async () => {
    delete process.env.AUTH_SECRET;
    await app.close();
  });

  it('serves a public health check without X-Powered-By', async () => {
    const response = await request(app.getHttpServer()).get('/health').expect(200, { status: 'ok', sessionStore: 'up' });
    expect(response.headers['x-powered-by']).toBeUndefined();
  });

  it('runs the README walk-through: register, login, profile, logout', async () => {
    const http = request(app.getHttpServer());
    const username = uniqueUsername('demo');
    await http.post('/auth/register').send({ username, password: 'correct horse battery staple' }).expect(201);
    const { body } = await http.post('/auth/login').send({ username, password: 'correct horse battery staple' }).expect(200);
    const auth = `Bearer ${body.accessToken}`;
    const profile = await http.get('/profile').set('Authorization', auth).expect(200);
    expect(profile.body.username).toBe(username);
    await http.post('/auth/logout').set('Authorization', auth).expect(204);
    const after = await http.get('/profile').set('Authorization', auth).expect(401);
    expect(after.body.code).toBe('AUTH_SESSION_REVOKED');
  });

  it('guards /profile globally', async () => {
    const response = await request(app.getHttpServer()).get('/profile').expect(401);
    expect(response.body.code).toBe('AUTH_TOKEN_MISSING');
  });
});

// Express only here: under jest's ESM loader, @nestjs/swagger cannot load @fastify/static for
// the UI; `HTTP_ADAPTER=fastify npm start` serves /docs and /docs-json fine.
describe('the demo OpenAPI document (Express)', () => {
  let app: INestApplication;

  beforeAll(async () => {
    process.env.AUTH_SECRET = TEST_SECRET;
    app = await createApp(AppModule, 'express', serveDemoDocs);
  });

  afterAll(async () => {
    delete process.env.AUTH_SECRET;
    await app.close();
  });

  it('serves the OpenAPI document with the auth routes and bearer auth declared', async () => {
    const { body } = await request(app.getHttpServer()).get('/docs-json').expect(200);
    expect(Object.keys(body.paths)).toEqual(
      expect.arrayContaining([
        '/auth/register',
        '/auth/login',
        '/auth/refresh',
        '/auth/me',
        '/auth/sessions',
        '/auth/sessions/{id}',
        '/profile',
      ]),
    );
    expect(body.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(body.paths['/auth/me'].get.security).toEqual([{ bearer: [] }]);
    expect(body.components.schemas.LoginDto.properties).toHaveProperty('password');
  });
});
