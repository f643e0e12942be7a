import { describe, expect, it } from '@jest/globals';
import { DerivedKeys } from '../tokens/derived-keys.js';
import { resolveKeySet } from '../tokens/signing-keys.js';
import {
  clearedCookies,
  COOKIE_NAMES,
  passesCsrfCheck,
  passesHandshakeOriginCheck,
  readCookies,
  SECURE_COOKIE_NAMES,
  sessionCookies,
  type CookieSettings,
} from './cookie-transport.js';

const handshake = (headers: Record<string, string | string[] | undefined>): { headers: typeof headers } => ({ headers });

describe('passesHandshakeOriginCheck', () => {
  it.each([
    ['an Origin naming the Host', { host: 'app.example', origin: 'https://app.example' }],
    ['an Origin naming the Host and port', { host: '127.0.0.1:3000', origin: 'http://127.0.0.1:3000' }],
    ['a default port written out in Host', { host: 'app.example:443', origin: 'https://app.example' }],
    ['a Host in other letter case', { host: 'App.Example', origin: 'https://app.example' }],
    ['Sec-Fetch-Site: same-origin', { host: 'app.example', origin: 'https://app.example', 'sec-fetch-site': 'same-origin' }],
    ['no Origin (a same-origin polling request, or not a browser)', { host: 'app.example' }],
  ])('lets through %s', (_label, headers) => {
    expect(passesHandshakeOriginCheck(handshake(headers))).toBe(true);
  });

  it.each([
    ['another host', { host: 'app.example', origin: 'https://evil.example' }],
    ['a sibling subdomain (same site, other origin)', { host: 'app.example', origin: 'https://evil.app.example' }],
    ['another port', { host: 'app.example:3000', origin: 'https://app.example:3001' }],
    ["the other scheme's default port", { host: 'app.example', origin: 'http://app.example:443' }],
    ['an opaque origin', { host: 'app.example', origin: 'null' }],
    ['a non-HTTP origin', { host: 'app.example', origin: 'file://app.example' }],
    ['an unparsable Origin', { host: 'app.example', origin: 'https://' }],
    ['two Origin values', { host: 'app.example', origin: ['https://app.example', 'https://app.example'] }],
    ['no Host', { origin: 'https://app.example' }],
    ['Sec-Fetch-Site: cross-site', { host: 'app.example', 'sec-fetch-site': 'cross-site' }],
    ['Sec-Fetch-Site: same-site', { host: 'app.example', 'sec-fetch-site': 'same-site' }],
    [
      'Sec-Fetch-Site: cross-site with a matching Origin',
      { host: 'app.example', origin: 'https://app.example', 'sec-fetch-site': 'cross-site' },
    ],
  ])('refuses %s', (_label, headers) => {
    expect(passesHandshakeOriginCheck(handshake(headers))).toBe(false);
  });
});

describe('passesCsrfCheck', () => {
  const keys = new DerivedKeys(resolveKeySet('cookie-spec-secret-of-at-least-32-bytes', undefined), 'csrf');
  const binding = { keys, sessionId: 'session-1' };
  const token = keys.mac('session-1');
  const cookie = `nw_csrf=${token}`;
  const check = (headers: Record<string, string>, method = 'POST'): boolean => passesCsrfCheck({ method, headers }, 'nw_csrf', binding);

  it('lets safe methods through and needs the matching header on the others', () => {
    expect(check({}, 'GET')).toBe(true);
    expect(check({ cookie })).toBe(false);
    expect(check({ cookie, 'x-csrf-token': `${token.slice(0, -1)}x` })).toBe(false);
    expect(check({ cookie, 'x-csrf-token': token })).toBe(true);
    expect(check({ cookie, 'x-csrf-token': token, 'sec-fetch-site': 'cross-site' })).toBe(false);
  });

  it("refuses a matching pair that is not the MAC of the request's session (planted by a sibling subdomain)", () => {
    expect(check({ cookie: 'nw_csrf=abc123', 'x-csrf-token': 'abc123' })).toBe(false);
    const other = keys.mac('session-2');
    expect(check({ cookie: `nw_csrf=${other}`, 'x-csrf-token': other })).toBe(false);
  });

  it('refuses, without throwing, a header of the same length in characters but not in bytes', () => {
    const header = `${token.slice(0, -1)}é`;
    expect(header.length).toBe(token.length);
    expect(() => check({ cookie, 'x-csrf-token': header })).not.toThrow();
    expect(check({ cookie, 'x-csrf-token': header })).toBe(false);
  });

  it('refuses, without throwing, a cookie of the same length in characters but not in bytes', () => {
    // The cookie parser percent-decodes: "%C3%A9" is one character, two bytes.
    const header = `${token.slice(0, -1)}e`;
    const planted = `nw_csrf=${token.slice(0, -1)}%C3%A9`;
    expect(() => check({ cookie: planted, 'x-csrf-token': header })).not.toThrow();
    expect(check({ cookie: planted, 'x-csrf-token': header })).toBe(false);
  });
});

