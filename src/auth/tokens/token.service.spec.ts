import { createHmac } from 'node:crypto';
import { beforeEach, describe, expect, it } from '@jest/globals';
import jsonwebtoken from 'jsonwebtoken';
import { resolveAuthConfig, type AuthConfig } from '../auth.config.js';
import { AuthErrorCode } from '../auth.errors.js';
import { FakeClock } from '../testing/fake-clock.js';
import { ACCESS_TOKEN_ALGORITHM, MAX_TOKEN_LENGTH, TokenService, tokenErrorCode, type TokenVerification } from './token.service.js';

const SECRET = 'token-spec-secret-of-more-than-32-bytes!!';
const OTHER_SECRET = 'another-secret-that-is-also-long-enough!!';

const b64url = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

/** Signs any header and payload with HMAC-SHA256 by hand, for claims jsonwebtoken.sign refuses to write. */
const rawHs256 = (header: Record<string, unknown>, payload: Record<string, unknown>, secret: string = SECRET): string => {
  const input = `${b64url(header)}.${b64url(payload)}`;
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
};

const INVALID: TokenVerification = { ok: false, code: AuthErrorCode.TOKEN_INVALID };
const EXPIRED: TokenVerification = { ok: false, code: AuthErrorCode.TOKEN_EXPIRED };

