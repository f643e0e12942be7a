import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { createLocalJWKSet, jwtVerify } from 'jose';
import jsonwebtoken from 'jsonwebtoken';
import request from 'supertest';
import { AsymmetricKeysAppModule, previousKey } from './fixtures/asymmetric-keys/app.module.js';
import { GlobalGuardAppModule } from './fixtures/global-guard/app.module.js';
import { ADAPTERS, createApp } from './utils/app.js';
import { claimsOf, registerAndLogin } from './utils/auth-client.js';

describe.each(ADAPTERS)('asymmetric keys, rotation and JWKS on %s', (adapter) => {
  let app: INestApplication;
  let http: ReturnType<typeof request>;

  beforeAll(async () => {
    app = await createApp(AsymmetricKeysAppModule, adapter);
    http = request(app.getHttpServer());
  });

  afterAll(async () => {
    await app.close();
  });

  it('issues EdDSA access tokens that other services verify from /.well-known/jwks.json', async () => {
    const { accessToken, userId } = await registerAndLogin(app);
    const header = JSON.parse(Buffer.from(accessToken.split('.')[0]!, 'base64url').toString());
    expect(header).toEqual({ alg: 'EdDSA', typ: 'at+jwt', kid: 'ed-2026-11' });
    await http.get('/notes').set('Authorization', `Bearer ${accessToken}`).expect(200, { owner: userId });

    const jwks = await http.get('/.well-known/jwks.json').expect(200);
    expect(jwks.headers['cache-control']).toBe('public, max-age=300');
    expect(jwks.body.keys.map((key: { kid: string; alg: string; use: string }) => [key.kid, key.alg, key.use])).toEqual([
      ['ed-2026-11', 'EdDSA', 'sig'],
      ['ec-2026-10', 'ES256', 'sig'],
    ]);
    for (const key of jwks.body.keys) expect(key).not.toHaveProperty('d'); // never private material
    const { payload } = await jwtVerify(accessToken, createLocalJWKSet(jwks.body), { issuer: 'nest-warden', audience: 'nest-warden' });
    expect(payload.sub).toBe(userId);
  });

  it('still accepts a token signed with the previous (ES256) key, for a live session', async () => {
    const { accessToken } = await registerAndLogin(app);
    const claims = claimsOf(accessToken);
    const old = jsonwebtoken.sign({ sub: claims.sub, sid: claims.sid, jti: 'from-before-rotation' }, previousKey.privateKey, {
      algorithm: 'ES256',
      expiresIn: 600,
      issuer: 'nest-warden',
      audience: 'nest-warden',
      header: { alg: 'ES256', typ: 'at+jwt', kid: 'ec-2026-10' },
    });
    await http.get('/notes').set('Authorization', `Bearer ${old}`).expect(200);
    // passport-jwt picks the same key by kid.
    await http.get('/passport').set('Authorization', `Bearer ${old}`).expect(200);
    // The same claims with a kid the app does not list are refused.
    const unlisted = jsonwebtoken.sign({ sub: claims.sub, sid: claims.sid, jti: 'x' }, previousKey.privateKey, {
      algorithm: 'ES256',
      expiresIn: 600,
      issuer: 'nest-warden',
      audience: 'nest-warden',
      header: { alg: 'ES256', typ: 'at+jwt', kid: 'ec-2025-01' },
    });
    const refused = await http.get('/notes').set('Authorization', `Bearer ${unlisted}`).expect(401);
    expect(refused.body.code).toBe('AUTH_TOKEN_INVALID');
  });

  it('publishes no key when tokens use a shared secret', async () => {
    const hsApp = await createApp(GlobalGuardAppModule, adapter);
    try {
      await request(hsApp.getHttpServer()).get('/.well-known/jwks.json').expect(200, { keys: [] });
    } finally {
      await hsApp.close();
    }
  });
});
