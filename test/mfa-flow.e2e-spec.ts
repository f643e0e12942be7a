import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { Totp } from '../src/auth/index.js';
import { FakeClock } from '../src/auth/testing/index.js';
import { MfaAppModule, type MfaAppStores } from './fixtures/mfa/app.module.js';
import { ADAPTERS, createApp } from './utils/app.js';
import { claimsOf, jarOf, uniqueUsername } from './utils/auth-client.js';
import { startTestRedis, type TestRedis } from './utils/redis-server.js';
import { createTestDatabase, startTestSqlServer, type TestSqlServer } from './utils/sql-server.js';

const PASSWORD = 'correct horse battery staple';
const totp = new Totp();
const RECOVERY_CODE = /^[0-9a-hjkmnp-tv-z]{5}-[0-9a-hjkmnp-tv-z]{5}$/;

type StoreKind = 'memory' | 'redis' | 'postgres' | 'mysql';

/** A test client of one app: registration, enrolment and logins with codes at the app's clock. */
function clientOf(app: () => INestApplication, clock: FakeClock) {
  const http = () => request(app().getHttpServer());
  // Each code comes from a step of its own: the clock moves a step on before every code, so no
  // code is refused as a replay unless a test means it to be.
  const code = async (secret: string): Promise<string> => {
    clock.advance(30);
    return totp.code(secret, clock.now());
  };
  const register = async (): Promise<{ username: string; userId: string }> => {
    const username = uniqueUsername('mfa');
    const response = await http().post('/auth/register').send({ username, password: PASSWORD }).expect(201);
    return { username, userId: response.body.userId as string };
  };
  const passwordStep = (username: string, password = PASSWORD) => http().post('/auth/login').send({ username, password });
  const login = async (username: string): Promise<string> => (await passwordStep(username).expect(200)).body.accessToken as string;
  const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });
  /** A user with TOTP on: its secret, recovery codes and a session signed in with both factors. */
  const enrolled = async () => {
    const user = await register();
    const access = await login(user.username);
    const setup = await http().post('/auth/mfa/totp/setup').set(bearer(access)).expect(200);
    const secret = setup.body.secret as string;
    const confirm = await http()
      .post('/auth/mfa/totp/confirm')
      .set(bearer(access))
      .send({ code: await code(secret) })
      .expect(200);
    const challenge = (await passwordStep(user.username).expect(200)).body as { mfaToken: string };
    const verified = await http()
      .post('/auth/mfa/verify')
      .send({ mfaToken: challenge.mfaToken, code: await code(secret) })
      .expect(200);
    return { ...user, secret, recoveryCodes: confirm.body.recoveryCodes as string[], access: verified.body.accessToken as string };
  };
  return { http, code, register, passwordStep, login, bearer, enrolled };
}

