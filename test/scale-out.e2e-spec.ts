import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { call, startDemo, ensureBuilt, type DemoProcess } from './utils/demo-process.js';
import { startTestRedis, type TestRedis } from './utils/redis-server.js';
import { startTestSmtpServer, type TestSmtpServer } from './utils/smtp-server.js';
import { TEST_SECRET } from './utils/app.js';
import { uniqueUsername } from './utils/auth-client.js';

/** The demo's /health body (Terminus), as far as these tests read it. */
type TerminusBody = { status: string; details: { auth: { sessionStore: { status: string } } } };

const PASSWORD = 'correct horse battery staple';

describe('two demo processes on one Redis', () => {
  let redis: TestRedis;
  let smtp: TestSmtpServer;
  let a: DemoProcess;
  let b: DemoProcess;

  beforeAll(async () => {
    ensureBuilt();
    redis = await startTestRedis({ privateServer: true });
    // In production the demo's email flow needs a mailer and an https APP_URL.
    smtp = await startTestSmtpServer();
    const env = {
      AUTH_SECRET: TEST_SECRET,
      AUTH_SESSION_STORE: 'redis',
      REDIS_URL: redis.url,
      NODE_ENV: 'production',
      // Both instances share the key, so a TOTP enrolled on one verifies on the other.
      AUTH_MFA_KEY: 'the-demo-mfa-key-of-at-least-32-bytes!!',
      SMTP_URL: smtp.url,
      APP_URL: 'https://demo.example.com',
    };
    [a, b] = await Promise.all([startDemo(env), startDemo(env)]);
  }, 60_000);

  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await Promise.all([redis?.stop(), smtp?.close()]);
  });

  const signUp = async (): Promise<{ username: string; accessToken: string; refreshToken: string }> => {
    const username = uniqueUsername('scale');
    expect((await call(a.url, 'POST', '/auth/register', { body: { username, password: PASSWORD } })).status).toBe(201);
    const login = await call(a.url, 'POST', '/auth/login', { body: { username, password: PASSWORD } });
    expect(login.status).toBe(200);
    return { username, accessToken: login.body.accessToken as string, refreshToken: login.body.refreshToken as string };
  };

  it('accepts on B a login made on A, and logging in on B works for a user registered on A', async () => {
    const user = await signUp();
    expect((await call(b.url, 'GET', '/profile', { token: user.accessToken })).body.username).toBe(user.username);
    expect((await call(b.url, 'POST', '/auth/login', { body: { username: user.username, password: PASSWORD } })).status).toBe(200);
  });

  it('refuses on A at once a session logged out on B', async () => {
    const user = await signUp();
    expect((await call(a.url, 'GET', '/profile', { token: user.accessToken })).status).toBe(200);
    expect((await call(b.url, 'POST', '/auth/logout', { token: user.accessToken })).status).toBe(204);
    const after = await call(a.url, 'GET', '/profile', { token: user.accessToken });
    expect(after.status).toBe(401);
    expect(after.body.code).toBe('AUTH_SESSION_REVOKED');
  });

  it('refreshes on B a session made on A, grants the other tab on A the same token, and detects a replay on A', async () => {
    const user = await signUp();
    const refreshed = await call(b.url, 'POST', '/auth/refresh', { body: { refreshToken: user.refreshToken } });
    expect(refreshed.status).toBe(200);
    expect((await call(a.url, 'GET', '/profile', { token: refreshed.body.accessToken as string })).status).toBe(200);
    // A second tab, on the other instance, within the grace window: the same new refresh token.
    const otherTab = await call(a.url, 'POST', '/auth/refresh', { body: { refreshToken: user.refreshToken } });
    expect(otherTab.status).toBe(200);
    expect(otherTab.body.refreshToken).toBe(refreshed.body.refreshToken);
    // The lineage moves on; the first token is now older than the predecessor: reuse.
    expect((await call(b.url, 'POST', '/auth/refresh', { body: { refreshToken: refreshed.body.refreshToken } })).status).toBe(200);
    const replay = await call(a.url, 'POST', '/auth/refresh', { body: { refreshToken: user.refreshToken } });
    expect(replay.body.code).toBe('AUTH_REFRESH_TOKEN_REUSED');
    expect((await call(b.url, 'GET', '/profile', { token: refreshed.body.accessToken as string })).status).toBe(401);
  });

  it('keeps users and sessions across a restart of A', async () => {
    const user = await signUp();
    await a.restart();
    expect((await call(a.url, 'GET', '/profile', { token: user.accessToken })).status).toBe(200);
    expect((await call(a.url, 'POST', '/auth/login', { body: { username: user.username, password: PASSWORD } })).status).toBe(200);
  }, 30_000);

  it('fails closed with 503 quickly while Redis is down, and recovers by itself with no session lost', async () => {
    const user = await signUp();
    await redis.kill();
    try {
      for (const app of [a, b]) {
        const guarded = await call(app.url, 'GET', '/profile', { token: user.accessToken });
        expect(guarded.status).toBe(503);
        expect(guarded.body.code).toBe('AUTH_STORE_UNAVAILABLE');
        expect(guarded.ms).toBeLessThan(5000);
        const login = await call(app.url, 'POST', '/auth/login', { body: { username: user.username, password: PASSWORD } });
        expect(login.status).toBe(503);
        expect(login.body.code).toBe('AUTH_STORE_UNAVAILABLE');
        const health = await call(app.url, 'GET', '/health');
        expect(health.status).toBe(503);
        expect((health.body as TerminusBody).details.auth.sessionStore.status).toBe('down');
      }
    } finally {
      await redis.restart();
    }
    for (const app of [a, b]) {
      const deadline = Date.now() + 15_000;
      let health = await call(app.url, 'GET', '/health');
      while (health.status !== 200 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 200));
        health = await call(app.url, 'GET', '/health');
      }
      expect((health.body as TerminusBody).status).toBe('ok');
      expect((health.body as TerminusBody).details.auth.sessionStore.status).toBe('up');
      expect((await call(app.url, 'GET', '/profile', { token: user.accessToken })).status).toBe(200);
    }
    expect(a.output()).not.toContain(user.accessToken);
    expect(a.output()).not.toContain(PASSWORD);
  }, 60_000);
});
