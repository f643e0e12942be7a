import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { GlobalGuardAppModule } from './fixtures/global-guard/app.module.js';
import { ADAPTERS, createApp } from './utils/app.js';
import { registerAndLogin, uniqueUsername } from './utils/auth-client.js';

const deep = (depth: number): string => `${'['.repeat(depth)}${']'.repeat(depth)}`;

describe.each(ADAPTERS)('bad input never gets a 500 on %s', (adapter) => {
  let app: INestApplication;
  let http: ReturnType<typeof request>;

  beforeAll(async () => {
    app = await createApp(GlobalGuardAppModule, adapter);
    http = request(app.getHttpServer());
  });

  afterAll(async () => {
    await app.close();
  });

  const expectError = (response: request.Response, status: number, code: string): void => {
    expect(response.status).toBe(status);
    expect(response.body).toEqual({ statusCode: status, code, message: expect.any(String) });
  };

  const bodies: Array<[string, unknown]> = [
    ['username as a number', { username: 12345, password: 'long enough pw' }],
    ['password as a number', { username: 'someone', password: 12345678 }],
    ['password as an array', { username: 'someone', password: ['long enough pw'] }],
    ['username as an object', { username: { $gt: '' }, password: 'long enough pw' }],
    ['username null', { username: null, password: 'long enough pw' }],
    ['password true', { username: 'someone', password: true }],
    ['missing password', { username: 'someone' }],
    ['missing username', { password: 'long enough pw' }],
    ['empty object', {}],
    ['an extra field', { username: 'someone', password: 'long enough pw', isAdmin: true }],
    ['a __proto__ key', JSON.parse('{"username":"someone","password":"long enough pw","__proto__":{"isAdmin":true}}')],
    ['a constructor key', { username: 'someone', password: 'long enough pw', constructor: { prototype: {} } }],
    ['an array body', [{ username: 'someone', password: 'long enough pw' }]],
    ['a password over 1024 characters', { username: 'someone', password: 'p'.repeat(1025) }],
    ['an empty password', { username: 'someone', password: '' }],
  ];

  describe.each(['/auth/register', '/auth/login'])('POST %s', (route) => {
    it.each(bodies)('refuses %s: 400 AUTH_VALIDATION_FAILED', async (_label, body) => {
      expectError(await http.post(route).send(body as object), 400, 'AUTH_VALIDATION_FAILED');
    });

    it.each([
      ['a JSON string', '"username"'],
      ['a JSON number', '42'],
      ['JSON null', 'null'],
      ['malformed JSON', '{"username": "someone", '],
      ['a trailing comma', '{"username":"someone","password":"long enough pw",}'],
      ['absurdly deep JSON', `{"username":${deep(5000)},"password":"long enough pw"}`],
      ['moderately deep JSON', `{"username":"someone","password":"long enough pw","x":${deep(20)}}`],
    ])('refuses %s: 400 AUTH_VALIDATION_FAILED', async (_label, raw) => {
      const response = await http.post(route).set('Content-Type', 'application/json').send(raw);
      expectError(response, 400, 'AUTH_VALIDATION_FAILED');
    });

    it('refuses a body with no content at all: 400', async () => {
      expectError(await http.post(route), 400, 'AUTH_VALIDATION_FAILED');
    });

    it.each([
      ['text/plain', 'username=someone'],
      ['application/x-www-form-urlencoded', 'username=someone&password=long+enough+pw'],
      ['application/xml', '<login/>'],
    ])('refuses %s: 415 AUTH_UNSUPPORTED_MEDIA_TYPE', async (type, raw) => {
      expectError(await http.post(route).set('Content-Type', type).send(raw), 415, 'AUTH_UNSUPPORTED_MEDIA_TYPE');
    });

    it('refuses a body over 100 kB: 413 AUTH_PAYLOAD_TOO_LARGE', async () => {
      const body = JSON.stringify({ username: 'someone', password: 'x'.repeat(110 * 1024) });
      const response = await http.post(route).set('Content-Type', 'application/json').send(body);
      expectError(response, 413, 'AUTH_PAYLOAD_TOO_LARGE');
    });

    it('never echoes parser internals', async () => {
      const response = await http.post(route).set('Content-Type', 'application/json').send('{"a":');
      expect(response.body.message).not.toMatch(/position|Unexpected|JSON at/);
    });
  });

  it('keeps working and keeps users intact after all of that', async () => {
    const user = await registerAndLogin(app);
    await http.get('/auth/me').set('Authorization', `Bearer ${user.accessToken}`).expect(200);
    await http.post('/auth/register').send({ username: user.username, password: 'long enough pw' }).expect(409);
  });

  it('accepts application/json with a charset parameter', async () => {
    const body = JSON.stringify({ username: uniqueUsername(), password: 'long enough pw' });
    await http.post('/auth/register').set('Content-Type', 'application/json; charset=utf-8').send(body).expect(201);
  });

  it('refuses an over-long Authorization header: 401, not 431 or 500', async () => {
    const response = await http.get('/auth/me').set('Authorization', `Bearer ${'a'.repeat(5000)}.b.c`);
    expectError(response, 401, 'AUTH_TOKEN_INVALID');
  });
});
