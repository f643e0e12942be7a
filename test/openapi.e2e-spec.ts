import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createClient } from '@hey-api/openapi-ts';
import type { INestApplication } from '@nestjs/common';
import request, { type Response } from 'supertest';
import ts from 'typescript';
import { AUTH_HTTP_ERRORS, AuthErrorCode, COOKIE_NAMES, CSRF_HEADER } from '../src/auth/index.js';
import { createApp, TEST_SECRET } from './utils/app.js';
import { uniqueUsername } from './utils/auth-client.js';

type Schema = {
  $ref?: string;
  type?: string;
  format?: string;
  enum?: unknown[];
  nullable?: boolean;
  required?: string[];
  properties?: Record<string, Schema>;
  additionalProperties?: boolean | Schema;
  items?: Schema;
  allOf?: Schema[];
  oneOf?: Schema[];
};
type ResponseObject = { description: string; content?: Record<string, { schema?: Schema }>; headers?: Record<string, unknown> };
type Operation = {
  operationId: string;
  tags?: string[];
  security?: Record<string, string[]>[];
  parameters?: { name: string; in: string }[];
  requestBody?: unknown;
  responses: Record<string, ResponseObject>;
};
type Document = {
  paths: Record<string, Record<string, Operation>>;
  components: {
    schemas: Record<string, Schema>;
    securitySchemes: Record<string, { type: string; in?: string; name?: string; scheme?: string }>;
  };
};

const PASSWORD = 'correct horse battery staple';
const GUARD_CODES = [AuthErrorCode.TOKEN_MISSING, AuthErrorCode.TOKEN_INVALID, AuthErrorCode.TOKEN_EXPIRED, AuthErrorCode.SESSION_REVOKED];
// The demo's OpenID Provider: an issuer nothing listens on, so the oauth routes are mounted and
// every sign-in fails over to the error page (discovery is retried in the background, never awaited).
const OIDC_ENV = { AUTH_OIDC_ISSUER: 'http://127.0.0.1:9/', AUTH_OIDC_CLIENT_ID: 'demo', AUTH_OIDC_CLIENT_SECRET: 'demo-secret' };

/** Every operation of nest-warden's own routes in the document. */
function operationsOf(document: Document): Array<{ method: string; path: string; operation: Operation }> {
  return Object.entries(document.paths).flatMap(([path, item]) =>
    Object.entries(item)
      .filter(() => path.startsWith('/auth/') || path.startsWith('/.well-known/'))
      .map(([method, operation]) => ({ method, path, operation })),
  );
}

function jsonSchemaOf(response: ResponseObject | undefined): Schema | undefined {
  return response?.content?.['application/json']?.schema;
}

function resolve(document: Document, schema: Schema): Schema {
  if (!schema.$ref) return schema;
  const name = schema.$ref.replace('#/components/schemas/', '');
  const target = document.components.schemas[name];
  if (!target) throw new Error(`no schema ${name}`);
  return resolve(document, target);
}

