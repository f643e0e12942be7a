import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { GraphqlAppModule, GraphqlCookiesAppModule } from './fixtures/graphql/app.module.js';
import { ADAPTERS, createApp } from './utils/app.js';
import { claimsOf, registerAndLogin, registerAndLoginWithCookies, type CookieJar } from './utils/auth-client.js';

describe.each(ADAPTERS)('GraphQL resolvers behind AuthGuard (Apollo) on %s', (adapter) => {
  let app: INestApplication;
  let http: ReturnType<typeof request>;

  beforeAll(async () => {
    app = await createApp(GraphqlAppModule, adapter);
    http = request(app.getHttpServer());
  });

  afterAll(async () => {
    await app.close();
  });

  const gql = (query: string, token?: string): request.Test => {
    const call = http.post('/graphql').set('Content-Type', 'application/json');
    if (token) call.set('Authorization', `Bearer ${token}`);
    return call.send({ query });
  };

  it('lets @Public() queries through without a token', async () => {
    const response = await gql('{ hello }').expect(200);
    expect(response.body).toEqual({ data: { hello: 'world' } });
  });

  it('refuses a guarded query without a token, with the nest-warden code in the error', async () => {
    const response = await gql('{ me { userId } }');
    expect(response.body.data).toBeNull();
    expect(response.body.errors).toHaveLength(1);
    expect(response.body.errors[0].message).toBe('Authentication required');
    expect(JSON.stringify(response.body.errors[0].extensions)).toContain('AUTH_TOKEN_MISSING');
  });

  it('gives @CurrentUser() to queries and @CurrentUser(field) to mutations', async () => {
    const { accessToken, userId, username } = await registerAndLogin(app);
    const me = await gql('{ me { userId username sessionId } }', accessToken).expect(200);
    expect(me.body.data.me).toEqual({ userId, username, sessionId: claimsOf(accessToken).sid });
    const added = await gql('mutation { addNote(text: "hi") { owner text } }', accessToken).expect(200);
    expect(added.body.data.addNote).toEqual({ owner: userId, text: 'hi' });
  });

  it('refuses an invalid token and a logged-out session', async () => {
    const invalid = await gql('{ me { userId } }', 'abc.def.ghi');
    expect(JSON.stringify(invalid.body.errors)).toContain('AUTH_TOKEN_INVALID');
    const { accessToken } = await registerAndLogin(app);
    await http.post('/auth/logout').set('Authorization', `Bearer ${accessToken}`).expect(204);
    const revoked = await gql('mutation { addNote(text: "x") { owner } }', accessToken);
    expect(revoked.body.data).toBeNull();
    expect(JSON.stringify(revoked.body.errors)).toContain('AUTH_SESSION_REVOKED');
  });
});

