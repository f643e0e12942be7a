import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { Totp } from '../src/auth/index.js';
import { FakeClock } from '../src/auth/testing/index.js';
import { randomBytes } from 'node:crypto';
import {
  PasskeysAppModule,
  RecordingAudit,
  TEST_RP,
  type PasskeysAppOptions,
  type PasskeysAppStores,
} from './fixtures/passkeys/app.module.js';
import { startTestRedis, type TestRedis } from './utils/redis-server.js';
import { createTestDatabase, startTestSqlServer, type TestSqlServer } from './utils/sql-server.js';
import { ADAPTERS, createApp } from './utils/app.js';
import { claimsOf, jarOf, uniqueUsername } from './utils/auth-client.js';
import { SoftwareAuthenticator, type AuthenticationResponse, type RegistrationResponse } from './utils/software-authenticator.js';

const PASSWORD = 'correct horse battery staple';
const totp = new Totp();

/** A client of one passkeys app: accounts, sessions, authenticators and ceremonies. */
function clientOf(app: () => INestApplication, clock: FakeClock) {
  const http = () => request(app().getHttpServer());
  const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });
  const signedIn = async () => {
    const username = uniqueUsername('pk');
    const registered = await http().post('/auth/register').send({ username, password: PASSWORD }).expect(201);
    const login = await http().post('/auth/login').send({ username, password: PASSWORD }).expect(200);
    return { username, userId: registered.body.userId as string, access: login.body.accessToken as string };
  };
  const authenticator = (alg: 'ES256' | 'EdDSA' = 'ES256') =>
    new SoftwareAuthenticator({ origin: TEST_RP.origin, rpId: TEST_RP.rpId, alg });
  const registrationOptions = async (access: string) =>
    (await http().post('/auth/passkeys/register/options').set(bearer(access)).expect(200)).body;
  const withPasskey = async (alg: 'ES256' | 'EdDSA' = 'ES256') => {
    const user = await signedIn();
    const device = authenticator(alg);
    const created = await http()
      .post('/auth/passkeys/register/verify')
      .set(bearer(user.access))
      .send({ response: device.create(await registrationOptions(user.access)), name: 'Laptop' })
      .expect(201);
    return { ...user, device, passkey: created.body as { id: string; name: string } };
  };
  const loginOptions = async () => (await http().post('/auth/passkeys/login/options').expect(200)).body;
  const passkeyLogin = (response: unknown) => http().post('/auth/passkeys/login/verify').send({ response });
  // A step of its own for each TOTP code, so none is refused as a replay unless a test means it.
  const code = async (secret: string): Promise<string> => {
    clock.advance(30);
    return totp.code(secret, clock.now());
  };
  return { http, bearer, signedIn, authenticator, registrationOptions, withPasskey, loginOptions, passkeyLogin, code };
}

// The client data of a response with another challenge: "none" attestation signs nothing, so a
// registration response can be replayed over a new challenge (what a duplicate registration is).
function withChallenge(response: RegistrationResponse, challenge: string): RegistrationResponse {
  const clientData = JSON.parse(Buffer.from(response.response.clientDataJSON, 'base64url').toString()) as Record<string, unknown>;
  const clientDataJSON = Buffer.from(JSON.stringify({ ...clientData, challenge })).toString('base64url');
  return { ...response, response: { ...response.response, clientDataJSON } };
}

type StoreKind = 'memory' | 'redis' | 'postgres' | 'mysql';