// What the document says of a value, as a list of mismatches: enough of JSON Schema for these
// bodies ($ref, allOf, oneOf, type, enum, nullable, required, properties, items, date-time), and
// no properties the schema does not name (outside allOf, whose parts each name some).
function mismatches(document: Document, value: unknown, given: Schema, at = '$', closed = true): string[] {
  const schema = resolve(document, given);
  if (schema.allOf) return schema.allOf.flatMap((part) => mismatches(document, value, part, at, false));
  if (schema.oneOf) {
    const passing = schema.oneOf.filter((option) => mismatches(document, value, option, at, closed).length === 0);
    return passing.length === 1 ? [] : [`${at}: matches ${passing.length} of the oneOf options, not one`];
  }
  if (value === null) return schema.nullable ? [] : [`${at}: null`];
  if (schema.enum && !schema.enum.includes(value)) return [`${at}: ${JSON.stringify(value)} not in ${JSON.stringify(schema.enum)}`];
  const type = Array.isArray(value) ? 'array' : Number.isInteger(value) ? 'integer' : typeof value;
  const fits = schema.type === undefined || schema.type === type || (schema.type === 'number' && type === 'integer');
  if (!fits) return [`${at}: a ${type}, not a ${schema.type}`];
  if (schema.format === 'date-time' && Number.isNaN(Date.parse(value as string))) return [`${at}: not a date-time`];
  if (Array.isArray(value)) return schema.items ? value.flatMap((item, i) => mismatches(document, item, schema.items!, `${at}[${i}]`)) : [];
  if (type !== 'object') return [];
  const record = value as Record<string, unknown>;
  const properties = schema.properties ?? {};
  return [
    ...(schema.required ?? []).filter((key) => !(key in record)).map((key) => `${at}.${key}: missing`),
    ...Object.entries(record).flatMap(([key, item]) => {
      if (properties[key]) return mismatches(document, item, properties[key], `${at}.${key}`);
      return closed && schema.properties && schema.additionalProperties === undefined ? [`${at}.${key}: not in the schema`] : [];
    }),
  ];
}

/** The codes a route's error answer of `status` may carry: its schema's `code` enum. */
function codesOf(operation: Operation, status: number | string): unknown[] {
  const schema = jsonSchemaOf(operation.responses[String(status)]);
  return schema?.allOf?.[1]?.properties?.code?.enum ?? [];
}