describe.each(ADAPTERS)('GraphQL resolvers over the cookie transport (Apollo) on %s', (adapter) => {
  let app: INestApplication;
  let http: ReturnType<typeof request>;

  beforeAll(async () => {
    app = await createApp(GraphqlCookiesAppModule, adapter);
    http = request(app.getHttpServer());
  });

  afterAll(async () => {
    await app.close();
  });

  /** A POST to /graphql with the given cookies and extra headers. */
  const gql = (query: string, headers: Record<string, string> = {}): request.Test => {
    const call = http.post('/graphql').set('Content-Type', 'application/json');
    for (const [name, value] of Object.entries(headers)) call.set(name, value);
    return call.send({ query });
  };
  const cookiesOf = (jar: CookieJar): string => `__Host-nw_access=${jar.access}; __Host-nw_csrf=${jar.csrf}`;
  const codeOf = (response: request.Response): string | undefined => {
    const errors = response.body.errors as { extensions?: unknown }[] | undefined;
    return /"(AUTH_[A-Z_]+)"/.exec(JSON.stringify(errors?.[0]?.extensions))?.[1];
  };

  it('authenticates queries and mutations from the nw_access cookie with the CSRF header, and gives @CurrentUser()', async () => {
    const { jar, userId, username } = await registerAndLoginWithCookies(app);
    const me = await gql('{ me { userId username } }', { Cookie: cookiesOf(jar), 'X-CSRF-Token': jar.csrf }).expect(200);
    expect(me.body).toEqual({ data: { me: { userId, username } } });
    const added = await gql('mutation { addNote(text: "hi") { owner text } }', { Cookie: cookiesOf(jar), 'X-CSRF-Token': jar.csrf }).expect(
      200,
    );
    expect(added.body).toEqual({ data: { addNote: { owner: userId, text: 'hi' } } });
  });

  it.each([
    ['a query', '{ me { userId } }'],
    ['a mutation', 'mutation { addNote(text: "x") { owner } }'],
  ])('refuses %s authenticated by cookie without a matching X-CSRF-Token, or cross-site: AUTH_CSRF_FAILED', async (_label, query) => {
    const { jar } = await registerAndLoginWithCookies(app);
    const refusals: Record<string, string>[] = [
      {},
      { 'X-CSRF-Token': 'x'.repeat(jar.csrf.length) },
      { 'X-CSRF-Token': jar.csrf, 'Sec-Fetch-Site': 'cross-site' },
    ];
    for (const headers of refusals) {
      const refused = await gql(query, { Cookie: cookiesOf(jar), ...headers });
      expect(refused.body.data).toBeNull();
      expect(refused.body.errors).toHaveLength(1);
      expect(codeOf(refused)).toBe('AUTH_CSRF_FAILED');
    }
    // The header must equal the nw_csrf cookie: without that cookie it matches nothing.
    const noCsrfCookie = await gql(query, { Cookie: `__Host-nw_access=${jar.access}`, 'X-CSRF-Token': jar.csrf });
    expect(codeOf(noCsrfCookie)).toBe('AUTH_CSRF_FAILED');
  });

  it('treats a query sent as GET like a REST GET: no CSRF header needed (Apollo refuses mutations over GET)', async () => {
    const { jar, userId } = await registerAndLoginWithCookies(app);
    // Apollo's own CSRF prevention wants a header a cross-site form cannot send on a GET.
    const get = (query: string): request.Test =>
      http.get('/graphql').query({ query }).set('Cookie', `__Host-nw_access=${jar.access}`).set('Apollo-Require-Preflight', 'true');
    const me = await get('{ me { userId } }').expect(200);
    expect(me.body).toEqual({ data: { me: { userId } } });
    const mutation = await get('mutation { addNote(text: "x") { owner } }');
    expect(mutation.status).toBe(405);
    expect(mutation.body.data).toBeUndefined();
  });

  it('lets @Public() operations through with a cookie and no CSRF header', async () => {
    const { jar } = await registerAndLoginWithCookies(app);
    await gql('{ hello }', { Cookie: cookiesOf(jar) }).expect(200, { data: { hello: 'world' } });
  });

  it('needs no CSRF header for a bearer token, which wins over a cookie', async () => {
    const cookieUser = await registerAndLoginWithCookies(app);
    const bearerUser = await registerAndLoginWithCookies(app);
    const added = await gql('mutation { addNote(text: "b") { owner } }', {
      Authorization: `Bearer ${bearerUser.jar.access}`,
      Cookie: cookiesOf(cookieUser.jar),
      'Sec-Fetch-Site': 'cross-site',
    }).expect(200);
    expect(added.body).toEqual({ data: { addNote: { owner: bearerUser.userId } } });
  });

  it('refuses the cookie once the session is logged out: AUTH_SESSION_REVOKED', async () => {
    const { jar } = await registerAndLoginWithCookies(app);
    const headers = { Cookie: cookiesOf(jar), 'X-CSRF-Token': jar.csrf };
    expect((await gql('{ me { userId } }', headers).expect(200)).body.data.me).toBeDefined();
    await http.post('/auth/logout').set(headers).expect(204);
    const revoked = await gql('mutation { addNote(text: "x") { owner } }', headers);
    expect(revoked.body.data).toBeNull();
    expect(codeOf(revoked)).toBe('AUTH_SESSION_REVOKED');
  });

  it('refuses a guarded operation with neither cookie nor header: AUTH_TOKEN_MISSING', async () => {
    expect(codeOf(await gql('{ me { userId } }'))).toBe('AUTH_TOKEN_MISSING');
  });
});