describe('TokenService', () => {
  let clock: FakeClock;
  let config: AuthConfig;
  let tokens: TokenService;

  const nowSeconds = (): number => Math.floor(clock.now() / 1000);

  /** Claims a nest-warden token carries, valid at the fake clock's current time. */
  const goodClaims = (overrides: Record<string, unknown> = {}): Record<string, unknown> => ({
    sub: 'user-1',
    sid: 'session-1',
    jti: 'token-1',
    iat: nowSeconds(),
    exp: nowSeconds() + 3600,
    iss: 'nest-warden',
    aud: 'nest-warden',
    ...overrides,
  });

  /** Signs with jsonwebtoken directly, bypassing TokenService. */
  const craft = (payload: Record<string, unknown>, options: jsonwebtoken.SignOptions = {}, secret: string = SECRET): string =>
    jsonwebtoken.sign(payload, secret, {
      algorithm: 'HS256',
      ...options,
      header: { alg: options.algorithm ?? 'HS256', typ: 'at+jwt', ...(options.header ?? {}) } as jsonwebtoken.JwtHeader,
    });

  beforeEach(() => {
    clock = new FakeClock();
    config = resolveAuthConfig({ secret: SECRET, clock: clock.now });
    tokens = new TokenService(config);
  });

  describe('sign and verify', () => {
    it('round-trips the claims', async () => {
      const token = await tokens.sign('user-1', 'session-1', 3600);
      const result = await tokens.verify(token);
      expect(result.ok).toBe(true);
      if (!result.ok) return;
      const { claims } = result;
      expect(claims.sub).toBe('user-1');
      expect(claims.sid).toBe('session-1');
      expect(typeof claims.jti).toBe('string');
      expect(claims.jti.length).toBeGreaterThanOrEqual(16);
      expect(claims.iat).toBe(nowSeconds());
      expect(claims.exp).toBe(nowSeconds() + 3600);
      expect(claims.iss).toBe('nest-warden');
      expect(claims.aud).toBe('nest-warden');
    });

    it('signs with HS256 and an at+jwt header (RFC 9068)', async () => {
      const token = await tokens.sign('user-1', 'session-1', 3600);
      const decoded = jsonwebtoken.decode(token, { complete: true });
      expect(decoded?.header.alg).toBe('HS256');
      expect(decoded?.header.typ).toBe('at+jwt');
      expect(ACCESS_TOKEN_ALGORITHM).toBe('HS256');
    });

    it('verifies with the same secret outside the service (interoperable HS256)', async () => {
      const token = await tokens.sign('user-1', 'session-1', 60);
      const payload = jsonwebtoken.verify(token, SECRET, {
        algorithms: ['HS256'],
        clockTimestamp: nowSeconds(),
      }) as jsonwebtoken.JwtPayload;
      expect(payload.sub).toBe('user-1');
    });

    it('gives every token a fresh jti', async () => {
      const a = await tokens.verify(await tokens.sign('user-1', 'session-1', 60));
      const b = await tokens.verify(await tokens.sign('user-1', 'session-1', 60));
      expect(a.ok && b.ok).toBe(true);
      if (a.ok && b.ok) expect(a.claims.jti).not.toBe(b.claims.jti);
    });

    it('uses the configured issuer and audience', async () => {
      const custom = new TokenService(resolveAuthConfig({ secret: SECRET, clock: clock.now, issuer: 'iss-x', audience: 'aud-y' }));
      const result = await custom.verify(await custom.sign('user-1', 'session-1', 60));
      expect(result.ok && result.claims.iss).toBe('iss-x');
      expect(result.ok && result.claims.aud).toBe('aud-y');
      // A token for one audience is refused by a service configured for another.
      expect(await tokens.verify(await custom.sign('user-1', 'session-1', 60))).toEqual(INVALID);
    });

    it('accepts a correctly crafted token (control for the refusals below)', async () => {
      expect((await tokens.verify(craft(goodClaims()))).ok).toBe(true);
    });
  });

  describe('expiry', () => {
    it('is valid until exp and expired from exp on', async () => {
      const token = await tokens.sign('user-1', 'session-1', 60);
      clock.advance(59);
      expect((await tokens.verify(token)).ok).toBe(true);
      clock.advance(1);
      expect(await tokens.verify(token)).toEqual(EXPIRED);
    });

    it('reports AUTH_TOKEN_EXPIRED long after expiry', async () => {
      const token = await tokens.sign('user-1', 'session-1', 3600);
      clock.advance(86_400);
      expect(await tokens.verify(token)).toEqual(EXPIRED);
    });

    it('allows the configured clock tolerance', async () => {
      const tolerant = new TokenService(resolveAuthConfig({ secret: SECRET, clock: clock.now, clockToleranceSeconds: 30 }));
      const token = await tolerant.sign('user-1', 'session-1', 60);
      clock.advance(80);
      expect((await tolerant.verify(token)).ok).toBe(true);
      clock.advance(10);
      expect(await tolerant.verify(token)).toEqual(EXPIRED);
    });
  });

  describe('refusals (AUTH_TOKEN_INVALID)', () => {
    it('refuses a token signed with another secret', async () => {
      const other = new TokenService(resolveAuthConfig({ secret: OTHER_SECRET, clock: clock.now }));
      expect(await tokens.verify(await other.sign('user-1', 'session-1', 3600))).toEqual(INVALID);
      expect(await tokens.verify(craft(goodClaims(), {}, OTHER_SECRET))).toEqual(INVALID);
    });

    it('refuses alg "none"', async () => {
      const token = `${b64url({ alg: 'none', typ: 'at+jwt' })}.${b64url(goodClaims())}.`;
      expect(await tokens.verify(token)).toEqual(INVALID);
    });

    it('refuses alg "none" even with the original signature kept', async () => {
      const good = craft(goodClaims());
      const [, payload, signature] = good.split('.');
      expect(await tokens.verify(`${b64url({ alg: 'none', typ: 'at+jwt' })}.${payload}.${signature}`)).toEqual(INVALID);
    });

    it.each(['HS384', 'HS512'] as const)('refuses %s signed with the same secret', async (algorithm) => {
      const token = craft(goodClaims(), { algorithm });
      expect(jsonwebtoken.decode(token, { complete: true })?.header.alg).toBe(algorithm);
      expect(await tokens.verify(token)).toEqual(INVALID);
    });

    it('refuses a wrong issuer', async () => {
      expect(await tokens.verify(craft(goodClaims({ iss: 'someone-else' })))).toEqual(INVALID);
    });

    it('refuses a missing issuer', async () => {
      const { iss: _iss, ...claims } = goodClaims();
      expect(await tokens.verify(craft(claims))).toEqual(INVALID);
    });

    it('refuses a wrong audience', async () => {
      expect(await tokens.verify(craft(goodClaims({ aud: 'another-api' })))).toEqual(INVALID);
    });

    it('refuses a missing audience', async () => {
      const { aud: _aud, ...claims } = goodClaims();
      expect(await tokens.verify(craft(claims))).toEqual(INVALID);
    });

    it('refuses a token without exp', async () => {
      const { exp: _exp, ...claims } = goodClaims();
      expect(await tokens.verify(craft(claims))).toEqual(INVALID);
    });

    it('refuses a token without iat', async () => {
      const { iat: _iat, ...claims } = goodClaims();
      expect(await tokens.verify(craft(claims, { noTimestamp: true }))).toEqual(INVALID);
    });

    it('refuses an iat in the future', async () => {
      const token = craft(goodClaims({ iat: nowSeconds() + 86_400 * 365, exp: nowSeconds() + 86_400 * 366 }));
      expect(await tokens.verify(token)).toEqual(INVALID);
      expect(await tokens.verify(craft(goodClaims({ iat: nowSeconds() + 1 })))).toEqual(INVALID);
    });

    it('refuses an nbf in the future', async () => {
      expect(await tokens.verify(craft(goodClaims({ nbf: nowSeconds() + 600 })))).toEqual(INVALID);
    });

    it('accepts an nbf in the past', async () => {
      expect((await tokens.verify(craft(goodClaims({ nbf: nowSeconds() - 10 })))).ok).toBe(true);
    });

    it('refuses a token with a crit header', async () => {
      const token = craft(goodClaims(), { header: { alg: 'HS256', crit: ['exp'] } as jsonwebtoken.JwtHeader });
      expect(jsonwebtoken.decode(token, { complete: true })?.header).toHaveProperty('crit');
      expect(await tokens.verify(token)).toEqual(INVALID);
    });

    it.each(['sub', 'sid', 'jti'])('refuses a token without %s', async (claim) => {
      const claims = goodClaims();
      delete claims[claim];
      expect(await tokens.verify(craft(claims))).toEqual(INVALID);
    });

    it.each([
      ['a numeric sub', { sub: 123 }],
      ['an empty sub', { sub: '' }],
      ['an object sub', { sub: { id: 'user-1' } }],
      ['a numeric sid', { sid: 42 }],
      ['an over-long sid', { sid: 's'.repeat(257) }],
    ])('refuses %s', async (_label, overrides) => {
      expect(await tokens.verify(craft(goodClaims(overrides)))).toEqual(INVALID);
    });

    it('accepts a hand-signed HS256 token (control for the hand-signed refusals)', async () => {
      expect((await tokens.verify(rawHs256({ alg: 'HS256', typ: 'at+jwt' }, goodClaims()))).ok).toBe(true);
    });

    it.each([
      ['a string exp', { exp: 'tomorrow' }],
      ['a string iat', { iat: 'now' }],
      ['a null iat', { iat: null }],
    ])('refuses %s (hand-signed)', async (_label, overrides) => {
      expect(await tokens.verify(rawHs256({ alg: 'HS256', typ: 'at+jwt' }, goodClaims(overrides)))).toEqual(INVALID);
    });

    it('refuses a JSON array payload (hand-signed)', async () => {
      const input = `${b64url({ alg: 'HS256', typ: 'at+jwt' })}.${b64url([goodClaims()])}`;
      const token = `${input}.${createHmac('sha256', SECRET).update(input).digest('base64url')}`;
      expect(await tokens.verify(token)).toEqual(INVALID);
    });

    it('refuses a tampered payload', async () => {
      const [header, , signature] = (await tokens.sign('user-1', 'session-1', 3600)).split('.');
      const forged = `${header}.${b64url(goodClaims({ sub: 'admin' }))}.${signature}`;
      expect(await tokens.verify(forged)).toEqual(INVALID);
    });

    it('refuses a tampered signature', async () => {
      const token = await tokens.sign('user-1', 'session-1', 3600);
      const last = token.at(-1) === 'A' ? 'B' : 'A';
      expect(await tokens.verify(`${token.slice(0, -1)}${last}`)).toEqual(INVALID);
      expect(await tokens.verify(token.slice(0, token.lastIndexOf('.') + 1))).toEqual(INVALID);
    });

    it('refuses a token longer than MAX_TOKEN_LENGTH even when correctly signed', async () => {
      expect(MAX_TOKEN_LENGTH).toBe(4096);
      const sized = (padding: number): string => craft(goodClaims({ pad: 'x'.repeat(padding) }));
      const base = sized(0).length;
      // base64url turns 3 bytes into 4 characters; find paddings just under and just over the limit.
      let under = Math.floor(((MAX_TOKEN_LENGTH - base) * 3) / 4);
      while (sized(under).length > MAX_TOKEN_LENGTH) under--;
      let over = under;
      while (sized(over).length <= MAX_TOKEN_LENGTH) over++;
      expect(sized(under).length).toBeLessThanOrEqual(MAX_TOKEN_LENGTH);
      expect((await tokens.verify(sized(under))).ok).toBe(true);
      expect(sized(over).length).toBeGreaterThan(MAX_TOKEN_LENGTH);
      expect(await tokens.verify(sized(over))).toEqual(INVALID);
    });

    it.each([undefined, null, 42, {}, ['a.b.c'], ''])('refuses non-token input %p without throwing', async (input) => {
      expect(await tokens.verify(input)).toEqual(INVALID);
    });

    it.each(['garbage', 'a.b.c', 'a.b', '...', 'Bearer a.b.c'])('refuses malformed text %j without throwing', async (input) => {
      expect(await tokens.verify(input)).toEqual(INVALID);
    });
  });

  describe('tokenErrorCode', () => {
    it('maps TokenExpiredError to AUTH_TOKEN_EXPIRED and anything else to AUTH_TOKEN_INVALID', async () => {
      expect(tokenErrorCode(new jsonwebtoken.TokenExpiredError('jwt expired', new Date()))).toBe('AUTH_TOKEN_EXPIRED');
      expect(tokenErrorCode(new jsonwebtoken.JsonWebTokenError('invalid signature'))).toBe('AUTH_TOKEN_INVALID');
      expect(tokenErrorCode(new jsonwebtoken.NotBeforeError('jwt not active', new Date()))).toBe('AUTH_TOKEN_INVALID');
      expect(tokenErrorCode('boom')).toBe('AUTH_TOKEN_INVALID');
    });
  });

  describe('passportOptions', () => {
    it('pins the same algorithm, issuer, audience and tolerance as verify', async () => {
      const options = tokens.passportOptions();
      expect(options.algorithms).toEqual(['HS256']);
      expect(options.issuer).toBe('nest-warden');
      expect(options.audience).toBe('nest-warden');
      expect(options.ignoreExpiration).toBe(false);
      expect(options.jsonWebTokenOptions).toEqual({ complete: true, clockTolerance: 0 });
      expect(typeof options.secretOrKeyProvider).toBe('function');
    });
  });
});

