import { generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { afterAll, afterEach, beforeAll, describe, expect, it, jest } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import jsonwebtoken from 'jsonwebtoken';
import request from 'supertest';
import { CookiesAppModule, PlainHttpCookiesAppModule } from '../fixtures/cookies/app.module.js';
import { ADAPTERS, createApp, TEST_SECRET } from '../utils/app.js';
import { claimsOf, registerAndLoginWithCookies, uniqueUsername } from '../utils/auth-client.js';
import {
  b64,
  ERROR_KEYS,
  expectAuthError,
  hmacJws,
  nowSeconds,
  PASSWORD,
  rawRequest,
  startSecurityApp,
  type RawResponse,
} from './security-helpers.js';

// At least one case per attack class an auth API faces, each asserting the exact status and
// the exact nest-warden code, and after every case that the app still answers GET /health.
// Every test registers its own users. Tokens are crafted from the header the server puts on
// its own tokens, so a refusal is about the one thing a row changes (see the controls).

jest.setTimeout(30_000);

const OTHER_SECRET = 'an-attacker-secret-that-is-also-32-bytes-long';
const INVALID = 'AUTH_TOKEN_INVALID';

/** A registered user with one live session. */
interface Live {
  username: string;
  password: string;
  userId: string;
  accessToken: string;
  refreshToken: string;
  /** The access token's `sub` and `sid`. */
  sub: string;
  sid: string;
  /** The JOSE header the server put on the access token: crafted tokens start from it. */
  header: Record<string, unknown>;
}

type TokenMaker = (user: Live) => string | Promise<string>;

describe('security: attacks on nest-warden over HTTP', () => {
  let app: INestApplication;
  let port: number;
  let api: ReturnType<typeof request>;
  let rsaPrivateKey: KeyObject;

  // A server that records every request it gets: a token that makes nest-warden fetch a key
  // (jku, x5u, a URL in kid) would show up here.
  const fetched: string[] = [];
  let trap: http.Server;
  let trapUrl = '';

  beforeAll(async () => {
    const running = await startSecurityApp();
    app = running.app;
    port = running.port;
    api = request(running.baseUrl);
    trap = http.createServer((incoming, outgoing) => {
      fetched.push(`${incoming.method} ${incoming.url}`);
      outgoing.setHeader('Content-Type', 'application/json');
      // A JWKS holding the attacker's HMAC key, in case anything follows the URL.
      outgoing.end(JSON.stringify({ keys: [{ kty: 'oct', kid: 'attacker', k: b64(OTHER_SECRET) }] }));
    });
    await new Promise<void>((resolve) => trap.listen(0, '127.0.0.1', resolve));
    trapUrl = `http://127.0.0.1:${(trap.address() as AddressInfo).port}`;
    rsaPrivateKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
  });

  afterAll(async () => {
    await app.close();
    await new Promise<void>((resolve) => trap.close(() => resolve()));
  });

  // Whatever the attack, the app keeps answering, and it never fetched anything.
  afterEach(async () => {
    expect(fetched).toEqual([]);
    const health = await api.get('/health');
    expect({ status: health.status, body: health.body }).toEqual({ status: 200, body: { status: 'ok' } });
  });

  /** Registers a fresh user and logs in once. */
  const live = async (username = uniqueUsername('sec'), password = PASSWORD): Promise<Live> => {
    const registered = await api.post('/auth/register').send({ username, password });
    expect(registered.status).toBe(201);
    const loggedIn = await api.post('/auth/login').send({ username, password });
    expect(loggedIn.status).toBe(200);
    const { accessToken, refreshToken } = loggedIn.body as { accessToken: string; refreshToken: string };
    const claims = claimsOf(accessToken);
    return {
      username,
      password,
      userId: (registered.body as { userId: string }).userId,
      accessToken,
      refreshToken,
      sub: claims.sub as string,
      sid: claims.sid as string,
      header: JSON.parse(Buffer.from(accessToken.split('.')[0]!, 'base64url').toString('utf8')) as Record<string, unknown>,
    };
  };

  /** The server's own header for `user`'s tokens, with changes. */
  const hdr = (user: Live, changes: Record<string, unknown> = {}): Record<string, unknown> => ({ ...user.header, ...changes });

  /** Claims a valid token for `user` would carry, with overrides; `undefined` removes a claim. */
  const claimsFor = (user: Live, overrides: Record<string, unknown> = {}): Record<string, unknown> => {
    const now = nowSeconds();
    const all: Record<string, unknown> = {
      sub: user.sub,
      sid: user.sid,
      jti: randomBytes(16).toString('base64url'),
      iat: now,
      exp: now + 600,
      iss: 'nest-warden',
      aud: 'nest-warden',
      ...overrides,
    };
    return Object.fromEntries(Object.entries(all).filter(([, value]) => value !== undefined));
  };

  const secretWith = (authorization: string): Promise<request.Response> =>
    api
      .get('/secret')
      .set('Authorization', authorization)
      .then((response) => response);

  const expectCaller = (response: { status: number; body: unknown }, user: Live): void => {
    expect({ status: response.status, body: response.body }).toEqual({
      status: 200,
      body: { userId: user.userId, username: user.username, sessionId: user.sid },
    });
  };

  const part =
    (index: number) =>
    (token: string): string =>
      token.split('.')[index]!;
  const [headerPart, payloadPart, signaturePart] = [part(0), part(1), part(2)];

  it('control: a hand-made HS256 token with the right secret and claims is accepted', async () => {
    const user = await live();
    expect(user.header.alg).toBe('HS256');
    expectCaller(await secretWith(`Bearer ${hmacJws(hdr(user), claimsFor(user))}`), user);
    expectCaller(await secretWith(`Bearer ${user.accessToken}`), user);
    // Near the 4096-character cap, so the refusal of a longer one below is about the length.
    const long = hmacJws(hdr(user), claimsFor(user, { pad: 'p'.repeat(2800) }));
    expect(long.length).toBeGreaterThan(3900);
    expect(long.length).toBeLessThanOrEqual(4096);
    expectCaller(await secretWith(`Bearer ${long}`), user);
  });

  describe('forged, malformed and tampered access tokens', () => {
    const alg = (user: Live, name: string): Record<string, unknown> => hdr(user, { alg: name });
    const noneCasings = ['none', 'None', 'NONE', 'nOnE'];

    const refused: Array<[string, TokenMaker, number, string]> = [
      // Malformed
      ['an empty token', () => '', 401, INVALID],
      ['one segment', (u) => headerPart(hmacJws(hdr(u), claimsFor(u))), 401, INVALID],
      ['two segments', (u) => hmacJws(hdr(u), claimsFor(u)).split('.').slice(0, 2).join('.'), 401, INVALID],
      ['four segments', (u) => `${hmacJws(hdr(u), claimsFor(u))}.${signaturePart(u.accessToken)}`, 401, INVALID],
      [
        'non-base64url characters (+ / =) in the payload',
        (u) => {
          const token = hmacJws(hdr(u), claimsFor(u));
          return `${headerPart(token)}.${Buffer.from(JSON.stringify(claimsFor(u))).toString('base64')}.${signaturePart(token)}`;
        },
        401,
        INVALID,
      ],
      ['non-ASCII characters in the token', () => 'héllo.wörld.sïg', 401, INVALID],
      ['a header that is not JSON (correctly signed)', (u) => hmacJws('{"alg":"HS256"', claimsFor(u)), 401, INVALID],
      ['a header that is a JSON array (correctly signed)', (u) => hmacJws('["HS256"]', claimsFor(u)), 401, INVALID],
      ['a payload that is not JSON (correctly signed)', (u) => hmacJws(hdr(u), '{"sub":"x",'), 401, INVALID],
      ['a payload that is a JSON array (correctly signed)', (u) => hmacJws(hdr(u), [claimsFor(u)]), 401, INVALID],
      ['a payload that is a JSON number (correctly signed)', (u) => hmacJws(hdr(u), '42'), 401, INVALID],
      ['a payload that is a JSON string (correctly signed)', (u) => hmacJws(hdr(u), JSON.stringify('hello')), 401, INVALID],
      ['a payload that is JSON null (correctly signed)', (u) => hmacJws(hdr(u), 'null'), 401, INVALID],
      [
        'a 5000-character token (correctly signed)',
        (u) => {
          const token = hmacJws(hdr(u), claimsFor(u, { pad: 'p'.repeat(3700) }));
          expect(token.length).toBeGreaterThanOrEqual(5000);
          return token;
        },
        401,
        INVALID,
      ],
      [
        'a correctly signed token just over 4096 characters',
        (u) => {
          let pad = 2000;
          let token = hmacJws(hdr(u), claimsFor(u, { pad: 'p'.repeat(pad) }));
          while (token.length <= 4096) token = hmacJws(hdr(u), claimsFor(u, { pad: 'p'.repeat(++pad) }));
          expect(token.length).toBeLessThanOrEqual(4100); // under the 4200-character header cap
          return token;
        },
        401,
        INVALID,
      ],
      // alg "none" in several casings, with an empty signature, without a signature part, and with one
      ...noneCasings.flatMap((casing): Array<[string, TokenMaker, number, string]> => [
        [`alg "${casing}" with an empty signature`, (u) => `${b64(alg(u, casing))}.${b64(claimsFor(u))}.`, 401, INVALID],
        [`alg "${casing}" with no signature part`, (u) => `${b64(alg(u, casing))}.${b64(claimsFor(u))}`, 401, INVALID],
        [`alg "${casing}" with an HMAC signature of the right secret`, (u) => hmacJws(alg(u, casing), claimsFor(u)), 401, INVALID],
      ]),
      // Algorithm confusion
      ['HS256 signed with another secret', (u) => hmacJws(hdr(u), claimsFor(u), OTHER_SECRET), 401, INVALID],
      ['HS256 signed with an empty key', (u) => hmacJws(hdr(u), claimsFor(u), ''), 401, INVALID],
      ['HS256 signed with the secret cut to 31 bytes', (u) => hmacJws(hdr(u), claimsFor(u), TEST_SECRET.slice(0, 31)), 401, INVALID],
      ['HS384 with the right secret', (u) => hmacJws(alg(u, 'HS384'), claimsFor(u), TEST_SECRET, 'sha384'), 401, INVALID],
      ['HS512 with the right secret', (u) => hmacJws(alg(u, 'HS512'), claimsFor(u), TEST_SECRET, 'sha512'), 401, INVALID],
      ['alg "hs256" (lower case) with the right secret', (u) => hmacJws(alg(u, 'hs256'), claimsFor(u)), 401, INVALID],
      ['an RS256 header with an HMAC-SHA256 signature of the right secret', (u) => hmacJws(alg(u, 'RS256'), claimsFor(u)), 401, INVALID],
      [
        'a genuine RS256 token signed with an attacker RSA key',
        (u) =>
          jsonwebtoken.sign(claimsFor(u), rsaPrivateKey, {
            algorithm: 'RS256',
            header: alg(u, 'RS256') as unknown as jsonwebtoken.JwtHeader,
          }),
        401,
        INVALID,
      ],
      ['an ES256 header with an HMAC-SHA256 signature of the right secret', (u) => hmacJws(alg(u, 'ES256'), claimsFor(u)), 401, INVALID],
      // Tampering with a real token, keeping its signature
      [
        'a changed sub (another user), original signature',
        async (u) => {
          const other = await live();
          return `${headerPart(u.accessToken)}.${b64({ ...claimsOf(u.accessToken), sub: other.userId })}.${signaturePart(u.accessToken)}`;
        },
        401,
        INVALID,
      ],
      [
        "a changed sid (another user's live session), original signature",
        async (u) => {
          const other = await live();
          return `${headerPart(u.accessToken)}.${b64({ ...claimsOf(u.accessToken), sid: other.sid })}.${signaturePart(u.accessToken)}`;
        },
        401,
        INVALID,
      ],
      [
        'a raised exp, original signature',
        (u) => {
          const claims = claimsOf(u.accessToken);
          return `${headerPart(u.accessToken)}.${b64({ ...claims, exp: (claims.exp as number) + 86_400 * 365 })}.${signaturePart(u.accessToken)}`;
        },
        401,
        INVALID,
      ],
      [
        'the same claims re-serialised with other whitespace, original signature',
        (u) => `${headerPart(u.accessToken)}.${b64(JSON.stringify(claimsOf(u.accessToken), null, 1))}.${signaturePart(u.accessToken)}`,
        401,
        INVALID,
      ],
      [
        'a header swapped for another (kid added), original signature',
        (u) => `${b64(hdr(u, { kid: 'x' }))}.${payloadPart(u.accessToken)}.${signaturePart(u.accessToken)}`,
        401,
        INVALID,
      ],
      [
        "a signature transplanted from another user's token",
        async (u) => {
          const other = await live();
          return `${headerPart(u.accessToken)}.${payloadPart(u.accessToken)}.${signaturePart(other.accessToken)}`;
        },
        401,
        INVALID,
      ],
      ['a stripped signature', (u) => `${headerPart(u.accessToken)}.${payloadPart(u.accessToken)}.`, 401, INVALID],
      ['a signature cut by one character', (u) => u.accessToken.slice(0, -1), 401, INVALID],
      // Claims, correctly signed with the right secret
      [
        'an expired token',
        (u) => hmacJws(hdr(u), claimsFor(u, { iat: nowSeconds() - 120, exp: nowSeconds() - 60 })),
        401,
        'AUTH_TOKEN_EXPIRED',
      ],
      ['exp equal to now', (u) => hmacJws(hdr(u), claimsFor(u, { iat: nowSeconds() - 60, exp: nowSeconds() })), 401, 'AUTH_TOKEN_EXPIRED'],
      ['a future iat', (u) => hmacJws(hdr(u), claimsFor(u, { iat: nowSeconds() + 3600, exp: nowSeconds() + 7200 })), 401, INVALID],
      ['a future nbf', (u) => hmacJws(hdr(u), claimsFor(u, { nbf: nowSeconds() + 3600 })), 401, INVALID],
      ['a missing exp', (u) => hmacJws(hdr(u), claimsFor(u, { exp: undefined })), 401, INVALID],
      ['a missing iat', (u) => hmacJws(hdr(u), claimsFor(u, { iat: undefined })), 401, INVALID],
      ['a missing sub', (u) => hmacJws(hdr(u), claimsFor(u, { sub: undefined })), 401, INVALID],
      ['a missing sid', (u) => hmacJws(hdr(u), claimsFor(u, { sid: undefined })), 401, INVALID],
      ['a missing jti', (u) => hmacJws(hdr(u), claimsFor(u, { jti: undefined })), 401, INVALID],
      ['an empty jti', (u) => hmacJws(hdr(u), claimsFor(u, { jti: '' })), 401, INVALID],
      ['sub as a number', (u) => hmacJws(hdr(u), claimsFor(u, { sub: 12345 })), 401, INVALID],
      ['a sid over 256 characters', (u) => hmacJws(hdr(u), claimsFor(u, { sid: 's'.repeat(257) })), 401, INVALID],
      ['exp as a string', (u) => hmacJws(hdr(u), claimsFor(u, { exp: String(nowSeconds() + 600) })), 401, INVALID],
      ['iat as a string', (u) => hmacJws(hdr(u), claimsFor(u, { iat: String(nowSeconds()) })), 401, INVALID],
      ['a wrong iss', (u) => hmacJws(hdr(u), claimsFor(u, { iss: 'someone-else' })), 401, INVALID],
      ['a missing iss', (u) => hmacJws(hdr(u), claimsFor(u, { iss: undefined })), 401, INVALID],
      ['a wrong aud', (u) => hmacJws(hdr(u), claimsFor(u, { aud: 'another-api' })), 401, INVALID],
      ['an aud array without ours', (u) => hmacJws(hdr(u), claimsFor(u, { aud: ['another-api', 'nest-warden-admin'] })), 401, INVALID],
      ['a missing aud', (u) => hmacJws(hdr(u), claimsFor(u, { aud: undefined })), 401, INVALID],
      // Right secret, wrong session binding: the session store decides
      [
        "sub of this user with another user's live sid",
        async (u) => {
          const other = await live();
          return hmacJws(hdr(u), claimsFor(u, { sid: other.sid }));
        },
        401,
        'AUTH_SESSION_REVOKED',
      ],
      [
        'the sid of a session that never existed',
        (u) => hmacJws(hdr(u), claimsFor(u, { sid: randomBytes(16).toString('base64url') })),
        401,
        'AUTH_SESSION_REVOKED',
      ],
      [
        'the sid of a session ended by logout',
        async (u) => {
          await api.post('/auth/logout').set('Authorization', `Bearer ${u.accessToken}`).expect(204);
          return hmacJws(hdr(u), claimsFor(u));
        },
        401,
        'AUTH_SESSION_REVOKED',
      ],
      // Critical header parameters must be refused
      ['a crit header naming a claim', (u) => hmacJws(hdr(u, { crit: ['exp'] }), claimsFor(u)), 401, INVALID],
      ['an empty crit header', (u) => hmacJws(hdr(u, { crit: [] }), claimsFor(u)), 401, INVALID],
      ['crit with b64:false', (u) => hmacJws(hdr(u, { b64: false, crit: ['b64'] }), claimsFor(u)), 401, INVALID],
      // Token-type confusion: a JWT of another kind signed with the same secret (RFC 9068 typ)
      ['typ "JWT" instead of the access-token type', (u) => hmacJws(hdr(u, { typ: 'JWT' }), claimsFor(u)), 401, INVALID],
      ['no typ header', (u) => hmacJws(hdr(u, { typ: undefined }), claimsFor(u)), 401, INVALID],
    ];

    // Reordered so the title can show status and code: [label, status, code, make].
    const rows = refused.map(([label, make, status, code]): [string, number, string, TokenMaker] => [label, status, code, make]);

    it.each(rows)('refuses %s: %i %s', async (_label, status, code, make) => {
      const user = await live();
      const token = await make(user);
      const response = await secretWith(`Bearer ${token}`);
      expectAuthError(response, status, code);
      expect(response.headers['www-authenticate']).toMatch(/^Bearer realm="nest-warden", error="invalid_token"/);
    });
  });

  // token.service.ts picks the key only from the configured set: by `kid`, or the single
  // secret for tokens without one (single-secret mode has no kids), and refuses jku, x5u, jwk
  // and x5c outright (RFC 8725 section 3.10). So none of these headers can bring in a key,
  // nothing is ever fetched, and an unknown extra header changes nothing.
  describe('key-selection headers (kid, jku, x5u, jwk, x5c) never bring in a key', () => {
    const injected: Array<[string, () => Record<string, unknown>]> = [
      ['kid pointing to a file path', () => ({ kid: '../../../../../../dev/null' })],
      ['kid pointing to a URL', () => ({ kid: `${trapUrl}/kid-key` })],
      ['kid carrying an SQL fragment', () => ({ kid: "x' UNION SELECT 'attacker-key' -- " })],
      ['jku pointing to an attacker JWKS', () => ({ jku: `${trapUrl}/jwks.json` })],
      ['x5u pointing to an attacker certificate URL', () => ({ x5u: `${trapUrl}/cert.pem` })],
      ['an embedded jwk holding the attacker key', () => ({ jwk: { kty: 'oct', k: b64(OTHER_SECRET) } })],
      ['an embedded x5c chain', () => ({ x5c: ['MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA'] })],
    ];

    it('control: an unknown extra header on a token signed with the right secret changes nothing: 200', async () => {
      const user = await live();
      expectCaller(await secretWith(`Bearer ${hmacJws(hdr(user, { 'x-unknown': 'value' }), claimsFor(user))}`), user);
    });

    it.each(injected)('refuses a token with %s even when signed with the right secret: 401 AUTH_TOKEN_INVALID', async (_label, extra) => {
      const user = await live();
      expectAuthError(await secretWith(`Bearer ${hmacJws(hdr(user, extra()), claimsFor(user))}`), 401, INVALID);
      expect(fetched).toEqual([]);
    });

    it.each(injected)('refuses a token with %s signed with the key it designates: 401 AUTH_TOKEN_INVALID', async (_label, extra) => {
      const user = await live();
      const response = await secretWith(`Bearer ${hmacJws(hdr(user, extra()), claimsFor(user), OTHER_SECRET)}`);
      expectAuthError(response, 401, INVALID);
      // The /dev/null kid designates an empty key: that one is refused too.
      const emptyKey = await secretWith(`Bearer ${hmacJws(hdr(user, extra()), claimsFor(user), '')}`);
      expectAuthError(emptyKey, 401, INVALID);
      expect(fetched).toEqual([]);
    });

    it('publishes no key material for the shared secret at /.well-known/jwks.json', async () => {
      const response = await api.get('/.well-known/jwks.json');
      expect({ status: response.status, body: response.body }).toEqual({ status: 200, body: { keys: [] } });
      expect(response.text).not.toContain(b64(TEST_SECRET));
    });
  });

  describe('the Authorization header: exactly "Bearer <jws>"', () => {
    const formats: Array<[string, (token: string) => string, number, string | null]> = [
      ['a lower-case scheme', (t) => `bearer ${t}`, 200, null],
      ['an upper-case scheme', (t) => `BEARER ${t}`, 200, null],
      // Leading and trailing spaces are optional whitespace around the field value (RFC 9110
      // section 5.5): the HTTP parser strips them before any code sees the header.
      ['a trailing space (stripped by the HTTP parser)', (t) => `Bearer ${t} `, 200, null],
      ['a tab instead of the space', (t) => `Bearer\t${t}`, 401, INVALID],
      ['two spaces', (t) => `Bearer  ${t}`, 401, INVALID],
      ['a trailing no-break space', (t) => `Bearer ${t}\u00a0`, 401, INVALID],
      ['a trailing word', (t) => `Bearer ${t} extra`, 401, INVALID],
      ['no scheme', (t) => t, 401, INVALID],
      ['the Basic scheme', () => `Basic ${Buffer.from(`admin:${PASSWORD}`).toString('base64')}`, 401, INVALID],
      ['the Token scheme', (t) => `Token ${t}`, 401, INVALID],
      ['two comma-separated credentials', (t) => `Bearer ${t}, Bearer ${t}`, 401, INVALID],
      ['the scheme alone', () => 'Bearer', 401, INVALID],
      ['an empty header', () => '', 401, INVALID],
      ['an 8 kB header value', (t) => `Bearer ${t}${'A'.repeat(8000)}`, 401, INVALID],
    ];

    const formatRows = formats.map(([label, format, status, code]): [string, number, string, (token: string) => string] => [
      label,
      status,
      code ?? 'the caller',
      format,
    ]);

    it.each(formatRows)('%s: %i %s', async (_label, status, code, format) => {
      const user = await live();
      const response = await secretWith(format(user.accessToken));
      if (status === 200) expectCaller(response, user);
      else expectAuthError(response, status, code);
    });

    const elsewhere: Array<[string, (req: request.Test, token: string) => request.Test, string]> = [
      ['the access_token query parameter', (req, t) => req.query({ access_token: t }), 'GET'],
      ['an authorization query parameter', (req, t) => req.query({ authorization: `Bearer ${t}` }), 'GET'],
      ['a JSON body field', (req, t) => req.send({ access_token: t }), 'POST'],
      ['a cookie named Authorization', (req, t) => req.set('Cookie', `Authorization=Bearer ${t}`), 'GET'],
      ['a cookie named access_token', (req, t) => req.set('Cookie', `access_token=${t}`), 'GET'],
      ['an X-Access-Token header', (req, t) => req.set('X-Access-Token', t), 'GET'],
      ['an X-Authorization header', (req, t) => req.set('X-Authorization', `Bearer ${t}`), 'GET'],
      ['a Proxy-Authorization header', (req, t) => req.set('Proxy-Authorization', `Bearer ${t}`), 'GET'],
      ['an X-Forwarded-Authorization header', (req, t) => req.set('X-Forwarded-Authorization', `Bearer ${t}`), 'GET'],
    ];

    it.each(elsewhere)('ignores a token in %s: 401 AUTH_TOKEN_MISSING', async (_label, place, method) => {
      const user = await live();
      const base = method === 'GET' ? api.get('/secret') : api.post('/auth/logout');
      expectAuthError(await place(base, user.accessToken), 401, 'AUTH_TOKEN_MISSING');
      expectCaller(await secretWith(`Bearer ${user.accessToken}`), user); // the session was not touched
    });

    it('refuses two Authorization headers, garbage first: 401 AUTH_TOKEN_INVALID', async () => {
      const user = await live();
      const response = await rawRequest(port, 'GET', '/secret', [
        ['Authorization', 'Bearer a.b.c'],
        ['Authorization', `Bearer ${user.accessToken}`],
      ]);
      expectAuthError(response, 401, INVALID);
    });

    // An ambiguous request: a proxy that reads the last Authorization line and the app that
    // reads the first disagree on the caller. The extractor promises "one header".
    it('refuses two Authorization headers, valid token first: 401 AUTH_TOKEN_INVALID', async () => {
      const user = await live();
      const response = await rawRequest(port, 'GET', '/secret', [
        ['Authorization', `Bearer ${user.accessToken}`],
        ['Authorization', 'Bearer a.b.c'],
      ]);
      expectAuthError(response, 401, INVALID);
    });

    const routeVariants: Array<[string, string, string]> = [
      ['an upper-case path', 'GET', '/SECRET'],
      ['a trailing slash', 'GET', '/secret/'],
      ['a mixed-case controller route', 'GET', '/Auth/Me'],
      ['a mixed-case session list', 'GET', '/AUTH/sessions'],
    ];

    it.each(routeVariants)('guards %s too: 401 AUTH_TOKEN_MISSING', async (_label, method, path) => {
      expectAuthError(await rawRequest(port, method, path), 401, 'AUTH_TOKEN_MISSING');
    });

    it('guards HEAD /secret: 401 with the Bearer challenge and no body', async () => {
      const response = await rawRequest(port, 'HEAD', '/secret');
      expect(response.status).toBe(401);
      expect(response.headers['www-authenticate']).toBe('Bearer realm="nest-warden"');
      expect(response.text).toBe('');
    });
  });

  describe('refresh tokens and session ends', () => {
    const refresh = (refreshToken: unknown): Promise<request.Response> =>
      api
        .post('/auth/refresh')
        .send({ refreshToken })
        .then((response) => response);

    it('refuses an access token at /auth/refresh: 401 AUTH_REFRESH_TOKEN_INVALID, and the session survives', async () => {
      const user = await live();
      expectAuthError(await refresh(user.accessToken), 401, 'AUTH_REFRESH_TOKEN_INVALID');
      expect((await refresh(user.refreshToken)).status).toBe(200);
    });

    it('refuses a refresh token as a Bearer token: 401 AUTH_TOKEN_INVALID', async () => {
      const user = await live();
      expectAuthError(await secretWith(`Bearer ${user.refreshToken}`), 401, INVALID);
      // Even forced into three segments.
      expectAuthError(await secretWith(`Bearer ${user.refreshToken}.x`), 401, INVALID);
    });

    it('treats a replayed refresh token as theft: 401 AUTH_REFRESH_TOKEN_REUSED, then the session is gone', async () => {
      const user = await live();
      const rotated = await refresh(user.refreshToken);
      expect(rotated.status).toBe(200);
      expectAuthError(await refresh(user.refreshToken), 401, 'AUTH_REFRESH_TOKEN_REUSED');
      expectAuthError(await secretWith(`Bearer ${user.accessToken}`), 401, 'AUTH_SESSION_REVOKED');
      expectAuthError(await secretWith(`Bearer ${rotated.body.accessToken as string}`), 401, 'AUTH_SESSION_REVOKED');
      expectAuthError(await refresh(rotated.body.refreshToken), 401, 'AUTH_REFRESH_TOKEN_INVALID');
    });

    it('lets at most one of ten concurrent replays of one refresh token through, and ends the session', async () => {
      const user = await live();
      const responses = await Promise.all(Array.from({ length: 10 }, () => refresh(user.refreshToken)));
      const winners = responses.filter((response) => response.status === 200);
      expect(winners.length).toBeLessThanOrEqual(1);
      for (const response of responses.filter((r) => r.status !== 200)) {
        expect(response.status).toBe(401);
        expect(['AUTH_REFRESH_TOKEN_REUSED', 'AUTH_REFRESH_TOKEN_INVALID']).toContain(response.body.code);
        expect(Object.keys(response.body).sort()).toEqual(ERROR_KEYS);
      }
      expect(responses.some((response) => response.body.code === 'AUTH_REFRESH_TOKEN_REUSED')).toBe(true);
      expectAuthError(await secretWith(`Bearer ${user.accessToken}`), 401, 'AUTH_SESSION_REVOKED');
      for (const winner of winners) expectAuthError(await refresh(winner.body.refreshToken), 401, 'AUTH_REFRESH_TOKEN_INVALID');
    });

    it('refuses everything of a session after logout', async () => {
      const user = await live();
      await api.post('/auth/logout').set('Authorization', `Bearer ${user.accessToken}`).expect(204);
      expectAuthError(await secretWith(`Bearer ${user.accessToken}`), 401, 'AUTH_SESSION_REVOKED');
      expectAuthError(await api.get('/auth/sessions').set('Authorization', `Bearer ${user.accessToken}`), 401, 'AUTH_SESSION_REVOKED');
      expectAuthError(await api.post('/auth/logout').set('Authorization', `Bearer ${user.accessToken}`), 401, 'AUTH_SESSION_REVOKED');
      expectAuthError(await refresh(user.refreshToken), 401, 'AUTH_REFRESH_TOKEN_INVALID');
    });

    it('refuses every session of the user after logout/all, and leaves other users alone', async () => {
      const user = await live();
      const second = await api.post('/auth/login').send({ username: user.username, password: user.password });
      const bystander = await live();
      await api.post('/auth/logout/all').set('Authorization', `Bearer ${user.accessToken}`).expect(204);
      for (const token of [user.accessToken, second.body.accessToken as string]) {
        expectAuthError(await secretWith(`Bearer ${token}`), 401, 'AUTH_SESSION_REVOKED');
      }
      for (const token of [user.refreshToken, second.body.refreshToken as string]) {
        expectAuthError(await refresh(token), 401, 'AUTH_REFRESH_TOKEN_INVALID');
      }
      expectCaller(await secretWith(`Bearer ${bystander.accessToken}`), bystander);
    });

    it("refuses a refresh token aimed at another user's session with a guessed secret, without ending that session", async () => {
      const victim = await live();
      const guessed = `${victim.sid}.${randomBytes(32).toString('base64url')}`;
      expectAuthError(await refresh(guessed), 401, 'AUTH_REFRESH_TOKEN_INVALID');
      expectCaller(await secretWith(`Bearer ${victim.accessToken}`), victim);
      expect((await refresh(victim.refreshToken)).status).toBe(200);
    });

    it('refuses a refresh token with one changed character, without ending the session', async () => {
      const user = await live();
      const last = user.refreshToken.at(-1) === 'A' ? 'B' : 'A';
      expectAuthError(await refresh(`${user.refreshToken.slice(0, -1)}${last}`), 401, 'AUTH_REFRESH_TOKEN_INVALID');
      expect((await refresh(user.refreshToken)).status).toBe(200);
    });

    it('ends the other sessions on a password change: their access and refresh tokens and the old password stop working', async () => {
      const user = await live();
      const attacker = await api.post('/auth/login').send({ username: user.username, password: user.password });
      await api
        .post('/auth/password')
        .set('Authorization', `Bearer ${user.accessToken}`)
        .send({ currentPassword: user.password, newPassword: 'a brand new passphrase' })
        .expect(204);
      expectAuthError(await secretWith(`Bearer ${attacker.body.accessToken as string}`), 401, 'AUTH_SESSION_REVOKED');
      expectAuthError(await refresh(attacker.body.refreshToken), 401, 'AUTH_REFRESH_TOKEN_INVALID');
      expectAuthError(
        await api.post('/auth/login').send({ username: user.username, password: user.password }),
        401,
        'AUTH_INVALID_CREDENTIALS',
      );
      expectCaller(await secretWith(`Bearer ${user.accessToken}`), user);
    });

    it('refuses a password change with a wrong current password: 403 AUTH_INVALID_CREDENTIALS', async () => {
      const user = await live();
      const response = await api
        .post('/auth/password')
        .set('Authorization', `Bearer ${user.accessToken}`)
        .send({ currentPassword: 'not the current password', newPassword: 'a brand new passphrase' });
      expectAuthError(response, 403, 'AUTH_INVALID_CREDENTIALS');
    });
  });

  describe('DELETE /auth/sessions/:id', () => {
    const revoke = (user: Live, rawId: string): Promise<RawResponse> =>
      rawRequest(port, 'DELETE', `/auth/sessions/${rawId}`, [['Authorization', `Bearer ${user.accessToken}`]]);

    const ids: Array<[string, () => string]> = [
      ['an encoded path traversal (..%2F..%2Fetc)', () => '..%2F..%2Fetc'],
      ['a fully encoded traversal to /etc/passwd', () => '%2e%2e%2f%2e%2e%2fetc%2fpasswd'],
      ['__proto__', () => '__proto__'],
      ['constructor', () => 'constructor'],
      ['a wildcard', () => '%2A'],
      ['an id over 64 characters', () => 'A'.repeat(65)],
      ['an encoded NUL byte', () => `${'A'.repeat(22)}%00`],
    ];

    it.each(ids)('answers 404 AUTH_SESSION_NOT_FOUND for %s, and the caller keeps the session', async (_label, id) => {
      const user = await live();
      expectAuthError(await revoke(user, id()), 404, 'AUTH_SESSION_NOT_FOUND');
      expectCaller(await secretWith(`Bearer ${user.accessToken}`), user);
    });

    it("answers 404 AUTH_SESSION_NOT_FOUND for another user's live session, which survives", async () => {
      const attacker = await live();
      const victim = await live();
      expectAuthError(await revoke(attacker, victim.sid), 404, 'AUTH_SESSION_NOT_FOUND');
      expectCaller(await secretWith(`Bearer ${victim.accessToken}`), victim);
    });

    // Express fails to decode the parameter before the route runs; the answer must still be a
    // nest-warden error body (README: error responses are { statusCode, code, message }) and
    // must not echo the raw parameter back.
    it('answers a malformed percent-encoding in :id with a nest-warden 400 error body', async () => {
      const user = await live();
      const response = await revoke(user, '%E0%A4%A');
      expect(response.status).toBe(400);
      expect(Object.keys(response.body as object).sort()).toEqual(ERROR_KEYS);
      expect(response.text).not.toContain('%E0%A4%A');
    });
  });

  describe('request bodies: wrong types and shapes -> 400 AUTH_VALIDATION_FAILED', () => {
    interface Endpoint {
      path: string;
      guarded: boolean;
      body: () => Record<string, unknown>;
      /** Status of the unchanged body: the rows below fail because of the one changed field. */
      control: number;
    }
    const endpoints: Record<string, Endpoint> = {
      register: {
        path: '/auth/register',
        guarded: false,
        body: () => ({ username: uniqueUsername('shape'), password: PASSWORD }),
        control: 201,
      },
      login: { path: '/auth/login', guarded: false, body: () => ({ username: uniqueUsername('shape'), password: PASSWORD }), control: 401 },
      refresh: {
        path: '/auth/refresh',
        guarded: false,
        body: () => ({ refreshToken: `${'A'.repeat(22)}.${'B'.repeat(43)}` }),
        control: 401,
      },
      password: {
        path: '/auth/password',
        guarded: true,
        body: () => ({ currentPassword: PASSWORD, newPassword: 'a brand new passphrase' }),
        control: 204,
      },
    };
    const fields: Array<[string, string]> = [
      ['register', 'username'],
      ['register', 'password'],
      ['login', 'username'],
      ['login', 'password'],
      ['refresh', 'refreshToken'],
      ['password', 'currentPassword'],
      ['password', 'newPassword'],
    ];
    const wrongValues: Array<[string, unknown]> = [
      ['a number', 12345678],
      ['a boolean', true],
      ['null', null],
      ['an array', [PASSWORD]],
      ['an object (operator injection)', { $ne: '' }],
      ['missing', undefined],
    ];
    const rows: Array<[string, string, string, unknown]> = fields.flatMap(([endpoint, field]) =>
      wrongValues.map(([label, value]): [string, string, string, unknown] => [endpoint, field, label, value]),
    );
    const extraFields: Array<[string, Record<string, unknown>]> = [
      ['register', { isAdmin: true }],
      ['login', { role: 'admin' }],
      ['refresh', { sessionId: 'someone-elses-session' }],
      ['password', { userId: 'another-user-id' }],
    ];

    const send = async (endpoint: Endpoint, body: unknown): Promise<request.Response> => {
      const req = api.post(endpoint.path);
      if (endpoint.guarded) req.set('Authorization', `Bearer ${(await live()).accessToken}`);
      return req.send(body as object);
    };

    it.each(Object.keys(endpoints))('control: POST %s with a well-formed body is not a 400', async (name) => {
      const endpoint = endpoints[name]!;
      expect((await send(endpoint, endpoint.body())).status).toBe(endpoint.control);
    });

    it.each(rows)('POST %s with %s %s', async (name, field, _label, value) => {
      const endpoint = endpoints[name]!;
      const body = endpoint.body();
      if (value === undefined) delete body[field];
      else body[field] = value;
      expectAuthError(await send(endpoint, body), 400, 'AUTH_VALIDATION_FAILED');
    });

    it.each(extraFields)('POST %s with an extra field %j', async (name, extra) => {
      const endpoint = endpoints[name]!;
      expectAuthError(await send(endpoint, { ...endpoint.body(), ...extra }), 400, 'AUTH_VALIDATION_FAILED');
    });

    it('takes the last of duplicate keys, the same value that was validated (register)', async () => {
      const good = uniqueUsername('dup');
      const raw = `{"username":"bad name; DROP TABLE","username":"${good}","password":"${PASSWORD}"}`;
      const response = await api.post('/auth/register').set('Content-Type', 'application/json').send(raw);
      expect(response.status).toBe(201);
      expect(response.body.username).toBe(good);
    });

    it('takes the last of duplicate keys, the same value that was checked (login)', async () => {
      const user = await live();
      const wrongLast = `{"username":"${user.username}","password":"${PASSWORD}","password":"wrong password"}`;
      expectAuthError(
        await api.post('/auth/login').set('Content-Type', 'application/json').send(wrongLast),
        401,
        'AUTH_INVALID_CREDENTIALS',
      );
      const rightLast = `{"username":"${user.username}","password":"wrong password","password":"${PASSWORD}"}`;
      expect((await api.post('/auth/login').set('Content-Type', 'application/json').send(rightLast)).status).toBe(200);
    });
  });

  describe('prototype pollution', () => {
    const polluting: Array<[string, string, string]> = [
      [
        'a top-level __proto__ (register)',
        '/auth/register',
        `{"username":"pp_user_1","password":"${PASSWORD}","__proto__":{"isAdmin":true,"polluted":"yes"}}`,
      ],
      ['a duplicated __proto__ (login)', '/auth/login', `{"__proto__":{},"__proto__":{"isAdmin":true},"username":"x","password":"y"}`],
      ['constructor.prototype (login)', '/auth/login', `{"username":"x","password":"y","constructor":{"prototype":{"isAdmin":true}}}`],
      ['a bare prototype key (refresh)', '/auth/refresh', `{"refreshToken":"a.b","prototype":{"isAdmin":true}}`],
      ['a nested __proto__ three levels down (refresh)', '/auth/refresh', `{"refreshToken":{"a":{"b":{"__proto__":{"isAdmin":true}}}}}`],
      ['__proto__ inside an array (register)', '/auth/register', `{"username":"pp_user_2","password":[{"__proto__":{"polluted":"yes"}}]}`],
      [
        '__proto__ in a field value object (password)',
        '/auth/password',
        `{"currentPassword":"${PASSWORD}","newPassword":{"__proto__":{"isAdmin":true}}}`,
      ],
    ];

    it.each(polluting)('refuses %s: 400 AUTH_VALIDATION_FAILED, and nothing is polluted', async (_label, path, raw) => {
      const req = api.post(path).set('Content-Type', 'application/json');
      if (path === '/auth/password') req.set('Authorization', `Bearer ${(await live()).accessToken}`);
      expectAuthError(await req.send(raw), 400, 'AUTH_VALIDATION_FAILED');

      const probe = {} as Record<string, unknown>;
      expect(probe.isAdmin).toBeUndefined();
      expect(probe.polluted).toBeUndefined();
      expect(Object.getOwnPropertyNames(Object.prototype)).not.toEqual(expect.arrayContaining(['isAdmin']));
      expect(Object.getOwnPropertyNames(Object.prototype)).not.toEqual(expect.arrayContaining(['polluted']));

      const fresh = await live();
      const me = await api.get('/auth/me').set('Authorization', `Bearer ${fresh.accessToken}`);
      expect(me.status).toBe(200);
      expect(me.body).toEqual({ userId: fresh.userId, username: fresh.username, sessionId: fresh.sid });
      expect('isAdmin' in (me.body as object)).toBe(false);
      expect('polluted' in (me.body as object)).toBe(false);
      expectCaller(await secretWith(`Bearer ${fresh.accessToken}`), fresh);
    });
  });

  describe('sizes and Unicode', () => {
    const register = (username: string, password: string): Promise<request.Response> =>
      api
        .post('/auth/register')
        .send({ username, password })
        .then((response) => response);
    const loginAs = (username: string, password: string): Promise<request.Response> =>
      api
        .post('/auth/login')
        .send({ username, password })
        .then((response) => response);
    const emoji = (count: number): string => '\u{1F600}'.repeat(count);

    const refusedPasswords: Array<[string, string, string]> = [
      ['129 ASCII code points', 'AUTH_PASSWORD_POLICY', 'x'.repeat(129)],
      ['129 emoji (258 UTF-16 units)', 'AUTH_PASSWORD_POLICY', emoji(129)],
      ['7 emoji (14 UTF-16 units, 7 code points)', 'AUTH_PASSWORD_POLICY', emoji(7)],
      ['1024 characters (within the input cap, over the policy)', 'AUTH_PASSWORD_POLICY', 'x'.repeat(1024)],
      ['1025 characters (over the input cap)', 'AUTH_VALIDATION_FAILED', 'x'.repeat(1025)],
      ['an empty string', 'AUTH_VALIDATION_FAILED', ''],
    ];

    it.each(refusedPasswords)('refuses a registration password of %s: 400 %s', async (_label, code, password) => {
      expectAuthError(await register(uniqueUsername('pw'), password), 400, code);
    });

    it('refuses a 1025-character password at login: 400 AUTH_VALIDATION_FAILED', async () => {
      expectAuthError(await loginAs(uniqueUsername('pw'), 'x'.repeat(1025)), 400, 'AUTH_VALIDATION_FAILED');
    });

    it('refuses a 129-code-point new password: 400 AUTH_PASSWORD_POLICY, and the old one still works', async () => {
      const user = await live();
      const response = await api
        .post('/auth/password')
        .set('Authorization', `Bearer ${user.accessToken}`)
        .send({ currentPassword: user.password, newPassword: emoji(129) });
      expectAuthError(response, 400, 'AUTH_PASSWORD_POLICY');
      expect((await loginAs(user.username, user.password)).status).toBe(200);
    });

    const nfc = 'Café-Crème-naïve'.normalize('NFC');
    const nfd = nfc.normalize('NFD');
    const accepted: Array<[string, string, string]> = [
      ['8 emoji, counted as 8 code points', emoji(8), emoji(8)],
      ['128 emoji, counted as 128 code points', emoji(128), emoji(128)],
      ['NFC at registration, NFD at login', nfc, nfd],
      ['NFD at registration, NFC at login', nfd, nfc],
      ['128 "é" in NFD (256 code points, 128 after NFC)', 'é'.normalize('NFD').repeat(128), 'é'.normalize('NFC').repeat(128)],
    ];

    it.each(accepted)('accepts a password of %s: 201, then login 200', async (_label, atRegistration, atLogin) => {
      expect(nfc).not.toBe(nfd);
      const username = uniqueUsername('uni');
      expect((await register(username, atRegistration)).status).toBe(201);
      expect((await loginAs(username, atLogin)).status).toBe(200);
    });

    const distinct: Array<[string, string, string]> = [
      ['a zero-width space is significant', 'pass\u200Bword-1234', 'password-1234'],
      ['a NUL byte does not truncate', 'secret\u0000suffix-1234', 'secret'],
      ['a NUL byte does not truncate (same prefix, other suffix)', 'secret\u0000suffix-1234', 'secret\u0000another-999'],
      ['compatibility forms are not folded (NFC, not NFKC)', '\uFF50\uFF41\uFF53\uFF53\uFF57\uFF4F\uFF52\uFF44\uFF11\uFF12', 'password12'],
    ];

    it.each(['lone-surrogate-\uD800', 'lone-surrogate-\uDFFF', '\uDC00lone-surrogate'])(
      'refuses a password with an unpaired surrogate (%j), which UTF-8 would fold into U+FFFD: 400, and 401 at login',
      async (password) => {
        const username = uniqueUsername('uni');
        expectAuthError(await register(username, password), 400, 'AUTH_PASSWORD_POLICY');
        expect((await register(username, 'lone-surrogate-\uFFFD')).status).toBe(201);
        expectAuthError(await loginAs(username, password), 401, 'AUTH_INVALID_CREDENTIALS');
      },
    );

    it.each(distinct)(
      '%s: registered password works, the look-alike gets 401 AUTH_INVALID_CREDENTIALS',
      async (_label, registered, other) => {
        const username = uniqueUsername('uni');
        expect((await register(username, registered)).status).toBe(201);
        expectAuthError(await loginAs(username, other), 401, 'AUTH_INVALID_CREDENTIALS');
        expect((await loginAs(username, registered)).status).toBe(200);
      },
    );

    const badUsernames: Array<[string, (suffix: string) => string]> = [
      ['an RTL override', (s) => `admin\u202Egnp.${s}`],
      ['a zero-width space', (s) => `ad\u200Bmin${s}`],
      ['a zero-width joiner', (s) => `ad\u200Dmin${s}`],
      ['a byte-order mark', (s) => `\uFEFFadmin${s}`],
      ['a NUL byte', (s) => `admin${s}\u0000`],
      ['a lone surrogate', (s) => `admin${s}\uD800`],
      ['a newline (log injection)', (s) => `admin${s}\nlogin.succeeded`],
      ['HTML', (s) => `<script>${s}</script>`],
      ['an SQL fragment', (s) => `admin${s}'--`],
      ['a path traversal', (s) => `../../etc/${s}`],
      ['a leading space', (s) => ` admin${s}`],
      ['70 combining marks (zalgo)', (s) => `a${s}${'\u0301'.repeat(70)}`],
    ];

    it.each(badUsernames)('refuses a username with %s: 400 AUTH_VALIDATION_FAILED', async (_label, make) => {
      expectAuthError(await register(make(randomBytes(3).toString('hex')), PASSWORD), 400, 'AUTH_VALIDATION_FAILED');
    });

    it('does not let an NFD spelling register a second account under an NFC username: 409, and NFD logs into the same account', async () => {
      const nfcName = `José_${randomBytes(4).toString('hex')}`.normalize('NFC');
      const nfdName = nfcName.normalize('NFD');
      expect(nfdName).not.toBe(nfcName);
      const first = await register(nfcName, PASSWORD);
      expect(first.status).toBe(201);
      expectAuthError(await register(nfdName, 'another long password'), 409, 'AUTH_USERNAME_TAKEN');
      const viaNfd = await loginAs(nfdName, PASSWORD);
      expect(viaNfd.status).toBe(200);
      expect(claimsOf(viaNfd.body.accessToken).sub).toBe(first.body.userId);
    });
  });

  describe('media types, encodings and body sizes', () => {
    const unsupported: Array<[string, string, string, string]> = [
      [
        'a form body at register',
        '/auth/register',
        'application/x-www-form-urlencoded',
        `username=formuser&password=${encodeURIComponent(PASSWORD)}`,
      ],
      ['a form body at login', '/auth/login', 'application/x-www-form-urlencoded', 'username=x&password=y'],
      ['a form body at refresh', '/auth/refresh', 'application/x-www-form-urlencoded', 'refreshToken=a.b'],
      ['text/plain holding JSON', '/auth/login', 'text/plain', '{"username":"x","password":"y"}'],
      ['application/xml', '/auth/login', 'application/xml', '<login><username>x</username></login>'],
      [
        'multipart/form-data',
        '/auth/login',
        'multipart/form-data; boundary=XyZ',
        '--XyZ\r\nContent-Disposition: form-data; name="username"\r\n\r\nx\r\n--XyZ--\r\n',
      ],
      [
        'JSON in an unsupported charset (ISO-8859-1)',
        '/auth/login',
        'application/json; charset=iso-8859-1',
        '{"username":"x","password":"y"}',
      ],
    ];

    it.each(unsupported)('refuses %s: 415 AUTH_UNSUPPORTED_MEDIA_TYPE', async (_label, path, type, raw) => {
      expectAuthError(await rawRequest(port, 'POST', path, [['Content-Type', type]], raw), 415, 'AUTH_UNSUPPORTED_MEDIA_TYPE');
    });

    it('refuses a form body at /auth/password for a logged-in caller: 415 AUTH_UNSUPPORTED_MEDIA_TYPE', async () => {
      const user = await live();
      const response = await rawRequest(
        port,
        'POST',
        '/auth/password',
        [
          ['Authorization', `Bearer ${user.accessToken}`],
          ['Content-Type', 'application/x-www-form-urlencoded'],
        ],
        'currentPassword=x&newPassword=y',
      );
      expectAuthError(response, 415, 'AUTH_UNSUPPORTED_MEDIA_TYPE');
    });

    it('refuses a body without a Content-Type: 415 AUTH_UNSUPPORTED_MEDIA_TYPE', async () => {
      expectAuthError(
        await rawRequest(port, 'POST', '/auth/login', [], '{"username":"x","password":"y"}'),
        415,
        'AUTH_UNSUPPORTED_MEDIA_TYPE',
      );
    });

    it('refuses an unsupported Content-Encoding: 415 AUTH_UNSUPPORTED_MEDIA_TYPE', async () => {
      const response = await rawRequest(
        port,
        'POST',
        '/auth/login',
        [
          ['Content-Type', 'application/json'],
          ['Content-Encoding', 'compress'],
        ],
        '{"username":"x","password":"y"}',
      );
      expectAuthError(response, 415, 'AUTH_UNSUPPORTED_MEDIA_TYPE');
    });

    it('never half-parses application/*+json: a JSON body sent as application/vnd.api+json is a 400', async () => {
      const response = await rawRequest(
        port,
        'POST',
        '/auth/login',
        [['Content-Type', 'application/vnd.api+json']],
        '{"username":"x","password":"y"}',
      );
      expectAuthError(response, 400, 'AUTH_VALIDATION_FAILED');
    });

    it('refuses a gzip bomb (10 MB inflated from ~10 kB): 413 AUTH_PAYLOAD_TOO_LARGE', async () => {
      const bomb = gzipSync(Buffer.from(JSON.stringify({ username: 'x', password: 'p'.repeat(10_000_000) })));
      expect(bomb.length).toBeLessThan(100 * 1024);
      const response = await rawRequest(
        port,
        'POST',
        '/auth/login',
        [
          ['Content-Type', 'application/json'],
          ['Content-Encoding', 'gzip'],
        ],
        bomb,
      );
      expectAuthError(response, 413, 'AUTH_PAYLOAD_TOO_LARGE');
    });

    // A corrupt compressed body is a body-parsing failure like malformed JSON: it should get
    // nest-warden's error shape, not Nest's default { statusCode, message }.
    it('refuses a corrupt gzip body: 400 AUTH_VALIDATION_FAILED', async () => {
      const response = await rawRequest(
        port,
        'POST',
        '/auth/login',
        [
          ['Content-Type', 'application/json'],
          ['Content-Encoding', 'gzip'],
        ],
        'this is not gzip',
      );
      expectAuthError(response, 400, 'AUTH_VALIDATION_FAILED');
    });

    const huge: Array<[string, string, boolean, () => unknown]> = [
      [
        'register (110 kB password)',
        '/auth/register',
        false,
        () => ({ username: uniqueUsername('big'), password: 'x'.repeat(110 * 1024) }),
      ],
      ['login (110 kB username)', '/auth/login', false, () => ({ username: 'u'.repeat(110 * 1024), password: 'x' })],
      ['refresh (200 kB token)', '/auth/refresh', false, () => ({ refreshToken: 'r'.repeat(200 * 1024) })],
      ['password (150 kB, logged in)', '/auth/password', true, () => ({ currentPassword: PASSWORD, newPassword: 'n'.repeat(150 * 1024) })],
      ['logout (1 MB, no token: parsed before the guard)', '/auth/logout', false, () => ({ junk: 'j'.repeat(1024 * 1024) })],
      [
        'register (100 kB+ of small keys)',
        '/auth/register',
        false,
        () => Object.fromEntries(Array.from({ length: 12_000 }, (_, i) => [`k${i}`, 1])),
      ],
    ];

    it.each(huge)('refuses a huge body at %s: 413 AUTH_PAYLOAD_TOO_LARGE', async (_label, path, guarded, body) => {
      const headers: Array<[string, string]> = [['Content-Type', 'application/json']];
      if (guarded) headers.push(['Authorization', `Bearer ${(await live()).accessToken}`]);
      const raw = JSON.stringify(body());
      expect(raw.length).toBeGreaterThan(100 * 1024);
      expectAuthError(await rawRequest(port, 'POST', path, headers, raw), 413, 'AUTH_PAYLOAD_TOO_LARGE');
    });

    const nest = (open: string, close: string, depth: number, inner = '1'): string => `${open.repeat(depth)}${inner}${close.repeat(depth)}`;
    const deep: Array<[string, string, boolean, () => string]> = [
      [
        'depth 10 arrays in a field (register)',
        '/auth/register',
        false,
        () => `{"username":${nest('[', ']', 10)},"password":"${PASSWORD}"}`,
      ],
      ['depth 10 objects in a field (login)', '/auth/login', false, () => `{"username":"x","password":${nest('{"a":', '}', 10)}}`],
      ['depth 10000 arrays (login)', '/auth/login', false, () => `{"username":${nest('[', ']', 10_000)},"password":"x"}`],
      ['depth 10000 objects (refresh)', '/auth/refresh', false, () => `{"refreshToken":${nest('{"a":', '}', 10_000)}}`],
      [
        'depth 10000 arrays (password, logged in)',
        '/auth/password',
        true,
        () => `{"currentPassword":"x","newPassword":${nest('[', ']', 10_000)}}`,
      ],
    ];

    it.each(deep)('refuses %s: 400 AUTH_VALIDATION_FAILED (nested too deeply)', async (_label, path, guarded, raw) => {
      const headers: Array<[string, string]> = [['Content-Type', 'application/json']];
      if (guarded) headers.push(['Authorization', `Bearer ${(await live()).accessToken}`]);
      const response = await rawRequest(port, 'POST', path, headers, raw());
      expectAuthError(response, 400, 'AUTH_VALIDATION_FAILED');
      expect((response.body as { message: string }).message).toMatch(/nested too deeply/);
    });
  });

  describe('oversized headers', () => {
    it('ignores a 10 kB header value on a guarded route: 200', async () => {
      const user = await live();
      expectCaller(await api.get('/secret').set('Authorization', `Bearer ${user.accessToken}`).set('X-Padding', 'a'.repeat(10_000)), user);
    });

    it('ignores an 8000-character header name on a guarded route: 200', async () => {
      const user = await live();
      expectCaller(
        await api
          .get('/secret')
          .set('Authorization', `Bearer ${user.accessToken}`)
          .set(`X-${'n'.repeat(8000)}`, 'v'),
        user,
      );
    });

    it("answers headers over Node's 16 kB limit with 431 before any handler runs", async () => {
      const user = await live();
      const response = await rawRequest(port, 'GET', '/secret', [
        ['Authorization', `Bearer ${user.accessToken}`],
        ['X-Padding', 'a'.repeat(20_000)],
      ]);
      expect(response.status).toBe(431);
      expect(response.text).not.toContain(user.userId);
    });
  });
});

// Planted, shadowed and mis-encoded cookies. A sibling subdomain (or a network attacker on plain
// HTTP) can set cookies for the parent domain, though never __Host- ones; the CSRF token is the
// MAC of the session id, so a pair it plants matches no session of the victim's.
describe.each(ADAPTERS)('security: attacks on the cookie transport on %s', (adapter) => {
  let secureApp: INestApplication;
  let plainApp: INestApplication;
  let secure: ReturnType<typeof request>;
  let plain: ReturnType<typeof request>;

  beforeAll(async () => {
    secureApp = await createApp(CookiesAppModule, adapter);
    plainApp = await createApp(PlainHttpCookiesAppModule, adapter);
    secure = request(secureApp.getHttpServer());
    plain = request(plainApp.getHttpServer());
  });

  afterAll(async () => {
    await Promise.all([secureApp.close(), plainApp.close()]);
  });

  /** Logs a fresh user into the plain-names app: its cookie values by name. */
  const plainSignIn = async (): Promise<Record<'nw_access' | 'nw_refresh' | 'nw_csrf', string> & { userId: string }> => {
    const username = uniqueUsername('plain');
    const registered = await plain.post('/auth/register').send({ username, password: PASSWORD }).expect(201);
    const login = await plain.post('/auth/login').send({ username, password: PASSWORD }).expect(200);
    const values = Object.fromEntries(
      (login.headers['set-cookie'] as unknown as string[]).map((cookie) => cookie.split(';')[0]!.split('=') as [string, string]),
    ) as Record<'nw_access' | 'nw_refresh' | 'nw_csrf', string>;
    return { ...values, userId: registered.body.userId as string };
  };

  it.each([
    ['header', (csrf: string) => ({ cookie: csrf, header: `${csrf.slice(0, -1)}é` })],
    ['cookie', (csrf: string) => ({ cookie: `${csrf.slice(0, -1)}%C3%A9`, header: `${csrf.slice(0, -1)}e` })],
  ])('a non-ASCII CSRF %s of the right length in characters: 403 AUTH_CSRF_FAILED, never 500', async (_label, pair) => {
    const { jar } = await registerAndLoginWithCookies(secureApp);
    const { cookie, header } = pair(jar.csrf);
    const guarded = await secure
      .post('/notes')
      .set('Cookie', `__Host-nw_access=${jar.access}; __Host-nw_csrf=${cookie}`)
      .set('X-CSRF-Token', header);
    expectAuthError(guarded, 403, 'AUTH_CSRF_FAILED');
    const refresh = await secure
      .post('/auth/refresh')
      .set('Cookie', `__Secure-nw_refresh=${jar.refresh}; __Host-nw_csrf=${cookie}`)
      .set('X-CSRF-Token', header);
    expectAuthError(refresh, 403, 'AUTH_CSRF_FAILED');
    // Refused before rotation: the refresh token is not spent.
    await secure
      .post('/auth/refresh')
      .set('Cookie', `__Secure-nw_refresh=${jar.refresh}; __Host-nw_csrf=${jar.csrf}`)
      .set('X-CSRF-Token', jar.csrf)
      .expect(200);
  });

  it("plain names: the attacker's own genuine CSRF pair, planted beside the victim's cookies, is refused on every unsafe route", async () => {
    const victim = await plainSignIn();
    const attacker = await plainSignIn();
    // A cookie for the parent domain comes first when its path is as long: the planted one is read.
    const planted = `nw_csrf=${attacker.nw_csrf}`;
    const guarded = await plain
      .post('/notes')
      .set('Cookie', `${planted}; nw_access=${victim.nw_access}; nw_csrf=${victim.nw_csrf}`)
      .set('X-CSRF-Token', attacker.nw_csrf);
    expectAuthError(guarded, 403, 'AUTH_CSRF_FAILED');
    const logout = await plain
      .post('/auth/logout')
      .set('Cookie', `${planted}; nw_access=${victim.nw_access}`)
      .set('X-CSRF-Token', attacker.nw_csrf);
    expectAuthError(logout, 403, 'AUTH_CSRF_FAILED');
    const refresh = await plain
      .post('/auth/refresh')
      .set('Cookie', `${planted}; nw_refresh=${victim.nw_refresh}`)
      .set('X-CSRF-Token', attacker.nw_csrf);
    expectAuthError(refresh, 403, 'AUTH_CSRF_FAILED');
    // The victim's session and refresh token are untouched.
    await plain.get('/notes').set('Cookie', `nw_access=${victim.nw_access}`).expect(200, { owner: victim.userId });
    await plain
      .post('/auth/refresh')
      .set('Cookie', `nw_refresh=${victim.nw_refresh}; nw_csrf=${victim.nw_csrf}`)
      .set('X-CSRF-Token', victim.nw_csrf)
      .expect(200);
  });

  it('secure names: an access or CSRF cookie tossed under a name a sibling can set is never read', async () => {
    const victim = await registerAndLoginWithCookies(secureApp);
    const attacker = await registerAndLoginWithCookies(secureApp);
    const csrf = attacker.jar.csrf;
    // Alone: no access cookie at all (login CSRF into the attacker's account fails).
    for (const tossed of [`nw_access=${attacker.jar.access}`, `__Secure-nw_access=${attacker.jar.access}`]) {
      const alone = await secure
        .post('/notes')
        .set('Cookie', `${tossed}; nw_csrf=${csrf}; __Secure-nw_csrf=${csrf}`)
        .set('X-CSRF-Token', csrf);
      expectAuthError(alone, 401, 'AUTH_TOKEN_MISSING');
      // Beside the victim's: the victim's __Host- cookies count, and the tossed CSRF value matches nothing.
      const beside = await secure
        .post('/notes')
        .set('Cookie', `${tossed}; nw_csrf=${csrf}; __Host-nw_access=${victim.jar.access}; __Host-nw_csrf=${victim.jar.csrf}`)
        .set('X-CSRF-Token', csrf);
      expectAuthError(beside, 403, 'AUTH_CSRF_FAILED');
    }
  });

  it("secure names: the attacker's genuine refresh cookie, planted for the parent domain, is neither used nor spent", async () => {
    const victim = await registerAndLoginWithCookies(secureApp);
    const attacker = await registerAndLoginWithCookies(secureApp);
    const planted = `__Secure-nw_refresh=${attacker.jar.refresh}`;
    // Beside the victim's refresh cookie: the victim's session is refreshed.
    const refreshed = await secure
      .post('/auth/refresh')
      .set('Cookie', `${planted}; __Secure-nw_refresh=${victim.jar.refresh}; __Host-nw_csrf=${victim.jar.csrf}`)
      .set('X-CSRF-Token', victim.jar.csrf)
      .expect(200);
    const access = (refreshed.headers['set-cookie'] as unknown as string[]).find((c) => c.startsWith('__Host-nw_access='))!.split(';')[0]!;
    expect(claimsOf(access.slice('__Host-nw_access='.length)).sid).toBe(claimsOf(victim.jar.access).sid);
    // Without the victim's refresh cookie: refused, not swapped into the attacker's session.
    const alone = await secure
      .post('/auth/refresh')
      .set('Cookie', `${planted}; __Host-nw_csrf=${victim.jar.csrf}`)
      .set('X-CSRF-Token', victim.jar.csrf);
    expectAuthError(alone, 403, 'AUTH_CSRF_FAILED');
    // The attacker's token was never rotated.
    await secure
      .post('/auth/refresh')
      .set('Cookie', `${planted}; __Host-nw_csrf=${attacker.jar.csrf}`)
      .set('X-CSRF-Token', attacker.jar.csrf)
      .expect(200);
  });
});
