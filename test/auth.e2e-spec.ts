import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import jsonwebtoken from 'jsonwebtoken';
import request from 'supertest';
import { GlobalGuardAppModule } from './fixtures/global-guard/app.module.js';
import { ADAPTERS, createApp, TEST_SECRET } from './utils/app.js';
import { claimsOf, login, registerAndLogin, uniqueUsername } from './utils/auth-client.js';

const ERROR_KEYS = ['code', 'message', 'statusCode'];

describe.each(ADAPTERS)('AuthController and AuthGuard (global guard) on %s', (adapter) => {
  let app: INestApplication;
  let http: ReturnType<typeof request>;

  beforeAll(async () => {
    app = await createApp(GlobalGuardAppModule, adapter);
    http = request(app.getHttpServer());
  });

  afterAll(async () => {
    await app.close();
  });

  const expectAuthError = (body: Record<string, unknown>, status: number, code: string): void => {
    expect(Object.keys(body).sort()).toEqual(ERROR_KEYS);
    expect(body).toMatchObject({ statusCode: status, code });
  };

  /** Signs a token with the test secret and a live session's ids, with overrides. */
  const craft = (base: string, payload: Record<string, unknown> = {}, options: jsonwebtoken.SignOptions = {}): string => {
    const claims = claimsOf(base);
    return jsonwebtoken.sign({ sub: claims.sub, sid: claims.sid, jti: 'crafted', ...payload }, TEST_SECRET, {
      algorithm: 'HS256',
      issuer: 'nest-warden',
      audience: 'nest-warden',
      ...('exp' in payload ? {} : { expiresIn: 600 }),
      ...options,
      header: { alg: options.algorithm ?? 'HS256', typ: 'at+jwt', ...(options.header ?? {}) } as jsonwebtoken.JwtHeader,
    });
  };

  describe('POST /auth/register', () => {
    it('creates a user: 201 { userId, username } and nothing else', async () => {
      const username = uniqueUsername();
      const response = await http.post('/auth/register').send({ username, password: 'long enough pw' }).expect(201);
      expect(Object.keys(response.body).sort()).toEqual(['userId', 'username']);
      expect(response.body.username).toBe(username);
    });

    it('refuses a password under 8 characters: 400 AUTH_PASSWORD_POLICY', async () => {
      const response = await http.post('/auth/register').send({ username: uniqueUsername(), password: 'short' }).expect(400);
      expectAuthError(response.body, 400, 'AUTH_PASSWORD_POLICY');
      expect(response.body.message).toMatch(/at least 8/);
    });

    it('refuses a password over 128 characters: 400 AUTH_PASSWORD_POLICY', async () => {
      const response = await http
        .post('/auth/register')
        .send({ username: uniqueUsername(), password: 'x'.repeat(129) })
        .expect(400);
      expectAuthError(response.body, 400, 'AUTH_PASSWORD_POLICY');
    });

    it('refuses a common password and one containing the username, saying why: 400 AUTH_PASSWORD_POLICY', async () => {
      const common = await http.post('/auth/register').send({ username: uniqueUsername(), password: 'iloveyou123' }).expect(400);
      expectAuthError(common.body, 400, 'AUTH_PASSWORD_POLICY');
      expect(common.body.message).toMatch(/too common/);
      const username = uniqueUsername();
      const mine = await http
        .post('/auth/register')
        .send({ username, password: `my ${username} pw` })
        .expect(400);
      expectAuthError(mine.body, 400, 'AUTH_PASSWORD_POLICY');
      expect(mine.body.message).toMatch(/username/);
    });

    it('counts password length in code points: 8 emoji pass, 7 do not', async () => {
      await http.post('/auth/register').send({ username: uniqueUsername(), password: '🔑🌲🚲🎈🧭🪁🛶🌋' }).expect(201);
      await http.post('/auth/register').send({ username: uniqueUsername(), password: '🔑🌲🚲🎈🧭🪁🛶' }).expect(400);
    });

    it('refuses a malformed username: 400 AUTH_VALIDATION_FAILED', async () => {
      for (const username of ['ab', 'has space', 'x'.repeat(65), 'semi;colon']) {
        const response = await http.post('/auth/register').send({ username, password: 'long enough pw' }).expect(400);
        expectAuthError(response.body, 400, 'AUTH_VALIDATION_FAILED');
      }
    });

    it('refuses a taken username: 409 AUTH_USERNAME_TAKEN', async () => {
      const username = uniqueUsername();
      await http.post('/auth/register').send({ username, password: 'long enough pw' }).expect(201);
      const response = await http.post('/auth/register').send({ username, password: 'another password' }).expect(409);
      expectAuthError(response.body, 409, 'AUTH_USERNAME_TAKEN');
    });
  });

  describe('POST /auth/login', () => {
    it('answers 200 { accessToken, refreshToken, tokenType, expiresIn, deviceToken } with Cache-Control: no-store', async () => {
      const { username, password } = await registerAndLogin(app);
      const response = await http.post('/auth/login').send({ username, password }).expect(200);
      // deviceToken: the login throttle is on (the default).
      expect(Object.keys(response.body).sort()).toEqual(['accessToken', 'deviceToken', 'expiresIn', 'refreshToken', 'tokenType']);
      expect(response.body).toMatchObject({ tokenType: 'Bearer', expiresIn: 3600 });
      expect(response.headers['cache-control']).toBe('no-store');
      const claims = claimsOf(response.body.accessToken);
      expect(Object.keys(claims).sort()).toEqual(['amr', 'aud', 'auth_time', 'exp', 'iat', 'iss', 'jti', 'sid', 'sub']);
      // How and when the session's user authenticated (RFC 8176, OpenID Connect): a password, just now.
      expect(claims.amr).toEqual(['pwd']);
      expect(claims.auth_time).toBe(claims.iat);
      expect((claims.exp as number) - (claims.iat as number)).toBe(3600);
      const header = JSON.parse(Buffer.from(response.body.accessToken.split('.')[0], 'base64url').toString());
      expect(header.alg).toBe('HS256');
    });

    it('gives a wrong password and an unknown user the same 401 body', async () => {
      const { username } = await registerAndLogin(app);
      const wrong = await http.post('/auth/login').send({ username, password: 'not the password' }).expect(401);
      const unknown = await http.post('/auth/login').send({ username: uniqueUsername(), password: 'not the password' }).expect(401);
      expectAuthError(wrong.body, 401, 'AUTH_INVALID_CREDENTIALS');
      expect(unknown.body).toEqual(wrong.body);
      expect(wrong.headers['www-authenticate']).toMatch(/^Bearer /);
    });

    it('opens a new session with a fresh id on every login', async () => {
      const { username, password, accessToken } = await registerAndLogin(app);
      const second = await login(app, username, password);
      expect(claimsOf(second).sid).not.toBe(claimsOf(accessToken).sid);
      expect(String(claimsOf(second).sid).length).toBeGreaterThanOrEqual(22); // 128 bits, base64url
    });
  });

  describe('GET /auth/me and guarded host routes', () => {
    it('returns the caller { userId, username, sessionId }', async () => {
      const { username, userId, accessToken } = await registerAndLogin(app);
      const response = await http.get('/auth/me').set('Authorization', `Bearer ${accessToken}`).expect(200);
      expect(response.body).toEqual({ userId, username, sessionId: claimsOf(accessToken).sid });
    });

    it('gives @CurrentUser() and @CurrentUser(field) to host controllers', async () => {
      const { userId, accessToken } = await registerAndLogin(app);
      const response = await http.get('/notes').set('Authorization', `Bearer ${accessToken}`).expect(200);
      expect(response.body.owner).toBe(userId);
      expect(response.body.user.userId).toBe(userId);
    });

    it('lets @Public() routes through without a token', async () => {
      await http.get('/open').expect(200, { open: true });
    });

    it('answers 401 AUTH_TOKEN_MISSING with a Bearer challenge when there is no token', async () => {
      const response = await http.get('/notes').expect(401);
      expectAuthError(response.body, 401, 'AUTH_TOKEN_MISSING');
      expect(response.headers['www-authenticate']).toBe('Bearer realm="nest-warden"');
    });

    it('answers 401 AUTH_TOKEN_INVALID with error="invalid_token" for garbage', async () => {
      const response = await http.get('/notes').set('Authorization', 'Bearer abc.def.ghi').expect(401);
      expectAuthError(response.body, 401, 'AUTH_TOKEN_INVALID');
      expect(response.headers['www-authenticate']).toContain('error="invalid_token"');
    });

    it('answers 401 AUTH_TOKEN_EXPIRED for an expired token of a live session', async () => {
      const { accessToken } = await registerAndLogin(app);
      const now = Math.floor(Date.now() / 1000);
      const expired = craft(accessToken, { iat: now - 120, exp: now - 60 });
      const response = await http.get('/notes').set('Authorization', `Bearer ${expired}`).expect(401);
      expectAuthError(response.body, 401, 'AUTH_TOKEN_EXPIRED');
    });

    it('accepts a correctly crafted token, so the refusals below are about the one changed thing', async () => {
      const { accessToken } = await registerAndLogin(app);
      await http
        .get('/notes')
        .set('Authorization', `Bearer ${craft(accessToken)}`)
        .expect(200);
    });

    it.each([
      ['a wrong algorithm (HS512)', {}, { algorithm: 'HS512' as const }],
      ['a wrong issuer', {}, { issuer: 'someone-else' }],
      ['a wrong audience', {}, { audience: 'another-api' }],
      ['a future iat', { iat: Math.floor(Date.now() / 1000) + 3600 }, {}],
      ['a future nbf', { nbf: Math.floor(Date.now() / 1000) + 3600 }, {}],
      ['a crit header', {}, { header: { alg: 'HS256', crit: ['exp'] } as unknown as jsonwebtoken.JwtHeader }],
    ])('refuses %s: 401 AUTH_TOKEN_INVALID', async (_label, payload, options) => {
      const { accessToken } = await registerAndLogin(app);
      const token = craft(accessToken, payload, options as jsonwebtoken.SignOptions);
      const response = await http.get('/notes').set('Authorization', `Bearer ${token}`).expect(401);
      expectAuthError(response.body, 401, 'AUTH_TOKEN_INVALID');
    });

    it('refuses a token without exp', async () => {
      const { accessToken } = await registerAndLogin(app);
      const claims = claimsOf(accessToken);
      const token = jsonwebtoken.sign({ sub: claims.sub, sid: claims.sid, jti: 'x' }, TEST_SECRET, {
        algorithm: 'HS256',
        issuer: 'nest-warden',
        audience: 'nest-warden',
        header: { alg: 'HS256', typ: 'at+jwt' },
      });
      await http.get('/notes').set('Authorization', `Bearer ${token}`).expect(401);
    });

    it('refuses alg "none" and a signature from another secret', async () => {
      const { accessToken } = await registerAndLogin(app);
      const [, payload] = accessToken.split('.');
      const none = `${Buffer.from('{"alg":"none","typ":"at+jwt"}').toString('base64url')}.${payload}.`;
      const forged = craft(accessToken, {}, {});
      const otherSecret = jsonwebtoken.sign(claimsOf(forged), 'another-secret-that-is-at-least-32-bytes', {
        algorithm: 'HS256',
        header: { alg: 'HS256', typ: 'at+jwt' },
      });
      for (const token of [none, otherSecret]) {
        const response = await http.get('/notes').set('Authorization', `Bearer ${token}`).expect(401);
        expectAuthError(response.body, 401, 'AUTH_TOKEN_INVALID');
      }
    });

    it('is strict about the Authorization header', async () => {
      const { accessToken } = await registerAndLogin(app);
      await http.get('/notes').set('Authorization', `bearer ${accessToken}`).expect(200);
      await http.get('/notes').set('Authorization', `BEARER ${accessToken}`).expect(200);
      for (const header of [
        `Bearer  ${accessToken}`,
        `Bearer ${accessToken} extra`,
        accessToken,
        `Basic ${accessToken}`,
        `Token ${accessToken}`,
      ]) {
        const response = await http.get('/notes').set('Authorization', header).expect(401);
        expectAuthError(response.body, 401, 'AUTH_TOKEN_INVALID');
      }
    });

    it('never reads tokens from the query string or the body', async () => {
      const { accessToken } = await registerAndLogin(app);
      const query = await http.get(`/notes?access_token=${accessToken}&token=${accessToken}`).expect(401);
      expectAuthError(query.body, 401, 'AUTH_TOKEN_MISSING');
      const body = await http.post('/auth/logout').send({ access_token: accessToken }).expect(401);
      expectAuthError(body.body, 401, 'AUTH_TOKEN_MISSING');
    });
  });

  describe("JwtStrategy through passport (@nestjs/passport's AuthGuard('nest-warden-jwt'))", () => {
    it('accepts a valid token and gives the same user', async () => {
      const { userId, username, accessToken } = await registerAndLogin(app);
      const response = await http.get('/passport').set('Authorization', `Bearer ${accessToken}`).expect(200);
      expect(response.body).toEqual({ userId, username, sessionId: claimsOf(accessToken).sid });
    });

    it.each([
      ['a wrong algorithm (HS384)', {}, { algorithm: 'HS384' as const }],
      ['a wrong issuer', {}, { issuer: 'someone-else' }],
      ['a wrong audience', {}, { audience: 'another-api' }],
      ['a future iat', { iat: Math.floor(Date.now() / 1000) + 3600 }, {}],
      ['a crit header', {}, { header: { alg: 'HS256', crit: ['exp'] } as unknown as jsonwebtoken.JwtHeader }],
      ['an expired token', { iat: Math.floor(Date.now() / 1000) - 120, exp: Math.floor(Date.now() / 1000) - 60 }, {}],
    ])('refuses %s', async (_label, payload, options) => {
      const { accessToken } = await registerAndLogin(app);
      await http
        .get('/passport')
        .set('Authorization', `Bearer ${craft(accessToken)}`)
        .expect(200);
      const token = craft(accessToken, payload, options as jsonwebtoken.SignOptions);
      await http.get('/passport').set('Authorization', `Bearer ${token}`).expect(401);
    });

    it('refuses alg none and a token whose session has ended', async () => {
      const { accessToken } = await registerAndLogin(app);
      const none = `${Buffer.from('{"alg":"none","typ":"at+jwt"}').toString('base64url')}.${accessToken.split('.')[1]}.`;
      await http.get('/passport').set('Authorization', `Bearer ${none}`).expect(401);
      await http.post('/auth/logout').set('Authorization', `Bearer ${accessToken}`).expect(204);
      await http.get('/passport').set('Authorization', `Bearer ${accessToken}`).expect(401);
    });
  });

  describe('POST /auth/logout and /auth/logout/all', () => {
    it('ends the session: 204, then the same token is refused with AUTH_SESSION_REVOKED', async () => {
      const { username, password, accessToken } = await registerAndLogin(app);
      const other = await login(app, username, password);
      await http.post('/auth/logout').set('Authorization', `Bearer ${accessToken}`).expect(204);
      const response = await http.get('/auth/me').set('Authorization', `Bearer ${accessToken}`).expect(401);
      expectAuthError(response.body, 401, 'AUTH_SESSION_REVOKED');
      await http.get('/auth/me').set('Authorization', `Bearer ${other}`).expect(200);
    });

    it('logout/all ends every session of the user and no one else', async () => {
      const alice = await registerAndLogin(app);
      const aliceSecond = await login(app, alice.username, alice.password);
      const bob = await registerAndLogin(app);
      await http.post('/auth/logout/all').set('Authorization', `Bearer ${alice.accessToken}`).expect(204);
      for (const token of [alice.accessToken, aliceSecond]) {
        const response = await http.get('/auth/me').set('Authorization', `Bearer ${token}`).expect(401);
        expectAuthError(response.body, 401, 'AUTH_SESSION_REVOKED');
      }
      await http.get('/auth/me').set('Authorization', `Bearer ${bob.accessToken}`).expect(200);
    });

    it('requires a token: 401', async () => {
      await http.post('/auth/logout').expect(401);
      await http.post('/auth/logout/all').expect(401);
    });
  });

  describe('AuthService injected in a host provider', () => {
    it('isAuthenticated follows login and logout', async () => {
      const { accessToken } = await registerAndLogin(app);
      await http.get('/inspect').query({ token: accessToken }).expect(200, { authenticated: true });
      await http.post('/auth/logout').set('Authorization', `Bearer ${accessToken}`).expect(204);
      await http.get('/inspect').query({ token: accessToken }).expect(200, { authenticated: false });
    });
  });
});
