import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { RecoveryMail } from '../src/auth/index.js';
import { EmailAppModule, type EmailAppStores } from './fixtures/email/app.module.js';
import { ADAPTERS, createApp } from './utils/app.js';
import { jarOf, uniqueUsername } from './utils/auth-client.js';
import { startTestRedis, type TestRedis } from './utils/redis-server.js';
import { startTestSmtpServer, type ReceivedMail, type TestSmtpServer } from './utils/smtp-server.js';
import { createTestDatabase, startTestSqlServer, type TestSqlServer } from './utils/sql-server.js';

const PASSWORD = 'correct horse battery staple';
const NEW_PASSWORD = 'a brand new passphrase here';
const TOKEN_IN_LINK = /https:\/\/app\.example\.com\/(verify-email|reset-password)#token=([A-Za-z0-9_-]{43})/;

type StoreKind = 'memory' | 'redis' | 'postgres' | 'mysql';

let smtp: TestSmtpServer;
beforeAll(async () => {
  smtp = await startTestSmtpServer();
});
afterAll(() => smtp?.close());

const address = (): string => `${uniqueUsername('mail')}@Example.com`;

/** The link in the newest mail to `to` (as the SMTP server received it) and its token. */
async function linkFor(to: string, subject: RegExp): Promise<{ mail: ReceivedMail; token: string; path: string }> {
  const matches = (m: ReceivedMail): boolean => m.to.some((one) => one.toLowerCase() === to.toLowerCase()) && subject.test(m.subject);
  await smtp.waitForMail(matches);
  const mail = smtp.messages.filter(matches).at(-1)!;
  const match = TOKEN_IN_LINK.exec(mail.text);
  if (!match) throw new Error(`no link in the mail "${mail.subject}"`);
  // The HTML part carries the same link.
  expect(mail.html).toContain(`#token=${match[2]}`);
  return { mail, path: match[1]!, token: match[2]! };
}

function mailsTo(to: string): ReceivedMail[] {
  return smtp.messages.filter((m) => m.to.some((one) => one.toLowerCase() === to.toLowerCase()));
}

