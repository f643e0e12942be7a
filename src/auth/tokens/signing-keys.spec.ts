import { createHmac, generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { jwtVerify, createLocalJWKSet } from 'jose';
import jsonwebtoken from 'jsonwebtoken';
import { resolveAuthConfig } from '../auth.config.js';
import { AuthOptionsError } from '../auth.errors.js';
import { TokenService } from './token.service.js';
import type { JwtKeyOptions } from './signing-keys.js';

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const rsaSmall = generateKeyPairSync('rsa', { modulusLength: 1024 });
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const ecOther = generateKeyPairSync('ec', { namedCurve: 'P-384' });
const ed = generateKeyPairSync('ed25519');
const ed2 = generateKeyPairSync('ed25519');
const pem = (key: { export: (o: { type: 'pkcs8' | 'spki'; format: 'pem' }) => string | Buffer }, type: 'pkcs8' | 'spki'): string =>
  key.export({ type, format: 'pem' }).toString();

const service = (keys: JwtKeyOptions[]): TokenService => new TokenService(resolveAuthConfig({ keys }));
const optionOf = (fn: () => unknown): string => {
  try {
    fn();
  } catch (error) {
    if (error instanceof AuthOptionsError) return error.option;
    throw error;
  }
  throw new Error('no error');
};

describe('asymmetric access tokens', () => {
  it.each([
    ['RS256', { kid: 'rsa-1', alg: 'RS256' as const, privateKey: pem(rsa.privateKey, 'pkcs8') }],
    ['ES256', { kid: 'ec-1', alg: 'ES256' as const, privateKey: ec.privateKey }],
    ['EdDSA (Ed25519)', { kid: 'ed-1', alg: 'EdDSA' as const, privateKey: ed.privateKey }],
  ])('signs and verifies with %s, with kid and typ at+jwt in the header', async (_name, key) => {
    const tokens = service([key]);
    const token = await tokens.sign('user-1', 'session-1', 60);
    const header = JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString());
    expect(header).toEqual({ alg: key.alg, typ: 'at+jwt', kid: key.kid });
    const result = await tokens.verify(token);
    expect(result.ok && result.claims.sub).toBe('user-1');
    // Another service verifies it from the published JWKS alone.
    const jwks = createLocalJWKSet(tokens.jwks() as Parameters<typeof createLocalJWKSet>[0]);
    const { payload } = await jwtVerify(token, jwks, { issuer: 'nest-warden', audience: 'nest-warden' });
    expect(payload.sid).toBe('session-1');
  });

  it('rotates: signs with the first key, still accepts the listed older key, refuses an unlisted one', async () => {
    const old = service([{ kid: 'ed-old', alg: 'EdDSA', privateKey: ed.privateKey }]);
    const oldToken = await old.sign('user-1', 'session-1', 60);
    const rotated = service([
      { kid: 'ed-new', alg: 'EdDSA', privateKey: ed2.privateKey },
      { kid: 'ed-old', alg: 'EdDSA', publicKey: ed.publicKey },
    ]);
    const newToken = await rotated.sign('user-1', 'session-1', 60);
    expect(JSON.parse(Buffer.from(newToken.split('.')[0]!, 'base64url').toString()).kid).toBe('ed-new');
    expect((await rotated.verify(oldToken)).ok).toBe(true);
    expect((await rotated.verify(newToken)).ok).toBe(true);
    expect(rotated.jwks().keys.map((key) => key.kid)).toEqual(['ed-new', 'ed-old']);
    const retired = service([{ kid: 'ed-new', alg: 'EdDSA', privateKey: ed2.privateKey }]);
    expect(await retired.verify(oldToken)).toEqual({ ok: false, code: 'AUTH_TOKEN_INVALID' });
  });

  it('refuses algorithm confusion: an HS256 token keyed with the RSA public key', async () => {
    const tokens = service([{ kid: 'rsa-1', alg: 'RS256', privateKey: rsa.privateKey }]);
    const header = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'at+jwt', kid: 'rsa-1' })).toString('base64url');
    const now = Math.floor(Date.now() / 1000);
    const payload = Buffer.from(
      JSON.stringify({ sub: 'u', sid: 's', jti: 'j', iat: now, exp: now + 60, iss: 'nest-warden', aud: 'nest-warden' }),
    ).toString('base64url');
    const signature = createHmac('sha256', pem(rsa.publicKey, 'spki')).update(`${header}.${payload}`).digest('base64url');
    expect(await tokens.verify(`${header}.${payload}.${signature}`)).toEqual({ ok: false, code: 'AUTH_TOKEN_INVALID' });
  });

  it('refuses a token whose kid names a key of another algorithm, or no configured key', async () => {
    const tokens = service([
      { kid: 'ec-1', alg: 'ES256', privateKey: ec.privateKey },
      { kid: 'hs-1', alg: 'HS256', secret: 'a-shared-secret-that-is-32-bytes-long!!' },
    ]);
    const hs = jsonwebtoken.sign({ sub: 'u', sid: 's', jti: 'j' }, 'a-shared-secret-that-is-32-bytes-long!!', {
      algorithm: 'HS256',
      expiresIn: 60,
      issuer: 'nest-warden',
      audience: 'nest-warden',
      header: { alg: 'HS256', typ: 'at+jwt', kid: 'ec-1' } as jsonwebtoken.JwtHeader,
    });
    expect((await tokens.verify(hs)).ok).toBe(false);
    const unknownKid = hs.replace(
      /^[^.]+/,
      Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'at+jwt', kid: 'nope' })).toString('base64url'),
    );
    expect((await tokens.verify(unknownKid)).ok).toBe(false);
    expect(tokens.jwks().keys.map((key) => key.kid)).toEqual(['ec-1']); // never the shared secret
  });

  it('refuses weak or mismatched keys at start-up, naming the key', () => {
    expect(optionOf(() => resolveAuthConfig({ keys: [{ kid: 'r', alg: 'RS256', privateKey: rsaSmall.privateKey }] }))).toBe('keys[0]');
    expect(optionOf(() => resolveAuthConfig({ keys: [{ kid: 'e', alg: 'ES256', privateKey: ecOther.privateKey }] }))).toBe('keys[0]');
    expect(optionOf(() => resolveAuthConfig({ keys: [{ kid: 'd', alg: 'EdDSA', privateKey: ec.privateKey }] }))).toBe('keys[0]');
    expect(optionOf(() => resolveAuthConfig({ keys: [{ kid: 'h', alg: 'HS256', secret: 'too-short' }] }))).toBe('keys[0].secret');
    expect(
      optionOf(() => resolveAuthConfig({ keys: [{ kid: 'd', alg: 'EdDSA', privateKey: ed.privateKey, publicKey: ed2.publicKey }] })),
    ).toBe('keys[0]');
    expect(optionOf(() => resolveAuthConfig({ keys: [{ kid: 'd', alg: 'EdDSA', publicKey: ed.publicKey }] }))).toBe('keys');
    expect(
      optionOf(() =>
        resolveAuthConfig({
          keys: [
            { kid: 'same', alg: 'EdDSA', privateKey: ed.privateKey },
            { kid: 'same', alg: 'EdDSA', publicKey: ed2.publicKey },
          ],
        }),
      ),
    ).toBe('keys[1].kid');
    expect(optionOf(() => resolveAuthConfig({ keys: [{ kid: 'x', alg: 'none' as never, secret: 'x'.repeat(40) }] }))).toBe('keys[0].alg');
    expect(optionOf(() => resolveAuthConfig({ secret: 'x'.repeat(40), keys: [] }))).toBe('secret');
  });
});