describe('TokenService verified-token cache', () => {
  it('still expires a token it has verified before, and never accepts a tampered copy', async () => {
    const clock = new FakeClock();
    const service = new TokenService(resolveAuthConfig({ secret: 'cache-test-secret-that-is-32-bytes-long', clock: clock.now }));
    const token = await service.sign('user-1', 'session-1', 60);
    expect((await service.verify(token)).ok).toBe(true);
    expect((await service.verify(token)).ok).toBe(true);
    const tampered = `${token.slice(0, -2)}${token.endsWith('AA') ? 'BB' : 'AA'}`;
    expect(await service.verify(tampered)).toEqual({ ok: false, code: 'AUTH_TOKEN_INVALID' });
    clock.advance(59);
    expect((await service.verify(token)).ok).toBe(true);
    clock.advance(1);
    expect(await service.verify(token)).toEqual({ ok: false, code: 'AUTH_TOKEN_EXPIRED' });
    expect(await service.verify(token)).toEqual({ ok: false, code: 'AUTH_TOKEN_EXPIRED' });
  });
});

describe('TokenService verified-token cache lookups', () => {
  const clock = new FakeClock();
  const service = new TokenService(resolveAuthConfig({ secret: 'cache-test-secret-that-is-32-bytes-long', clock: clock.now }));

  it('answers only the exact token it verified, not another one ending with the same signature', async () => {
    const token = await service.sign('user-1', 'session-1', 60);
    expect((await service.verify(token)).ok).toBe(true);
    const [header, payload, signature] = token.split('.');
    const forgedPayload = b64url({ ...JSON.parse(Buffer.from(payload!, 'base64url').toString()), sub: 'admin' });
    for (const forged of [`${header}.${forgedPayload}.${signature}`, `x${token}`, `${token.slice(1)}`]) {
      expect(service.verifyKnown(forged)).toBeUndefined();
      expect(await service.verify(forged)).toEqual({ ok: false, code: 'AUTH_TOKEN_INVALID' });
    }
    // The genuine token is still answered from the cache.
    expect(service.verifyKnown(token)).toMatchObject({ ok: true, claims: { sub: 'user-1' } });
  });

  it('hands out one frozen answer per token, checked against the time it is given', async () => {
    const token = await service.sign('user-2', 'session-2', 60);
    const first = await service.verify(token);
    expect(service.verifyKnown(token)).toBe(first);
    expect(Object.isFrozen(first)).toBe(true);
    expect(first.ok && Object.isFrozen(first.claims)).toBe(true);
    expect(service.verifyKnown(token, clock.now() + 59_000)).toBe(first);
    expect(service.verifyKnown(token, clock.now() + 60_000)).toEqual({ ok: false, code: 'AUTH_TOKEN_EXPIRED' });
  });
});

