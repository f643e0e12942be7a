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
  const craft = (
    payload: Record<string, unknown>,
    options: jsonwebtoken.SignOptions = {},
    secret: string = SECRET,
  ): string => jsonwebtoken.sign(payload, secret, { algorithm: 'HS256', ...options });

  beforeEach(() => {
    clock = new FakeClock();
    config = resolveAuthConfig({ secret: SECRET, clock: clock.now });
    tokens = new TokenService(config);
  });

  describe('sign and verify', () => {
    it('round-trips the claims', () => {
      const token = tokens.sign('user-1', 'session-1', 3600);
      const result = tokens.verify(token);
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

    it('signs with HS256 and a JWT header', () => {
      const token = tokens.sign('user-1', 'session-1', 3600);
      const decoded = jsonwebtoken.decode(token, { complete: true });
      expect(decoded?.header.alg).toBe('HS256');
      expect(decoded?.header.typ).toBe('JWT');
      expect(ACCESS_TOKEN_ALGORITHM).toBe('HS256');
    });

    it('verifies with the same secret outside the service (interoperable HS256)', () => {
      const token = tokens.sign('user-1', 'session-1', 60);
      const payload = jsonwebtoken.verify(token, SECRET, {
        algorithms: ['HS256'],
        clockTimestamp: nowSeconds(),
      }) as jsonwebtoken.JwtPayload;
      expect(payload.sub).toBe('user-1');
    });

    it('gives every token a fresh jti', () => {
      const a = tokens.verify(tokens.sign('user-1', 'session-1', 60));
      const b = tokens.verify(tokens.sign('user-1', 'session-1', 60));
      expect(a.ok && b.ok).toBe(true);
      if (a.ok && b.ok) expect(a.claims.jti).not.toBe(b.claims.jti);
    });

    it('uses the configured issuer and audience', () => {
      const custom = new TokenService(resolveAuthConfig({ secret: SECRET, clock: clock.now, issuer: 'iss-x', audience: 'aud-y' }));
      const result = custom.verify(custom.sign('user-1', 'session-1', 60));
      expect(result.ok && result.claims.iss).toBe('iss-x');
      expect(result.ok && result.claims.aud).toBe('aud-y');
      // A token for one audience is refused by a service configured for another.
      expect(tokens.verify(custom.sign('user-1', 'session-1', 60))).toEqual(INVALID);
    });

    it('accepts a correctly crafted token (control for the refusals below)', () => {
      expect(tokens.verify(craft(goodClaims())).ok).toBe(true);
    });
  });

  describe('expiry', () => {
    it('is valid until exp and expired from exp on', () => {
      const token = tokens.sign('user-1', 'session-1', 60);
      clock.advance(59);
      expect(tokens.verify(token).ok).toBe(true);
      clock.advance(1);
      expect(tokens.verify(token)).toEqual(EXPIRED);
    });

    it('reports AUTH_TOKEN_EXPIRED long after expiry', () => {
      const token = tokens.sign('user-1', 'session-1', 3600);
      clock.advance(86_400);
      expect(tokens.verify(token)).toEqual(EXPIRED);
    });

    it('allows the configured clock tolerance', () => {
      const tolerant = new TokenService(resolveAuthConfig({ secret: SECRET, clock: clock.now, clockToleranceSeconds: 30 }));
      const token = tolerant.sign('user-1', 'session-1', 60);
      clock.advance(80);
      expect(tolerant.verify(token).ok).toBe(true);
      clock.advance(10);
      expect(tolerant.verify(token)).toEqual(EXPIRED);
    });
  });

  describe('refusals (AUTH_TOKEN_INVALID)', () => {
    it('refuses a token signed with another secret', () => {
      const other = new TokenService(resolveAuthConfig({ secret: OTHER_SECRET, clock: clock.now }));
      expect(tokens.verify(other.sign('user-1', 'session-1', 3600))).toEqual(INVALID);
      expect(tokens.verify(craft(goodClaims(), {}, OTHER_SECRET))).toEqual(INVALID);
    });

    it('refuses alg "none"', () => {
      const token = `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url(goodClaims())}.`;
      expect(tokens.verify(token)).toEqual(INVALID);
    });

    it('refuses alg "none" even with the original signature kept', () => {
      const good = craft(goodClaims());
      const [, payload, signature] = good.split('.');
      expect(tokens.verify(`${b64url({ alg: 'none', typ: 'JWT' })}.${payload}.${signature}`)).toEqual(INVALID);
    });

    it.each(['HS384', 'HS512'] as const)('refuses %s signed with the same secret', (algorithm) => {
      const token = craft(goodClaims(), { algorithm });
      expect(jsonwebtoken.decode(token, { complete: true })?.header.alg).toBe(algorithm);
      expect(tokens.verify(token)).toEqual(INVALID);
    });

    it('refuses a wrong issuer', () => {
      expect(tokens.verify(craft(goodClaims({ iss: 'someone-else' })))).toEqual(INVALID);
    });

    it('refuses a missing issuer', () => {
      const { iss: _iss, ...claims } = goodClaims();
      expect(tokens.verify(craft(claims))).toEqual(INVALID);
    });

    it('refuses a wrong audience', () => {
      expect(tokens.verify(craft(goodClaims({ aud: 'another-api' })))).toEqual(INVALID);
    });

    it('refuses a missing audience', () => {
      const { aud: _aud, ...claims } = goodClaims();
      expect(tokens.verify(craft(claims))).toEqual(INVALID);
    });

    it('refuses a token without exp', () => {
      const { exp: _exp, ...claims } = goodClaims();
      expect(tokens.verify(craft(claims))).toEqual(INVALID);
    });

    it('refuses a token without iat', () => {
      const { iat: _iat, ...claims } = goodClaims();
      expect(tokens.verify(craft(claims, { noTimestamp: true }))).toEqual(INVALID);
    });

    it('refuses an iat in the future', () => {
      const token = craft(goodClaims({ iat: nowSeconds() + 86_400 * 365, exp: nowSeconds() + 86_400 * 366 }));
      expect(tokens.verify(token)).toEqual(INVALID);
      expect(tokens.verify(craft(goodClaims({ iat: nowSeconds() + 1 })))).toEqual(INVALID);
    });

    it('refuses an nbf in the future', () => {
      expect(tokens.verify(craft(goodClaims({ nbf: nowSeconds() + 600 })))).toEqual(INVALID);
    });

    it('accepts an nbf in the past', () => {
      expect(tokens.verify(craft(goodClaims({ nbf: nowSeconds() - 10 }))).ok).toBe(true);
    });

    it('refuses a token with a crit header', () => {
      const token = craft(goodClaims(), { header: { alg: 'HS256', crit: ['exp'] } as jsonwebtoken.JwtHeader });
      expect(jsonwebtoken.decode(token, { complete: true })?.header).toHaveProperty('crit');
      expect(tokens.verify(token)).toEqual(INVALID);
    });

    it.each(['sub', 'sid', 'jti'])('refuses a token without %s', (claim) => {
      const claims = goodClaims();
      delete claims[claim];
      expect(tokens.verify(craft(claims))).toEqual(INVALID);
    });

    it.each([
      ['a numeric sub', { sub: 123 }],
      ['an empty sub', { sub: '' }],
      ['an object sub', { sub: { id: 'user-1' } }],
      ['a numeric sid', { sid: 42 }],
      ['an over-long sid', { sid: 's'.repeat(257) }],
    ])('refuses %s', (_label, overrides) => {
      expect(tokens.verify(craft(goodClaims(overrides)))).toEqual(INVALID);
    });

    it('accepts a hand-signed HS256 token (control for the hand-signed refusals)', () => {
      expect(tokens.verify(rawHs256({ alg: 'HS256', typ: 'JWT' }, goodClaims())).ok).toBe(true);
    });

    it.each([
      ['a string exp', { exp: 'tomorrow' }],
      ['a string iat', { iat: 'now' }],
      ['a null iat', { iat: null }],
    ])('refuses %s (hand-signed)', (_label, overrides) => {
      expect(tokens.verify(rawHs256({ alg: 'HS256', typ: 'JWT' }, goodClaims(overrides)))).toEqual(INVALID);
    });

    it('refuses a JSON array payload (hand-signed)', () => {
      const input = `${b64url({ alg: 'HS256', typ: 'JWT' })}.${b64url([goodClaims()])}`;
      const token = `${input}.${createHmac('sha256', SECRET).update(input).digest('base64url')}`;
      expect(tokens.verify(token)).toEqual(INVALID);
    });

    it('refuses a tampered payload', () => {
      const [header, , signature] = tokens.sign('user-1', 'session-1', 3600).split('.');
      const forged = `${header}.${b64url(goodClaims({ sub: 'admin' }))}.${signature}`;
      expect(tokens.verify(forged)).toEqual(INVALID);
    });

    it('refuses a tampered signature', () => {
      const token = tokens.sign('user-1', 'session-1', 3600);
      const last = token.at(-1) === 'A' ? 'B' : 'A';
      expect(tokens.verify(`${token.slice(0, -1)}${last}`)).toEqual(INVALID);
      expect(tokens.verify(token.slice(0, token.lastIndexOf('.') + 1))).toEqual(INVALID);
    });

    it('refuses a token longer than MAX_TOKEN_LENGTH even when correctly signed', () => {
      expect(MAX_TOKEN_LENGTH).toBe(4096);
      const sized = (padding: number): string => craft(goodClaims({ pad: 'x'.repeat(padding) }));
      const base = sized(0).length;
      // base64url turns 3 bytes into 4 characters; find paddings just under and just over the limit.
      let under = Math.floor(((MAX_TOKEN_LENGTH - base) * 3) / 4);
      while (sized(under).length > MAX_TOKEN_LENGTH) under--;
      let over = under;
      while (sized(over).length <= MAX_TOKEN_LENGTH) over++;
      expect(sized(under).length).toBeLessThanOrEqual(MAX_TOKEN_LENGTH);
      expect(tokens.verify(sized(under)).ok).toBe(true);
      expect(sized(over).length).toBeGreaterThan(MAX_TOKEN_LENGTH);
      expect(tokens.verify(sized(over))).toEqual(INVALID);
    });

    it.each([undefined, null, 42, {}, ['a.b.c'], ''])('refuses non-token input %p without throwing', (input) => {
      expect(tokens.verify(input)).toEqual(INVALID);
    });

    it.each(['garbage', 'a.b.c', 'a.b', '...', 'Bearer a.b.c'])('refuses malformed text %j without throwing', (input) => {
      expect(tokens.verify(input)).toEqual(INVALID);
    });
  });

  describe('tokenErrorCode', () => {
    it('maps TokenExpiredError to AUTH_TOKEN_EXPIRED and anything else to AUTH_TOKEN_INVALID', () => {
      expect(tokenErrorCode(new jsonwebtoken.TokenExpiredError('jwt expired', new Date()))).toBe('AUTH_TOKEN_EXPIRED');
      expect(tokenErrorCode(new jsonwebtoken.JsonWebTokenError('invalid signature'))).toBe('AUTH_TOKEN_INVALID');
      expect(tokenErrorCode(new jsonwebtoken.NotBeforeError('jwt not active', new Date()))).toBe('AUTH_TOKEN_INVALID');
      expect(tokenErrorCode('boom')).toBe('AUTH_TOKEN_INVALID');
    });
  });

  describe('passportOptions', () => {
    it('pins the same algorithm, issuer, audience and tolerance as verify', () => {
      const options = tokens.passportOptions();
      expect(options.algorithms).toEqual(['HS256']);
      expect(options.issuer).toBe('nest-warden');
      expect(options.audience).toBe('nest-warden');
      expect(options.ignoreExpiration).toBe(false);
      expect(options.jsonWebTokenOptions).toEqual({ complete: true, clockTolerance: 0 });
      expect(options.secretOrKey).toBe(config.secretKey);
    });
  });
});

describe('TokenService verified-token cache', () => {
  it('still expires a token it has verified before, and never accepts a tampered copy', () => {
    const clock = new FakeClock();
    const service = new TokenService(resolveAuthConfig({ secret: 'cache-test-secret-that-is-32-bytes-long', clock: clock.now }));
    const token = service.sign('user-1', 'session-1', 60);
    expect(service.verify(token).ok).toBe(true);
    expect(service.verify(token).ok).toBe(true);
    const tampered = `${token.slice(0, -2)}${token.endsWith('AA') ? 'BB' : 'AA'}`;
    expect(service.verify(tampered)).toEqual({ ok: false, code: 'AUTH_TOKEN_INVALID' });
    clock.advance(59);
    expect(service.verify(token).ok).toBe(true);
    clock.advance(1);
    expect(service.verify(token)).toEqual({ ok: false, code: 'AUTH_TOKEN_EXPIRED' });
    expect(service.verify(token)).toEqual({ ok: false, code: 'AUTH_TOKEN_EXPIRED' });
  });
});
