import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { AuditSink, type AuthAuditEvent } from '../src/auth/index.js';
import { FakeClock } from '../src/auth/testing/index.js';
import { ThrottleAppModule } from './fixtures/throttle/app.module.js';
import { ADAPTERS, createApp } from './utils/app.js';
import { uniqueUsername } from './utils/auth-client.js';

const PASSWORD = 'correct horse battery staple';

describe.each(ADAPTERS)('login throttling on %s', (adapter) => {
  let app: INestApplication;
  let clock: FakeClock;
  let http: ReturnType<typeof request>;

  let events: AuthAuditEvent[];

  const boot = async (trustProxy: boolean | number = false, cookies = false): Promise<void> => {
    clock = new FakeClock(Date.now());
    events = [];
    const audit = new (class extends AuditSink {
      emit(event: AuthAuditEvent): void {
        events.push(event);
      }
    })();
    app = await createApp(ThrottleAppModule.on(clock, trustProxy, { audit, cookies }), adapter);
    http = request(app.getHttpServer());
  };

  afterEach(async () => {
    await app.close();
  });

  const register = async (): Promise<string> => {
    const username = uniqueUsername('throttle');
    await http.post('/auth/register').send({ username, password: PASSWORD }).expect(201);
    return username;
  };
  const login = (username: string, password: string, forwardedFor?: string): request.Test => {
    const call = http.post('/auth/login');
    if (forwardedFor) call.set('X-Forwarded-For', forwardedFor);
    return call.send({ username, password });
  };

  describe('per account', () => {
    beforeEach(() => boot());

    it('answers 429 with Retry-After past the limit, even for the right password, and lifts by itself', async () => {
      const username = await register();
      for (let i = 0; i < 3; i++) await login(username, 'wrong password').expect(401);
      const locked = await login(username, PASSWORD).expect(429);
      expect(locked.body).toEqual({ statusCode: 429, code: 'AUTH_TOO_MANY_ATTEMPTS', message: expect.any(String) });
      const retryAfter = Number(locked.headers['retry-after']);
      expect(Number.isInteger(retryAfter)).toBe(true);
      expect(retryAfter).toBeGreaterThan(0);
      expect(retryAfter).toBeLessThanOrEqual(60);
      clock.advance(60);
      await login(username, PASSWORD).expect(200);
    });

    it('refuses an account over its budget before reading the rest of the body, unless a device proof comes with it', async () => {
      const username = await register();
      const badPassword = (extra: Record<string, unknown> = {}): request.Test =>
        http.post('/auth/login').send({ username, password: 42, ...extra });
      await badPassword().expect(400);
      for (let i = 0; i < 3; i++) await login(username, 'wrong password').expect(401);
      events.length = 0;
      const refused = await badPassword().expect(429);
      expect(refused.body.code).toBe('AUTH_TOO_MANY_ATTEMPTS');
      expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
      expect(events.map((event) => event.name)).toEqual(['login.throttled']);
      // A device proof may replace the account's budget: only the full check can tell, so the body is read.
      await badPassword({ deviceToken: 'not-a-proof' }).expect(400);
      await login(username, PASSWORD).expect(429);
    });

    it('with the cookie transport on, a request without a device cookie is refused ahead too', async () => {
      await app.close();
      await boot(false, true);
      const username = await register();
      for (let i = 0; i < 3; i++) await login(username, 'wrong password').expect(401);
      await http.post('/auth/login').send({ username, password: 42 }).expect(429);
      await http.post('/auth/login').set('Cookie', 'nw_device=not-a-proof').send({ username, password: 42 }).expect(400);
    });

    it('never locks out another account', async () => {
      const victim = await register();
      const bystander = await register();
      for (let i = 0; i < 4; i++) await login(victim, 'wrong password');
      await login(victim, PASSWORD).expect(429);
      await login(bystander, PASSWORD).expect(200);
    });

    it('clears the account counter on a successful login', async () => {
      const username = await register();
      await login(username, 'wrong password').expect(401);
      await login(username, 'wrong password').expect(401);
      await login(username, PASSWORD).expect(200);
      for (let i = 0; i < 3; i++) await login(username, 'wrong password').expect(401);
    });

    it("keeps look-alike names apart: a name differing only in case cannot be registered, and a good login on one name never frees another's", async () => {
      const victim = await register();
      await http.post('/auth/register').send({ username: victim.toUpperCase(), password: PASSWORD }).expect(409);
      const other = await register();
      for (let i = 0; i < 3; i++) await login(victim, 'wrong password').expect(401);
      await login(other, PASSWORD).expect(200);
      await login(victim.toUpperCase(), PASSWORD).expect(401);
      await login(victim, PASSWORD).expect(429);
    });

    it('lets 20 concurrent logins with the right password through: attempts in flight are not failures', async () => {
      const username = await register();
      const responses = await Promise.all(Array.from({ length: 20 }, () => login(username, PASSWORD)));
      expect(responses.map((response) => response.status)).toEqual(Array.from({ length: 20 }, () => 200));
    });

    it('counts unknown usernames too, so probing them is throttled alike', async () => {
      const ghost = uniqueUsername('ghost');
      for (let i = 0; i < 3; i++) await login(ghost, 'wrong password').expect(401);
      await login(ghost, 'wrong password').expect(429);
    });

    it('counts before hashing: of 12 concurrent guesses at most 3 are checked', async () => {
      const username = await register();
      const responses = await Promise.all(Array.from({ length: 12 }, () => login(username, 'wrong password')));
      const statuses = responses.map((response) => response.status);
      expect(statuses.filter((status) => status === 401)).toHaveLength(3);
      expect(statuses.filter((status) => status === 429)).toHaveLength(9);
    });
  });

  describe('per client IP', () => {
    it('throttles one client across accounts, and X-Forwarded-For cannot dodge it when no proxy is trusted', async () => {
      await boot(false);
      const target = await register();
      for (let i = 0; i < 8; i++) {
        await login(uniqueUsername('spray'), 'wrong password', `198.51.100.${i}`).expect(401);
      }
      const blocked = await login(uniqueUsername('spray'), 'wrong password', '203.0.113.77').expect(429);
      expect(blocked.body.code).toBe('AUTH_TOO_MANY_ATTEMPTS');
      await login(target, PASSWORD, '203.0.113.78').expect(429);
    });

    it('refuses a client over its budget before reading its credentials: 429 with Retry-After even for a malformed body, audited', async () => {
      await boot(1);
      const noBody = (forwardedFor: string): request.Test => http.post('/auth/login').set('X-Forwarded-For', forwardedFor).send({});
      await noBody('198.51.100.1').expect(400);
      for (let i = 0; i < 8; i++) await login(uniqueUsername('spray'), 'wrong password', '198.51.100.1').expect(401);
      events.length = 0;
      const refused = await noBody('198.51.100.1').expect(429);
      expect(refused.body).toEqual({ statusCode: 429, code: 'AUTH_TOO_MANY_ATTEMPTS', message: expect.any(String) });
      expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
      expect(events).toEqual([expect.objectContaining({ name: 'login.throttled', reason: 'AUTH_TOO_MANY_ATTEMPTS', ip: '198.51.100.1' })]);
      // Another client is not refused ahead: its bad body is still a 400.
      await noBody('198.51.100.2').expect(400);
      // The budget lifts with its window, and the client's credentials are read again.
      clock.advance(60);
      await noBody('198.51.100.1').expect(400);
    });

    it('with trustProxy: 1, counts per forwarded client, so one client does not block another', async () => {
      await boot(1);
      for (let i = 0; i < 8; i++) await login(uniqueUsername('spray'), 'wrong password', '198.51.100.1').expect(401);
      await login(uniqueUsername('spray'), 'wrong password', '198.51.100.1').expect(429);
      const other = await register();
      await login(other, PASSWORD, '198.51.100.2').expect(200);
    });
  });

  describe('device proofs and the other password checks', () => {
    beforeEach(() => boot());

    it('a client with the deviceToken of its last login is not locked out by failures from elsewhere', async () => {
      const username = await register();
      const first = await login(username, PASSWORD).expect(200);
      expect(first.body.deviceToken).toMatch(/^[\w-]{22}\.\d+\.[\w-]{43}$/);
      for (let i = 0; i < 3; i++) await login(username, 'wrong password').expect(401);
      await login(username, PASSWORD).expect(429);
      const trusted = await http
        .post('/auth/login')
        .send({ username, password: PASSWORD, deviceToken: first.body.deviceToken })
        .expect(200);
      expect(trusted.body.deviceToken).toEqual(expect.any(String));
      const forged = `${String(first.body.deviceToken).slice(0, -2)}AA`;
      await http.post('/auth/login').send({ username, password: PASSWORD, deviceToken: forged }).expect(429);
      await http.post('/auth/login').send({ username, password: PASSWORD, deviceToken: 42 }).expect(400);
    });

    it('limits registrations per client IP: 429 with Retry-After, same code', async () => {
      for (let i = 0; i < 6; i++) await register();
      const refused = await http
        .post('/auth/register')
        .send({ username: uniqueUsername('seventh'), password: PASSWORD })
        .expect(429);
      expect(refused.body).toEqual({ statusCode: 429, code: 'AUTH_TOO_MANY_ATTEMPTS', message: expect.any(String) });
      expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
      clock.advance(60);
      await register();
    });

    it('limits wrong current passwords on POST /auth/password per account', async () => {
      const username = await register();
      const token = (await login(username, PASSWORD).expect(200)).body.accessToken as string;
      const change = (currentPassword: string): request.Test =>
        http
          .post('/auth/password')
          .set('Authorization', `Bearer ${token}`)
          .send({ currentPassword, newPassword: 'a brand new passphrase' });
      for (let i = 0; i < 3; i++) await change('wrong password').expect(403);
      const refused = await change(PASSWORD).expect(429);
      expect(refused.body.code).toBe('AUTH_TOO_MANY_ATTEMPTS');
      expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    });
  });
});