describe('TokenService header rules (RFC 8725, RFC 9068)', () => {
  const SECRET = 'header-rules-secret-that-is-32-bytes-long';
  const service = new TokenService(resolveAuthConfig({ secret: SECRET }));
  const sign = (header: Record<string, unknown>): string =>
    jsonwebtoken.sign({ sub: 'u', sid: 's', jti: 'j' }, SECRET, {
      algorithm: 'HS256',
      expiresIn: 60,
      issuer: 'nest-warden',
      audience: 'nest-warden',
      header: { alg: 'HS256', ...header } as jsonwebtoken.JwtHeader,
    });

  it('accepts typ at+jwt and application/at+jwt', async () => {
    expect((await service.verify(sign({ typ: 'at+jwt' }))).ok).toBe(true);
    expect((await service.verify(sign({ typ: 'application/at+jwt' }))).ok).toBe(true);
  });

  it.each([
    ['typ JWT (an ID token or another JWT)', { typ: 'JWT' }],
    ['no typ', {}],
    ['a kid in single-secret mode', { typ: 'at+jwt', kid: 'k1' }],
    ['a jku header', { typ: 'at+jwt', jku: 'https://attacker.example/jwks.json' }],
    ['an x5u header', { typ: 'at+jwt', x5u: 'https://attacker.example/cert.pem' }],
    ['an embedded jwk', { typ: 'at+jwt', jwk: { kty: 'oct', k: 'AAAA' } }],
    ['an x5c chain', { typ: 'at+jwt', x5c: ['MIIB'] }],
  ])('refuses %s', async (_label, header) => {
    expect(await service.verify(sign(header))).toEqual({ ok: false, code: 'AUTH_TOKEN_INVALID' });
  });
});
