import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { FakeClock } from '../src/auth/testing/index.js';
import { SessionLifecycleAppModule } from './fixtures/session-lifecycle/app.module.js';
import { ADAPTERS, createApp } from './utils/app.js';
import { claimsOf, uniqueUsername } from './utils/auth-client.js';

const PASSWORD = 'correct horse battery staple';

interface Tokens {
  accessToken: string;
  refreshToken: string;
}

describe.each(ADAPTERS)('session lifecycle: refresh rotation, reuse detection, sessions, timeouts, password change on %s', (adapter) => {
  let app: INestApplication;
  let http: ReturnType<typeof request>;
  const clock = new FakeClock(Date.now());

  beforeAll(async () => {
    app = await createApp(SessionLifecycleAppModule.on(clock), adapter);
    http = request(app.getHttpServer());
  });

  afterAll(async () => {
    await app.close();
  });

  const register = async (): Promise<string> => {
    const username = uniqueUsername();
    await http.post('/auth/register').send({ username, password: PASSWORD }).expect(201);
    return username;
  };

  const login = async (username: string, userAgent = 'jest', password = PASSWORD): Promise<Tokens> => {
    const response = await http.post('/auth/login').set('User-Agent', userAgent).send({ username, password }).expect(200);
    return response.body as Tokens;
  };

  const refresh = (refreshToken: unknown): request.Test => http.post('/auth/refresh').send({ refreshToken });
  const get = (path: string, accessToken: string): request.Test => http.get(path).set('Authorization', `Bearer ${accessToken}`);

  describe('POST /auth/refresh', () => {
    it('trades a refresh token for a new pair on the same session', async () => {
      const first = await login(await register());
      const response = await refresh(first.refreshToken).expect(200);
      expect(Object.keys(response.body).sort()).toEqual(['accessToken', 'expiresIn', 'refreshToken', 'tokenType']);
      expect(response.headers['cache-control']).toBe('no-store');
      const second = response.body as Tokens;
      expect(second.refreshToken).not.toBe(first.refreshToken);
      expect(second.accessToken).not.toBe(first.accessToken);
      expect(claimsOf(second.accessToken).sid).toBe(claimsOf(first.accessToken).sid);
      await get('/notes', second.accessToken).expect(200);
      const third = await refresh(second.refreshToken).expect(200);
      await get('/notes', third.body.accessToken).expect(200);
    });

    it('issues opaque refresh tokens with 256 random bits', async () => {
      const { refreshToken } = await login(await register());
      const [, secret] = refreshToken.split('.');
      expect(Buffer.from(secret!, 'base64url')).toHaveLength(32);
      expect(refreshToken.split('.')).toHaveLength(2);
    });

    it('answers 400 for a missing or malformed body', async () => {
      for (const body of [
        {},
        { refreshToken: 42 },
        { refreshToken: '' },
        { refreshToken: 'x'.repeat(5000) },
        { refreshToken: 'a.b', extra: 1 },
      ]) {
        const response = await http.post('/auth/refresh').send(body).expect(400);
        expect(response.body.code).toBe('AUTH_VALIDATION_FAILED');
      }
    });

    it('answers 401 AUTH_REFRESH_TOKEN_INVALID for an unknown token', async () => {
      const { refreshToken } = await login(await register());
      const [sid] = refreshToken.split('.');
      for (const token of [`${sid}.${'A'.repeat(43)}`, `${'B'.repeat(22)}.${'A'.repeat(43)}`, 'not-a-token']) {
        const response = await refresh(token).expect(401);
        expect(response.body.code).toBe('AUTH_REFRESH_TOKEN_INVALID');
        expect(response.headers['www-authenticate']).toMatch(/^Bearer /);
      }
      await refresh(refreshToken).expect(200); // a wrong guess did not revoke the session
    });

    it('never takes an access token as a refresh token, nor the reverse', async () => {
      const tokens = await login(await register());
      const swapped = await refresh(tokens.accessToken).expect(401);
      expect(swapped.body.code).toBe('AUTH_REFRESH_TOKEN_INVALID');
      const asAccess = await get('/notes', tokens.refreshToken).expect(401);
      expect(asAccess.body.code).toBe('AUTH_TOKEN_INVALID');
      await get('/notes', tokens.accessToken).expect(200);
    });

    it('treats a replayed refresh token as theft: 401 AUTH_REFRESH_TOKEN_REUSED and the session is revoked', async () => {
      const stolen = await login(await register());
      const rotated = (await refresh(stolen.refreshToken).expect(200)).body as Tokens;
      clock.advance(11); // past refreshReuseGraceSeconds (10)
      const replay = await refresh(stolen.refreshToken).expect(401);
      expect(replay.body.code).toBe('AUTH_REFRESH_TOKEN_REUSED');
      // Everything of that session stops working at once.
      expect((await get('/notes', rotated.accessToken).expect(401)).body.code).toBe('AUTH_SESSION_REVOKED');
      expect((await get('/notes', stolen.accessToken).expect(401)).body.code).toBe('AUTH_SESSION_REVOKED');
      expect((await refresh(rotated.refreshToken).expect(401)).body.code).toBe('AUTH_REFRESH_TOKEN_INVALID');
    });

    it('two tabs: within the grace window the same token refreshes again to the same new refresh token', async () => {
      const tokens = await login(await register());
      const first = (await refresh(tokens.refreshToken).expect(200)).body as Tokens;
      clock.advance(5);
      const second = (await refresh(tokens.refreshToken).expect(200)).body as Tokens;
      expect(second.refreshToken).toBe(first.refreshToken);
      await get('/notes', second.accessToken).expect(200);
      // The lineage goes on from the shared token; the grandparent is then reuse.
      const next = (await refresh(first.refreshToken).expect(200)).body as Tokens;
      expect((await refresh(tokens.refreshToken).expect(401)).body.code).toBe('AUTH_REFRESH_TOKEN_REUSED');
      await get('/notes', next.accessToken).expect(401);
    });

    it('lets many concurrent refreshes with one token all land on one new refresh token', async () => {
      const tokens = await login(await register());
      const responses = await Promise.all(Array.from({ length: 10 }, () => refresh(tokens.refreshToken)));
      expect(responses.map((response) => response.status)).toEqual(Array.from({ length: 10 }, () => 200));
      expect(new Set(responses.map((response) => (response.body as Tokens).refreshToken)).size).toBe(1);
    });

    it('is refused after logout and after logout/all', async () => {
      const username = await register();
      const one = await login(username);
      const two = await login(username);
      const three = await login(username);
      await http.post('/auth/logout').set('Authorization', `Bearer ${one.accessToken}`).expect(204);
      await refresh(one.refreshToken).expect(401);
      await http.post('/auth/logout/all').set('Authorization', `Bearer ${two.accessToken}`).expect(204);
      await refresh(two.refreshToken).expect(401);
      await refresh(three.refreshToken).expect(401);
    });
  });

  describe('GET /auth/sessions and DELETE /auth/sessions/:id', () => {
    it("lists the caller's sessions with no token material, marking the current one", async () => {
      const username = await register();
      const phone = await login(username, 'phone-browser');
      const laptop = await login(username, 'laptop-browser');
      const response = await get('/auth/sessions', laptop.accessToken).expect(200);
      expect(response.body).toHaveLength(2);
      for (const session of response.body) {
        expect(Object.keys(session).sort()).toEqual(['createdAt', 'current', 'expiresAt', 'id', 'ip', 'lastSeenAt', 'userAgent']);
      }
      const text = JSON.stringify(response.body);
      for (const secret of [phone.accessToken, phone.refreshToken, laptop.refreshToken, 'Hash']) expect(text).not.toContain(secret);
      const current = response.body.find((session: { current: boolean }) => session.current);
      expect(current).toMatchObject({ id: claimsOf(laptop.accessToken).sid, userAgent: 'laptop-browser' });
      expect(response.body.find((session: { current: boolean }) => !session.current).userAgent).toBe('phone-browser');
    });

    it('revokes one of my sessions: 204, and its tokens stop working', async () => {
      const username = await register();
      const phone = await login(username);
      const laptop = await login(username);
      await http
        .delete(`/auth/sessions/${claimsOf(phone.accessToken).sid}`)
        .set('Authorization', `Bearer ${laptop.accessToken}`)
        .expect(204);
      await get('/notes', phone.accessToken).expect(401);
      await refresh(phone.refreshToken).expect(401);
      await get('/notes', laptop.accessToken).expect(200);
    });

    it("answers 404 for an unknown id and for another user's session, which survives", async () => {
      const mallory = await login(await register());
      const victim = await login(await register());
      for (const id of [claimsOf(victim.accessToken).sid, 'unknown-session-id', 'x'.repeat(90)]) {
        const response = await http.delete(`/auth/sessions/${id}`).set('Authorization', `Bearer ${mallory.accessToken}`).expect(404);
        expect(response.body.code).toBe('AUTH_SESSION_NOT_FOUND');
      }
      await get('/notes', victim.accessToken).expect(200);
    });

    it('ends the oldest session when a login would exceed maxSessionsPerUser (3)', async () => {
      const username = await register();
      const sessions = [];
      for (let i = 0; i < 4; i++) sessions.push(await login(username));
      expect((await get('/notes', sessions[0]!.accessToken).expect(401)).body.code).toBe('AUTH_SESSION_REVOKED');
      for (const tokens of sessions.slice(1)) await get('/notes', tokens.accessToken).expect(200);
      expect((await get('/auth/sessions', sessions[3]!.accessToken).expect(200)).body).toHaveLength(3);
    });
  });

  describe('timeouts', () => {
    it('ends a session idle for longer than sessionIdleTimeoutSeconds, refresh token included', async () => {
      const tokens = await login(await register());
      clock.advance(601);
      expect((await get('/notes', tokens.accessToken).expect(401)).body.code).toBe('AUTH_SESSION_REVOKED');
      await refresh(tokens.refreshToken).expect(401);
    });

    it('keeps an active session alive, moving lastSeenAt on requests (throttled) and on refresh', async () => {
      let tokens = await login(await register());
      const lastSeen = async (): Promise<number> => {
        const [session] = (await get('/auth/sessions', tokens.accessToken).expect(200)).body;
        return Date.parse(session.lastSeenAt);
      };
      const start = await lastSeen();
      clock.advance(30);
      expect(await lastSeen()).toBe(start); // within the touch interval: no write
      clock.advance(270);
      expect(await lastSeen()).toBe(start + 300_000);
      clock.advance(500);
      tokens = (await refresh(tokens.refreshToken).expect(200)).body as Tokens;
      expect(await lastSeen()).toBe(start + 800_000);
      clock.advance(500);
      await get('/notes', tokens.accessToken).expect(200);
    });

    it('ends every session at sessionTtlSeconds however active', async () => {
      let tokens = await login(await register());
      for (let elapsed = 0; elapsed < 7200 - 500; elapsed += 500) {
        clock.advance(500);
        tokens = (await refresh(tokens.refreshToken).expect(200)).body as Tokens;
      }
      clock.advance(500);
      await refresh(tokens.refreshToken).expect(401);
    });
  });

  describe('POST /auth/password', () => {
    it('changes the password and ends every other session', async () => {
      const username = await register();
      const other = await login(username);
      const current = await login(username);
      await http
        .post('/auth/password')
        .set('Authorization', `Bearer ${current.accessToken}`)
        .send({ currentPassword: PASSWORD, newPassword: 'a brand new passphrase' })
        .expect(204);
      await get('/notes', current.accessToken).expect(200);
      expect((await get('/notes', other.accessToken).expect(401)).body.code).toBe('AUTH_SESSION_REVOKED');
      await refresh(other.refreshToken).expect(401);
      await http.post('/auth/login').send({ username, password: PASSWORD }).expect(401);
      await login(username, 'jest', 'a brand new passphrase');
    });

    it('refuses a wrong current password (403) and a weak new one (400), changing nothing', async () => {
      const username = await register();
      const tokens = await login(username);
      const wrong = await http
        .post('/auth/password')
        .set('Authorization', `Bearer ${tokens.accessToken}`)
        .send({ currentPassword: 'not my password', newPassword: 'a brand new passphrase' })
        .expect(403);
      expect(wrong.body.code).toBe('AUTH_INVALID_CREDENTIALS');
      const weak = await http
        .post('/auth/password')
        .set('Authorization', `Bearer ${tokens.accessToken}`)
        .send({ currentPassword: PASSWORD, newPassword: 'short' })
        .expect(400);
      expect(weak.body.code).toBe('AUTH_PASSWORD_POLICY');
      await login(username);
    });

    it('requires authentication and a valid body', async () => {
      await http.post('/auth/password').send({ currentPassword: PASSWORD, newPassword: 'a brand new passphrase' }).expect(401);
      const tokens = await login(await register());
      await http
        .post('/auth/password')
        .set('Authorization', `Bearer ${tokens.accessToken}`)
        .send({ currentPassword: PASSWORD })
        .expect(400);
    });
  });
});
