import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { createHash } from 'node:crypto';
import request from 'supertest';
import { inspect } from 'node:util';
import { AuthError } from '../src/auth/index.js';
import { githubProvider, OidcService } from '../src/auth/oidc/index.js';
import { OidcAppModule, TEST_APP } from './fixtures/oidc/app.module.js';
import { ADAPTERS, createApp } from './utils/app.js';
import { claimsOf, uniqueUsername } from './utils/auth-client.js';
import { startGitHubStandIn, type GitHubStandIn } from './utils/github-stand-in.js';

const REDIRECT = `${TEST_APP.callbackBaseUrl}/oauth/github/callback`;
const VERIFIER = 'the-bearer-clients-own-verifier-of-43-or-more-characters';
const CHALLENGE = createHash('sha256').update(VERIFIER).digest('base64url');

function cookieOf(response: request.Response, name: string): string | undefined {
  const cookies = (response.headers['set-cookie'] as unknown as string[] | undefined) ?? [];
  return cookies
    .find((cookie) => cookie.startsWith(`${name}=`))
    ?.split(';')[0]!
    .slice(name.length + 1);
}

let nextId = 583_231;

describe.each(ADAPTERS)('GitHub sign-in (OAuth 2, no ID token: the user from its API) on %s', (adapter) => {
  let github: GitHubStandIn;
  const apps = new Map<string, INestApplication>();
  const appWith = async (options: { cookies?: boolean; errorUrl?: boolean; clientSecret?: string } = {}): Promise<INestApplication> => {
    const key = JSON.stringify(options);
    let app = apps.get(key);
    if (!app) {
      app = await createApp(
        OidcAppModule.with({
          clock: () => Date.now(),
          providers: [
            githubProvider({
              clientId: github.clientId,
              clientSecret: options.clientSecret ?? github.clientSecret,
              enterpriseUrl: github.url,
              allowInsecureRequests: true,
            }),
          ],
          ...(options.cookies ? { cookies: true } : {}),
          ...(options.errorUrl ? { errorUrl: true } : {}),
        }),
        adapter,
      );
      apps.set(key, app);
    }
    return app;
  };
  const member = (emails: Array<{ email: string; primary: boolean; verified: boolean }>) => {
    const user = { id: nextId++, login: uniqueUsername('octo'), emails };
    github.user(user);
    return user;
  };
  const begin = async (app: INestApplication, query: Record<string, string> = { transport: 'bearer', code_challenge: CHALLENGE }) => {
    const started = await request(app.getHttpServer()).get('/auth/oauth/github').query(query).expect(302);
    return { location: new URL(started.headers.location as string), state: cookieOf(started, 'nw_oidc')! };
  };
  const callback = (app: INestApplication, back: URL, state: string) =>
    request(app.getHttpServer()).get(`/auth/oauth/github/callback${back.search}`).set('Cookie', `nw_oidc=${state}`);
  const login = async (app: INestApplication, githubLogin: string) => {
    const { location, state } = await begin(app);
    const landed = await callback(app, await github.signIn(location.href, githubLogin), state).expect(302);
    const code = new URLSearchParams(new URL(landed.headers.location as string).hash.slice(1)).get('code')!;
    const exchanged = await request(app.getHttpServer()).post('/auth/oauth/exchange').send({ code, codeVerifier: VERIFIER }).expect(200);
    return exchanged.body.accessToken as string;
  };

  beforeAll(async () => {
    github = await startGitHubStandIn([REDIRECT]);
  });

  afterAll(async () => {
    for (const app of apps.values()) await app.close();
    await github.stop();
  });

  it('asks GitHub for read:user and user:email with PKCE, and lists it as "GitHub"', async () => {
    const app = await appWith();
    const { location } = await begin(app);
    expect(location.origin + location.pathname).toBe(`${github.url}/login/oauth/authorize`);
    expect(Object.fromEntries(location.searchParams)).toMatchObject({
      client_id: github.clientId,
      redirect_uri: REDIRECT,
      response_type: 'code',
      scope: 'read:user user:email',
      code_challenge_method: 'S256',
    });
    // Not OpenID Connect: no nonce.
    expect(location.searchParams.has('nonce')).toBe(false);
    expect((await request(app.getHttpServer()).get('/auth/oauth/providers').expect(200)).body).toEqual([{ id: 'github', name: 'GitHub' }]);
  });

  it('makes an account with the primary verified address, and finds it by the numeric id even after a rename', async () => {
    const app = await appWith();
    const user = member([
      { email: `${uniqueUsername('old')}@example.test`, primary: false, verified: true },
      { email: `${uniqueUsername('main')}@example.test`, primary: true, verified: true },
    ]);
    const first = await login(app, user.login);
    const me = await request(app.getHttpServer()).get('/auth/me').set('Authorization', `Bearer ${first}`).expect(200);
    expect(me.body).toMatchObject({ email: user.emails[1]!.email, emailVerified: true });
    expect(me.body.identities).toEqual([expect.objectContaining({ provider: 'github', email: user.emails[1]!.email })]);
    expect(claimsOf(first).amr).toEqual(['fed']);
    // Every API call carried a User-Agent (GitHub refuses those without).
    expect(github.apiRequests.slice(-2)).toEqual([
      { path: '/api/v3/user', userAgent: 'nestjs-warden' },
      { path: '/api/v3/user/emails', userAgent: 'nestjs-warden' },
    ]);
    // A new login name, the same id: the same account.
    const renamed = { ...user, login: uniqueUsername('renamed') };
    github.user(renamed);
    expect(claimsOf(await login(app, renamed.login)).sub).toBe(claimsOf(first).sub);
  });

  it('keeps no address GitHub has not verified', async () => {
    const app = await appWith();
    const user = member([{ email: `${uniqueUsername('unverified')}@example.test`, primary: true, verified: false }]);
    const access = await login(app, user.login);
    const me = await request(app.getHttpServer()).get('/auth/me').set('Authorization', `Bearer ${access}`).expect(200);
    expect(me.body.email ?? null).toBeNull();
    expect(me.body.identities).toEqual([expect.objectContaining({ provider: 'github', email: user.emails[0]!.email })]);
  });

  it('opens the session in cookies in cookie mode', async () => {
    const app = await appWith({ cookies: true });
    const user = member([{ email: `${uniqueUsername('c')}@example.test`, primary: true, verified: true }]);
    const { location, state } = await begin(app, {});
    const landed = await callback(app, await github.signIn(location.href, user.login), state).expect(302);
    expect(landed.headers.location).toBe(TEST_APP.returnTo);
    await request(app.getHttpServer())
      .get('/profile')
      .set('Cookie', `nw_access=${cookieOf(landed, 'nw_access')!}`)
      .expect(200);
  });

  it('refuses a replayed code (GitHub answers bad_verification_code with status 200), a denied consent, and a wrong client secret', async () => {
    const app = await appWith({ errorUrl: true });
    const user = member([{ email: `${uniqueUsername('r')}@example.test`, primary: true, verified: true }]);
    const { location, state } = await begin(app);
    const back = await github.signIn(location.href, user.login);
    await callback(app, back, state).expect(302);
    const replayed = await callback(app, back, state).expect(302);
    expect(replayed.headers.location).toBe(`${TEST_APP.errorUrl}?error=AUTH_OIDC_CALLBACK_FAILED`);
    const denied = await begin(app);
    const deniedBack = await github.signIn(denied.location.href, user.login, { deny: true });
    expect((await callback(app, deniedBack, denied.state).expect(302)).headers.location).toBe(
      `${TEST_APP.errorUrl}?error=AUTH_OIDC_CALLBACK_FAILED`,
    );
    const wrongSecret = await appWith({ clientSecret: 'not-the-client-secret' });
    const started = await begin(wrongSecret);
    const refused = await callback(wrongSecret, await github.signIn(started.location.href, user.login), started.state).expect(400);
    expect(refused.body.code).toBe('AUTH_OIDC_CALLBACK_FAILED');
  });

  it('keeps the token out of the error of a malformed token answer, which a host may log', async () => {
    const app = await appWith();
    const user = member([{ email: `${uniqueUsername('m')}@example.test`, primary: true, verified: true }]);
    const oidc = app.get(OidcService, { strict: false });
    const start = await oidc.start('github', { transport: 'bearer', clientChallenge: CHALLENGE });
    const back = await github.signIn(start.authorizationUrl, user.login);
    github.malformTokenAnswers = true;
    try {
      const failure = await oidc.callback('github', back.search, start.stateCookie, {}).catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(AuthError);
      expect((failure as AuthError).code).toBe('AUTH_OIDC_CALLBACK_FAILED');
      const printed = inspect(failure, { depth: null, showHidden: true });
      expect(printed).toContain('token_type');
      expect(printed).not.toContain(github.issuedTokens.at(-1)!);
    } finally {
      github.malformTokenAnswers = false;
    }
  });
});
