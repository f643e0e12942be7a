import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication, LoggerService } from '@nestjs/common';
import request from 'supertest';
import { AppModule } from '../src/app.module.js';
import { Totp } from '../src/auth/index.js';
import { serveDemoDocs } from '../src/demo/configure-app.js';
import { ADAPTERS, createApp, TEST_SECRET } from './utils/app.js';
import { uniqueUsername } from './utils/auth-client.js';
import { call, ensureBuilt, startDemo } from './utils/demo-process.js';
import { startTestRedis } from './utils/redis-server.js';
import { startTestSmtpServer } from './utils/smtp-server.js';

const PASSWORD = 'correct horse battery staple';
const totp = new Totp();
// The demo's links without APP_URL: the app's own origin on PORT (3000 here).
const LOGGED_LINK = /http:\/\/localhost:3000\/(verify-email|reset-password)#token=([A-Za-z0-9_-]{43})/;

/** Collects what the app logs (LogMailer writes each mail as one block, context `Mail`) until `stop`. */
function captureLog(app: INestApplication): { blocks: string[]; stop(): void } {
  const blocks: string[] = [];
  const keep = (message: unknown, context?: unknown): void => {
    if (context === 'Mail') blocks.push(String(message));
  };
  const logger: LoggerService = { log: keep, warn: keep, error: keep, debug: keep, verbose: keep };
  app.useLogger(logger);
  return { blocks, stop: () => app.useLogger(false) };
}

/** The token of the newest logged mail to `to` linking to `page` (mails leave off the request path: polled). */
async function loggedLink(blocks: string[], to: string, page: string): Promise<string> {
  const deadline = Date.now() + 5000;
  while (Date.now() < deadline) {
    for (const block of [...blocks].reverse()) {
      const match = LOGGED_LINK.exec(block);
      if (block.startsWith(`To: ${to}\n`) && match?.[1] === page) return match[2]!;
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`no ${page} link to ${to} in the log:\n${blocks.join('\n---\n')}`);
}

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

  it('serves a public Terminus health check of every store without X-Powered-By', async () => {
    const response = await request(app.getHttpServer()).get('/health').expect(200);
    const up = (implementation: string) => ({ status: 'up', implementation, responseTimeMs: expect.any(Number) });
    const auth = {
      status: 'up',
      sessionStore: up('InMemorySessionStore'),
      userStore: up('InMemoryUserStore'),
      throttleStore: up('InMemoryThrottleStore'),
      oneTimeTokenStore: up('InMemoryOneTimeTokenStore'),
      mfaStore: up('InMemoryMfaStore'),
      passkeyStore: up('InMemoryPasskeyStore'),
      passkeyChallengeStore: up('InMemoryOneTimeTokenStore'),
    };
    expect(response.body).toEqual({ status: 'ok', info: { auth }, error: {}, details: { auth } });
    expect(response.headers['cache-control']).toBe('no-cache, no-store, must-revalidate');
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

  it('logs the mails without SMTP_URL: the verification link verifies, login takes the address, a reset is mailed', async () => {
    const log = captureLog(app);
    try {
      const http = request(app.getHttpServer());
      const username = uniqueUsername('demo');
      const email = `${username}@example.com`;
      await http.post('/auth/register').send({ username, password: PASSWORD, email }).expect(201);
      const token = await loggedLink(log.blocks, email, 'verify-email');
      await http.post('/auth/email/verify').send({ token }).expect(200, { emailVerified: true });
      // A link is used once.
      expect((await http.post('/auth/email/verify').send({ token }).expect(400)).body.code).toBe('AUTH_VERIFICATION_TOKEN_INVALID');
      // loginIdentifier 'either': the address logs in as well as the username.
      const { body } = await http.post('/auth/login').send({ email: email.toUpperCase(), password: PASSWORD }).expect(200);
      const me = await http.get('/auth/me').set('Authorization', `Bearer ${body.accessToken}`).expect(200);
      expect(me.body).toMatchObject({ username, email, emailVerified: true });
      await http.post('/auth/password/forgot').send({ email }).expect(202);
      await loggedLink(log.blocks, email, 'reset-password');
      // The same answer for an address no account has.
      await http
        .post('/auth/password/forgot')
        .send({ email: `nobody-${email}` })
        .expect(202);
    } finally {
      log.stop();
    }
  });

  it('has TOTP on: /profile/secure wants a second factor, /profile/danger a login of the last five minutes', async () => {
    const http = request(app.getHttpServer());
    const username = uniqueUsername('demo');
    const { userId } = (await http.post('/auth/register').send({ username, password: PASSWORD }).expect(201)).body as { userId: string };
    const first = (await http.post('/auth/login').send({ username, password: PASSWORD }).expect(200)).body.accessToken as string;
    const auth = { Authorization: `Bearer ${first}` };
    expect((await http.get('/profile/secure').set(auth).expect(403)).body.code).toBe('AUTH_MFA_REQUIRED');
    await http.post('/profile/danger').set(auth).expect(200);
    const secret = (await http.post('/auth/mfa/totp/setup').set(auth).expect(200)).body.secret as string;
    // Codes of two different steps: the one that confirms is spent.
    const now = Date.now();
    await http
      .post('/auth/mfa/totp/confirm')
      .set(auth)
      .send({ code: await totp.code(secret, now - 30_000) })
      .expect(200);
    const challenge = (await http.post('/auth/login').send({ username, password: PASSWORD }).expect(200)).body;
    expect(challenge).toMatchObject({ mfaRequired: true, methods: ['totp', 'recovery'] });
    const verified = await http
      .post('/auth/mfa/verify')
      .send({ mfaToken: challenge.mfaToken, code: await totp.code(secret, now) })
      .expect(200);
    await http.get('/profile/secure').set('Authorization', `Bearer ${verified.body.accessToken}`).expect(200, { userId, secure: true });
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
        '/auth/email/verify',
        '/auth/password/forgot',
        '/profile',
      ]),
    );
    expect(body.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
    // Bearer, or the access cookie (a GET needs no CSRF header): see test/openapi.e2e-spec.ts.
    expect(body.paths['/auth/me'].get.security).toEqual([{ bearer: [] }, { cookie: [] }]);
    expect(body.components.schemas.LoginDto.properties).toHaveProperty('password');
  });
});

