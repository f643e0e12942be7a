import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { FakeClock } from '../../src/auth/testing/index.js';
import { HardeningAppModule } from '../fixtures/hardening/app.module.js';
import { createApp } from '../utils/app.js';
import { jarOf, uniqueUsername } from '../utils/auth-client.js';
import { expectAuthError, PASSWORD } from './security-helpers.js';

// Attacks on the defences of the hardening issue, as an attacker would run them over HTTP.
describe('security: hardening attacks over HTTP', () => {
  let app: INestApplication;
  let http: ReturnType<typeof request>;
  const clock = new FakeClock(Date.now());

  beforeAll(async () => {
    app = await createApp(HardeningAppModule.on(clock));
    http = request(app.getHttpServer());
  });

  afterAll(async () => {
    await app.close();
  });

  const register = async (username = uniqueUsername('h')): Promise<string> => {
    await http.post('/auth/register').set('X-Forwarded-For', '192.0.2.1').send({ username, password: PASSWORD }).expect(201);
    return username;
  };
  const login = (username: string, password: string, from = '198.51.100.20', cookie?: string): request.Test => {
    const call = http.post('/auth/login').set('X-Forwarded-For', from);
    if (cookie) call.set('Cookie', cookie);
    return call.send({ username, password });
  };

  it("cannot reset a victim's counter with a look-alike account of its own", async () => {
    const victim = await register();
    // The look-alike account cannot even be made.
    expectAuthError(
      await http.post('/auth/register').send({ username: victim.toUpperCase(), password: PASSWORD }),
      409,
      'AUTH_USERNAME_TAKEN',
    );
    const mine = await register();
    for (let i = 0; i < 3; i++) await login(victim, 'guess-' + i).expect(401);
    await login(mine, PASSWORD).expect(200);
    expectAuthError(await login(victim, 'guess-4'), 429, 'AUTH_TOO_MANY_ATTEMPTS');
  });

  it("cannot lock the owner's known browser out, and another account's device cookie is worth nothing", async () => {
    const deviceOf = (response: request.Response): string => {
      const device = jarOf(response.headers['set-cookie']).raw.find((cookie) => cookie.startsWith('__Secure-nw_device='))!;
      expect(device).toContain('HttpOnly');
      expect(device).toContain('Path=/auth/login;');
      return device.split(';')[0]!;
    };
    const owner = await register();
    const ownersBrowser = deviceOf(await login(owner, PASSWORD, '203.0.113.5').expect(200));
    const other = await register();
    const othersBrowser = deviceOf(await login(other, PASSWORD, '203.0.113.6').expect(200));
    for (let i = 0; i < 3; i++) await login(owner, 'guess-' + i).expect(401); // the attacker, from elsewhere
    expectAuthError(await login(owner, PASSWORD, '198.51.100.99'), 429, 'AUTH_TOO_MANY_ATTEMPTS');
    expectAuthError(await login(owner, PASSWORD, '198.51.100.99', othersBrowser), 429, 'AUTH_TOO_MANY_ATTEMPTS');
    await login(owner, PASSWORD, '203.0.113.5', ownersBrowser).expect(200);
  });

  it('cannot hide the real device or refresh cookie behind one planted for the parent domain', async () => {
    const owner = await register();
    const response = await login(owner, PASSWORD, '203.0.113.7').expect(200);
    const jar = jarOf(response.headers['set-cookie']);
    const device = jarOf(response.headers['set-cookie'])
      .raw.find((cookie) => cookie.startsWith('__Secure-nw_device='))!
      .split(';')[0]!;
    for (let i = 0; i < 3; i++) await login(owner, 'guess-' + i).expect(401);
    // A sibling subdomain's cookie of the same name comes first.
    await login(owner, PASSWORD, '203.0.113.7', `__Secure-nw_device=planted; ${device}`).expect(200);
    await http
      .post('/auth/refresh')
      .set(
        'Cookie',
        `__Secure-nw_refresh=${'A'.repeat(22)}.${'B'.repeat(43)}; __Secure-nw_refresh=${jar.refresh}; __Host-nw_csrf=${jar.csrf}`,
      )
      .set('X-CSRF-Token', jar.csrf)
      .expect(200);
  });

  it('cannot make its own X-Forwarded-For entry count as the client behind a proxy that writes "unknown"', async () => {
    const user = await register();
    const jar = jarOf((await login(user, PASSWORD, '198.51.100.30, unknown').expect(200)).headers['set-cookie']);
    const sessions = await http.get('/auth/sessions').set('Cookie', `__Host-nw_access=${jar.access}`).expect(200);
    // The hop that names the client holds no address: no IP, never the client-written one.
    expect((sessions.body as Array<{ ip: string | null }>).map((session) => session.ip)).toEqual([null]);
  });

  it("cannot plant a CSRF pair: the value must be bound to the victim's session", async () => {
    const victim = await register();
    const jar = jarOf((await login(victim, PASSWORD).expect(200)).headers['set-cookie']);
    const planted = 'planted-by-sibling';
    expectAuthError(
      await http
        .post('/notes')
        .set('Cookie', `__Host-nw_access=${jar.access}; nw_csrf=${planted}; __Host-nw_csrf=${planted}`)
        .set('X-CSRF-Token', planted),
      403,
      'AUTH_CSRF_FAILED',
    );
    await http
      .post('/notes')
      .set('Cookie', `__Host-nw_access=${jar.access}; __Host-nw_csrf=${jar.csrf}`)
      .set('X-CSRF-Token', jar.csrf)
      .expect(201);
  });

  it('a stolen refresh cookie replayed after the grace window ends the session for everyone', async () => {
    const victim = await register();
    const jar = jarOf((await login(victim, PASSWORD).expect(200)).headers['set-cookie']);
    const refresh = (refreshToken: string, csrf: string): request.Test =>
      http.post('/auth/refresh').set('Cookie', `__Secure-nw_refresh=${refreshToken}; __Host-nw_csrf=${csrf}`).set('X-CSRF-Token', csrf);
    const next = jarOf((await refresh(jar.refresh, jar.csrf).expect(200)).headers['set-cookie']);
    clock.advance(11);
    expectAuthError(await refresh(jar.refresh, jar.csrf), 401, 'AUTH_REFRESH_TOKEN_REUSED');
    expectAuthError(await http.get('/notes').set('Cookie', `__Host-nw_access=${next.access}`), 401, 'AUTH_SESSION_REVOKED');
  });
});