describe('the demo OpenAPI document (Express, every flow on)', () => {
  let app: INestApplication;
  let document: Document;

  beforeAll(async () => {
    process.env.AUTH_SECRET = TEST_SECRET;
    Object.assign(process.env, OIDC_ENV);
    // The demo's flows are chosen from the environment when its module is loaded.
    const { AppModule } = await import('../src/app.module.js');
    const { serveDemoDocs } = await import('../src/demo/configure-app.js');
    app = await createApp(AppModule, 'express', serveDemoDocs);
    document = (await request(app.getHttpServer()).get('/docs-json').expect(200)).body as Document;
  });

  afterAll(async () => {
    delete process.env.AUTH_SECRET;
    for (const name of Object.keys(OIDC_ENV)) delete process.env[name];
    await app.close();
  });

  /** Checks an answer of the app against the operation the document has for it: its status listed, its body as described. */
  function expectDocumented(method: string, path: string, response: Response): void {
    const operation = document.paths[path]?.[method];
    expect({ method, path, status: response.status, documented: operation !== undefined }).toMatchObject({ documented: true });
    const answer = operation!.responses[String(response.status)];
    expect({ method, path, status: response.status, listed: answer !== undefined }).toMatchObject({ listed: true });
    const schema = jsonSchemaOf(answer);
    if (response.status === 302)
      expect({ method, path, location: response.headers.location }).toEqual({ method, path, location: expect.any(String) });
    else if (schema)
      expect({ method, path, status: response.status, mismatches: mismatches(document, response.body, schema) }).toMatchObject({
        mismatches: [],
      });
    else expect({ method, path, status: response.status, body: response.text }).toMatchObject({ body: '' });
  }

  it('is valid OpenAPI 3.0 to a third-party validator (swagger-parser), every $ref resolving', () => {
    const work = mkdtempSync(join(tmpdir(), 'nest-warden-openapi-'));
    try {
      const file = join(work, 'openapi.json');
      writeFileSync(file, JSON.stringify(document));
      // In Node itself, as a user's tool runs it: swagger-parser requires an ES module, which
      // Jest's module loader cannot do before Node 24.9.
      const validator = "import P from '@apidevtools/swagger-parser'; await P.validate(process.argv[1]); console.log('valid');";
      const run = spawnSync(process.execPath, ['--input-type=module', '-e', validator, file], { encoding: 'utf8' });
      expect({ stderr: run.stderr, stdout: run.stdout.trim() }).toEqual({ stderr: '', stdout: 'valid' });
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
    // Every flow's routes are in it: core, sessions, email, second factor, passkeys, OpenID Connect, JWKS.
    const paths = operationsOf(document).map(({ method, path }) => `${method.toUpperCase()} ${path}`);
    expect(paths).toEqual(
      expect.arrayContaining([
        'POST /auth/login',
        'DELETE /auth/sessions/{id}',
        'POST /auth/email/verify',
        'POST /auth/password/reset',
        'DELETE /auth/mfa/totp',
        'POST /auth/passkeys/login/verify',
        'GET /auth/oauth/{provider}/callback',
        'POST /auth/oauth/exchange',
        'GET /.well-known/jwks.json',
      ]),
    );
  });

  it('gives every operation of nest-warden a stable operationId, the auth tag, and a success answer with a schema (none for 202 and 204, Location for a 302)', () => {
    for (const { method, path, operation } of operationsOf(document)) {
      const label = `${method.toUpperCase()} ${path}`;
      expect({ label, operationId: operation.operationId }).toMatchObject({ operationId: expect.stringMatching(/^auth[A-Z]\w+$/) });
      expect({ label, tags: operation.tags }).toMatchObject({ tags: ['auth'] });
      const successes = Object.keys(operation.responses).filter((status) => /^[23]\d\d$/.test(status));
      expect({ label, successes: successes.length > 0 }).toEqual({ label, successes: true });
      for (const status of successes) {
        const response = operation.responses[status]!;
        if (status === '202' || status === '204')
          expect({ label, status, content: response.content }).toEqual({ label, status, content: undefined });
        else if (status === '302')
          expect({ label, status, location: Object.keys(response.headers ?? {}) }).toMatchObject({
            location: expect.arrayContaining(['Location']),
          });
        else expect({ label, status, schema: jsonSchemaOf(response) !== undefined }).toEqual({ label, status, schema: true });
      }
    }
  });

  it('describes every error answer as AuthErrorBody with code an enum of codes of that status, and every guarded route with 401 and its security schemes', () => {
    expect(document.components.schemas.AuthErrorBody).toMatchObject({ required: ['statusCode', 'code', 'message'] });
    expect(resolve(document, document.components.schemas.AuthErrorBody!.properties!.code!.allOf![0]!).enum).toEqual(
      Object.values(AuthErrorCode),
    );
    const schemes = document.components.securitySchemes;
    expect(schemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
    // The demo's cookies are not Secure outside production: the unprefixed names.
    expect(schemes.cookie).toEqual(expect.objectContaining({ type: 'apiKey', in: 'cookie', name: COOKIE_NAMES.access }));
    expect(schemes.csrf).toEqual(expect.objectContaining({ type: 'apiKey', in: 'header', name: CSRF_HEADER }));
    for (const { method, path, operation } of operationsOf(document)) {
      const label = `${method.toUpperCase()} ${path}`;
      const guarded = operation.security !== undefined;
      for (const [status, response] of Object.entries(operation.responses).filter(([key]) => Number(key) >= 400)) {
        const schema = jsonSchemaOf(response);
        expect({ label, status, ref: schema?.allOf?.[0]?.$ref }).toEqual({ label, status, ref: '#/components/schemas/AuthErrorBody' });
        const codes = codesOf(operation, status) as AuthErrorCode[];
        expect({ label, status, codes: codes.length > 0 }).toEqual({ label, status, codes: true });
        for (const code of codes) {
          const rule = AUTH_HTTP_ERRORS[code];
          const expected = (guarded && rule.signedInStatus) || rule.status;
          expect({ label, code, status: Number(status) }).toEqual({ label, code, status: expected });
        }
      }
      if (!guarded) continue;
      expect({ label, unauthorized: codesOf(operation, 401) }).toEqual({ label, unauthorized: expect.arrayContaining(GUARD_CODES) });
      expect({ label, unavailable: codesOf(operation, 503) }).toEqual({
        label,
        unavailable: expect.arrayContaining([AuthErrorCode.STORE_UNAVAILABLE]),
      });
      const changesState = method !== 'get';
      expect({ label, security: operation.security }).toEqual({
        label,
        security: [{ bearer: [] }, changesState ? { cookie: [], csrf: [] } : { cookie: [] }],
      });
      if (changesState)
        expect({ label, forbidden: codesOf(operation, 403) }).toEqual({
          label,
          forbidden: expect.arrayContaining([AuthErrorCode.CSRF_FAILED]),
        });
    }
  });

  it('documents what every route answers a caller without credentials: guarded ones 401 AUTH_TOKEN_MISSING, the others their own answer', async () => {
    const http = request(app.getHttpServer());
    for (const { method, path, operation } of operationsOf(document)) {
      const url = path.replace('{id}', 'AAAAAAAAAAAAAAAAAAAAAA').replace('{provider}', 'oidc');
      let call = http[method as 'get' | 'post' | 'patch' | 'delete'](url);
      if (operation.requestBody) call = call.send({});
      const response = await call;
      const refused = response.status === 401 && response.body.code === AuthErrorCode.TOKEN_MISSING;
      expect({ method, path, refused }).toEqual({ method, path, refused: operation.security !== undefined });
      expectDocumented(method, path, response);
    }
  });

  it('documents what the routes answer a signed-in caller, with the bodies as described (bearer and cookie transports)', async () => {
    const http = request(app.getHttpServer());
    // Each answer: the status this call must get, listed for its operation, the body as described.
    const expectAnswer = (method: string, path: string, response: Response, status: number, code?: AuthErrorCode): void => {
      expect({ method, path, status: response.status, code: response.body?.code }).toEqual({ method, path, status, code });
      expectDocumented(method, path, response);
      if (code)
        expect({ method, path, codes: codesOf(document.paths[path]![method]!, status) }).toEqual({
          method,
          path,
          codes: expect.arrayContaining([code]),
        });
    };
    const username = uniqueUsername('openapi');
    const account = { username, password: PASSWORD };
    expectAnswer('post', '/auth/register', await http.post('/auth/register').send(account), 201);
    expectAnswer('post', '/auth/register', await http.post('/auth/register').send(account), 409, AuthErrorCode.USERNAME_TAKEN);
    const notJson = await http.post('/auth/login').set('Content-Type', 'text/plain').send('hello');
    expectAnswer('post', '/auth/login', notJson, 415, AuthErrorCode.UNSUPPORTED_MEDIA_TYPE);
    const wrong = await http.post('/auth/login').send({ username, password: 'not the password' });
    expectAnswer('post', '/auth/login', wrong, 401, AuthErrorCode.INVALID_CREDENTIALS);
    const login = await http.post('/auth/login').send(account);
    expectAnswer('post', '/auth/login', login, 200);
    const asCaller = { Authorization: `Bearer ${login.body.accessToken as string}` };

    expectAnswer('get', '/auth/me', await http.get('/auth/me').set(asCaller), 200);
    expectAnswer('get', '/auth/sessions', await http.get('/auth/sessions').set(asCaller), 200);
    expectAnswer('get', '/auth/passkeys', await http.get('/auth/passkeys').set(asCaller), 200);
    expectAnswer('get', '/auth/oauth/identities', await http.get('/auth/oauth/identities').set(asCaller), 200);
    expectAnswer('get', '/.well-known/jwks.json', await http.get('/.well-known/jwks.json'), 200);
    expectAnswer('post', '/auth/mfa/totp/setup', await http.post('/auth/mfa/totp/setup').set(asCaller), 200);
    const badCode = await http.post('/auth/mfa/totp/confirm').set(asCaller).send({ code: '000000' });
    expectAnswer('post', '/auth/mfa/totp/confirm', badCode, 403, AuthErrorCode.MFA_CODE_INVALID);
    const off = await http.delete('/auth/mfa/totp').set(asCaller).send({ code: '000000' });
    expectAnswer('delete', '/auth/mfa/totp', off, 409, AuthErrorCode.MFA_NOT_ENABLED);
    expectAnswer('post', '/auth/passkeys/register/options', await http.post('/auth/passkeys/register/options').set(asCaller), 200);
    const unknownSession = await http.delete('/auth/sessions/nope').set(asCaller);
    expectAnswer('delete', '/auth/sessions/{id}', unknownSession, 404, AuthErrorCode.SESSION_NOT_FOUND);
    const unknownIdentity = await http.delete('/auth/oauth/identities/AAAAAAAAAAAAAAAAAAAAAA').set(asCaller);
    expectAnswer('delete', '/auth/oauth/identities/{id}', unknownIdentity, 404, AuthErrorCode.OIDC_IDENTITY_NOT_FOUND);
    const wrongAgain = await http.post('/auth/reauthenticate').set(asCaller).send({ password: 'not the password' });
    expectAnswer('post', '/auth/reauthenticate', wrongAgain, 403, AuthErrorCode.INVALID_CREDENTIALS);
    expectAnswer('post', '/auth/reauthenticate', await http.post('/auth/reauthenticate').set(asCaller).send({ password: PASSWORD }), 200);
    const refreshed = await http.post('/auth/refresh').send({ refreshToken: login.body.refreshToken as string });
    expectAnswer('post', '/auth/refresh', refreshed, 200);
    const badRefresh = await http.post('/auth/refresh').send({ refreshToken: 'not-a-refresh-token' });
    expectAnswer('post', '/auth/refresh', badRefresh, 401, AuthErrorCode.REFRESH_TOKEN_INVALID);
    const badLink = await http.post('/auth/email/verify').send({ token: 'not-a-token' });
    expectAnswer('post', '/auth/email/verify', badLink, 400, AuthErrorCode.VERIFICATION_TOKEN_INVALID);
    const badToken = await http.get('/auth/me').set('Authorization', 'Bearer not.a.token');
    expectAnswer('get', '/auth/me', badToken, 401, AuthErrorCode.TOKEN_INVALID);

    // The cookie transport: the tokens in the cookies the security schemes name, the CSRF header required.
    const byCookie = await http.post('/auth/login').set('X-Auth-Transport', 'cookie').send(account);
    expectAnswer('post', '/auth/login', byCookie, 200);
    expect(byCookie.body.tokenType).toBe('Cookie');
    const cookies = (byCookie.headers['set-cookie'] as unknown as string[]).map((cookie) => cookie.split(';')[0]!);
    const access = cookies.find((cookie) => cookie.startsWith(`${document.components.securitySchemes.cookie!.name}=`));
    expect(access).toBeDefined();
    expectAnswer('get', '/auth/me', await http.get('/auth/me').set('Cookie', access!), 200);
    expectAnswer('post', '/auth/logout', await http.post('/auth/logout').set('Cookie', access!), 403, AuthErrorCode.CSRF_FAILED);
    const csrf = cookies.find((cookie) => cookie.startsWith(`${COOKIE_NAMES.csrf}=`))!.slice(COOKIE_NAMES.csrf.length + 1);
    const loggedOut = await http.post('/auth/logout').set('Cookie', cookies.join('; ')).set(CSRF_HEADER, csrf);
    expectAnswer('post', '/auth/logout', loggedOut, 204);
    expectAnswer('post', '/auth/logout', await http.post('/auth/logout').set(asCaller), 204);
    expectAnswer('get', '/auth/me', await http.get('/auth/me').set(asCaller), 401, AuthErrorCode.SESSION_REVOKED);
  });

  it('generates a TypeScript client with @hey-api/openapi-ts that a program type-checks against: typed bodies, an error union of the codes', async () => {
    const work = mkdtempSync(join(tmpdir(), 'nest-warden-openapi-'));
    try {
      const input = join(work, 'openapi.json');
      writeFileSync(input, JSON.stringify(document));
      await createClient({
        input,
        output: join(work, 'client'),
        plugins: ['@hey-api/typescript', '@hey-api/sdk', '@hey-api/client-fetch'],
        logs: { level: 'silent', file: false },
      });
      const program = join(work, 'program.ts');
      writeFileSync(program, CLIENT_PROGRAM);
      writeFileSync(join(work, 'package.json'), JSON.stringify({ type: 'module' }));
      const checked = ts.createProgram([program], {
        target: ts.ScriptTarget.ES2023,
        lib: ['lib.es2023.d.ts', 'lib.dom.d.ts'],
        module: ts.ModuleKind.NodeNext,
        moduleResolution: ts.ModuleResolutionKind.NodeNext,
        types: [],
        strict: true,
        noUncheckedIndexedAccess: true,
        noUnusedLocals: true,
        noEmit: true,
      });
      const diagnostics = ts.getPreEmitDiagnostics(checked).map((diagnostic) => {
        const where = diagnostic.file
          ? `${diagnostic.file.fileName.slice(work.length + 1)}:${diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start ?? 0).line + 1}: `
          : '';
        return `${where}${ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n')}`;
      });
      expect(diagnostics).toEqual([]);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  }, 60_000);
});

// A program against the generated client: a login whose answer is a union narrowed to the
// tokens, errors whose code is the route's enum (a code the route never answers is refused),
// and the cookie transport's answer. Any diagnostic fails the test, an unused @ts-expect-error too.
const CLIENT_PROGRAM = `
import { authLogin, authMe, authRevokeSession } from './client/sdk.gen.js';
import type { AuthErrorCode, AuthLoginErrors, AuthMeErrors, AuthRevokeSessionErrors, CookieTokenResponse, LoginChallenge, TokenResponse } from './client/types.gen.js';

export async function signIn(username: string, password: string): Promise<string | null> {
  const { data, error } = await authLogin({ body: { username, password } });
  if (error) {
    const code: 'AUTH_VALIDATION_FAILED' | 'AUTH_INVALID_CREDENTIALS' | 'AUTH_EMAIL_NOT_VERIFIED' | 'AUTH_TOO_MANY_ATTEMPTS' | 'AUTH_UNSUPPORTED_MEDIA_TYPE' | 'AUTH_PAYLOAD_TOO_LARGE' | 'AUTH_STORE_UNAVAILABLE' = error.code;
    const any: AuthErrorCode = code;
    void any;
    return null;
  }
  if (data === undefined) return null;
  if ('mfaRequired' in data) {
    const challenge: LoginChallenge = data;
    return challenge.mfaToken;
  }
  if (data.tokenType === 'Cookie') {
    const cookie: CookieTokenResponse = data;
    return String(cookie.expiresIn);
  }
  const tokens: TokenResponse = data;
  const accessToken: string = tokens.accessToken;
  const me = await authMe({ headers: { Authorization: 'Bearer ' + accessToken } });
  return me.data ? me.data.username : null;
}

export const wrongPassword: AuthLoginErrors[401] = { statusCode: 401, code: 'AUTH_INVALID_CREDENTIALS', message: 'Invalid username or password' };
export const expired: AuthMeErrors[401]['code'] = 'AUTH_TOKEN_EXPIRED';
export const notFound: AuthRevokeSessionErrors[404]['code'] = 'AUTH_SESSION_NOT_FOUND';
export const noCsrf: AuthRevokeSessionErrors[403]['code'] = 'AUTH_CSRF_FAILED';

export const neverALoginAnswer: AuthLoginErrors[401] = {
  statusCode: 401,
  // @ts-expect-error a login never answers the guard's AUTH_TOKEN_MISSING
  code: 'AUTH_TOKEN_MISSING',
  message: '',
};
// @ts-expect-error 401 is the token's status, not 404's
export const wrongStatus: AuthRevokeSessionErrors[404] = { statusCode: 401, code: 'AUTH_SESSION_NOT_FOUND', message: '' };
// @ts-expect-error not a code at all
export const unknownCode: AuthErrorCode = 'AUTH_SOMETHING_ELSE';

export async function endSession(id: string): Promise<void> {
  await authRevokeSession({ path: { id } });
  // @ts-expect-error the path parameter is required
  await authRevokeSession({});
}
`;
