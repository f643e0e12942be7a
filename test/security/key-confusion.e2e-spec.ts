import { generateKeyPairSync } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { Controller, Get, Module, type INestApplication } from '@nestjs/common';
import request from 'supertest';
import { AuthModule, CurrentUser, Public } from '../../src/auth/index.js';
import { ADAPTERS, createApp } from '../utils/app.js';
import { claimsOf, registerAndLogin } from '../utils/auth-client.js';
import { expectAuthError, hmacJws, nowSeconds } from './security-helpers.js';

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const rsaPublicPem = rsa.publicKey.export({ type: 'spki', format: 'pem' }).toString();
const ecPublicPem = ec.publicKey.export({ type: 'spki', format: 'pem' }).toString();

@Controller()
class SecretController {
  @Get('secret')
  secret(@CurrentUser('userId') userId: string): { userId: string } {
    return { userId };
  }

  @Public()
  @Get('health')
  health(): { status: string } {
    return { status: 'ok' };
  }
}

@Module({
  imports: [
    AuthModule.forRoot({
      keys: [
        { kid: 'rsa-1', alg: 'RS256', privateKey: rsa.privateKey },
        { kid: 'ec-1', alg: 'ES256', privateKey: ec.privateKey },
      ],
      globalGuard: true,
      loginThrottle: false,
    }),
  ],
  controllers: [SecretController],
})
class AsymmetricSecurityAppModule {}

describe.each(ADAPTERS)('algorithm confusion against asymmetric keys on %s', (adapter) => {
  let app: INestApplication;
  let http: ReturnType<typeof request>;
  let claims: Record<string, unknown>;

  beforeAll(async () => {
    app = await createApp(AsymmetricSecurityAppModule, adapter);
    http = request(app.getHttpServer());
    const { accessToken } = await registerAndLogin(app);
    claims = claimsOf(accessToken);
    await http.get('/secret').set('Authorization', `Bearer ${accessToken}`).expect(200);
  });

  afterAll(async () => {
    await app.close();
  });

  afterEach(async () => {
    await http.get('/health').expect(200);
  });

  const payload = (): Record<string, unknown> => ({ ...claims, iat: nowSeconds(), exp: nowSeconds() + 600 });

  it.each([
    ['HS256 keyed with the RSA public key (PEM), naming the RSA key', { alg: 'HS256', typ: 'at+jwt', kid: 'rsa-1' }, rsaPublicPem],
    ['HS256 keyed with the EC public key (PEM), naming the EC key', { alg: 'HS256', typ: 'at+jwt', kid: 'ec-1' }, ecPublicPem],
    ['HS256 keyed with the RSA public key, no kid', { alg: 'HS256', typ: 'at+jwt' }, rsaPublicPem],
    ['HS512 keyed with the RSA public key', { alg: 'HS512', typ: 'at+jwt', kid: 'rsa-1' }, rsaPublicPem],
    ['RS256 header naming the EC key, HMAC signature', { alg: 'RS256', typ: 'at+jwt', kid: 'ec-1' }, ecPublicPem],
    ['alg none naming the RSA key', { alg: 'none', typ: 'at+jwt', kid: 'rsa-1' }, rsaPublicPem],
  ])('refuses %s: 401 AUTH_TOKEN_INVALID', async (_label, header, key) => {
    const hash = header.alg === 'HS512' ? 'sha512' : 'sha256';
    let token = hmacJws(header, payload(), key, hash);
    if (header.alg === 'none') token = `${token.split('.').slice(0, 2).join('.')}.`;
    const response = await http.get('/secret').set('Authorization', `Bearer ${token}`);
    expectAuthError(response, 401, 'AUTH_TOKEN_INVALID');
  });

  it('publishes both public keys and no private material', async () => {
    const { body } = await http.get('/.well-known/jwks.json').expect(200);
    expect(body.keys.map((key: { kid: string }) => key.kid)).toEqual(['rsa-1', 'ec-1']);
    for (const key of body.keys) for (const field of ['d', 'p', 'q', 'dp', 'dq', 'qi']) expect(key).not.toHaveProperty(field);
  });
});