describe.each<StoreKind>(['memory', 'redis', 'postgres', 'mysql'])('the email flow with %s stores', (kind) => {
  let redis: TestRedis | undefined;
  let sql: TestSqlServer | undefined;
  let database: Awaited<ReturnType<typeof createTestDatabase>> | undefined;
  let stores: EmailAppStores;

  beforeAll(async () => {
    if (kind === 'redis') {
      redis = await startTestRedis();
      stores = { kind: 'redis', url: redis.url, keyPrefix: `nw-email-${randomBytes(4).toString('hex')}` };
    } else if (kind === 'postgres' || kind === 'mysql') {
      sql = await startTestSqlServer(kind);
      database = await createTestDatabase(sql);
      stores = { kind: 'sql', url: database.url, type: kind === 'postgres' ? 'postgres' : 'mariadb' };
    } else {
      stores = { kind: 'memory' };
    }
  }, 120_000);

  afterAll(async () => {
    await database?.drop();
    await sql?.stop();
    await redis?.stop();
  });

  describe.each(ADAPTERS)('on %s', (adapter) => {
    let app: INestApplication;
    let required: INestApplication;
    beforeAll(async () => {
      app = await createApp(EmailAppModule.with({ stores, smtpUrl: smtp.url, loginIdentifier: 'either' }), adapter);
      required = await createApp(EmailAppModule.with({ stores, smtpUrl: smtp.url, required: true }), adapter);
    }, 60_000);
    afterAll(async () => {
      await app?.close();
      await required?.close();
    });

    async function register(target = app, email = address()): Promise<{ username: string; email: string; userId: string }> {
      const username = uniqueUsername('mail');
      const response = await request(target.getHttpServer())
        .post('/auth/register')
        .send({ username, password: PASSWORD, email })
        .expect(201);
      expect(response.body).toEqual({ userId: expect.any(String), username, email });
      return { username, email, userId: response.body.userId as string };
    }

    async function login(username: string, password = PASSWORD, target = app): Promise<string> {
      const response = await request(target.getHttpServer()).post('/auth/login').send({ username, password }).expect(200);
      return response.body.accessToken as string;
    }

    it('mails a verification link on registration; the link verifies the address once', async () => {
      const user = await register();
      const { token, path, mail } = await linkFor(user.email, /verify your email/);
      expect(path).toBe('verify-email');
      expect(mail.from).toContain('no-reply@example.com');
      expect(mail.text).toContain(user.username);
      const access = await login(user.username);
      const http = request(app.getHttpServer());
      expect((await http.get('/auth/me').auth(access, { type: 'bearer' }).expect(200)).body).toMatchObject({
        email: user.email,
        emailVerified: false,
      });
      await http.post('/auth/email/verify').send({ token }).expect(200, { emailVerified: true });
      expect((await http.get('/auth/me').auth(access, { type: 'bearer' }).expect(200)).body).toMatchObject({ emailVerified: true });
      const again = await http.post('/auth/email/verify').send({ token }).expect(400);
      expect(again.body).toEqual({ statusCode: 400, code: 'AUTH_VERIFICATION_TOKEN_INVALID', message: expect.any(String) });
    });

    it('mails a new link on request, and refuses made-up and malformed tokens with a 400', async () => {
      const user = await register();
      const first = await linkFor(user.email, /verify your email/);
      const access = await login(user.username);
      const http = request(app.getHttpServer());
      await http.post('/auth/email/verification').expect(401);
      await http.post('/auth/email/verification').auth(access, { type: 'bearer' }).expect(202);
      await smtp.waitForMail(() => mailsTo(user.email).length >= 2);
      const { token } = await linkFor(user.email, /verify your email/);
      for (const bad of [randomBytes(32).toString('base64url'), 'x', `${token}x`, '💥'.repeat(20)]) {
        expect((await http.post('/auth/email/verify').send({ token: bad }).expect(400)).body.code).toBe('AUTH_VERIFICATION_TOKEN_INVALID');
      }
      expect((await http.post('/auth/email/verify').send({ token: 42 }).expect(400)).body.code).toBe('AUTH_VALIDATION_FAILED');
      // One live link per account: the new one voided the first.
      expect((await http.post('/auth/email/verify').send({ token: first.token }).expect(400)).body.code).toBe(
        'AUTH_VERIFICATION_TOKEN_INVALID',
      );
      await http.post('/auth/email/verify').send({ token }).expect(200);
    });

    it('resets a forgotten password by address: every session ends, the old password and the link stop working', async () => {
      const user = await register();
      const first = await login(user.username);
      const http = request(app.getHttpServer());
      await http.post('/auth/password/forgot').send({ email: user.email.toUpperCase() }).expect(202);
      const older = await linkFor(user.email, /reset your password/);
      // A newer request voids the older link.
      await http.post('/auth/password/forgot').send({ username: user.username }).expect(202);
      await smtp.waitForMail(() => mailsTo(user.email).filter((m) => /reset/.test(m.subject)).length >= 2);
      const { token, path } = await linkFor(user.email, /reset your password/);
      expect(path).toBe('reset-password');
      expect(token).not.toBe(older.token);
      expect((await http.post('/auth/password/reset').send({ token: older.token, newPassword: NEW_PASSWORD }).expect(400)).body.code).toBe(
        'AUTH_VERIFICATION_TOKEN_INVALID',
      );
      // A password the policy refuses is a 400 as at registration, and the link still works.
      expect((await http.post('/auth/password/reset').send({ token, newPassword: 'short' }).expect(400)).body.code).toBe(
        'AUTH_PASSWORD_POLICY',
      );
      const withName = await http
        .post('/auth/password/reset')
        .send({ token, newPassword: `${user.username} is my password` })
        .expect(400);
      expect(withName.body.code).toBe('AUTH_PASSWORD_POLICY');
      await http.post('/auth/password/reset').send({ token, newPassword: NEW_PASSWORD }).expect(204);
      await http.get('/auth/me').auth(first, { type: 'bearer' }).expect(401);
      await http.post('/auth/login').send({ username: user.username, password: PASSWORD }).expect(401);
      await login(user.username, NEW_PASSWORD);
      expect((await http.post('/auth/password/reset').send({ token, newPassword: PASSWORD }).expect(400)).body.code).toBe(
        'AUTH_VERIFICATION_TOKEN_INVALID',
      );
    });

    it('answers a forgotten password for an unknown account exactly as for a known one, and mails nothing', async () => {
      const user = await register();
      const http = request(app.getHttpServer());
      const known = await http.post('/auth/password/forgot').send({ email: user.email }).expect(202);
      const nobody = address();
      const unknown = await http.post('/auth/password/forgot').send({ email: nobody }).expect(202);
      expect(unknown.text).toBe(known.text);
      expect(Object.keys(unknown.headers).sort()).toEqual(Object.keys(known.headers).sort());
      await linkFor(user.email, /reset your password/);
      await app.get(RecoveryMail).drain();
      expect(mailsTo(nobody)).toEqual([]);
      const both = await http.post('/auth/password/forgot').send({ email: user.email, username: user.username }).expect(400);
      expect(both.body.code).toBe('AUTH_VALIDATION_FAILED');
      await http.post('/auth/password/forgot').send({ email: 'not an address' }).expect(400);
    });

    it('voids a reset link when the password changes another way', async () => {
      const user = await register();
      const access = await login(user.username);
      const http = request(app.getHttpServer());
      await http.post('/auth/password/forgot').send({ username: user.username }).expect(202);
      const { token } = await linkFor(user.email, /reset your password/);
      await http
        .post('/auth/password')
        .auth(access, { type: 'bearer' })
        .send({ currentPassword: PASSWORD, newPassword: NEW_PASSWORD })
        .expect(204);
      expect((await http.post('/auth/password/reset').send({ token, newPassword: PASSWORD }).expect(400)).body.code).toBe(
        'AUTH_VERIFICATION_TOKEN_INVALID',
      );
    });

    it('changes the address only once the link sent to the new one is used, with a notice to the old one', async () => {
      const user = await register();
      const access = await login(user.username);
      const http = request(app.getHttpServer());
      const next = address();
      const wrong = await http
        .post('/auth/email/change')
        .auth(access, { type: 'bearer' })
        .send({ newEmail: next, password: 'wrong password!' });
      expect(wrong.status).toBe(403);
      expect(wrong.body.code).toBe('AUTH_INVALID_CREDENTIALS');
      await http.post('/auth/email/change').auth(access, { type: 'bearer' }).send({ newEmail: next, password: PASSWORD }).expect(202);
      const { token } = await linkFor(next, /confirm your new email/);
      const notice = await smtp.waitForMail(
        (m) => m.to.some((one) => one.toLowerCase() === user.email.toLowerCase()) && /being changed/.test(m.subject),
      );
      expect(notice.text).toContain(next);
      expect(notice.text).not.toMatch(/#token=/);
      expect((await http.get('/auth/me').auth(access, { type: 'bearer' }).expect(200)).body).toMatchObject({ email: user.email });
      await http.post('/auth/email/verify').send({ token }).expect(200, { emailVerified: true });
      expect((await http.get('/auth/me').auth(access, { type: 'bearer' }).expect(200)).body).toMatchObject({
        email: next,
        emailVerified: true,
      });
      // loginIdentifier "either": the new address logs in, in any case.
      await http.post('/auth/login').send({ email: next.toLowerCase(), password: PASSWORD }).expect(200);
      await http.post('/auth/login').send({ username: next, password: PASSWORD }).expect(200);
      await http.post('/auth/login').send({ email: user.email, password: PASSWORD }).expect(401);
      // The old address is free for someone else.
      await register(app, user.email);
    });

    it('refuses an address another account holds, at registration (409) and silently at change', async () => {
      const holder = await register();
      const taken = await request(app.getHttpServer())
        .post('/auth/register')
        .send({ username: uniqueUsername('mail'), password: PASSWORD, email: holder.email.toLowerCase() })
        .expect(409);
      expect(taken.body.code).toBe('AUTH_EMAIL_TAKEN');
      const other = await register();
      const access = await login(other.username);
      await request(app.getHttpServer())
        .post('/auth/email/change')
        .auth(access, { type: 'bearer' })
        .send({ newEmail: holder.email, password: PASSWORD })
        .expect(202);
      await app.get(RecoveryMail).drain();
      expect(mailsTo(holder.email).filter((m) => /confirm your new email/.test(m.subject))).toEqual([]);
    });

    it('throttles mails asked for one account, with Retry-After', async () => {
      const user = await register();
      const http = request(app.getHttpServer());
      for (let i = 0; i < 5; i += 1) await http.post('/auth/password/forgot').send({ email: user.email }).expect(202);
      const refused = await http.post('/auth/password/forgot').send({ email: user.email.toUpperCase() }).expect(429);
      expect(refused.body.code).toBe('AUTH_TOO_MANY_ATTEMPTS');
      expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
      // Unknown addresses are throttled alike: a 429 tells nothing about the account.
      const nobody = address();
      for (let i = 0; i < 5; i += 1) await http.post('/auth/password/forgot').send({ email: nobody }).expect(202);
      await http.post('/auth/password/forgot').send({ email: nobody }).expect(429);
    });

    it('voids a pending address change with a reset, so an intruder cannot take the account back with its link', async () => {
      const victim = await register();
      const intruder = await login(victim.username);
      const http = request(app.getHttpServer());
      const theirs = address();
      await http.post('/auth/email/change').auth(intruder, { type: 'bearer' }).send({ newEmail: theirs, password: PASSWORD }).expect(202);
      const change = await linkFor(theirs, /confirm your new email/);
      // The owner, warned at the old address, resets the password.
      await http.post('/auth/password/forgot').send({ email: victim.email }).expect(202);
      const reset = await linkFor(victim.email, /reset your password/);
      await http.post('/auth/password/reset').send({ token: reset.token, newPassword: NEW_PASSWORD }).expect(204);
      expect((await http.post('/auth/email/verify').send({ token: change.token }).expect(400)).body.code).toBe(
        'AUTH_VERIFICATION_TOKEN_INVALID',
      );
      const access = await login(victim.username, NEW_PASSWORD);
      // The reset link reached the address: it is verified now.
      expect((await http.get('/auth/me').auth(access, { type: 'bearer' }).expect(200)).body).toMatchObject({
        email: victim.email,
        emailVerified: true,
      });
    });

    it('voids a reset link asked for at the old address once the address changes', async () => {
      const user = await register();
      const access = await login(user.username);
      const http = request(app.getHttpServer());
      await http.post('/auth/password/forgot').send({ email: user.email }).expect(202);
      const reset = await linkFor(user.email, /reset your password/);
      const next = address();
      await http.post('/auth/email/change').auth(access, { type: 'bearer' }).send({ newEmail: next, password: PASSWORD }).expect(202);
      await http
        .post('/auth/email/verify')
        .send({ token: (await linkFor(next, /confirm your new email/)).token })
        .expect(200);
      expect((await http.post('/auth/password/reset').send({ token: reset.token, newPassword: NEW_PASSWORD }).expect(400)).body.code).toBe(
        'AUTH_VERIFICATION_TOKEN_INVALID',
      );
    });

    it('refuses unsafe or malformed addresses and null fields with a 400, never a 500', async () => {
      const http = request(app.getHttpServer());
      for (const email of [
        '"a\r\nBcc: x@y.com"@example.com',
        'a b@example.com',
        'lone\ud800@example.com',
        'rtl\u202e@example.com',
        'nul\u0000@example.com',
        `${'a'.repeat(250)}@e.com`,
      ]) {
        const refused = await http
          .post('/auth/register')
          .send({ username: uniqueUsername('mail'), password: PASSWORD, email })
          .expect(400);
        expect(refused.body.code).toBe('AUTH_VALIDATION_FAILED');
        expect((await http.post('/auth/password/forgot').send({ email }).expect(400)).body.code).toBe('AUTH_VALIDATION_FAILED');
        expect((await http.post('/auth/email/verification/resend').send({ email }).expect(400)).body.code).toBe('AUTH_VALIDATION_FAILED');
      }
      for (const body of [{ username: null }, { email: null }, { email: 42 }, {}, { username: ['a'] }]) {
        expect((await http.post('/auth/password/forgot').send(body).expect(400)).body.code).toBe('AUTH_VALIDATION_FAILED');
      }
      expect((await http.post('/auth/login').send({ email: null, password: PASSWORD }).expect(400)).body.code).toBe(
        'AUTH_VALIDATION_FAILED',
      );
      // Where logins may name an address, no username may look like one.
      const lookalike = await http.post('/auth/register').send({ username: address(), password: PASSWORD }).expect(400);
      expect(lookalike.body.code).toBe('AUTH_VALIDATION_FAILED');
    });

    it('with verification required: an address is needed, and an unverified account cannot log in, only after its password passed', async () => {
      const http = request(required.getHttpServer());
      const missing = await http
        .post('/auth/register')
        .send({ username: uniqueUsername('mail'), password: PASSWORD })
        .expect(400);
      expect(missing.body.code).toBe('AUTH_VALIDATION_FAILED');
      const user = await register(required);
      await http.post('/auth/login').send({ username: user.username, password: 'wrong password!' }).expect(401);
      const refused = await http.post('/auth/login').send({ username: user.username, password: PASSWORD }).expect(403);
      expect(refused.body).toEqual({ statusCode: 403, code: 'AUTH_EMAIL_NOT_VERIFIED', message: expect.any(String) });
      // Refusals of a right password do not lock the owner out.
      for (let i = 0; i < 12; i += 1) await http.post('/auth/login').send({ username: user.username, password: PASSWORD }).expect(403);
      // The first link lost: a new one is asked for without a session, by address (202 for any address).
      await http.post('/auth/email/verification/resend').send({ email: address() }).expect(202);
      await http.post('/auth/email/verification/resend').send({ email: user.email.toUpperCase() }).expect(202);
      await smtp.waitForMail(() => mailsTo(user.email).filter((m) => /verify your email/.test(m.subject)).length >= 2);
      const { token } = await linkFor(user.email, /verify your email/);
      await http.post('/auth/email/verify').send({ token }).expect(200);
      await login(user.username, PASSWORD, required);
    });
  });
});

describe.each(ADAPTERS)('the email flow with the cookie transport on %s', (adapter) => {
  let app: INestApplication;
  beforeAll(async () => {
    app = await createApp(EmailAppModule.with({ stores: { kind: 'memory' }, smtpUrl: smtp.url, cookies: true }), adapter);
  });
  afterAll(() => app?.close());

  it('asks for a verification link and changes the address with the session cookie and its CSRF token, and never without the token', async () => {
    const http = request(app.getHttpServer());
    const username = uniqueUsername('cookie');
    const email = address();
    await http.post('/auth/register').send({ username, password: PASSWORD, email }).expect(201);
    await linkFor(email, /verify your email/);
    const jar = jarOf((await http.post('/auth/login').send({ username, password: PASSWORD }).expect(200)).headers['set-cookie']);
    const cookie = `__Host-nw_access=${jar.access}; __Host-nw_csrf=${jar.csrf}`;
    const next = address();
    const forged = await http.post('/auth/email/change').set('Cookie', cookie).send({ newEmail: next, password: PASSWORD }).expect(403);
    expect(forged.body.code).toBe('AUTH_CSRF_FAILED');
    await http.post('/auth/email/verification').set('Cookie', cookie).expect(403);
    await http.post('/auth/email/verification').set('Cookie', cookie).set('X-CSRF-Token', jar.csrf).expect(202);
    await http
      .post('/auth/email/change')
      .set('Cookie', cookie)
      .set('X-CSRF-Token', jar.csrf)
      .send({ newEmail: next, password: PASSWORD })
      .expect(202);
    const { token } = await linkFor(next, /confirm your new email/);
    await http.post('/auth/email/verify').send({ token }).expect(200);
    expect((await http.get('/auth/me').set('Cookie', cookie).expect(200)).body).toMatchObject({ email: next, emailVerified: true });
  });
});
