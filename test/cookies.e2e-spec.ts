import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { configureDemoApp } from '../src/demo/configure-app.js';
import {
  CookiesAppModule,
  OnRequestCookiesAppModule,
  PlainHttpCookiesAppModule,
  PrefixedCookiesAppModule,
} from './fixtures/cookies/app.module.js';
import { AuthModule } from '../src/auth/index.js';
import { ADAPTERS, createApp, TEST_SECRET } from './utils/app.js';
import { jarOf, registerAndLoginWithCookies, uniqueUsername } from './utils/auth-client.js';

describe.each(ADAPTERS)('cookie transport with CSRF protection on %s', (adapter) => {
  let app: INestApplication;
  let http: ReturnType<typeof request>;

  beforeAll(async () => {
    app = await createApp(CookiesAppModule, adapter);
    http = request(app.getHttpServer());
  });

  afterAll(async () => {
    await app.close();
  });

  const signIn = (): ReturnType<typeof registerAndLoginWithCookies> => registerAndLoginWithCookies(app);

  it('sets HttpOnly, Secure, SameSite=Strict cookies, the refresh one only on the refresh path, and keeps tokens out of the body', async () => {
    const { jar, body } = await signIn();
    expect(body).toEqual({ tokenType: 'Cookie', expiresIn: 3600 });
    const access = jar.raw.find((c) => c.startsWith('__Host-nw_access='))!;
    const refresh = jar.raw.find((c) => c.startsWith('__Secure-nw_refresh='))!;
    const csrf = jar.raw.find((c) => c.startsWith('__Host-nw_csrf='))!;
    for (const cookie of [access, refresh, csrf]) {
      expect(cookie).toContain('Secure');
      expect(cookie).toContain('SameSite=Strict');
    }
    expect(access).toContain('HttpOnly');
    expect(access).toContain('Path=/;');
    expect(refresh).toContain('HttpOnly');
    expect(refresh).toContain('Path=/auth/refresh');
    expect(csrf).not.toContain('HttpOnly');
  });

  it('authenticates safe requests from the access cookie', async () => {
    const { jar, userId } = await signIn();
    await http.get('/notes').set('Cookie', `__Host-nw_access=${jar.access}`).expect(200, { owner: userId });
  });

  it('refuses unsafe cookie-authenticated requests without the CSRF token: 403 AUTH_CSRF_FAILED', async () => {
    const { jar, userId } = await signIn();
    const cookies = `__Host-nw_access=${jar.access}; __Host-nw_csrf=${jar.csrf}`;
    const missing = await http.post('/notes').set('Cookie', cookies).expect(403);
    expect(missing.body).toEqual({ statusCode: 403, code: 'AUTH_CSRF_FAILED', message: expect.any(String) });
    await http.post('/notes').set('Cookie', cookies).set('X-CSRF-Token', 'x'.repeat(jar.csrf.length)).expect(403);
    await http.post('/notes').set('Cookie', cookies).set('X-CSRF-Token', jar.csrf).set('Sec-Fetch-Site', 'cross-site').expect(403);
    await http.post('/notes').set('Cookie', cookies).set('X-CSRF-Token', jar.csrf).expect(201, { owner: userId });
  });

  it('refreshes from the refresh cookie with the CSRF token, rotating all cookies', async () => {
    const { jar } = await signIn();
    const cookies = `__Secure-nw_refresh=${jar.refresh}; __Host-nw_csrf=${jar.csrf}`;
    await http.post('/auth/refresh').set('Cookie', cookies).expect(403);
    const refreshed = await http.post('/auth/refresh').set('Cookie', cookies).set('X-CSRF-Token', jar.csrf).expect(200);
    expect(refreshed.body).toEqual({ tokenType: 'Cookie', expiresIn: 3600 });
    const next = jarOf(refreshed.headers['set-cookie']);
    expect(next.refresh).not.toBe(jar.refresh);
    await http.get('/notes').set('Cookie', `__Host-nw_access=${next.access}`).expect(200);
    // Another tab with the same refresh cookie, within the grace window: the same new refresh cookie.
    const otherTab = await http.post('/auth/refresh').set('Cookie', cookies).set('X-CSRF-Token', jar.csrf).expect(200);
    expect(jarOf(otherTab.headers['set-cookie']).refresh).toBe(next.refresh);
  });

  it('clears the cookies on logout, and the session is gone', async () => {
    const { jar } = await signIn();
    const cookies = `__Host-nw_access=${jar.access}; __Host-nw_csrf=${jar.csrf}`;
    const logout = await http.post('/auth/logout').set('Cookie', cookies).set('X-CSRF-Token', jar.csrf).expect(204);
    const cleared = (logout.headers['set-cookie'] as unknown as string[]) ?? [];
    for (const name of ['__Host-nw_access', '__Secure-nw_refresh', '__Host-nw_csrf']) {
      expect(cleared.find((c) => c.startsWith(`${name}=;`))).toContain('Max-Age=0');
    }
    const after = await http.get('/notes').set('Cookie', `__Host-nw_access=${jar.access}`).expect(401);
    expect(after.body.code).toBe('AUTH_SESSION_REVOKED');
  });

  it('keeps bearer headers working alongside, without any CSRF token', async () => {
    const { jar, userId } = await signIn();
    await http.post('/notes').set('Authorization', `Bearer ${jar.access}`).expect(201, { owner: userId });
  });

  it.each(['/auth/login/', '/AUTH/LOGIN', '/Auth/Login/'])(
    'sets the refresh cookie on the refresh route as registered when logging in at %s',
    async (path) => {
      const username = uniqueUsername('path');
      const password = 'correct horse battery staple';
      await http.post('/auth/register').send({ username, password }).expect(201);
      const login = await http.post(path).send({ username, password });
      if (login.status === 404) return expect(adapter).toBe('fastify'); // Fastify routes are case- and slash-exact
      expect(login.status).toBe(200);
      const jar = jarOf(login.headers['set-cookie']);
      expect(jar.raw.find((c) => c.startsWith('__Secure-nw_refresh='))).toContain('Path=/auth/refresh;');
      await http
        .post('/auth/refresh')
        .set('Cookie', `__Secure-nw_refresh=${jar.refresh}; __Host-nw_csrf=${jar.csrf}`)
        .set('X-CSRF-Token', jar.csrf)
        .expect(200);
    },
  );

  it('answers 403, not 500, for a CSRF header of the same length in characters but not in bytes', async () => {
    const { jar } = await signIn();
    const header = `${jar.csrf.slice(0, -1)}é`;
    const refused = await http
      .post('/notes')
      .set('Cookie', `__Host-nw_access=${jar.access}; __Host-nw_csrf=${jar.csrf}`)
      // Sent as one Latin-1 byte, read back as one character: the header has the cookie's length in characters, not in UTF-8 bytes.
      .set('X-CSRF-Token', header)
      .expect(403);
    expect(refused.body.code).toBe('AUTH_CSRF_FAILED');
  });

  it("binds the CSRF token to the session: another session's pair, or a planted one, is refused", async () => {
    const alice = await signIn();
    const mallory = await signIn();
    const withPair = (csrf: string): request.Test =>
      http.post('/notes').set('Cookie', `__Host-nw_access=${alice.jar.access}; __Host-nw_csrf=${csrf}`).set('X-CSRF-Token', csrf);
    await withPair(mallory.jar.csrf).expect(403);
    await withPair('planted-by-a-sibling-subdomain').expect(403);
    await withPair(alice.jar.csrf).expect(201);
    const refresh = (csrf: string): request.Test =>
      http
        .post('/auth/refresh')
        .set('Cookie', `__Secure-nw_refresh=${alice.jar.refresh}; __Host-nw_csrf=${csrf}`)
        .set('X-CSRF-Token', csrf);
    await refresh(mallory.jar.csrf).expect(403);
    await refresh(alice.jar.csrf).expect(200);
  });

  it('refuses a malformed refresh cookie as an invalid refresh token (401), with or without a CSRF pair', async () => {
    const { jar } = await signIn();
    for (const csrfHeader of [jar.csrf, undefined]) {
      const attempt = http.post('/auth/refresh').set('Cookie', `__Secure-nw_refresh=not-a-refresh-token; __Host-nw_csrf=${jar.csrf}`);
      const refused = await (csrfHeader === undefined ? attempt : attempt.set('X-CSRF-Token', csrfHeader));
      expect({ status: refused.status, code: refused.body.code }).toEqual({ status: 401, code: 'AUTH_REFRESH_TOKEN_INVALID' });
    }
  });
});

