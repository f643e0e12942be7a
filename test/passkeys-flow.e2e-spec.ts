import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { FakeClock } from '../src/auth/testing/index.js';
import { PasskeysAppModule, TEST_RP } from './fixtures/passkeys/app.module.js';
import { ADAPTERS, createApp } from './utils/app.js';
import { claimsOf, uniqueUsername } from './utils/auth-client.js';
import { SoftwareAuthenticator } from './utils/software-authenticator.js';

const PASSWORD = 'correct horse battery staple';

describe.each(ADAPTERS)('passkeys on %s', (adapter) => {
  let app: INestApplication;
  const clock = new FakeClock(Date.UTC(2030, 0, 1));
  const http = () => request(app.getHttpServer());
  const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

  beforeAll(async () => {
    app = await createApp(PasskeysAppModule.with({ clock: clock.now }), adapter);
  });

  afterAll(async () => {
    await app.close();
  });

  const signedIn = async () => {
    const username = uniqueUsername('pk');
    const registered = await http().post('/auth/register').send({ username, password: PASSWORD }).expect(201);
    const login = await http().post('/auth/login').send({ username, password: PASSWORD }).expect(200);
    return { username, userId: registered.body.userId as string, access: login.body.accessToken as string };
  };

  const withPasskey = async (alg: 'ES256' | 'EdDSA' = 'ES256') => {
    const user = await signedIn();
    const authenticator = new SoftwareAuthenticator({ origin: TEST_RP.origin, rpId: TEST_RP.rpId, alg });
    const options = await http().post('/auth/passkeys/register/options').set(bearer(user.access)).expect(200);
    const created = await http()
      .post('/auth/passkeys/register/verify')
      .set(bearer(user.access))
      .send({ response: authenticator.create(options.body), name: 'Laptop' })
      .expect(201);
    return { ...user, authenticator, passkey: created.body as { id: string; name: string } };
  };

  it.each(['ES256', 'EdDSA'] as const)('registers a %s passkey and logs in with it, no username: amr hwk and user', async (alg) => {
    const { userId, authenticator, passkey } = await withPasskey(alg);
    expect(passkey).toEqual({
      id: expect.stringMatching(/^[A-Za-z0-9_-]{22}$/),
      name: 'Laptop',
      createdAt: new Date(clock.now()).toISOString(),
      lastUsedAt: null,
      deviceType: 'singleDevice',
      backedUp: false,
      transports: ['internal'],
    });
    const options = await http().post('/auth/passkeys/login/options').expect(200);
    expect(options.body).toMatchObject({ rpId: TEST_RP.rpId, userVerification: 'required', challenge: expect.any(String) });
    const login = await http()
      .post('/auth/passkeys/login/verify')
      .send({ response: authenticator.get(options.body) })
      .expect(200);
    expect(login.body).toMatchObject({
      accessToken: expect.any(String),
      refreshToken: expect.any(String),
      tokenType: 'Bearer',
      expiresIn: 3600,
    });
    expect(claimsOf(login.body.accessToken)).toMatchObject({ sub: userId, amr: ['hwk', 'user'] });
    // A passkey with user verification is two factors: @RequireMfa() lets it in.
    await http().get('/profile/secure').set(bearer(login.body.accessToken)).expect(200, { userId, secure: true });
  });
});
