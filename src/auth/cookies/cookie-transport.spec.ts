import { describe, expect, it } from '@jest/globals';
import { DerivedKeys } from '../tokens/derived-keys.js';
import { resolveKeySet } from '../tokens/signing-keys.js';
import { passesCsrfCheck, passesHandshakeOriginCheck } from './cookie-transport.js';

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
    ['the other scheme\'s default port', { host: 'app.example', origin: 'http://app.example:443' }],
    ['an opaque origin', { host: 'app.example', origin: 'null' }],
    ['a non-HTTP origin', { host: 'app.example', origin: 'file://app.example' }],
    ['an unparsable Origin', { host: 'app.example', origin: 'https://' }],
    ['two Origin values', { host: 'app.example', origin: ['https://app.example', 'https://app.example'] }],
    ['no Host', { origin: 'https://app.example' }],
    ['Sec-Fetch-Site: cross-site', { host: 'app.example', 'sec-fetch-site': 'cross-site' }],
    ['Sec-Fetch-Site: same-site', { host: 'app.example', 'sec-fetch-site': 'same-site' }],
    ['Sec-Fetch-Site: cross-site with a matching Origin', { host: 'app.example', origin: 'https://app.example', 'sec-fetch-site': 'cross-site' }],
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
});