/** Every cookie a response sets, by name: its value and its attributes. */
function setCookies(response: request.Response): Map<string, { value: string; raw: string }> {
  const raw = (response.headers['set-cookie'] as unknown as string[] | undefined) ?? [];
  return new Map(
    raw.map((cookie) => {
      const [pair] = cookie.split(';');
      const at = pair!.indexOf('=');
      return [pair!.slice(0, at), { value: pair!.slice(at + 1), raw: cookie }];
    }),
  );
}

describe.each(ADAPTERS)('cookie paths under routePrefix "api/auth" and the global prefix "v1" on %s', (adapter) => {
  let app: INestApplication;
  let http: ReturnType<typeof request>;
  const base = '/v1/api/auth';

  beforeAll(async () => {
    app = await createApp(PrefixedCookiesAppModule, adapter, (created) => created.setGlobalPrefix('v1'));
    http = request(app.getHttpServer());
  });

  afterAll(async () => {
    await app.close();
  });

  it.each(['/v1/api/auth/login', '/v1/api/auth/login/', '/V1/Api/Auth/LOGIN'])(
    'logging in at %s, sets the refresh cookie on the refresh route as registered; refresh and logout keep it there',
    async (path) => {
      const username = uniqueUsername('prefix');
      const password = 'correct horse battery staple';
      await http.post(`${base}/register`).send({ username, password }).expect(201);
      const login = await http.post(path).send({ username, password });
      if (login.status === 404) return expect({ adapter, exact: path === `${base}/login` }).toEqual({ adapter: 'fastify', exact: false });
      expect(login.status).toBe(200);
      const jar = jarOf(login.headers['set-cookie']);
      expect(jar.raw.find((c) => c.startsWith('__Secure-nw_refresh='))).toContain(`Path=${base}/refresh;`);
      expect(jar.raw.find((c) => c.startsWith('__Host-nw_access='))).toContain('Path=/;');
      const refreshed = await http
        .post(`${base}/refresh`)
        .set('Cookie', `__Secure-nw_refresh=${jar.refresh}; __Host-nw_csrf=${jar.csrf}`)
        .set('X-CSRF-Token', jar.csrf)
        .expect(200);
      const next = setCookies(refreshed);
      expect(next.get('__Secure-nw_refresh')?.raw).toContain(`Path=${base}/refresh;`);
      // The new CSRF cookie is bound to the same session: it is the same value.
      expect(next.get('__Host-nw_csrf')?.value).toBe(jar.csrf);
      await http
        .get('/v1/notes')
        .set('Cookie', `__Host-nw_access=${next.get('__Host-nw_access')!.value}`)
        .expect(200);
      const logout = await http
        .post(`${base}/logout`)
        .set('Cookie', `__Host-nw_access=${next.get('__Host-nw_access')!.value}; __Host-nw_csrf=${jar.csrf}`)
        .set('X-CSRF-Token', jar.csrf)
        .expect(204);
      expect(setCookies(logout).get('__Secure-nw_refresh')?.raw).toMatch(
        new RegExp(`Path=${base}/refresh;.*Max-Age=0|Max-Age=0.*Path=${base}/refresh;`),
      );
    },
  );
});