describe('sessionCookies and clearedCookies', () => {
  const values = { accessToken: 'a.b.c', refreshToken: 'r', csrfToken: 'c', accessMaxAgeSeconds: 60, sessionMaxAgeSeconds: 600 };
  const paths = { refresh: '/v1/api/auth/refresh', login: '/v1/api/auth/login' };
  const settings = (secure: boolean): CookieSettings => ({
    sameSite: 'strict',
    mode: 'always',
    secure,
    names: secure ? SECURE_COOKIE_NAMES : COOKIE_NAMES,
  });
  const byName = (cookies: string[]): Map<string, string> =>
    new Map(cookies.map((cookie) => [cookie.slice(0, cookie.indexOf('=')), cookie]));

  it.each([
    ['secure', true, ['__Host-nw_access', '__Secure-nw_refresh', '__Host-nw_csrf', '__Secure-nw_device']],
    ['plain-HTTP', false, ['nw_access', 'nw_refresh', 'nw_csrf', 'nw_device']],
  ])('sets the %s names and paths, and clears the same cookies', (_label, secure, [access, refresh, csrf, device]) => {
    const set = byName(sessionCookies(settings(secure), { ...values, device: { token: 'd', maxAgeSeconds: 900 } }, paths));
    expect([...set.keys()]).toEqual([access, refresh, csrf, device]);
    expect(set.get(refresh!)).toContain('Path=/v1/api/auth/refresh;');
    expect(set.get(device!)).toContain('Path=/v1/api/auth/login;');
    for (const cookie of set.values()) expect(cookie.includes('; Secure')).toBe(secure);
    const cleared = byName(clearedCookies(settings(secure), paths));
    expect([...cleared.keys()]).toEqual([access, refresh, csrf]);
    expect(cleared.get(refresh!)).toContain('Path=/v1/api/auth/refresh;');
  });

  it('gives every __Host- cookie what the prefix requires: Secure, Path=/ and no Domain', () => {
    const cookies = [...sessionCookies(settings(true), values, paths), ...clearedCookies(settings(true), paths)];
    const host = cookies.filter((cookie) => cookie.startsWith('__Host-'));
    expect(host).toHaveLength(4);
    for (const cookie of host) {
      expect(cookie).toContain('; Path=/;');
      expect(cookie).toContain('; Secure');
      expect(cookie).not.toMatch(/; Domain=/i);
    }
    for (const cookie of cookies.filter((c) => c.startsWith('__Secure-'))) expect(cookie).toContain('; Secure');
  });
});

describe('readCookies', () => {
  it('gives every value of one name in the order sent (one may be planted for the parent domain)', () => {
    const request = { headers: { cookie: '__Secure-nw_refresh=planted; nw_refresh=plain; __Secure-nw_refresh=real' } };
    expect(readCookies(request, '__Secure-nw_refresh')).toEqual(['planted', 'real']);
    expect(readCookies(request, 'nw_csrf')).toEqual([]);
  });
});