describe('the demo process (node dist/main.js) and its mails', () => {
  beforeAll(() => ensureBuilt());

  it('refuses to start in production without SMTP_URL, with the email flow’s error', async () => {
    const started = startDemo({ AUTH_SECRET: TEST_SECRET, NODE_ENV: 'production', APP_URL: 'https://demo.example.com' });
    await expect(started).rejects.toThrow(/invalid option "emailFlow\.mailer": is required in production/);
  }, 30_000);

  it('without SMTP_URL warns at start and writes each mail, link included, to its stdout', async () => {
    const demo = await startDemo({ AUTH_SECRET: TEST_SECRET, APP_URL: 'http://localhost:3000' });
    try {
      expect(demo.output()).toContain('no mailer given');
      const username = uniqueUsername('demo');
      const email = `${username}@example.com`;
      expect((await call(demo.url, 'POST', '/auth/register', { body: { username, password: PASSWORD, email } })).status).toBe(201);
      const token = await linkInOutput(demo.output, email, 'verify-email');
      const verified = await call(demo.url, 'POST', '/auth/email/verify', { body: { token } });
      expect(verified).toMatchObject({ status: 200, body: { emailVerified: true } });
      expect((await call(demo.url, 'POST', '/auth/password/forgot', { body: { email } })).status).toBe(202);
      const reset = await linkInOutput(demo.output, email, 'reset-password');
      const newPassword = 'a brand new passphrase here';
      expect((await call(demo.url, 'POST', '/auth/password/reset', { body: { token: reset, newPassword } })).status).toBe(204);
      expect((await call(demo.url, 'POST', '/auth/login', { body: { email, password: newPassword } })).status).toBe(200);
    } finally {
      await demo.stop();
    }
  }, 30_000);

  it('in production mails over SMTP_URL from MAIL_FROM, links on APP_URL, users and tokens in Redis', async () => {
    const [smtp, redis] = await Promise.all([startTestSmtpServer(), startTestRedis()]);
    const demo = await startDemo({
      AUTH_SECRET: TEST_SECRET,
      NODE_ENV: 'production',
      SMTP_URL: smtp.url,
      MAIL_FROM: 'Warden Demo <demo@example.com>',
      APP_URL: 'https://demo.example.com',
      AUTH_SESSION_STORE: 'redis',
      REDIS_URL: redis.url,
      AUTH_MFA_KEY: 'the-demo-mfa-key-of-at-least-32-bytes!!',
    });
    try {
      expect(demo.output()).not.toContain('no mailer given');
      const username = uniqueUsername('demo');
      const email = `${username}@example.com`;
      const link = async (page: string): Promise<string> => {
        const mail = await smtp.waitForMail((m) => m.to.includes(email) && m.text.includes(`https://demo.example.com/${page}#token=`));
        expect(mail.from).toBe('"Warden Demo" <demo@example.com>');
        return /#token=([A-Za-z0-9_-]{43})/.exec(mail.text)![1]!;
      };
      expect((await call(demo.url, 'POST', '/auth/register', { body: { username, password: PASSWORD, email } })).status).toBe(201);
      const verified = await call(demo.url, 'POST', '/auth/email/verify', { body: { token: await link('verify-email') } });
      expect(verified).toMatchObject({ status: 200, body: { emailVerified: true } });
      expect((await call(demo.url, 'POST', '/auth/password/forgot', { body: { email } })).status).toBe(202);
      const token = await link('reset-password');
      // The demo restarts: the user and the reset link are in Redis.
      await demo.restart();
      const newPassword = 'a brand new passphrase here';
      expect((await call(demo.url, 'POST', '/auth/password/reset', { body: { token, newPassword } })).status).toBe(204);
      const login = await call(demo.url, 'POST', '/auth/login', { body: { email, password: newPassword } });
      expect(login.status).toBe(200);
      expect((await call(demo.url, 'GET', '/auth/me', { token: login.body.accessToken as string })).body).toMatchObject({
        username,
        email,
        emailVerified: true,
      });
      expect(demo.output()).not.toContain(token);
      expect(demo.output()).not.toContain('AUTH_MFA_KEY is not set');
      // TOTP enrolled before a restart still logs in after it: the factor is in Redis, sealed with AUTH_MFA_KEY.
      const access = login.body.accessToken as string;
      const secret = (await call(demo.url, 'POST', '/auth/mfa/totp/setup', { token: access })).body.secret as string;
      const now = Date.now();
      const confirmed = await call(demo.url, 'POST', '/auth/mfa/totp/confirm', {
        token: access,
        body: { code: await totp.code(secret, now - 30_000) },
      });
      expect(confirmed.status).toBe(200);
      await demo.restart();
      const challenge = await call(demo.url, 'POST', '/auth/login', { body: { email, password: newPassword } });
      expect(challenge.body).toMatchObject({ mfaRequired: true });
      const second = await call(demo.url, 'POST', '/auth/mfa/verify', {
        body: { mfaToken: challenge.body.mfaToken, code: await totp.code(secret, now) },
      });
      expect(second.status).toBe(200);
      expect((await call(demo.url, 'GET', '/profile/secure', { token: second.body.accessToken as string })).status).toBe(200);
      expect(demo.output()).not.toContain(secret);
    } finally {
      await demo.stop();
      await Promise.all([smtp.close(), redis.stop()]);
    }
  }, 60_000);

  it('refuses to start in production without AUTH_MFA_KEY, and warns without it in development', async () => {
    const smtp = await startTestSmtpServer();
    try {
      const env = { AUTH_SECRET: TEST_SECRET, SMTP_URL: smtp.url, APP_URL: 'https://demo.example.com' };
      await expect(startDemo({ ...env, NODE_ENV: 'production' })).rejects.toThrow(/AUTH_MFA_KEY is required when NODE_ENV=production/);
      const demo = await startDemo(env);
      try {
        expect(demo.output()).toContain('AUTH_MFA_KEY is not set');
      } finally {
        await demo.stop();
      }
    } finally {
      await smtp.close();
    }
  }, 30_000);
});

/** The token of a link to `page` in the process's output, in the block of a mail to `to` (polled). */
async function linkInOutput(output: () => string, to: string, page: string): Promise<string> {
  const deadline = Date.now() + 5000;
  while (Date.now() < deadline) {
    const blocks = output().split(`To: ${to}\n`).slice(1).reverse();
    for (const block of blocks) {
      const match = LOGGED_LINK.exec(block);
      if (match?.[1] === page) return match[2]!;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`no ${page} link to ${to} in the output:\n${output()}`);
}
