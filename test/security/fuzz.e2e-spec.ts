import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import fc from 'fast-check';
import request from 'supertest';
import { claimsOf, uniqueUsername } from '../utils/auth-client.js';
import { ERROR_KEYS, hmacJws, nowSeconds, PASSWORD, rawRequest, startSecurityApp, type RawResponse } from './security-helpers.js';

// Property-based fuzzing of every nest-warden route (and the guarded host route /secret).
// The properties: never a 5xx, and every 4xx carries exactly { statusCode, code, message }.
// Only existing routes are fuzzed: an unknown route's 404 is Nest's own. fast-check prints the
// seed and the shrunk counterexample of a failure; rerun one with fc.assert's { seed, path }.

const RUNS = 200;
jest.setTimeout(60_000);

const TOKEN_CODES = ['AUTH_TOKEN_MISSING', 'AUTH_TOKEN_INVALID', 'AUTH_TOKEN_EXPIRED', 'AUTH_SESSION_REVOKED'];
// Own property names of Object.prototype before any request: a polluting body would add one.
const PROTOTYPE_BASELINE = Object.getOwnPropertyNames(Object.prototype).sort();

interface Session {
  accessToken: string;
  refreshToken: string;
  sub: string;
  sid: string;
}

type Method = 'GET' | 'POST' | 'DELETE';

/** A route and whether a valid token is needed to get past the guard. */
interface Route {
  method: Method;
  path: string;
  guarded: boolean;
}

const BODY_ROUTES: Route[] = [
  { method: 'POST', path: '/auth/register', guarded: false },
  { method: 'POST', path: '/auth/login', guarded: false },
  { method: 'POST', path: '/auth/refresh', guarded: false },
  { method: 'POST', path: '/auth/password', guarded: true },
];

const GUARDED_ROUTES: Route[] = [
  { method: 'GET', path: '/auth/me', guarded: true },
  { method: 'GET', path: '/auth/sessions', guarded: true },
  { method: 'DELETE', path: '/auth/sessions/AAAAAAAAAAAAAAAAAAAAAA', guarded: true },
  { method: 'POST', path: '/auth/password', guarded: true },
  { method: 'POST', path: '/auth/logout', guarded: true },
  { method: 'POST', path: '/auth/logout/all', guarded: true },
  { method: 'GET', path: '/secret', guarded: true },
];

const ALL_ROUTES: Route[] = [...BODY_ROUTES, ...GUARDED_ROUTES.filter((route) => route.path !== '/auth/password')];

/** Characters Node lets a client put in a header value: HTAB, visible ASCII, space, obs-text. */
const headerChar = fc.oneof(
  { weight: 1, arbitrary: fc.constant('\t') },
  { weight: 20, arbitrary: fc.integer({ min: 0x20, max: 0x7e }).map((code) => String.fromCharCode(code)) },
  { weight: 3, arbitrary: fc.integer({ min: 0x80, max: 0xff }).map((code) => String.fromCharCode(code)) },
);
const headerString = (maxLength = 200): fc.Arbitrary<string> => fc.string({ unit: headerChar, maxLength });

/** Any JSON value, strings over the whole Unicode range (lone surrogates included). */
const anyJson = fc.jsonValue({ maxDepth: 4, stringUnit: 'binary' });
/** A field value: mostly strings of any kind, sometimes any JSON. */
const fieldValue = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 80 }),
  fc.string({ unit: 'grapheme', minLength: 3, maxLength: 40 }),
  fc.string({ maxLength: 2000 }),
  anyJson,
);

