import { describe, expect, it } from '@jest/globals';
import { bearerCredentials, extractBearerToken, isCompactJws, type RequestWithHeaders } from './bearer-token.extractor.js';

const TOKEN = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1MSJ9.c2lnbmF0dXJlLWJ5dGVz_-';

const request = (authorization?: string | string[]): RequestWithHeaders => ({ headers: { authorization } });

describe('extractBearerToken', () => {
  it('returns the token of "Bearer <jws>"', () => {
    expect(extractBearerToken(request('Bearer a.b.c'))).toBe('a.b.c');
    expect(extractBearerToken(request(`Bearer ${TOKEN}`))).toBe(TOKEN);
  });

  it('accepts an empty signature part (the verifier refuses it later)', () => {
    expect(extractBearerToken(request('Bearer a.b.'))).toBe('a.b.');
  });

  it.each(['bearer', 'BEARER', 'BeArEr'])('treats the scheme case-insensitively (%s)', (scheme) => {
    expect(extractBearerToken(request(`${scheme} a.b.c`))).toBe('a.b.c');
  });

  it.each([
    ['two spaces', 'Bearer  a.b.c'],
    ['a trailing space', 'Bearer a.b.c '],
    ['a leading space', ' Bearer a.b.c'],
    ['a tab separator', 'Bearer\ta.b.c'],
    ['a trailing newline', 'Bearer a.b.c\n'],
    ['no token', 'Bearer '],
    ['the scheme alone', 'Bearer'],
    ['another scheme', 'Basic x'],
    ['Basic credentials', 'Basic YWxpY2U6c2VjcmV0'],
    ['a scheme prefix', 'Bearerx a.b.c'],
    ['a token with "+" and "/" (base64, not base64url)', 'Bearer a+b.c/d.e'],
    ['a token with "=" padding', 'Bearer a.b.c=='],
    ['a token with a space inside', 'Bearer a.b c'],
    ['a token with a comma (two credentials)', 'Bearer a.b.c, Bearer d.e.f'],
    ['a token with non-ASCII characters', 'Bearer a.b\u00e9.c'],
    ['two parts only', 'Bearer a.b'],
    ['four parts (JWE-like)', 'Bearer a.b.c.d'],
    ['an empty header part', 'Bearer .b.c'],
    ['an empty payload part', 'Bearer a..c'],
    ['an empty header', ''],
  ])('returns null for %s', (_label, header) => {
    expect(extractBearerToken(request(header))).toBeNull();
  });

  it('returns null when the header is repeated (array value)', () => {
    expect(extractBearerToken(request(['Bearer a.b.c']))).toBeNull();
    expect(extractBearerToken(request(['Bearer a.b.c', 'Bearer d.e.f']))).toBeNull();
  });

  it('returns null when there is no Authorization header', () => {
    expect(extractBearerToken(request())).toBeNull();
    expect(extractBearerToken({ headers: {} })).toBeNull();
  });

  it('reads only the Authorization header, never other headers', () => {
    expect(extractBearerToken({ headers: { 'x-access-token': 'a.b.c', cookie: 'token=a.b.c' } })).toBeNull();
  });

  it('returns null for an over-long header, and accepts a long but allowed one', () => {
    const long = (n: number): string => `Bearer a.b.${'s'.repeat(n - 'Bearer a.b.'.length)}`;
    expect(long(4200)).toHaveLength(4200);
    expect(extractBearerToken(request(long(4200)))).toBe(long(4200).slice('Bearer '.length));
    expect(extractBearerToken(request(long(4201)))).toBeNull();
    expect(extractBearerToken(request(long(100_000)))).toBeNull();
  });
});

describe('extractBearerToken with repeated Authorization lines', () => {
  it('refuses a request that carried two Authorization headers (Express rawHeaders, Fastify raw)', () => {
    const headers = { authorization: 'Bearer a.b.c' };
    const twice = ['Authorization', 'Bearer a.b.c', 'authorization', 'Bearer x.y.z'];
    expect(extractBearerToken({ headers, rawHeaders: twice })).toBeNull();
    expect(extractBearerToken({ headers, raw: { rawHeaders: twice } })).toBeNull();
    expect(extractBearerToken({ headers, rawHeaders: ['Authorization', 'Bearer a.b.c', 'Host', 'x'] })).toBe('a.b.c');
  });

  it('matches the header name in any case, and only that name', () => {
    const headers = { authorization: 'Bearer a.b.c' };
    expect(extractBearerToken({ headers, rawHeaders: ['AUTHORIZATION', 'Bearer a.b.c', 'aUtHoRiZaTiOn', 'Bearer x.y.z'] })).toBeNull();
    // Other 13-character names, and near misses, are not Authorization lines.
    const others = [
      'Authorization',
      'Bearer a.b.c',
      'Cache-Control',
      'no-cache',
      'Authorizatiom',
      'x',
      'authorization:',
      'x',
      'Authorisation',
      'x',
    ];
    expect(extractBearerToken({ headers, rawHeaders: others })).toBe('a.b.c');
  });
});

describe('bearerCredentials and isCompactJws', () => {
  it('split extractBearerToken in two: the header rules, then the token shape', () => {
    const cases = [
      'Bearer a.b.c',
      'bearer a.b.',
      'Bearer  a.b.c',
      'Bearer a.b.c ',
      'Bearer a+b.c/d.e',
      'Bearer a.b.c.d',
      'Bearer',
      'Bearer ',
      'Basic x',
      'Bearerx a.b.c',
      ' Bearer a.b.c',
      'Bearer\ta.b.c',
    ];
    for (const header of cases) {
      const credentials = bearerCredentials(request(header));
      expect(credentials !== null && isCompactJws(credentials) ? credentials : null).toBe(extractBearerToken(request(header)));
    }
    expect(bearerCredentials(request('Bearer  a.b.c'))).toBe(' a.b.c');
    expect(bearerCredentials(request('Bearer'))).toBeNull();
    expect(bearerCredentials(request('Bearerx a.b.c'))).toBeNull();
    expect(bearerCredentials(request(['Bearer a.b.c']))).toBeNull();
    expect(
      bearerCredentials({ headers: { authorization: 'Bearer a.b.c' }, rawHeaders: ['Authorization', 'x', 'AUTHORIZATION', 'y'] }),
    ).toBeNull();
  });
});
