import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { TEST_SECRET } from './utils/app.js';
import { uniqueUsername } from './utils/auth-client.js';
import { call, ensureBuilt, startDemo, type DemoProcess } from './utils/demo-process.js';
import { startTestSmtpServer, type TestSmtpServer } from './utils/smtp-server.js';
import { createTestDatabase, startTestSqlServer, type SqlDialect, type TestSqlServer } from './utils/sql-server.js';

/** The demo's /health body (Terminus), as far as these tests read it. */
type TerminusBody = { status: string; details: { auth: { sessionStore: { status: string } } } };

const PASSWORD = 'correct horse battery staple';

describe.each<SqlDialect>(['postgres', 'mysql'])('two demo processes on one %s database (AUTH_SESSION_STORE=sql)', (dialect) => {
  let server: TestSqlServer;
  let smtp: TestSmtpServer;
  let a: DemoProcess;
  let b: DemoProcess;

  beforeAll(async () => {
    ensureBuilt();
    // Private: the fail-closed test stops and starts it.
    server = await startTestSqlServer(dialect, { privateServer: true });
    const database = await createTestDatabase(server);
    // In production the demo's email flow needs a mailer and an https APP_URL.
    smtp = await startTestSmtpServer();
    const env = {
      AUTH_SECRET: TEST_SECRET,
      AUTH_DATABASE_URL: database.url,
      AUTH_SESSION_STORE: 'sql',
      NODE_ENV: 'production',
      AUTH_MFA_KEY: 'the-demo-mfa-key-of-at-least-32-bytes!!',
      SMTP_URL: smtp.url,
      APP_URL: 'https://demo.example.com',
    };
    // A first, so its migrations have run before B starts.
    a = await startDemo(env);
    b = await startDemo(env);
  }, 120_000);

  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await Promise.all([server?.stop(), smtp?.close()]);
  });

  const signUp = async (): Promise<{ username: string; accessToken: string }> => {
    const username = uniqueUsername('sqldemo');
    expect((await call(a.url, 'POST', '/auth/register', { body: { username, password: PASSWORD } })).status).toBe(201);
    const login = await call(b.url, 'POST', '/auth/login', { body: { username, password: PASSWORD } });
    expect(login.status).toBe(200);
    return { username, accessToken: login.body.accessToken as string };
  };

  it('shares users and sessions: registered on A, logged in on B, logged out on B, refused on A', async () => {
    const user = await signUp();
    expect((await call(a.url, 'GET', '/profile', { token: user.accessToken })).body.username).toBe(user.username);
    expect((await call(b.url, 'POST', '/auth/logout', { token: user.accessToken })).status).toBe(204);
    const after = await call(a.url, 'GET', '/profile', { token: user.accessToken });
    expect(after.status).toBe(401);
    expect(after.body.code).toBe('AUTH_SESSION_REVOKED');
  });

  it('keeps addresses and single-use links in the database: registered with an address on A, verified and reset on B', async () => {
    const username = uniqueUsername('sqlmail');
    const email = `${username}@example.com`;
    const link = async (page: string): Promise<string> => {
      const mail = await smtp.waitForMail((m) => m.to.includes(email) && m.text.includes(`https://demo.example.com/${page}#token=`));
      return /#token=([A-Za-z0-9_-]{43})/.exec(mail.text)![1]!;
    };
    expect((await call(a.url, 'POST', '/auth/register', { body: { username, password: PASSWORD, email } })).status).toBe(201);
    const verified = await call(b.url, 'POST', '/auth/email/verify', { body: { token: await link('verify-email') } });
    expect(verified).toMatchObject({ status: 200, body: { emailVerified: true } });
    expect((await call(a.url, 'POST', '/auth/password/forgot', { body: { email } })).status).toBe(202);
    const newPassword = 'a brand new passphrase here';
    const reset = await call(b.url, 'POST', '/auth/password/reset', { body: { token: await link('reset-password'), newPassword } });
    expect(reset.status).toBe(204);
    const login = await call(a.url, 'POST', '/auth/login', { body: { email, password: newPassword } });
    expect(login.status).toBe(200);
    expect((await call(b.url, 'GET', '/auth/me', { token: login.body.accessToken as string })).body).toMatchObject({
      email,
      emailVerified: true,
    });
  }, 30_000);

  it('keeps users and sessions across a restart of A', async () => {
    const user = await signUp();
    await a.restart();
    expect((await call(a.url, 'GET', '/profile', { token: user.accessToken })).status).toBe(200);
    expect((await call(a.url, 'POST', '/auth/login', { body: { username: user.username, password: PASSWORD } })).status).toBe(200);
  }, 30_000);

  it('fails closed with 503 quickly while the database is down, and recovers by itself with nothing committed lost', async () => {
    const user = await signUp();
    await server.kill();
    try {
      for (const app of [a, b]) {
        const guarded = await call(app.url, 'GET', '/profile', { token: user.accessToken });
        expect(guarded.status).toBe(503);
        expect(guarded.body.code).toBe('AUTH_STORE_UNAVAILABLE');
        expect(guarded.ms).toBeLessThan(5000);
        const login = await call(app.url, 'POST', '/auth/login', { body: { username: user.username, password: PASSWORD } });
        expect(login.status).toBe(503);
        expect(login.body.code).toBe('AUTH_STORE_UNAVAILABLE');
        const register = await call(app.url, 'POST', '/auth/register', { body: { username: uniqueUsername('down'), password: PASSWORD } });
        expect(register.status).toBe(503);
        const health = await call(app.url, 'GET', '/health');
        expect(health.status).toBe(503);
        expect((health.body as TerminusBody).details.auth.sessionStore.status).toBe('down');
      }
    } finally {
      await server.restart();
    }
    for (const app of [a, b]) {
      const deadline = Date.now() + 20_000;
      let health = await call(app.url, 'GET', '/health');
      while (health.status !== 200 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 200));
        health = await call(app.url, 'GET', '/health');
      }
      expect((health.body as TerminusBody).status).toBe('ok');
      expect((health.body as TerminusBody).details.auth.sessionStore.status).toBe('up');
      // The session committed before the outage is still there, on both instances.
      expect((await call(app.url, 'GET', '/profile', { token: user.accessToken })).status).toBe(200);
      expect((await call(app.url, 'POST', '/auth/login', { body: { username: user.username, password: PASSWORD } })).status).toBe(200);
    }
    for (const app of [a, b]) {
      expect(app.output()).not.toContain(user.accessToken);
      expect(app.output()).not.toContain(PASSWORD);
    }
    expect(a.output()).toContain('the database is unavailable');
  }, 90_000);
});