describe('security fuzzing: no 5xx, and every 4xx is { statusCode, code, message }', () => {
  let app: INestApplication;
  let port: number;
  let api: ReturnType<typeof request>;
  let user: { username: string; userId: string };
  const sessions: Session[] = [];

  beforeAll(async () => {
    const running = await startSecurityApp();
    app = running.app;
    port = running.port;
    api = request(running.baseUrl);
    const username = uniqueUsername('fuzz');
    const registered = await api.post('/auth/register').send({ username, password: PASSWORD }).expect(201);
    user = { username, userId: registered.body.userId as string };
    for (let i = 0; i < 3; i++) {
      const loggedIn = await api.post('/auth/login').send({ username, password: PASSWORD }).expect(200);
      const claims = claimsOf(loggedIn.body.accessToken);
      sessions.push({ ...(loggedIn.body as Session), sub: claims.sub as string, sid: claims.sid as string });
    }
  });

  afterAll(async () => {
    await app.close();
  });

  /** The two properties, on any answer. */
  const expectSafe = (response: RawResponse): void => {
    expect(response.status).toBeGreaterThanOrEqual(200);
    expect(response.status).toBeLessThan(500);
    if (response.status >= 400) {
      expect(response.body).toEqual({ statusCode: response.status, code: expect.any(String), message: expect.any(String) });
      expect(Object.keys(response.body as object).sort()).toEqual(ERROR_KEYS);
    }
    expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(PROTOTYPE_BASELINE);
  };

  const send = (route: Route, headers: Array<[string, string]>, body?: string | Buffer, path = route.path): Promise<RawResponse> =>
    rawRequest(port, route.method, path, headers, body);

  const bearer = (session: Session): [string, string] => ['Authorization', `Bearer ${session.accessToken}`];

  it('arbitrary JSON values as the body of register, login, refresh and password', async () => {
    // Field values that pass the shape checks often enough to reach the service: usernames,
    // passwords, refresh tokens aimed at the pool's sessions with guessed secrets.
    const username = fc.oneof(fc.stringMatching(/^[A-Za-z0-9._@+-]{3,20}$/), fc.string({ unit: 'grapheme', minLength: 1, maxLength: 70 }));
    const password = fc.oneof(
      fc.string({ unit: 'grapheme', minLength: 8, maxLength: 40 }),
      fc.string({ unit: 'binary', minLength: 1, maxLength: 140 }),
    );
    const refreshToken = fc.oneof(
      fc.stringMatching(/^[A-Za-z0-9_-]{16,64}\.[A-Za-z0-9_-]{43}$/),
      fc.stringMatching(/^[A-Za-z0-9_-]{43}$/).map((secret) => `${sessions[0]!.sid}.${secret}`),
    );
    const field = (likely: fc.Arbitrary<string>): fc.Arbitrary<unknown> =>
      fc.oneof({ weight: 4, arbitrary: likely }, { weight: 1, arbitrary: fieldValue });
    const shapes: Record<string, fc.Arbitrary<Record<string, unknown>>> = {
      '/auth/register': fc.record({ username: field(username), password: field(password) }, { requiredKeys: [] }),
      '/auth/login': fc.record({ username: field(username), password: field(password) }, { requiredKeys: [] }),
      '/auth/refresh': fc.record({ refreshToken: field(refreshToken) }, { requiredKeys: [] }),
      '/auth/password': fc.record({ currentPassword: field(password), newPassword: field(password) }, { requiredKeys: [] }),
    };
    const extraKeys = fc.dictionary(fc.string({ maxLength: 12 }), anyJson, { minKeys: 1, maxKeys: 3 });
    const bodyFor = (route: Route): fc.Arbitrary<unknown> =>
      fc.oneof(
        { weight: 6, arbitrary: shapes[route.path]! },
        { weight: 1, arbitrary: fc.tuple(shapes[route.path]!, extraKeys).map(([shaped, extra]) => ({ ...extra, ...shaped })) },
        { weight: 1, arbitrary: anyJson },
        { weight: 1, arbitrary: fc.object({ maxDepth: 3, stringUnit: 'binary' }) },
        { weight: 1, arbitrary: fc.anything({ maxDepth: 3, stringUnit: 'grapheme' }) },
      );
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...BODY_ROUTES).chain((route) => fc.tuple(fc.constant(route), bodyFor(route))),
        async ([route, value]) => {
          const json = JSON.stringify(value) ?? 'null';
          const headers: Array<[string, string]> = [['Content-Type', 'application/json']];
          if (route.guarded) headers.push(bearer(sessions[0]!));
          const response = await send(route, headers, json);
          expectSafe(response);
          // Nobody guesses the pool's password or a refresh secret.
          if (route.path === '/auth/refresh' || route.path === '/auth/password') expect(response.status).toBeGreaterThanOrEqual(400);
        },
      ),
      { numRuns: RUNS },
    );
    // The guessed refresh secrets did not end the pool's session.
    await api.get('/secret').set('Authorization', `Bearer ${sessions[0]!.accessToken}`).expect(200);
  });

  it('logout and logout/all with a fresh session and any JSON body: 204 ends the session, anything else leaves it', async () => {
    const username = uniqueUsername('fuzzout');
    await api.post('/auth/register').send({ username, password: PASSWORD }).expect(201);
    const body = fc.oneof(anyJson, fc.object({ maxDepth: 3, stringUnit: 'binary' }));
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('/auth/logout', '/auth/logout/all'), body, async (path, value) => {
        const loggedIn = await api.post('/auth/login').send({ username, password: PASSWORD }).expect(200);
        const token = loggedIn.body.accessToken as string;
        const headers: Array<[string, string]> = [
          ['Authorization', `Bearer ${token}`],
          ['Content-Type', 'application/json'],
        ];
        const response = await rawRequest(port, 'POST', path, headers, JSON.stringify(value));
        expectSafe(response);
        const after = await rawRequest(port, 'GET', '/secret', [['Authorization', `Bearer ${token}`]]);
        if (response.status === 204) expect((after.body as { code?: string } | undefined)?.code).toBe('AUTH_SESSION_REVOKED');
        else expect(after.status).toBe(200);
      }),
      { numRuns: 50 },
    );
  });

  it('arbitrary raw strings and bytes sent as application/json to every route', async () => {
    const mutatedJson = fc
      .tuple(fc.json({ maxDepth: 3 }), fc.nat(), fc.string({ unit: 'binary', maxLength: 4 }))
      .map(([json, at, insert]) => {
        const index = at % (json.length + 1);
        return `${json.slice(0, index)}${insert}${json.slice(index)}`;
      });
    const raw = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 200 }),
      fc.json({ maxDepth: 4, stringUnit: 'binary' }),
      mutatedJson,
      fc.uint8Array({ maxLength: 200 }).map((bytes) => Buffer.from(bytes)),
      fc.constantFrom('', '{', '}', '{}', '[]', 'null', '"x"', '1e999', '\uFEFF{}', '{"__proto__":{"isAdmin":true}}', '{"a":1,"a":2}'),
    );
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...ALL_ROUTES), raw, fc.boolean(), async (route, body, withToken) => {
        const headers: Array<[string, string]> = [['Content-Type', 'application/json']];
        // Never a valid token on logout routes: they would end the pool's sessions.
        if (withToken && route.guarded && !route.path.startsWith('/auth/logout')) headers.push(bearer(sessions[0]!));
        expectSafe(await send(route, headers, body));
      }),
      { numRuns: RUNS },
    );
  });

  it('arbitrary Content-Type headers on a JSON body', async () => {
    const contentType = fc.oneof(
      headerString(80),
      fc
        .tuple(
          fc.constantFrom(
            'application/json',
            'application/vnd.api+json',
            'text/json',
            'APPLICATION/JSON',
            'application/x-www-form-urlencoded',
            'text/plain',
          ),
          headerString(40),
        )
        .map(([type, parameter]) => `${type};${parameter}`),
      fc
        .constantFrom('utf-8', 'utf-16', 'utf-7', 'utf-x', 'latin1', 'UTF-8', '"utf-8"')
        .map((charset) => `application/json; charset=${charset}`),
    );
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...BODY_ROUTES), contentType, async (route, type) => {
        const headers: Array<[string, string]> = [['Content-Type', type]];
        if (route.guarded) headers.push(bearer(sessions[0]!));
        const body = JSON.stringify({ username: uniqueUsername('ctype'), password: 'not the password' });
        expectSafe(await send(route, headers, body));
      }),
      { numRuns: RUNS },
    );
  });

  it('arbitrary Authorization headers on every guarded route: never let through', async () => {
    const real = sessions[1]!.accessToken;
    const authorization = fc.oneof(
      headerString(300),
      fc.stringMatching(/^[Bb][Ee][Aa][Rr][Ee][Rr] [A-Za-z0-9_-]{0,60}\.[A-Za-z0-9_-]{0,200}\.[A-Za-z0-9_-]{0,60}$/),
      fc.stringMatching(/^(Bearer|bearer|Basic|Token|)[ \t]{0,3}[A-Za-z0-9_.=+/-]{0,100}[ \t]{0,2}$/),
      fc.base64String({ maxLength: 200 }),
      fc.base64String({ maxLength: 200 }).map((value) => `Bearer ${value}`),
      // A real token with one character replaced: any change to it breaks the signature.
      fc
        .tuple(fc.nat(), fc.constantFrom(...'ABCabc019_-.=+/ '))
        .map(([at, char]) => {
          const index = at % real.length;
          return `Bearer ${real.slice(0, index)}${char}${real.slice(index + 1)}`;
        })
        .filter((header) => header !== `Bearer ${real}`),
    );
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...GUARDED_ROUTES), authorization, async (route, header) => {
        const response = await send(route, [['Authorization', header]]);
        expectSafe(response);
        expect(response.status).toBe(401);
        expect(TOKEN_CODES).toContain((response.body as { code: string }).code);
      }),
      { numRuns: RUNS },
    );
  });

  it('correctly signed tokens with arbitrary headers and claims: 200 only for exactly the live session', async () => {
    const session = sessions[2]!;
    // Each part is mostly valid, sometimes a boundary value, sometimes any JSON: about a quarter
    // of the tokens are fully valid, so both sides of every rule are reached.
    const mostly = (valid: fc.Arbitrary<unknown>, edge: fc.Arbitrary<unknown>): fc.Arbitrary<unknown> =>
      fc.oneof({ weight: 15, arbitrary: valid }, { weight: 1, arbitrary: edge }, { weight: 1, arbitrary: anyJson });
    // Time claims are generated as offsets from now and resolved when the request is sent.
    const at = (min: number, max: number): fc.Arbitrary<unknown> => fc.integer({ min, max }).map((offset) => ({ relative: offset }));
    const absent = fc.constant(undefined);
    const claims = fc.record({
      sub: mostly(fc.constant(session.sub), fc.constantFrom(randomBytes(8).toString('hex'), '', 's'.repeat(257))),
      sid: mostly(fc.constantFrom(...sessions.map((s) => s.sid)), fc.constantFrom(randomBytes(16).toString('base64url'), '', '__proto__')),
      jti: mostly(fc.string({ minLength: 1, maxLength: 40 }), fc.constantFrom('', 'j'.repeat(257), undefined)),
      iat: mostly(at(-600, 0), fc.oneof(at(1, 3), absent)),
      exp: mostly(at(1, 3600), fc.oneof(at(-3, 0), absent)),
      nbf: mostly(fc.oneof(absent, at(-600, 0)), at(1, 5)),
      iss: mostly(fc.constant('nest-warden'), fc.constantFrom('Nest-Warden', 'nest-warden ', undefined)),
      aud: mostly(
        fc.oneof(fc.constant('nest-warden'), fc.constant(['other-api', 'nest-warden'])),
        fc.constantFrom(['other-api'], [], 'other-api', undefined),
      ),
    });
    // The header starts from the one the server puts on its own tokens.
    const serverHeader = JSON.parse(Buffer.from(session.accessToken.split('.')[0]!, 'base64url').toString('utf8')) as Record<
      string,
      unknown
    >;
    const keyHeaders = fc.constantFrom('kid', 'jku', 'x5u', 'jwk', 'x5c', 'crit', 'b64', 'cty', 'zip');
    const header = fc
      .record({
        alg: mostly(fc.constant(serverHeader.alg), fc.constantFrom('none', 'HS512', 'RS256', 'hs256', undefined)),
        typ: mostly(fc.constant(serverHeader.typ), fc.constantFrom('JWT', 'AT+JWT', 'application/at+jwt', 'at+jwt ', undefined)),
        extra: fc.oneof(
          { weight: 6, arbitrary: absent },
          { weight: 1, arbitrary: fc.dictionary(fc.oneof(keyHeaders, fc.string({ maxLength: 8 })), anyJson, { minKeys: 1, maxKeys: 3 }) },
        ),
      })
      .map(({ extra, ...fields }) => {
        const merged = { ...((extra as Record<string, unknown> | undefined) ?? {}), ...fields };
        return Object.fromEntries(Object.entries(merged).filter(([, value]) => value !== undefined));
      });
    const payloadFor = (generated: Record<string, unknown>, now: number): Record<string, unknown> =>
      Object.fromEntries(
        Object.entries(generated)
          .filter(([, value]) => value !== undefined)
          .map(([key, value]) => {
            const offset = (value as { relative?: unknown } | null)?.relative;
            return [key, typeof offset === 'number' && Object.keys(value as object).length === 1 ? now + offset : value];
          }),
      );

    await fc.assert(
      fc.asyncProperty(fc.constantFrom('/secret', '/auth/me'), header, claims, async (path, jwsHeader, generated) => {
        const now = nowSeconds();
        const payload = payloadFor(generated, now);
        const token = hmacJws(jwsHeader, payload);
        const response = await rawRequest(port, 'GET', path, [['Authorization', `Bearer ${token}`]]);
        const after = nowSeconds(); // the server checked the token between now and after
        expectSafe(response);
        expect([200, 401]).toContain(response.status);
        if (response.status === 401) {
          expect(TOKEN_CODES).toContain((response.body as { code: string }).code);
          return;
        }
        // Let through: then every rule held, and the caller is exactly the session's user.
        expect(response.body).toEqual({ userId: user.userId, username: user.username, sessionId: payload.sid });
        expect(jwsHeader.alg).toBe('HS256');
        for (const name of ['crit', 'jku', 'x5u', 'jwk', 'x5c']) expect(name in jwsHeader).toBe(false);
        expect(payload.sub).toBe(user.userId);
        expect(sessions.map((s) => s.sid)).toContain(payload.sid);
        expect(payload.iss).toBe('nest-warden');
        expect(Array.isArray(payload.aud) ? payload.aud : [payload.aud]).toContain('nest-warden');
        expect(typeof payload.exp === 'number' && payload.exp > now).toBe(true);
        expect(typeof payload.iat === 'number' && payload.iat <= after).toBe(true);
        expect(payload.nbf === undefined || (typeof payload.nbf === 'number' && payload.nbf <= after)).toBe(true);
      }),
      { numRuns: RUNS },
    );
  });

  it('arbitrary (URL-encoded) session ids at DELETE /auth/sessions/:id: 404 AUTH_SESSION_NOT_FOUND', async () => {
    const route: Route = { method: 'DELETE', path: '/auth/sessions/:id', guarded: true };
    const encodable = fc.string({ unit: 'binary', minLength: 1, maxLength: 100 }).filter((id) => {
      try {
        encodeURIComponent(id);
        return true;
      } catch {
        return false; // lone surrogates have no URL encoding
      }
    });
    const id = fc.oneof(encodable, fc.constantFrom('..', '.', '__proto__', 'constructor', '%', '*', 'A'.repeat(64), 'A'.repeat(65)));
    await fc.assert(
      fc.asyncProperty(id, async (sessionId) => {
        const response = await send(route, [bearer(sessions[0]!)], undefined, `/auth/sessions/${encodeURIComponent(sessionId)}`);
        expectSafe(response);
        expect(response.status).toBe(404);
        expect((response.body as { code: string }).code).toBe('AUTH_SESSION_NOT_FOUND');
      }),
      { numRuns: RUNS },
    );
    // The caller's own session was never hit.
    await api.get('/secret').set('Authorization', `Bearer ${sessions[0]!.accessToken}`).expect(200);
  });

  it('arbitrary raw path segments (percent signs included) at DELETE /auth/sessions/:id', async () => {
    const route: Route = { method: 'DELETE', path: '/auth/sessions/:id', guarded: true };
    const segment = fc.stringMatching(/^[A-Za-z0-9%._~!$&'()*+,;=:@-]{1,40}$/);
    await fc.assert(
      fc.asyncProperty(segment, fc.boolean(), async (raw, withToken) => {
        const headers: Array<[string, string]> = withToken ? [bearer(sessions[0]!)] : [];
        expectSafe(await send(route, headers, undefined, `/auth/sessions/${raw}`));
      }),
      { numRuns: RUNS },
    );
  });
});