describe('cookie paths on Fastify routing without case or trailing-slash distinctions', () => {
  let app: INestApplication;
  let http: ReturnType<typeof request>;

  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({ imports: [CookiesAppModule] }).compile();
    const adapter = new FastifyAdapter({ routerOptions: { caseSensitive: false, ignoreTrailingSlash: true } });
    app = configureDemoApp(moduleRef.createNestApplication(adapter, { logger: false }));
    await app.init();
    await (app.getHttpAdapter().getInstance() as { ready(): Promise<unknown> }).ready();
    http = request(app.getHttpServer());
  });

  afterAll(async () => {
    await app.close();
  });

  it.each(['/AUTH/LOGIN', '/auth/login/', '/Auth/Login/'])('logging in at %s, sets the refresh cookie on /auth/refresh', async (path) => {
    const username = uniqueUsername('fastify');
    const password = 'correct horse battery staple';
    await http.post('/auth/register').send({ username, password }).expect(201);
    const login = await http.post(path).send({ username, password }).expect(200);
    expect(jarOf(login.headers['set-cookie']).raw.find((c) => c.startsWith('__Secure-nw_refresh='))).toContain('Path=/auth/refresh;');
  });
});

describe.each(ADAPTERS)('cookie transport for plain HTTP (secure: false) on %s', (adapter) => {
  let app: INestApplication;
  let http: ReturnType<typeof request>;

  beforeAll(async () => {
    app = await createApp(PlainHttpCookiesAppModule, adapter);
    http = request(app.getHttpServer());
  });

  afterAll(async () => {
    await app.close();
  });

  it('uses the plain names without Secure, reads only those, and clears them on logout', async () => {
    const username = uniqueUsername('plain');
    const password = 'correct horse battery staple';
    const registered = await http.post('/auth/register').send({ username, password }).expect(201);
    const login = await http.post('/auth/login').send({ username, password }).expect(200);
    const cookies = setCookies(login);
    expect([...cookies.keys()].sort()).toEqual(['nw_access', 'nw_csrf', 'nw_refresh']);
    for (const { raw } of cookies.values()) expect(raw).not.toMatch(/; Secure/);
    const access = cookies.get('nw_access')!.value;
    const csrf = cookies.get('nw_csrf')!.value;
    const owner = { owner: registered.body.userId as string };
    await http.get('/notes').set('Cookie', `nw_access=${access}`).expect(200, owner);
    const prefixed = await http.get('/notes').set('Cookie', `__Host-nw_access=${access}`).expect(401);
    expect(prefixed.body.code).toBe('AUTH_TOKEN_MISSING');
    await http.post('/notes').set('Cookie', `nw_access=${access}; nw_csrf=${csrf}`).expect(403);
    await http.post('/notes').set('Cookie', `nw_access=${access}; nw_csrf=${csrf}`).set('X-CSRF-Token', csrf).expect(201, owner);
    const refreshed = await http
      .post('/auth/refresh')
      .set('Cookie', `nw_refresh=${cookies.get('nw_refresh')!.value}; nw_csrf=${csrf}`)
      .set('X-CSRF-Token', csrf)
      .expect(200);
    expect(setCookies(refreshed).get('nw_csrf')?.value).toBe(csrf);
    const logout = await http
      .post('/auth/logout')
      .set('Cookie', `nw_access=${access}; nw_csrf=${csrf}`)
      .set('X-CSRF-Token', csrf)
      .expect(204);
    const cleared = setCookies(logout);
    expect([...cleared.keys()].sort()).toEqual(['nw_access', 'nw_csrf', 'nw_refresh']);
    for (const { raw } of cleared.values()) expect(raw).toContain('Max-Age=0');
  });
});