describe.each<StoreKind>(['memory', 'redis', 'postgres', 'mysql'])('the second-factor flow with %s stores', (kind) => {
  let redis: TestRedis | undefined;
  let sql: TestSqlServer | undefined;
  let database: Awaited<ReturnType<typeof createTestDatabase>> | undefined;
  let stores: MfaAppStores;

  beforeAll(async () => {
    if (kind === 'redis') {
      redis = await startTestRedis();
      stores = { kind: 'redis', url: redis.url, keyPrefix: `nw-mfa-${randomBytes(4).toString('hex')}` };
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
    const clock = new FakeClock(Date.now());
    let app: INestApplication;
    const client = clientOf(() => app, clock);
    const { http, code, register, passwordStep, login, bearer, enrolled } = client;

    beforeAll(async () => {
      app = await createApp(MfaAppModule.with({ stores, clock: clock.now }), adapter);
    }, 60_000);
    afterAll(() => app?.close());

    it('enrols: a pending secret for the app, then its first code turns TOTP on and hands out ten recovery codes once', async () => {
      const user = await register();
      const access = await login(user.username);
      expect((await http().get('/auth/me').set(bearer(access)).expect(200)).body.mfa).toEqual({ totp: false, recoveryCodesLeft: 0 });
      const setup = await http().post('/auth/mfa/totp/setup').set(bearer(access)).expect(200);
      expect(setup.headers['cache-control']).toBe('no-store');
      const { secret, otpauthUrl, qrCodeSvg } = setup.body as { secret: string; otpauthUrl: string; qrCodeSvg: string };
      expect(secret).toMatch(/^[A-Z2-7]{32}$/);
      const url = new URL(otpauthUrl);
      expect(url.protocol).toBe('otpauth:');
      expect(url.searchParams.get('secret')).toBe(secret);
      expect(url.searchParams.get('issuer')).toBe('Warden Test');
      expect(decodeURIComponent(url.pathname)).toContain(user.username);
      expect(qrCodeSvg).toMatch(/^<svg[\s\S]*<\/svg>\s*$/);
      // A wrong code leaves it pending.
      const wrong = await http().post('/auth/mfa/totp/confirm').set(bearer(access)).send({ code: '000000' }).expect(403);
      expect(wrong.body.code).toBe('AUTH_MFA_CODE_INVALID');
      const confirmed = await http()
        .post('/auth/mfa/totp/confirm')
        .set(bearer(access))
        .send({ code: await code(secret) })
        .expect(200);
      const codes = confirmed.body.recoveryCodes as string[];
      expect(codes).toHaveLength(10);
      for (const one of codes) expect(one).toMatch(RECOVERY_CODE);
      expect(new Set(codes).size).toBe(10);
      expect((await http().get('/auth/me').set(bearer(access)).expect(200)).body.mfa).toEqual({ totp: true, recoveryCodesLeft: 10 });
      const again = await http().post('/auth/mfa/totp/setup').set(bearer(access)).expect(409);
      expect(again.body.code).toBe('AUTH_MFA_ALREADY_ENABLED');
    });

    it('a newer setup replaces the pending one: the first secret no longer confirms', async () => {
      const user = await register();
      const access = await login(user.username);
      const first = (await http().post('/auth/mfa/totp/setup').set(bearer(access)).expect(200)).body.secret as string;
      const second = (await http().post('/auth/mfa/totp/setup').set(bearer(access)).expect(200)).body.secret as string;
      expect(second).not.toBe(first);
      await http()
        .post('/auth/mfa/totp/confirm')
        .set(bearer(access))
        .send({ code: await code(first) })
        .expect(403);
      await http()
        .post('/auth/mfa/totp/confirm')
        .set(bearer(access))
        .send({ code: await code(second) })
        .expect(200);
    });

    it('refuses a confirmation without a pending setup', async () => {
      const access = await login((await register()).username);
      const response = await http().post('/auth/mfa/totp/confirm').set(bearer(access)).send({ code: '123456' }).expect(409);
      expect(response.body.code).toBe('AUTH_MFA_SETUP_MISSING');
    });

    it('answers a right password with a challenge and no tokens; the code finishes the login with amr pwd+otp', async () => {
      const user = await enrolled();
      const step = await passwordStep(user.username).expect(200);
      expect(step.body).toEqual({ mfaRequired: true, mfaToken: expect.any(String), methods: ['totp', 'recovery'] });
      expect(step.headers['set-cookie']).toBeUndefined();
      expect(step.headers['cache-control']).toBe('no-store');
      const wrong = await http().post('/auth/mfa/verify').send({ mfaToken: step.body.mfaToken, code: '000000' }).expect(401);
      expect(wrong.body).toEqual({ statusCode: 401, code: 'AUTH_MFA_CODE_INVALID', message: expect.any(String) });
      const done = await http()
        .post('/auth/mfa/verify')
        .send({ mfaToken: step.body.mfaToken, code: await code(user.secret) })
        .expect(200);
      expect(done.body).toMatchObject({ tokenType: 'Bearer', accessToken: expect.any(String), refreshToken: expect.any(String) });
      const claims = claimsOf(done.body.accessToken as string);
      expect(claims.amr).toEqual(['pwd', 'otp']);
      expect(claims.auth_time).toBe(Math.floor(clock.now() / 1000));
      await http()
        .get('/profile/secure')
        .set(bearer(done.body.accessToken as string))
        .expect(200, { userId: user.userId, secure: true });
      // A refreshed token says the same.
      const refreshed = await http().post('/auth/refresh').send({ refreshToken: done.body.refreshToken }).expect(200);
      expect(claimsOf(refreshed.body.accessToken as string)).toMatchObject({ amr: ['pwd', 'otp'], auth_time: claims.auth_time });
      // The challenge opened one session, once.
      const again = await http()
        .post('/auth/mfa/verify')
        .send({ mfaToken: step.body.mfaToken, code: await code(user.secret) })
        .expect(401);
      expect(again.body.code).toBe('AUTH_MFA_TOKEN_INVALID');
    });

    it('accepts a TOTP code once: the same code again is refused, also on another login', async () => {
      const user = await enrolled();
      const first = (await passwordStep(user.username).expect(200)).body.mfaToken as string;
      const second = (await passwordStep(user.username).expect(200)).body.mfaToken as string;
      const once = await code(user.secret);
      await http().post('/auth/mfa/verify').send({ mfaToken: first, code: once }).expect(200);
      const replay = await http().post('/auth/mfa/verify').send({ mfaToken: second, code: once }).expect(401);
      expect(replay.body.code).toBe('AUTH_MFA_CODE_INVALID');
    });

    it('accepts a code of the step before or after (clock drift), not two steps away', async () => {
      const user = await enrolled();
      const mfaToken = (await passwordStep(user.username).expect(200)).body.mfaToken as string;
      // Well past every step used so far, within the mfaToken's five minutes.
      clock.advance(150);
      const old = await totp.code(user.secret, clock.now() - 60_000);
      await http().post('/auth/mfa/verify').send({ mfaToken, code: old }).expect(401);
      const drifted = await totp.code(user.secret, clock.now() - 30_000);
      await http().post('/auth/mfa/verify').send({ mfaToken, code: drifted }).expect(200);
    });

    it('logs in with a recovery code once; the codes left are counted, and a new set voids the old one', async () => {
      const user = await enrolled();
      const [first, second] = user.recoveryCodes as [string, string];
      const mfaToken = (await passwordStep(user.username).expect(200)).body.mfaToken as string;
      // Typed loosely: upper case, no dash.
      const done = await http()
        .post('/auth/mfa/verify')
        .send({ mfaToken, code: first.replace('-', '').toUpperCase() })
        .expect(200);
      expect(claimsOf(done.body.accessToken as string).amr).toEqual(['pwd', 'otp']);
      const next = (await passwordStep(user.username).expect(200)).body.mfaToken as string;
      await http().post('/auth/mfa/verify').send({ mfaToken: next, code: first }).expect(401);
      const access = done.body.accessToken as string;
      expect((await http().get('/auth/me').set(bearer(access)).expect(200)).body.mfa).toEqual({ totp: true, recoveryCodesLeft: 9 });
      const fresh = await http()
        .post('/auth/mfa/recovery-codes')
        .set(bearer(access))
        .send({ code: await code(user.secret) })
        .expect(200);
      expect(fresh.body.recoveryCodes).toHaveLength(10);
      await http().post('/auth/mfa/verify').send({ mfaToken: next, code: second }).expect(401);
      await http()
        .post('/auth/mfa/verify')
        .send({ mfaToken: next, code: (fresh.body.recoveryCodes as string[])[0] })
        .expect(200);
    });

    it('turns TOTP off with a code: the recovery codes go, and the password alone logs in again', async () => {
      const user = await enrolled();
      const wrong = await http().delete('/auth/mfa/totp').set(bearer(user.access)).send({ code: '000000' }).expect(403);
      expect(wrong.body.code).toBe('AUTH_MFA_CODE_INVALID');
      await http()
        .delete('/auth/mfa/totp')
        .set(bearer(user.access))
        .send({ code: await code(user.secret) })
        .expect(204);
      expect((await http().get('/auth/me').set(bearer(user.access)).expect(200)).body.mfa).toEqual({ totp: false, recoveryCodesLeft: 0 });
      const plain = await passwordStep(user.username).expect(200);
      expect(plain.body.accessToken).toEqual(expect.any(String));
      expect(claimsOf(plain.body.accessToken as string).amr).toEqual(['pwd']);
      const off = await http()
        .delete('/auth/mfa/totp')
        .set(bearer(plain.body.accessToken as string))
        .send({ code: '123456' })
        .expect(409);
      expect(off.body.code).toBe('AUTH_MFA_NOT_ENABLED');
      await http()
        .post('/auth/mfa/recovery-codes')
        .set(bearer(plain.body.accessToken as string))
        .send({ code: user.recoveryCodes[0] })
        .expect(409);
    });

    describe('attacks', () => {
      it('brute force: past five wrong codes the account is refused with 429, even the right code', async () => {
        const user = await enrolled();
        const mfaToken = (await passwordStep(user.username).expect(200)).body.mfaToken as string;
        for (let i = 0; i < 5; i++)
          await http()
            .post('/auth/mfa/verify')
            .send({ mfaToken, code: `00000${i}` })
            .expect(401);
        const refused = await http()
          .post('/auth/mfa/verify')
          .send({ mfaToken, code: await code(user.secret) })
          .expect(429);
        expect(refused.body.code).toBe('AUTH_TOO_MANY_ATTEMPTS');
        expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
        // A fresh challenge does not reset the budget, nor does reauthenticating.
        const fresh = (await passwordStep(user.username).expect(200)).body.mfaToken as string;
        await http().post('/auth/mfa/verify').send({ mfaToken: fresh, code: user.recoveryCodes[0] }).expect(429);
        const reauth = await http()
          .post('/auth/reauthenticate')
          .set(bearer(user.access))
          .send({ password: PASSWORD, code: await code(user.secret) })
          .expect(429);
        expect(reauth.body.code).toBe('AUTH_TOO_MANY_ATTEMPTS');
      });

      it("swapping: one account's mfaToken never takes another account's codes, and tampering voids it", async () => {
        const alice = await enrolled();
        const bob = await enrolled();
        const aliceToken = (await passwordStep(alice.username).expect(200)).body.mfaToken as string;
        await http()
          .post('/auth/mfa/verify')
          .send({ mfaToken: aliceToken, code: await code(bob.secret) })
          .expect(401);
        await http().post('/auth/mfa/verify').send({ mfaToken: aliceToken, code: bob.recoveryCodes[0] }).expect(401);
        // Bob's recovery code is still his.
        const bobToken = (await passwordStep(bob.username).expect(200)).body.mfaToken as string;
        await http().post('/auth/mfa/verify').send({ mfaToken: bobToken, code: bob.recoveryCodes[0] }).expect(200);
        // The payload rewritten to name bob, with alice's MAC.
        const [payload, mac] = aliceToken.split('.') as [string, string];
        const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
        const forged = `${Buffer.from(JSON.stringify({ ...claims, u: bob.userId })).toString('base64url')}.${mac}`;
        const refused = await http()
          .post('/auth/mfa/verify')
          .send({ mfaToken: forged, code: await code(bob.secret) })
          .expect(401);
        expect(refused.body.code).toBe('AUTH_MFA_TOKEN_INVALID');
        // Neither an access token nor a refresh token passes as an mfaToken, nor the other way round.
        await http()
          .post('/auth/mfa/verify')
          .send({ mfaToken: alice.access, code: await code(alice.secret) })
          .expect(401);
        await http().get('/auth/me').set(bearer(aliceToken)).expect(401);
        await http().post('/auth/refresh').send({ refreshToken: aliceToken }).expect(401);
      });

      it('skipping the second step: the password alone opens no session and signs nothing', async () => {
        const user = await enrolled();
        const before = (await http().get('/auth/sessions').set(bearer(user.access)).expect(200)).body as unknown[];
        const step = await passwordStep(user.username).expect(200);
        expect(step.body.accessToken).toBeUndefined();
        expect(step.body.refreshToken).toBeUndefined();
        const after = (await http().get('/auth/sessions').set(bearer(user.access)).expect(200)).body as unknown[];
        expect(after).toHaveLength(before.length);
        await http()
          .get('/profile/secure')
          .set(bearer(step.body.mfaToken as string))
          .expect(401);
        // A wrong password gets no challenge at all.
        await passwordStep(user.username, 'not the password at all').expect(401);
      });

      it('an mfaToken expires after five minutes, and a password change voids it', async () => {
        const user = await enrolled();
        const stale = (await passwordStep(user.username).expect(200)).body.mfaToken as string;
        clock.advance(301);
        const expired = await http()
          .post('/auth/mfa/verify')
          .send({ mfaToken: stale, code: await code(user.secret) })
          .expect(401);
        expect(expired.body.code).toBe('AUTH_MFA_TOKEN_INVALID');
        const pending = (await passwordStep(user.username).expect(200)).body.mfaToken as string;
        const fresh = await http()
          .post('/auth/mfa/verify')
          .send({ mfaToken: (await passwordStep(user.username).expect(200)).body.mfaToken, code: await code(user.secret) })
          .expect(200);
        await http()
          .post('/auth/password')
          .set(bearer(fresh.body.accessToken as string))
          .send({ currentPassword: PASSWORD, newPassword: 'another long passphrase' })
          .expect(204);
        const voided = await http()
          .post('/auth/mfa/verify')
          .send({ mfaToken: pending, code: await code(user.secret) })
          .expect(401);
        expect(voided.body.code).toBe('AUTH_MFA_TOKEN_INVALID');
      });
    });

    describe('step-up', () => {
      it('@RequireMfa refuses a password-only session with 403 AUTH_MFA_REQUIRED', async () => {
        const access = await login((await register()).username);
        const refused = await http().get('/profile/secure').set(bearer(access)).expect(403);
        expect(refused.body).toEqual({ statusCode: 403, code: 'AUTH_MFA_REQUIRED', message: expect.any(String) });
        await http().get('/profile/secure').expect(401);
      });

      it('@RequireRecentLogin refuses an old login until a reauthentication renews the same session', async () => {
        const user = await enrolled();
        await http().post('/profile/danger').set(bearer(user.access)).expect(200);
        clock.advance(301);
        const stale = await http().post('/profile/danger').set(bearer(user.access)).expect(403);
        expect(stale.body.code).toBe('AUTH_REAUTH_REQUIRED');
        // The account has a second factor: the password alone does not do.
        const noCode = await http().post('/auth/reauthenticate').set(bearer(user.access)).send({ password: PASSWORD }).expect(403);
        expect(noCode.body.code).toBe('AUTH_MFA_CODE_INVALID');
        const wrong = await http()
          .post('/auth/reauthenticate')
          .set(bearer(user.access))
          .send({ password: 'not the password at all', code: await code(user.secret) })
          .expect(403);
        expect(wrong.body.code).toBe('AUTH_INVALID_CREDENTIALS');
        const renewed = await http()
          .post('/auth/reauthenticate')
          .set(bearer(user.access))
          .send({ password: PASSWORD, code: await code(user.secret) })
          .expect(200);
        expect(renewed.body).toEqual({ accessToken: expect.any(String), tokenType: 'Bearer', expiresIn: 3600 });
        const claims = claimsOf(renewed.body.accessToken as string);
        expect(claims).toMatchObject({ sid: claimsOf(user.access).sid, amr: ['pwd', 'otp'], auth_time: Math.floor(clock.now() / 1000) });
        await http()
          .post('/profile/danger')
          .set(bearer(renewed.body.accessToken as string))
          .expect(200);
        // The old token still says the old time.
        await http().post('/profile/danger').set(bearer(user.access)).expect(403);
      });

      it('a password-only account reauthenticates with its password; that is no second factor', async () => {
        const access = await login((await register()).username);
        clock.advance(301);
        await http().post('/profile/danger').set(bearer(access)).expect(403);
        const renewed = await http().post('/auth/reauthenticate').set(bearer(access)).send({ password: PASSWORD }).expect(200);
        const token = renewed.body.accessToken as string;
        expect(claimsOf(token).amr).toEqual(['pwd']);
        await http().post('/profile/danger').set(bearer(token)).expect(200);
        await http().get('/profile/secure').set(bearer(token)).expect(403);
      });

      it('password change and enrolment need a login within recentLoginSeconds (900 s)', async () => {
        const user = await register();
        const access = await login(user.username);
        clock.advance(901);
        const change = await http()
          .post('/auth/password')
          .set(bearer(access))
          .send({ currentPassword: PASSWORD, newPassword: 'another long passphrase' })
          .expect(403);
        expect(change.body.code).toBe('AUTH_REAUTH_REQUIRED');
        expect((await http().post('/auth/mfa/totp/setup').set(bearer(access)).expect(403)).body.code).toBe('AUTH_REAUTH_REQUIRED');
        const renewed = (await http().post('/auth/reauthenticate').set(bearer(access)).send({ password: PASSWORD }).expect(200)).body
          .accessToken as string;
        await http().post('/auth/mfa/totp/setup').set(bearer(renewed)).expect(200);
      });
    });
  });
});

describe.each(ADAPTERS)('the second-factor flow over the cookie transport on %s', (adapter) => {
  const clock = new FakeClock(Date.now());
  let app: INestApplication;
  const { http, code } = clientOf(() => app, clock);

  beforeAll(async () => {
    app = await createApp(MfaAppModule.with({ stores: { kind: 'memory' }, clock: clock.now, cookies: true }), adapter);
  }, 60_000);
  afterAll(() => app?.close());

  it('enrols, logs in through the challenge into cookies, and reauthenticates into a new access cookie', async () => {
    const username = uniqueUsername('mfacookie');
    await http().post('/auth/register').send({ username, password: PASSWORD }).expect(201);
    const jar = jarOf((await http().post('/auth/login').send({ username, password: PASSWORD }).expect(200)).headers['set-cookie']);
    const cookies = (j: { access: string; csrf: string }) => `__Host-nw_access=${j.access}; __Host-nw_csrf=${j.csrf}`;
    const setup = await http().post('/auth/mfa/totp/setup').set('Cookie', cookies(jar)).set('X-CSRF-Token', jar.csrf).expect(200);
    const secret = setup.body.secret as string;
    // Without the CSRF token, a cookie-authenticated enrolment is refused.
    await http()
      .post('/auth/mfa/totp/confirm')
      .set('Cookie', cookies(jar))
      .send({ code: await code(secret) })
      .expect(403);
    await http()
      .post('/auth/mfa/totp/confirm')
      .set('Cookie', cookies(jar))
      .set('X-CSRF-Token', jar.csrf)
      .send({ code: await code(secret) })
      .expect(200);
    const challenge = await http().post('/auth/login').send({ username, password: PASSWORD }).expect(200);
    expect(challenge.body).toMatchObject({ mfaRequired: true });
    expect(challenge.headers['set-cookie']).toBeUndefined();
    const verified = await http()
      .post('/auth/mfa/verify')
      .send({ mfaToken: challenge.body.mfaToken, code: await code(secret) })
      .expect(200);
    expect(verified.body).toEqual({ tokenType: 'Cookie', expiresIn: 3600 });
    const session = jarOf(verified.headers['set-cookie']);
    expect(claimsOf(session.access).amr).toEqual(['pwd', 'otp']);
    expect(session.raw.find((c) => c.startsWith('__Secure-nw_refresh='))).toContain('Path=/auth/refresh');
    await http().get('/profile/secure').set('Cookie', cookies(session)).expect(200);
    clock.advance(301);
    await http().post('/profile/danger').set('Cookie', cookies(session)).set('X-CSRF-Token', session.csrf).expect(403);
    const renewed = await http()
      .post('/auth/reauthenticate')
      .set('Cookie', cookies(session))
      .set('X-CSRF-Token', session.csrf)
      .send({ password: PASSWORD, code: await code(secret) })
      .expect(200);
    expect(renewed.body).toEqual({ tokenType: 'Cookie', expiresIn: 3600 });
    const set = [renewed.headers['set-cookie']].flat() as string[];
    expect(set).toHaveLength(1);
    const access = set[0]!.split(';')[0]!.slice('__Host-nw_access='.length);
    await http()
      .post('/profile/danger')
      .set('Cookie', cookies({ access, csrf: session.csrf }))
      .set('X-CSRF-Token', session.csrf)
      .expect(200);
  });
});

describe('the second-factor rules on GraphQL resolvers', () => {
  const clock = new FakeClock(Date.now());
  let app: INestApplication;
  const { http, code, enrolled, register, login } = clientOf(() => app, clock);
  const query = (token: string, field: string) =>
    http()
      .post('/graphql')
      .set('Content-Type', 'application/json')
      .set('Authorization', `Bearer ${token}`)
      .send({ query: `{ ${field} }` });

  beforeAll(async () => {
    app = await createApp(MfaAppModule.with({ stores: { kind: 'memory' }, clock: clock.now, graphql: true }));
  }, 60_000);
  afterAll(() => app?.close());

  it('@RequireMfa and @RequireRecentLogin answer their codes as GraphQL errors', async () => {
    const plain = await login((await register()).username);
    const refused = await query(plain, 'secure').expect(200);
    expect(refused.body.data).toBeNull();
    expect(JSON.stringify(refused.body.errors[0].extensions)).toContain('AUTH_MFA_REQUIRED');
    const user = await enrolled();
    expect((await query(user.access, 'secure').expect(200)).body.data).toEqual({ secure: user.userId });
    clock.advance(301);
    const stale = await query(user.access, 'danger').expect(200);
    expect(JSON.stringify(stale.body.errors[0].extensions)).toContain('AUTH_REAUTH_REQUIRED');
    const renewed = await http()
      .post('/auth/reauthenticate')
      .set('Authorization', `Bearer ${user.access}`)
      .send({ password: PASSWORD, code: await code(user.secret) })
      .expect(200);
    expect((await query(renewed.body.accessToken as string, 'danger').expect(200)).body.data).toEqual({ danger: user.userId });
  });
});