describe.each<StoreKind>(['memory', 'redis', 'postgres', 'mysql'])('passkeys with %s stores', (kind) => {
  let redis: TestRedis | undefined;
  let sql: TestSqlServer | undefined;
  let database: Awaited<ReturnType<typeof createTestDatabase>> | undefined;
  let stores: PasskeysAppStores;

  beforeAll(async () => {
    if (kind === 'redis') {
      redis = await startTestRedis();
      stores = { kind: 'redis', url: redis.url, keyPrefix: `nw-pk-${randomBytes(4).toString('hex')}` };
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

  passkeySuite(() => stores);
  secondFactorSuite(() => stores);

  // Two instances on one set of stores: a ceremony begun on one finishes on the other.
  it(`finishes on one instance the ceremonies begun on another (${kind === 'memory' ? 'each instance its own memory: refused' : 'shared stores'})`, async () => {
    const clock = new FakeClock(Date.UTC(2030, 0, 1));
    const [a, b] = await Promise.all([
      createApp(PasskeysAppModule.with({ clock: clock.now, stores }), 'express'),
      createApp(PasskeysAppModule.with({ clock: clock.now, stores }), 'fastify'),
    ]);
    try {
      const onA = clientOf(() => a, clock);
      const onB = clientOf(() => b, clock);
      const user = await onA.signedIn();
      const device = onA.authenticator();
      const creation = await onA.registrationOptions(user.access);
      const registered = await onB
        .http()
        .post('/auth/passkeys/register/verify')
        .set(onB.bearer(user.access))
        .send({ response: device.create(creation) });
      const login = await onB.passkeyLogin(device.get(await onA.loginOptions()));
      if (kind === 'memory') {
        // Sessions, users and challenges are per process in memory: instance B knows none of them.
        expect(registered.status).toBe(401);
        expect(login.status).toBe(401);
      } else {
        expect(registered.status).toBe(201);
        expect(login.status).toBe(200);
        expect(claimsOf(login.body.accessToken)).toMatchObject({ sub: user.userId, amr: ['hwk', 'user'] });
      }
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  }, 60_000);
});

function passkeySuite(stores: () => PasskeysAppStores): void {
  describe.each(ADAPTERS)('passkeys on %s', (adapter) => {
    let app: INestApplication;
    const audit = new RecordingAudit();
    const clock = new FakeClock(Date.UTC(2030, 0, 1));
    const client = clientOf(() => app, clock);
    const { http, bearer } = client;

    beforeAll(async () => {
      app = await createApp(PasskeysAppModule.with({ clock: clock.now, stores: stores(), audit }), adapter);
    }, 60_000);

    afterAll(async () => {
      await app.close();
    });

    it.each(['ES256', 'EdDSA'] as const)('registers a %s passkey and logs in with it, no username: amr hwk and user', async (alg) => {
      const { userId, device, passkey } = await client.withPasskey(alg);
      expect(passkey).toEqual({
        id: expect.stringMatching(/^[A-Za-z0-9_-]{22}$/),
        name: 'Laptop',
        createdAt: new Date(clock.now()).toISOString(),
        lastUsedAt: null,
        deviceType: 'singleDevice',
        backedUp: false,
        transports: ['internal'],
      });
      const options = await client.loginOptions();
      expect(options).toMatchObject({ rpId: TEST_RP.rpId, userVerification: 'required', challenge: expect.any(String) });
      expect(options.allowCredentials ?? []).toEqual([]);
      const login = await client.passkeyLogin(device.get(options)).expect(200);
      expect(login.body).toMatchObject({
        accessToken: expect.any(String),
        refreshToken: expect.any(String),
        tokenType: 'Bearer',
        expiresIn: 3600,
      });
      expect(claimsOf(login.body.accessToken)).toMatchObject({
        sub: userId,
        amr: ['hwk', 'user'],
        auth_time: Math.floor(clock.now() / 1000),
      });
      // A passkey with user verification is two factors: @RequireMfa() lets it in.
      await http().get('/profile/secure').set(bearer(login.body.accessToken)).expect(200, { userId, secure: true });
      // The refresh token works as a password login's does.
      await http().post('/auth/refresh').send({ refreshToken: login.body.refreshToken }).expect(200);
      const listed = await http().get('/auth/passkeys').set(bearer(login.body.accessToken)).expect(200);
      expect(listed.body).toEqual([{ ...passkey, lastUsedAt: new Date(clock.now()).toISOString() }]);
    });

    it('offers creation options bound to the RP, the account and its passkeys (excluded), with a resident key', async () => {
      const { access, username, device } = await client.withPasskey();
      const options = await client.registrationOptions(access);
      expect(options).toMatchObject({
        rp: { id: TEST_RP.rpId, name: TEST_RP.rpName },
        user: { name: username, id: expect.any(String) },
        attestation: 'none',
        authenticatorSelection: { residentKey: 'required', userVerification: 'preferred' },
        excludeCredentials: [{ id: device.credentialIds()[0], type: 'public-key', transports: ['internal'] }],
        timeout: 300_000,
      });
      // The user handle is opaque: not the account's id.
      expect(Buffer.from(options.user.id, 'base64url').toString()).not.toContain(username);
    });

    it("lists, renames and removes the caller's own passkeys only; changes need a recent login", async () => {
      const alice = await client.withPasskey();
      const bob = await client.withPasskey();
      const list = await http().get('/auth/passkeys').set(bearer(alice.access)).expect(200);
      expect(list.body.map((one: { id: string }) => one.id)).toEqual([alice.passkey.id]);
      const renamed = await http()
        .patch(`/auth/passkeys/${alice.passkey.id}`)
        .set(bearer(alice.access))
        .send({ name: '  Work laptop  ' })
        .expect(200);
      expect(renamed.body).toMatchObject({ id: alice.passkey.id, name: 'Work laptop' });
      // Another account's passkey, or an id of any other shape: 404, nothing changed.
      for (const id of [bob.passkey.id, 'x'.repeat(22), 'not-an-id', '%00']) {
        const refused = await http().patch(`/auth/passkeys/${id}`).set(bearer(alice.access)).send({ name: 'Mine now' }).expect(404);
        expect(refused.body.code).toBe('AUTH_PASSKEY_NOT_FOUND');
        await http().delete(`/auth/passkeys/${id}`).set(bearer(alice.access)).expect(404);
      }
      expect((await http().get('/auth/passkeys').set(bearer(bob.access)).expect(200)).body[0].name).toBe('Laptop');
      // Past the recent-login window: the list still answers, changes ask for a reauthentication.
      clock.advance(16 * 60);
      await http().get('/auth/passkeys').set(bearer(alice.access)).expect(200);
      for (const attempt of [
        http().post('/auth/passkeys/register/options').set(bearer(alice.access)),
        http().patch(`/auth/passkeys/${alice.passkey.id}`).set(bearer(alice.access)).send({ name: 'Late' }),
        http().delete(`/auth/passkeys/${alice.passkey.id}`).set(bearer(alice.access)),
      ]) {
        expect((await attempt.expect(403)).body.code).toBe('AUTH_REAUTH_REQUIRED');
      }
      const fresh = await http().post('/auth/reauthenticate').set(bearer(alice.access)).send({ password: PASSWORD }).expect(200);
      await http().delete(`/auth/passkeys/${alice.passkey.id}`).set(bearer(fresh.body.accessToken)).expect(204);
      expect((await http().get('/auth/passkeys').set(bearer(fresh.body.accessToken)).expect(200)).body).toEqual([]);
      // A removed passkey logs no one in.
      const gone = await client.passkeyLogin(alice.device.get(await client.loginOptions())).expect(401);
      expect(gone.body.code).toBe('AUTH_PASSKEY_LOGIN_FAILED');
    });

    it('answers with cookies under the cookie transport on request, the refresh cookie on the refresh route', async () => {
      const { device } = await client.withPasskey();
      // This app has no cookie transport: a request for it changes nothing.
      const plain = await http()
        .post('/auth/passkeys/login/verify')
        .set('X-Auth-Transport', 'cookie')
        .send({ response: device.get(await client.loginOptions()) })
        .expect(200);
      expect(plain.headers['set-cookie']).toBeUndefined();
    });

    it('refuses bad input with 400 AUTH_VALIDATION_FAILED, never a 500', async () => {
      const { access } = await client.signedIn();
      const good = client.authenticator().create(await client.registrationOptions(access));
      const bodies: unknown[] = [
        {},
        { response: 'a string' },
        { response: [] },
        { response: {} },
        { response: { ...good, type: 'password' } },
        { response: { ...good, rawId: 'other' } },
        { response: { ...good, id: '!!!', rawId: '!!!' } },
        { response: { ...good, response: { clientDataJSON: good.response.clientDataJSON } } },
        { response: { ...good, response: { ...good.response, attestationObject: 'x'.repeat(70_000) } } },
        { response: good, name: '' },
        { response: good, name: 'n'.repeat(65) },
        { response: good, name: 42 },
        { response: good, extra: true },
      ];
      for (const body of bodies) {
        const answer = await http()
          .post('/auth/passkeys/register/verify')
          .set(bearer(access))
          .send(body as object);
        expect({ body, status: answer.status, code: answer.body.code }).toEqual({ body, status: 400, code: 'AUTH_VALIDATION_FAILED' });
      }
      const assertion = {
        id: 'abc',
        rawId: 'abc',
        type: 'public-key',
        response: { clientDataJSON: 'e30', authenticatorData: 'AAAA', signature: 'AAAA' },
      };
      for (const response of [
        'x',
        {},
        { ...assertion, type: 'nope' },
        { ...assertion, response: { ...assertion.response, signature: 'not base64url!' } },
      ]) {
        const answer = await client.passkeyLogin(response);
        expect({ response, status: answer.status, code: answer.body.code }).toEqual({
          response,
          status: 400,
          code: 'AUTH_VALIDATION_FAILED',
        });
      }
      // Well-formed bytes that are no WebAuthn structure at all: a refused ceremony, not a crash.
      const junk = { ...good, response: { ...good.response, attestationObject: Buffer.from('junk').toString('base64url') } };
      expect(
        (await http().post('/auth/passkeys/register/verify').set(bearer(access)).send({ response: junk }).expect(400)).body.code,
      ).toMatch(/^AUTH_PASSKEY_(REGISTRATION_FAILED|CHALLENGE_INVALID)$/);
      const unknown = await client.passkeyLogin(assertion).expect(401);
      expect(unknown.body.code).toBe('AUTH_PASSKEY_LOGIN_FAILED');
    });

    describe('attacks', () => {
      it('refuses a replayed assertion: the challenge is single use', async () => {
        const { device } = await client.withPasskey();
        const response = device.get(await client.loginOptions());
        await client.passkeyLogin(response).expect(200);
        const replay = await client.passkeyLogin(response).expect(400);
        expect(replay.body.code).toBe('AUTH_PASSKEY_CHALLENGE_INVALID');
      });

      it('refuses a challenge past its 5 minutes, and one the server never issued', async () => {
        const { device } = await client.withPasskey();
        const options = await client.loginOptions();
        clock.advance(301);
        expect((await client.passkeyLogin(device.get(options)).expect(400)).body.code).toBe('AUTH_PASSKEY_CHALLENGE_INVALID');
        const forged = device.get({ ...options, challenge: Buffer.alloc(32, 7).toString('base64url') });
        expect((await client.passkeyLogin(forged).expect(400)).body.code).toBe('AUTH_PASSKEY_CHALLENGE_INVALID');
      });

      it("binds a registration challenge to the session that asked: another session's (or the login's) is refused", async () => {
        const user = await client.signedIn();
        const other = await http().post('/auth/login').send({ username: user.username, password: PASSWORD }).expect(200);
        const device = client.authenticator();
        const response = device.create(await client.registrationOptions(user.access));
        const swapped = await http()
          .post('/auth/passkeys/register/verify')
          .set(bearer(other.body.accessToken))
          .send({ response })
          .expect(400);
        expect(swapped.body.code).toBe('AUTH_PASSKEY_CHALLENGE_INVALID');
        // A login challenge does not register a passkey either.
        const login = await client.loginOptions();
        const cross = device.create({ ...(await client.registrationOptions(user.access)), challenge: login.challenge });
        expect(
          (await http().post('/auth/passkeys/register/verify').set(bearer(user.access)).send({ response: cross }).expect(400)).body.code,
        ).toBe('AUTH_PASSKEY_CHALLENGE_INVALID');
        expect((await http().get('/auth/passkeys').set(bearer(user.access)).expect(200)).body).toEqual([]);
      });

      it('refuses ceremonies from another origin or for another RP id', async () => {
        const user = await client.signedIn();
        const device = client.authenticator();
        for (const ceremony of [{ origin: 'https://evil.example' }, { origin: 'http://localhost:3001' }, { rpId: 'evil.example' }]) {
          const response = device.create(await client.registrationOptions(user.access), ceremony);
          const refused = await http().post('/auth/passkeys/register/verify').set(bearer(user.access)).send({ response }).expect(400);
          expect(refused.body.code).toBe('AUTH_PASSKEY_REGISTRATION_FAILED');
        }
        const { device: owned } = await client.withPasskey();
        for (const ceremony of [{ origin: 'https://evil.example' }, { rpId: 'evil.example' }]) {
          const refused = await client.passkeyLogin(owned.get(await client.loginOptions(), ceremony)).expect(401);
          expect(refused.body.code).toBe('AUTH_PASSKEY_LOGIN_FAILED');
        }
      });

      it('requires user verification for a login without a password', async () => {
        const { device } = await client.withPasskey();
        const refused = await client.passkeyLogin(device.get(await client.loginOptions(), { userVerified: false })).expect(401);
        expect(refused.body.code).toBe('AUTH_PASSKEY_LOGIN_FAILED');
      });

      it('refuses a cloned authenticator: a counter that does not move forward, and says so in the audit', async () => {
        const { device, userId } = await client.withPasskey();
        await client.passkeyLogin(device.get(await client.loginOptions())).expect(200);
        await client.passkeyLogin(device.get(await client.loginOptions())).expect(200);
        const clone = await client.passkeyLogin(device.get(await client.loginOptions(), { counter: 1 })).expect(401);
        expect(clone.body.code).toBe('AUTH_PASSKEY_LOGIN_FAILED');
        expect(audit.events.filter((event) => event.name === 'passkey.clone_suspected').map((event) => event.userId)).toContain(userId);
      });

      it('refuses client data whose challenge is not a string of ours, as a challenge, never a 500', async () => {
        const { device } = await client.withPasskey();
        for (const challenge of [123, { a: 1 }, null, '', 'x'.repeat(43), 'short']) {
          const response = device.get(await client.loginOptions());
          const clientData = JSON.parse(Buffer.from(response.response.clientDataJSON, 'base64url').toString()) as Record<string, unknown>;
          const tampered = {
            ...response,
            response: {
              ...response.response,
              clientDataJSON: Buffer.from(JSON.stringify({ ...clientData, challenge })).toString('base64url'),
            },
          };
          const answer = await client.passkeyLogin(tampered);
          expect({ challenge, status: answer.status, code: answer.body.code }).toMatchObject({
            challenge,
            status: expect.any(Number),
            code: expect.stringMatching(/^AUTH_PASSKEY_(CHALLENGE_INVALID|LOGIN_FAILED)$/),
          });
          expect([400, 401]).toContain(answer.status);
        }
      });

      it('refuses a registration whose response names another credential than its authenticator data', async () => {
        const { access } = await client.signedIn();
        const response = client.authenticator().create(await client.registrationOptions(access));
        const other = Buffer.alloc(16, 9).toString('base64url');
        const refused = await http()
          .post('/auth/passkeys/register/verify')
          .set(bearer(access))
          .send({ response: { ...response, id: other, rawId: other } })
          .expect(400);
        expect(refused.body.code).toBe('AUTH_PASSKEY_REGISTRATION_FAILED');
        expect((await http().get('/auth/passkeys').set(bearer(access)).expect(200)).body).toEqual([]);
      });

      it('registers a credential once: the same one again, to this account or another, is 409', async () => {
        const owner = await client.signedIn();
        const device = client.authenticator();
        const first = device.create(await client.registrationOptions(owner.access));
        await http().post('/auth/passkeys/register/verify').set(bearer(owner.access)).send({ response: first }).expect(201);
        const again = withChallenge(first, (await client.registrationOptions(owner.access)).challenge);
        expect(
          (await http().post('/auth/passkeys/register/verify').set(bearer(owner.access)).send({ response: again }).expect(409)).body.code,
        ).toBe('AUTH_PASSKEY_ALREADY_REGISTERED');
        const thief = await client.signedIn();
        const stolen = withChallenge(first, (await client.registrationOptions(thief.access)).challenge);
        await http().post('/auth/passkeys/register/verify').set(bearer(thief.access)).send({ response: stolen }).expect(409);
        expect((await http().get('/auth/passkeys').set(bearer(thief.access)).expect(200)).body).toEqual([]);
      });

      it('caps the passkeys of an account (10 by default)', async () => {
        const user = await client.signedIn();
        const device = client.authenticator();
        for (let index = 0; index < 10; index++) {
          const response = device.create(await client.registrationOptions(user.access));
          await http().post('/auth/passkeys/register/verify').set(bearer(user.access)).send({ response }).expect(201);
        }
        const full = await http().post('/auth/passkeys/register/options').set(bearer(user.access)).expect(400);
        expect(full.body.code).toBe('AUTH_PASSKEY_REGISTRATION_FAILED');
      });
    });
  });
}

function secondFactorSuite(stores: () => PasskeysAppStores): void {
  describe.each(ADAPTERS)('passkeys as a second factor beside TOTP, with cookies, on %s', (adapter) => {
    let app: INestApplication;
    const clock = new FakeClock(Date.UTC(2030, 0, 1));
    const client = clientOf(() => app, clock);
    const { http, bearer } = client;

    beforeAll(async () => {
      app = await createApp(PasskeysAppModule.with({ clock: clock.now, mfa: true, cookies: true, stores: stores() }), adapter);
    }, 60_000);

    afterAll(async () => {
      await app.close();
    });

    const cookieLogin = async (username: string) => {
      const login = await http().post('/auth/login').send({ username, password: PASSWORD }).expect(200);
      const jar = jarOf(login.headers['set-cookie']);
      return { jar, cookies: `__Host-nw_access=${jar.access}; __Host-nw_csrf=${jar.csrf}` };
    };

    // An account with TOTP on and a passkey, signed in by cookie.
    const enrolled = async () => {
      const username = uniqueUsername('pk2');
      const registered = await http().post('/auth/register').send({ username, password: PASSWORD }).expect(201);
      const { jar, cookies } = await cookieLogin(username);
      const csrf = { Cookie: cookies, 'X-CSRF-Token': jar.csrf };
      const setup = await http().post('/auth/mfa/totp/setup').set(csrf).expect(200);
      await http()
        .post('/auth/mfa/totp/confirm')
        .set(csrf)
        .send({ code: await client.code(setup.body.secret) })
        .expect(200);
      // This session was signed in with the password alone: with TOTP on now, a passkey needs the code first.
      const refused = await http().post('/auth/passkeys/register/options').set(csrf).expect(403);
      expect(refused.body.code).toBe('AUTH_MFA_REQUIRED');
      const reauthenticated = await http()
        .post('/auth/reauthenticate')
        .set(csrf)
        .send({ password: PASSWORD, code: await client.code(setup.body.secret) })
        .expect(200);
      // A reauthentication renews the access cookie only.
      const setCookies = reauthenticated.headers['set-cookie'] as unknown as string[];
      const access = setCookies
        .find((cookie) => cookie.startsWith('__Host-nw_access='))!
        .split(';')[0]!
        .slice('__Host-nw_access='.length);
      const proven = { Cookie: `__Host-nw_access=${access}; __Host-nw_csrf=${jar.csrf}`, 'X-CSRF-Token': jar.csrf };
      const device = client.authenticator('EdDSA');
      const options = await http().post('/auth/passkeys/register/options').set(proven).expect(200);
      await http()
        .post('/auth/passkeys/register/verify')
        .set(proven)
        .send({ response: device.create(options.body) })
        .expect(201);
      return { username, userId: registered.body.userId as string, secret: setup.body.secret as string, device };
    };

    it('offers the passkey after the password, and the passkey finishes the login in cookies: amr pwd, hwk, user', async () => {
      const { username, userId, device } = await enrolled();
      const challenge = await http().post('/auth/login').send({ username, password: PASSWORD }).expect(200);
      expect(challenge.headers['set-cookie']).toBeUndefined();
      expect(challenge.body).toMatchObject({ mfaRequired: true, methods: ['totp', 'recovery', 'passkey'], mfaToken: expect.any(String) });
      expect(challenge.body.passkey).toMatchObject({
        rpId: TEST_RP.rpId,
        userVerification: 'preferred',
        allowCredentials: [{ id: device.credentialIds()[0], type: 'public-key' }],
      });
      const verified = await http()
        .post('/auth/mfa/verify')
        .send({ mfaToken: challenge.body.mfaToken, passkey: device.get(challenge.body.passkey) })
        .expect(200);
      expect(verified.body).toEqual({ tokenType: 'Cookie', expiresIn: 3600 });
      const jar = jarOf(verified.headers['set-cookie']);
      expect(jar.raw.find((cookie) => cookie.startsWith('__Secure-nw_refresh='))).toContain('Path=/auth/refresh;');
      expect(claimsOf(jar.access)).toMatchObject({ sub: userId, amr: ['pwd', 'hwk', 'user'] });
      await http().get('/profile/secure').set('Cookie', `__Host-nw_access=${jar.access}`).expect(200);
      // The mfaToken is spent, whatever comes with it.
      const again = await http()
        .post('/auth/mfa/verify')
        .send({ mfaToken: challenge.body.mfaToken, passkey: device.get(challenge.body.passkey) })
        .expect(400);
      expect(again.body.code).toBe('AUTH_PASSKEY_CHALLENGE_INVALID');
    });

    it("refuses another account's passkey, a passwordless challenge's answer, and both a code and a passkey at once", async () => {
      const alice = await enrolled();
      const mallory = await enrolled();
      const challenge = await http().post('/auth/login').send({ username: alice.username, password: PASSWORD }).expect(200);
      // Mallory's passkey over Alice's challenge: not one of Alice's.
      const swapped = await http()
        .post('/auth/mfa/verify')
        .send({
          mfaToken: challenge.body.mfaToken,
          passkey: mallory.device.get(challenge.body.passkey, { credentialId: mallory.device.credentialIds()[0] }),
        })
        .expect(401);
      expect(swapped.body.code).toBe('AUTH_PASSKEY_LOGIN_FAILED');
      // Alice's passkey over a passwordless login's challenge: not this login's.
      const passwordless = await client.loginOptions();
      const cross = await http()
        .post('/auth/mfa/verify')
        .send({
          mfaToken: challenge.body.mfaToken,
          passkey: alice.device.get({ ...challenge.body.passkey, challenge: passwordless.challenge }),
        })
        .expect(400);
      expect(cross.body.code).toBe('AUTH_PASSKEY_CHALLENGE_INVALID');
      const both = await http()
        .post('/auth/mfa/verify')
        .send({ mfaToken: challenge.body.mfaToken, code: '123456', passkey: alice.device.get(challenge.body.passkey) })
        .expect(400);
      expect(both.body.code).toBe('AUTH_VALIDATION_FAILED');
      // TOTP still finishes it.
      await http()
        .post('/auth/mfa/verify')
        .send({ mfaToken: challenge.body.mfaToken, code: await client.code(alice.secret) })
        .expect(200);
    });

    it('logs an account with a passkey but no TOTP in with its password alone (no lock-out), and passwordless with the passkey', async () => {
      const username = uniqueUsername('pk3');
      await http().post('/auth/register').send({ username, password: PASSWORD }).expect(201);
      const { jar, cookies } = await cookieLogin(username);
      const device = client.authenticator();
      const options = await http().post('/auth/passkeys/register/options').set({ Cookie: cookies, 'X-CSRF-Token': jar.csrf }).expect(200);
      await http()
        .post('/auth/passkeys/register/verify')
        .set({ Cookie: cookies, 'X-CSRF-Token': jar.csrf })
        .send({ response: device.create(options.body) })
        .expect(201);
      const password = await http().post('/auth/login').send({ username, password: PASSWORD }).expect(200);
      expect(password.body).toEqual({ tokenType: 'Cookie', expiresIn: 3600 });
      expect(claimsOf(jarOf(password.headers['set-cookie']).access).amr).toEqual(['pwd']);
      const passkey = await client.passkeyLogin(device.get(await client.loginOptions())).expect(200);
      const passkeyJar = jarOf(passkey.headers['set-cookie']);
      expect(passkeyJar.raw.find((cookie) => cookie.startsWith('__Secure-nw_refresh='))).toContain('Path=/auth/refresh;');
      expect(claimsOf(passkeyJar.access).amr).toEqual(['hwk', 'user']);
    });

    it('needs the CSRF token for cookie-authenticated passkey changes', async () => {
      const username = uniqueUsername('pk4');
      await http().post('/auth/register').send({ username, password: PASSWORD }).expect(201);
      const { cookies } = await cookieLogin(username);
      expect((await http().post('/auth/passkeys/register/options').set('Cookie', cookies).expect(403)).body.code).toBe('AUTH_CSRF_FAILED');
      void bearer;
    });
  });
}

describe('passkey throttles', () => {
  let app: INestApplication;
  const clock = new FakeClock(Date.UTC(2030, 0, 1));
  const client = clientOf(() => app, clock);
  const options: PasskeysAppOptions = { clock: clock.now, throttle: { maxCeremoniesPerIp: 5, maxFailuresPerIp: 3 } };

  beforeAll(async () => {
    app = await createApp(PasskeysAppModule.with(options), 'express');
  });

  afterAll(async () => {
    await app.close();
  });

  it('answers 429 past the failed passkey logins of a client IP, then again after the window', async () => {
    const { device } = await client.withPasskey();
    const failed: AuthenticationResponse[] = [];
    for (let index = 0; index < 3; index++) failed.push(device.get(await client.loginOptions(), { userVerified: false }));
    for (const response of failed) await client.passkeyLogin(response).expect(401);
    const good = device.get(await client.loginOptions());
    const throttled = await client.passkeyLogin(good).expect(429);
    expect(throttled.body.code).toBe('AUTH_TOO_MANY_ATTEMPTS');
    expect(Number(throttled.headers['retry-after'])).toBeGreaterThan(0);
    clock.advance(901);
    await client.passkeyLogin(device.get(await client.loginOptions())).expect(200);
  });

  it('answers 429 past the ceremonies a client IP may start', async () => {
    clock.advance(901);
    for (let index = 0; index < 5; index++) await client.http().post('/auth/passkeys/login/options').expect(200);
    const refused = await client.http().post('/auth/passkeys/login/options').expect(429);
    expect(refused.body.code).toBe('AUTH_TOO_MANY_ATTEMPTS');
  });
});