describe.each(ADAPTERS)("cookies on request (mode: 'on-request') on %s", (adapter) => {
  let app: INestApplication;
  let http: ReturnType<typeof request>;
  const password = 'correct horse battery staple';

  beforeAll(async () => {
    app = await createApp(OnRequestCookiesAppModule, adapter);
    http = request(app.getHttpServer());
  });

  afterAll(async () => {
    await app.close();
  });

  const register = async (): Promise<string> => {
    const username = uniqueUsername('onrequest');
    await http.post('/auth/register').send({ username, password }).expect(201);
    return username;
  };

  it('answers bearer tokens and sets no cookie for a client that does not ask', async () => {
    const username = await register();
    const login = await http.post('/auth/login').send({ username, password }).expect(200);
    expect(login.headers['set-cookie']).toBeUndefined();
    expect(login.body).toEqual({ accessToken: expect.any(String), refreshToken: expect.any(String), tokenType: 'Bearer', expiresIn: 3600 });
    const refreshed = await http.post('/auth/refresh').send({ refreshToken: login.body.refreshToken }).expect(200);
    expect(refreshed.headers['set-cookie']).toBeUndefined();
    await http.get('/notes').set('Authorization', `Bearer ${refreshed.body.accessToken}`).expect(200);
  });

  it('answers cookies, no tokens in the body, to a page that sends X-Auth-Transport: cookie; its refresh by cookie stays in cookies', async () => {
    const username = await register();
    const login = await http.post('/auth/login').set('X-Auth-Transport', 'cookie').send({ username, password }).expect(200);
    expect(login.body).toEqual({ tokenType: 'Cookie', expiresIn: 3600 });
    const cookies = setCookies(login);
    expect([...cookies.keys()].sort()).toEqual(['nw_access', 'nw_csrf', 'nw_refresh']);
    const csrf = cookies.get('nw_csrf')!.value;
    await http
      .get('/notes')
      .set('Cookie', `nw_access=${cookies.get('nw_access')!.value}`)
      .expect(200);
    // The CSRF rule holds for cookie-authenticated unsafe requests, as in mode "always".
    await http
      .post('/notes')
      .set('Cookie', `nw_access=${cookies.get('nw_access')!.value}; nw_csrf=${csrf}`)
      .expect(403);
    // No header on the refresh: the refresh cookie says it is a cookie session.
    const refreshed = await http
      .post('/auth/refresh')
      .set('Cookie', `nw_refresh=${cookies.get('nw_refresh')!.value}; nw_csrf=${csrf}`)
      .set('X-CSRF-Token', csrf)
      .expect(200);
    expect(refreshed.body).toEqual({ tokenType: 'Cookie', expiresIn: 3600 });
    expect(setCookies(refreshed).get('nw_access')?.value).toEqual(expect.any(String));
  });

  it('refuses a transport mode it does not know at start-up', async () => {
    await expect(
      Test.createTestingModule({
        imports: [AuthModule.forRoot({ secret: TEST_SECRET, cookies: { mode: 'sometimes' as 'always' } })],
      }).compile(),
    ).rejects.toThrow(/cookies.mode/);
  });
});
