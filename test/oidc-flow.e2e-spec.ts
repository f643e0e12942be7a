import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { IdentityStore, Totp, UserStore } from '../src/auth/index.js';
import { FakeClock } from '../src/auth/testing/index.js';
import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import { OidcAppModule, TEST_APP, type OidcAppOptions, type OidcAppStores } from './fixtures/oidc/app.module.js';
import { createTestDatabase, startTestSqlServer, type TestSqlServer } from './utils/sql-server.js';
import { ADAPTERS, createApp } from './utils/app.js';
import { claimsOf, uniqueUsername } from './utils/auth-client.js';
import { startTestOidcProvider, type TestOidcAccount, type TestOidcProvider, type TestOidcProviderOptions } from './utils/oidc-provider.js';
import { ProviderTokenVault } from '../src/auth/oidc/index.js';
import { freePort, startTestRedis, type TestRedis } from './utils/redis-server.js';

const REDIRECT = `${TEST_APP.callbackBaseUrl}/oauth/test/callback`;
const ROGUE_REDIRECT = `${TEST_APP.callbackBaseUrl}/oauth/rogue/callback`;
const PASSWORD = 'correct horse battery staple';

/** The value of cookie `name` in a response's Set-Cookie, or undefined. */
function cookieOf(response: request.Response, name: string): string | undefined {
  const cookies = (response.headers['set-cookie'] as unknown as string[] | undefined) ?? [];
  const found = cookies.find((cookie) => cookie.startsWith(`${name}=`));
  return found?.split(';')[0]!.slice(name.length + 1);
}

type StoreKind = 'memory' | 'redis' | 'postgres' | 'mysql';

describe.each<StoreKind>(['memory', 'redis', 'postgres', 'mysql'])('OpenID Connect with %s stores', (kind) => {
  let redis: TestRedis | undefined;
  let sql: TestSqlServer | undefined;
  let database: Awaited<ReturnType<typeof createTestDatabase>> | undefined;
  let stores: OidcAppStores;

  beforeAll(async () => {
    if (kind === 'redis') {
      redis = await startTestRedis();
      stores = { kind: 'redis', url: redis.url, keyPrefix: `nw-oidc-${randomBytes(4).toString('hex')}` };
    } else if (kind === 'postgres' || kind === 'mysql') {
      sql = await startTestSqlServer(kind);
      database = await createTestDatabase(sql);
      stores = { kind: 'sql', url: database.url, type: kind === 'postgres' ? 'postgres' : 'mariadb' };
    } else {
      stores = { kind: 'memory' };
    }
  }, 120_000);

  afterAll(async () => {
    await database?.drop();
    await sql?.stop();
    await redis?.stop();
  });

  describe.each(ADAPTERS)('OpenID Connect login against a real provider on %s', (adapter) => {
    let provider: TestOidcProvider;
    let rogue: TestOidcProvider;
    const clock = new FakeClock(Date.now());
    const apps = new Map<string, INestApplication>();

    // One app per option set, made once: the provider's discovery is read when it starts.
    const appWith = async (options: Partial<OidcAppOptions> = {}): Promise<INestApplication> => {
      const key = JSON.stringify(options);
      let app = apps.get(key);
      if (!app) {
        app = await createApp(
          OidcAppModule.with({
            clock: clock.now,
            providers: [
              { id: 'test', issuer: provider.issuer, clientId: provider.clientId, clientSecret: provider.clientSecret },
              { id: 'rogue', issuer: rogue.issuer, clientId: rogue.clientId, clientSecret: rogue.clientSecret },
            ],
            stores,
            ...options,
          }),
          adapter,
        );
        apps.set(key, app);
      }
      return app;
    };

    beforeAll(async () => {
      provider = await startTestOidcProvider([REDIRECT]);
      rogue = await startTestOidcProvider([ROGUE_REDIRECT]);
    });

    afterAll(async () => {
      for (const app of apps.values()) await app.close();
      await provider.stop();
      await rogue.stop();
    });

    /** The start of a login: the redirect to the provider and the state cookie. */
    // A bearer client's own PKCE pair: the exchange needs the verifier of the challenge it began with.
    const clientVerifier = 'the-bearer-clients-own-verifier-of-43-or-more-characters';
    const clientChallenge = createHash('sha256').update(clientVerifier).digest('base64url');
    const begin = async (app: INestApplication, query: Record<string, string> = {}, providerId = 'test') => {
      const withChallenge = query.transport === 'bearer' ? { code_challenge: clientChallenge, ...query } : query;
      const started = await request(app.getHttpServer()).get(`/auth/oauth/${providerId}`).query(withChallenge).expect(302);
      const location = new URL(started.headers.location as string);
      return { location, state: cookieOf(started, 'nw_oidc')! };
    };
    const callback = (app: INestApplication, back: URL, state: string | undefined, providerId = 'test') => {
      const call = request(app.getHttpServer()).get(`/auth/oauth/${providerId}/callback${back.search}`);
      return state === undefined ? call : call.set('Cookie', `nw_oidc=${state}`);
    };
    /** A whole login as `sub`, in bearer mode: the exchange's tokens. */
    const bearerLogin = async (app: INestApplication, sub: string) => {
      const { location, state } = await begin(app, { transport: 'bearer' });
      const back = await provider.signIn(location.href, sub);
      const landed = await callback(app, back, state).expect(302);
      const target = new URL(landed.headers.location as string);
      const code = new URLSearchParams(target.hash.slice(1)).get('code')!;
      const exchanged = await request(app.getHttpServer())
        .post('/auth/oauth/exchange')
        .send({ code, codeVerifier: clientVerifier })
        .expect(200);
      return { target, code, tokens: exchanged.body as { accessToken: string; refreshToken: string } };
    };

    /**
     * A bearer-mode login at a provider of its own (started with `options`, under id `id`) by an
     * app on these stores: the callback's answer, and the identity it linked (or null).
     */
    const signInAtOwnProvider = async (id: string, options: TestOidcProviderOptions, account: TestOidcAccount) => {
      const own = await startTestOidcProvider([`${TEST_APP.callbackBaseUrl}/oauth/${id}/callback`], options);
      const app = await createApp(
        OidcAppModule.with({
          clock: clock.now,
          providers: [{ id, issuer: own.issuer, clientId: own.clientId, clientSecret: own.clientSecret }],
          stores,
        }),
        adapter,
      );
      try {
        own.account(account);
        const { location, state } = await begin(app, { transport: 'bearer' }, id);
        const answer = await callback(app, await own.signIn(location.href, account.sub), state, id);
        return { answer, linked: await app.get(IdentityStore, { strict: false }).find(id, account.sub) };
      } finally {
        await app.close();
        await own.stop();
      }
    };

    it('sends the browser to the provider with state, nonce and PKCE (S256), the state in a short-lived HttpOnly SameSite=Lax cookie', async () => {
      const app = await appWith();
      const started = await request(app.getHttpServer())
        .get('/auth/oauth/test')
        .query({ transport: 'bearer', code_challenge: clientChallenge })
        .expect(302);
      const location = new URL(started.headers.location as string);
      expect(location.origin).toBe(provider.issuer);
      expect(Object.fromEntries(location.searchParams)).toMatchObject({
        client_id: provider.clientId,
        redirect_uri: REDIRECT,
        response_type: 'code',
        scope: 'openid email profile',
        code_challenge_method: 'S256',
        state: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
        nonce: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
        code_challenge: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
      });
      const raw = (started.headers['set-cookie'] as unknown as string[]).find((cookie) => cookie.startsWith('nw_oidc='))!;
      expect(raw).toMatch(/HttpOnly/);
      expect(raw).toMatch(/SameSite=Lax/);
      expect(raw).toMatch(/Max-Age=600/);
      // The PKCE verifier stays in our cookie: never in the URL.
      const sealed = JSON.parse(Buffer.from(cookieOf(started, 'nw_oidc')!.split('.')[0]!, 'base64url').toString()) as { verifier: string };
      expect(location.href).not.toContain(sealed.verifier);
    });

    it('creates an account at the first login (bearer mode: a one-time code in the fragment, traded once for tokens), and finds it again', async () => {
      const app = await appWith();
      const sub = `alice-${uniqueUsername('s')}`;
      provider.account({ sub, email: `${sub}@example.test`, email_verified: true });
      const first = await bearerLogin(app, sub);
      expect(first.target.origin + first.target.pathname).toBe(TEST_APP.returnTo);
      expect(first.target.search).toBe('');
      const claims = claimsOf(first.tokens.accessToken);
      expect(claims.amr).toEqual(['fed']);
      const me = await request(app.getHttpServer()).get('/auth/me').set('Authorization', `Bearer ${first.tokens.accessToken}`).expect(200);
      expect(me.body).toMatchObject({ userId: claims.sub, email: `${sub}@example.test`, emailVerified: true });
      // The code is single use.
      const replay = await request(app.getHttpServer())
        .post('/auth/oauth/exchange')
        .send({ code: first.code, codeVerifier: clientVerifier })
        .expect(400);
      expect(replay.body.code).toBe('AUTH_OIDC_CODE_INVALID');
      const second = await bearerLogin(app, sub);
      expect(claimsOf(second.tokens.accessToken).sub).toBe(claims.sub);
      const identities = await request(app.getHttpServer())
        .get('/auth/oauth/identities')
        .set('Authorization', `Bearer ${second.tokens.accessToken}`)
        .expect(200);
      expect(identities.body).toEqual([
        {
          id: expect.any(String),
          provider: 'test',
          email: `${sub}@example.test`,
          createdAt: expect.any(String),
          lastUsedAt: expect.any(String),
        },
      ]);
      // GET /auth/me lists them too.
      const again = await request(app.getHttpServer())
        .get('/auth/me')
        .set('Authorization', `Bearer ${second.tokens.accessToken}`)
        .expect(200);
      expect(again.body.identities).toEqual(identities.body);
    });

    it('opens the session in cookies in cookie mode and redirects to an allowed returnTo; the state cookie is cleared', async () => {
      const app = await appWith({ cookies: true });
      const sub = `carol-${uniqueUsername('s')}`;
      provider.account({ sub });
      const { location, state } = await begin(app, { returnTo: `${TEST_APP.returnTo}/settings?tab=1` });
      const back = await provider.signIn(location.href, sub);
      const landed = await callback(app, back, state).expect(302);
      expect(landed.headers.location).toBe(`${TEST_APP.returnTo}/settings?tab=1`);
      const access = cookieOf(landed, 'nw_access')!;
      expect(cookieOf(landed, 'nw_refresh')).toEqual(expect.any(String));
      expect(cookieOf(landed, 'nw_oidc')).toBe('');
      await request(app.getHttpServer()).get('/profile').set('Cookie', `nw_access=${access}`).expect(200);
    });

    it('links a provider from a signed-in session (recent login), logs in through it, and will not unlink the last way in', async () => {
      const app = await appWith();
      const http = () => request(app.getHttpServer());
      const username = uniqueUsername('linker');
      const registered = await http().post('/auth/register').send({ username, password: PASSWORD }).expect(201);
      const access = (await http().post('/auth/login').send({ username, password: PASSWORD }).expect(200)).body.accessToken as string;
      const sub = `ivan-${uniqueUsername('s')}`;
      provider.account({ sub });
      const started = await http().post('/auth/oauth/test/link').set('Authorization', `Bearer ${access}`).expect(200);
      const back = await provider.signIn(started.body.authorizationUrl as string, sub);
      const landed = await callback(app, back, cookieOf(started, 'nw_oidc')).expect(302);
      expect(landed.headers.location).toBe(TEST_APP.returnTo);
      const identities = await http().get('/auth/oauth/identities').set('Authorization', `Bearer ${access}`).expect(200);
      expect(identities.body).toEqual([expect.objectContaining({ provider: 'test' })]);
      const login = await bearerLogin(app, sub);
      expect(claimsOf(login.tokens.accessToken).sub).toBe(registered.body.userId);
      // The account has no verified address to reset a password with: its only link stays.
      const refused = await http()
        .delete(`/auth/oauth/identities/${identities.body[0].id}`)
        .set('Authorization', `Bearer ${access}`)
        .expect(409);
      expect(refused.body.code).toBe('AUTH_OIDC_LAST_LOGIN_METHOD');
      await http().delete('/auth/oauth/identities/xxxxxxxxxxxxxxxxxxxxxx').set('Authorization', `Bearer ${access}`).expect(404);
      // Another account linking the same identity: refused, nothing moves.
      const other = uniqueUsername('other');
      await http().post('/auth/register').send({ username: other, password: PASSWORD }).expect(201);
      const otherAccess = (await http().post('/auth/login').send({ username: other, password: PASSWORD }).expect(200)).body
        .accessToken as string;
      const stolen = await http().post('/auth/oauth/test/link').set('Authorization', `Bearer ${otherAccess}`).expect(200);
      const stolenBack = await provider.signIn(stolen.body.authorizationUrl as string, sub);
      expect((await callback(app, stolenBack, cookieOf(stolen, 'nw_oidc')).expect(409)).body.code).toBe('AUTH_OIDC_IDENTITY_TAKEN');
      expect((await http().get('/auth/oauth/identities').set('Authorization', `Bearer ${otherAccess}`).expect(200)).body).toEqual([]);
      expect(claimsOf((await bearerLogin(app, sub)).tokens.accessToken).sub).toBe(registered.body.userId);
      // Linking needs a signed-in caller.
      await http().post('/auth/oauth/test/link').expect(401);
      // A link begun and left on a shared browser is void once its session is logged out.
      const third = uniqueUsername('left');
      await http().post('/auth/register').send({ username: third, password: PASSWORD }).expect(201);
      const thirdAccess = (await http().post('/auth/login').send({ username: third, password: PASSWORD }).expect(200)).body
        .accessToken as string;
      const left = await http().post('/auth/oauth/test/link').set('Authorization', `Bearer ${thirdAccess}`).expect(200);
      await http().post('/auth/logout').set('Authorization', `Bearer ${thirdAccess}`).expect(204);
      const passerBy = `pat-${uniqueUsername('s')}`;
      provider.account({ sub: passerBy });
      const late = await callback(app, await provider.signIn(left.body.authorizationUrl as string, passerBy), cookieOf(left, 'nw_oidc'));
      expect(late.status).toBe(400);
      expect(late.body.code).toBe('AUTH_OIDC_STATE_INVALID');
      expect(await app.get(IdentityStore, { strict: false }).find('test', passerBy)).toBeNull();
    });

    it('lists the providers a sign-in page shows buttons for', async () => {
      const app = await appWith();
      const listed = await request(app.getHttpServer()).get('/auth/oauth/providers').expect(200);
      expect(listed.body).toEqual([
        { id: 'test', name: 'test' },
        { id: 'rogue', name: 'rogue' },
      ]);
    });

    it("keeps the provider's tokens only when asked, sealed for the account, and hands them to the host to call the provider", async () => {
      const kept = await appWith({ storeProviderTokens: true });
      const sub = `tara-${uniqueUsername('s')}`;
      provider.account({ sub, email: `${sub}@example.test`, email_verified: true });
      const login = await bearerLogin(kept, sub);
      const userId = claimsOf(login.tokens.accessToken).sub as string;
      const tokens = await kept.get(ProviderTokenVault, { strict: false }).providerTokens(userId, 'test');
      expect(tokens).toMatchObject({ accessToken: expect.any(String), tokenType: 'bearer', receivedAt: expect.any(Date) });
      // A real token of the provider: its userinfo endpoint answers for the user.
      const userinfo = await fetch(`${provider.issuer}/me`, { headers: { authorization: `Bearer ${tokens!.accessToken}` } });
      expect(userinfo.status).toBe(200);
      expect(((await userinfo.json()) as { sub: string }).sub).toBe(sub);
      // At rest only sealed: the store never sees the token itself.
      const stored = await kept.get(IdentityStore, { strict: false }).find('test', sub);
      expect(stored?.providerTokens).toMatch(/^v1\./);
      expect(stored!.providerTokens).not.toContain(tokens!.accessToken);
      // After the host refreshed them at the provider, it stores the new ones sealed the same way.
      expect(
        await kept.get(ProviderTokenVault, { strict: false }).updateProviderTokens(userId, 'test', {
          accessToken: 'a-refreshed-access-token',
          refreshToken: 'a-new-refresh-token',
          expiresAt: new Date(clock.now() + 3_600_000),
        }),
      ).toBe(true);
      expect(await kept.get(ProviderTokenVault, { strict: false }).providerTokens(userId, 'test')).toMatchObject({
        accessToken: 'a-refreshed-access-token',
        refreshToken: 'a-new-refresh-token',
      });
      expect((await kept.get(IdentityStore, { strict: false }).find('test', sub))?.providerTokens).not.toContain('a-refreshed');
      // Another account, or a provider it has no link with: nothing.
      expect(await kept.get(ProviderTokenVault, { strict: false }).providerTokens(`${userId}x`, 'test')).toBeNull();
      expect(await kept.get(ProviderTokenVault, { strict: false }).providerTokens(userId, 'rogue')).toBeNull();
      // Without the option, nothing is kept, and a login there clears what an earlier one kept.
      const plain = await appWith();
      await bearerLogin(plain, sub);
      expect((await plain.get(IdentityStore, { strict: false }).find('test', sub))?.providerTokens).toBeNull();
      expect(await plain.get(ProviderTokenVault, { strict: false }).providerTokens(userId, 'test')).toBeNull();
    });

    describe('attacks', () => {
      it('refuses a returnTo on another origin before anything starts (no open redirect)', async () => {
        const app = await appWith();
        for (const returnTo of [
          'https://evil.example/',
          'http://127.0.0.1:3001/app',
          '//evil.example',
          'javascript:alert(1)',
          `${TEST_APP.returnTo}lication`,
          'http://127.0.0.1:3000//evil.example/app',
          `${TEST_APP.returnTo.replace('/app', '/other')}`,
        ]) {
          const refused = await request(app.getHttpServer()).get('/auth/oauth/test').query({ returnTo }).expect(400);
          expect({ returnTo, code: refused.body.code }).toEqual({ returnTo, code: 'AUTH_OIDC_RETURN_TO_INVALID' });
        }
        // With an error page, the navigating browser ends there instead, never at the foreign URL.
        const paged = await appWith({ errorUrl: true });
        const sent = await request(paged.getHttpServer()).get('/auth/oauth/test').query({ returnTo: 'https://evil.example/' }).expect(302);
        expect(sent.headers.location).toBe(`${TEST_APP.errorUrl}?error=AUTH_OIDC_RETURN_TO_INVALID`);
        expect(cookieOf(sent, 'nw_oidc')).toBeUndefined();
      });

      it('refuses a callback without the state cookie, with another login’s state, or a state past its time', async () => {
        const app = await appWith();
        const sub = `dave-${uniqueUsername('s')}`;
        provider.account({ sub });
        const one = await begin(app, { transport: 'bearer' });
        const other = await begin(app, { transport: 'bearer' });
        const back = await provider.signIn(one.location.href, sub);
        expect((await callback(app, back, undefined).expect(400)).body.code).toBe('AUTH_OIDC_STATE_INVALID');
        // Another login's (authentic) cookie: its state and nonce do not match this answer.
        expect((await callback(app, back, other.state).expect(400)).body.code).toBe('AUTH_OIDC_CALLBACK_FAILED');
        // A forged cookie.
        expect((await callback(app, back, `${one.state.split('.')[0]}.forged`).expect(400)).body.code).toBe('AUTH_OIDC_STATE_INVALID');
        clock.advance(601);
        expect((await callback(app, back, one.state).expect(400)).body.code).toBe('AUTH_OIDC_STATE_INVALID');
        clock.advance(-601);
      });

      it("refuses a bearer code in a client that did not begin the login (no login CSRF), and a bearer start without the client's challenge", async () => {
        const app = await appWith();
        const sub = `mallory-${uniqueUsername('s')}`;
        provider.account({ sub });
        // The attacker's own login, its code planted in a victim's client: the victim's client has another verifier.
        const { location, state } = await begin(app, { transport: 'bearer' });
        const back = await provider.signIn(location.href, sub);
        const landed = await callback(app, back, state).expect(302);
        const code = new URLSearchParams(new URL(landed.headers.location as string).hash.slice(1)).get('code')!;
        const victim = await request(app.getHttpServer())
          .post('/auth/oauth/exchange')
          .send({ code, codeVerifier: 'a-victims-client-verifier-that-is-not-the-attackers-one' })
          .expect(400);
        expect(victim.body.code).toBe('AUTH_OIDC_CODE_INVALID');
        // Spent by that try, even for the right verifier.
        await request(app.getHttpServer()).post('/auth/oauth/exchange').send({ code, codeVerifier: clientVerifier }).expect(400);
        const bare = await request(app.getHttpServer()).get('/auth/oauth/test').query({ transport: 'bearer' }).expect(400);
        expect(bare.body.code).toBe('AUTH_VALIDATION_FAILED');
      });

      it('does not open a session of an account with a second factor on (a provider login is one factor)', async () => {
        const app = await appWith({ mfa: true });
        const http = () => request(app.getHttpServer());
        const username = uniqueUsername('mfa');
        await http().post('/auth/register').send({ username, password: PASSWORD }).expect(201);
        const access = (await http().post('/auth/login').send({ username, password: PASSWORD }).expect(200)).body.accessToken as string;
        const sub = `nina-${uniqueUsername('s')}`;
        provider.account({ sub });
        const started = await http().post('/auth/oauth/test/link').set('Authorization', `Bearer ${access}`).expect(200);
        await callback(app, await provider.signIn(started.body.authorizationUrl as string, sub), cookieOf(started, 'nw_oidc')).expect(302);
        const setup = await http().post('/auth/mfa/totp/setup').set('Authorization', `Bearer ${access}`).expect(200);
        await http()
          .post('/auth/mfa/totp/confirm')
          .set('Authorization', `Bearer ${access}`)
          .send({ code: await new Totp().code(setup.body.secret as string, clock.now()) })
          .expect(200);
        const { location, state } = await begin(app, { transport: 'bearer' });
        const refused = await callback(app, await provider.signIn(location.href, sub), state).expect(403);
        expect(refused.body.code).toBe('AUTH_MFA_REQUIRED');
      });

      it('refuses a replayed code: the provider answers it once', async () => {
        const app = await appWith();
        const sub = `erin-${uniqueUsername('s')}`;
        provider.account({ sub });
        const { location, state } = await begin(app, { transport: 'bearer' });
        const back = await provider.signIn(location.href, sub);
        await callback(app, back, state).expect(302);
        expect((await callback(app, back, state).expect(400)).body.code).toBe('AUTH_OIDC_CALLBACK_FAILED');
      });

      it("refuses another provider's answer at this provider's callback (issuer, audience, client)", async () => {
        const app = await appWith();
        const sub = `frank-${uniqueUsername('s')}`;
        rogue.account({ sub });
        // A login begun at the rogue provider, its answer brought to the test provider's callback.
        const { location, state } = await begin(app, { transport: 'bearer' }, 'rogue');
        const back = await rogue.signIn(location.href, sub);
        expect((await callback(app, back, state, 'test').expect(400)).body.code).toBe('AUTH_OIDC_STATE_INVALID');
        const own = await begin(app, { transport: 'bearer' });
        expect((await callback(app, back, own.state, 'test').expect(400)).body.code).toBe('AUTH_OIDC_CALLBACK_FAILED');
      });

      it("refuses an ID token whose signature the provider's published keys do not verify, and makes no account", async () => {
        const sub = `oscar-${uniqueUsername('s')}`;
        const { answer, linked } = await signInAtOwnProvider(
          'forged',
          { publishRogueJwks: true },
          { sub, email: `${sub}@example.test`, email_verified: true },
        );
        expect(answer.status).toBe(400);
        expect(answer.body.code).toBe('AUTH_OIDC_CALLBACK_FAILED');
        expect(linked).toBeNull();
      });

      it("ends on the error page when the host's login step refuses the account after the provider's answer verified, state cleared", async () => {
        const app = await appWith({ errorUrl: true, suspensions: true, cookies: true });
        const http = () => request(app.getHttpServer());
        const username = uniqueUsername('suspended');
        await http().post('/auth/register').send({ username, password: PASSWORD }).expect(201);
        const access = (await http().post('/auth/login').send({ username, password: PASSWORD }).expect(401)).body;
        expect(access.code).toBe('AUTH_INVALID_CREDENTIALS');
        // Link the identity directly in the store (the account cannot sign in to link it).
        const user = await app.get(UserStore, { strict: false }).findByUsername(username);
        const sub = `sam-${uniqueUsername('s')}`;
        provider.account({ sub });
        await app.get(IdentityStore, { strict: false }).create({
          id: randomBytes(16).toString('base64url'),
          userId: user!.id,
          provider: 'test',
          subject: sub,
          email: null,
          emailVerified: false,
          createdAt: clock.now(),
          lastUsedAt: null,
          providerTokens: null,
        });
        // Cookie mode opens the session at the callback: the refusal ends on the error page.
        const { location, state } = await begin(app, { transport: 'cookie' });
        const landed = await callback(app, await provider.signIn(location.href, sub), state).expect(302);
        expect(landed.headers.location).toBe(`${TEST_APP.errorUrl}?error=AUTH_INVALID_CREDENTIALS`);
        expect(cookieOf(landed, 'nw_oidc')).toBe('');
        expect(cookieOf(landed, 'nw_access')).toBeUndefined();
        // Bearer mode opens it at the exchange, an API call: the refusal is its answer.
        const bearer = await begin(app, { transport: 'bearer' });
        const back = await callback(app, await provider.signIn(bearer.location.href, sub), bearer.state).expect(302);
        const code = new URLSearchParams(new URL(back.headers.location as string).hash.slice(1)).get('code')!;
        const refused = await http().post('/auth/oauth/exchange').send({ code, codeVerifier: clientVerifier }).expect(401);
        expect(refused.body.code).toBe('AUTH_INVALID_CREDENTIALS');
      });

      it.each<[string, (claims: Record<string, unknown>) => Record<string, unknown>]>([
        // The control: re-signed but untouched, it signs in (so the refusals below are the claims').
        ['untouched: it signs in', (claims) => claims],
        ['another issuer: refused, no account', (claims) => ({ ...claims, iss: 'https://evil.example' })],
        ['another audience: refused, no account', (claims) => ({ ...claims, aud: 'another-client' })],
        [
          'expired: refused, no account',
          (claims) => ({ ...claims, exp: Math.floor(Date.now() / 1000) - 600, iat: Math.floor(Date.now() / 1000) - 900 }),
        ],
        ['another nonce: refused, no account', (claims) => ({ ...claims, nonce: 'a-nonce-of-another-login' })],
      ])('checks the claims of an ID token the provider itself re-signed, %s', async (name, rewrite) => {
        const { answer, linked } = await signInAtOwnProvider(
          'twisted',
          { rewriteIdToken: rewrite },
          { sub: `tess-${uniqueUsername('s')}` },
        );
        if (name.startsWith('untouched')) {
          expect(answer.status).toBe(302);
          expect(linked).not.toBeNull();
        } else {
          expect({ status: answer.status, code: answer.body.code }).toEqual({ status: 400, code: 'AUTH_OIDC_CALLBACK_FAILED' });
          expect(linked).toBeNull();
        }
      });

      it('ends a denied consent on the error page with its code, and makes no account', async () => {
        const app = await appWith({ errorUrl: true });
        const sub = `gina-${uniqueUsername('s')}`;
        provider.account({ sub });
        const { location, state } = await begin(app, { transport: 'bearer' });
        const back = await provider.signIn(location.href, sub, { deny: true });
        expect(back.searchParams.get('error')).toBe('access_denied');
        const landed = await callback(app, back, state).expect(302);
        expect(landed.headers.location).toBe(`${TEST_APP.errorUrl}?error=AUTH_OIDC_CALLBACK_FAILED`);
      });

      it('does not take over a local account with the same address, unless both are verified and linkByVerifiedEmail is on', async () => {
        const app = await appWith();
        const username = uniqueUsername('local');
        const address = `${username}@example.test`;
        await request(app.getHttpServer()).post('/auth/register').send({ username, password: PASSWORD, email: address }).expect(201);
        const sub = `henry-${uniqueUsername('s')}`;
        provider.account({ sub, email: address, email_verified: true });
        const { location, state } = await begin(app, { transport: 'bearer' });
        const back = await provider.signIn(location.href, sub);
        expect((await callback(app, back, state).expect(409)).body.code).toBe('AUTH_OIDC_ACCOUNT_EXISTS');
        // An address the provider did not verify is no one's: it neither links nor blocks (nor
        // tells that the account exists); the new account does not get it.
        const claimer = `ivy-${uniqueUsername('s')}`;
        provider.account({ sub: claimer, email: address, email_verified: false });
        const claimed = await begin(app, { transport: 'bearer' });
        const made = await callback(app, await provider.signIn(claimed.location.href, claimer), claimed.state).expect(302);
        const madeCode = new URLSearchParams(new URL(made.headers.location as string).hash.slice(1)).get('code')!;
        const madeTokens = await request(app.getHttpServer())
          .post('/auth/oauth/exchange')
          .send({ code: madeCode, codeVerifier: clientVerifier })
          .expect(200);
        const madeMe = await request(app.getHttpServer())
          .get('/auth/me')
          .set('Authorization', `Bearer ${madeTokens.body.accessToken as string}`)
          .expect(200);
        expect(madeMe.body.username).not.toBe(username);
        expect(madeMe.body.email ?? null).toBeNull();
        // linkByVerifiedEmail on, but the local address is not verified: still refused.
        const linking = await appWith({ linkByVerifiedEmail: true });
        const other = uniqueUsername('local');
        await request(linking.getHttpServer())
          .post('/auth/register')
          .send({ username: other, password: PASSWORD, email: `${other}@example.test` })
          .expect(201);
        const otherSub = `hank-${uniqueUsername('s')}`;
        provider.account({ sub: otherSub, email: `${other}@example.test`, email_verified: true });
        const again = await begin(linking, { transport: 'bearer' });
        const backAgain = await provider.signIn(again.location.href, otherSub);
        expect((await callback(linking, backAgain, again.state).expect(409)).body.code).toBe('AUTH_OIDC_ACCOUNT_EXISTS');
      });

      it('refuses bad input with a 4xx, never a 500', async () => {
        const app = await appWith();
        expect((await request(app.getHttpServer()).get('/auth/oauth/nope').expect(404)).body.code).toBe('AUTH_OIDC_PROVIDER_UNKNOWN');
        expect(
          (await request(app.getHttpServer()).get('/auth/oauth/test').query({ transport: 'carrier-pigeon' }).expect(400)).body.code,
        ).toBe('AUTH_VALIDATION_FAILED');
        const { state } = await begin(app, { transport: 'bearer' });
        for (const search of ['', '?code=x', '?state=y', '?code=a&state=b&iss=c', '?error=server_error']) {
          const answer = await callback(app, new URL(`${REDIRECT}${search}`), state);
          expect({ search, status: answer.status }).toEqual({ search, status: 400 });
        }
        for (const body of [
          {},
          { code: 5 },
          { code: 'x'.repeat(43) },
          { code: 'x'.repeat(43), codeVerifier: clientVerifier },
          { code: 'x'.repeat(65) },
        ]) {
          const answer = await request(app.getHttpServer()).post('/auth/oauth/exchange').send(body);
          expect({ body, status: answer.status }).toEqual({ body, status: 400 });
        }
      });
    });
  });
});

describe('a provider that is down when the app starts', () => {
  it('never stops the app: 503 while it is down, then the login works once it is up', async () => {
    const port = await freePort();
    const issuer = `http://127.0.0.1:${port}`;
    const app = await createApp(
      OidcAppModule.with({
        clock: () => Date.now(),
        providers: [{ id: 'test', issuer, clientId: 'nest-warden', clientSecret: 'a-test-client-secret-of-at-least-32-bytes' }],
      }),
      'express',
    );
    let provider: TestOidcProvider | undefined;
    try {
      // The app is up, and its own routes answer.
      await request(app.getHttpServer())
        .post('/auth/register')
        .send({ username: uniqueUsername('up'), password: PASSWORD })
        .expect(201);
      const down = await request(app.getHttpServer()).get('/auth/oauth/test').expect(503);
      expect(down.body.code).toBe('AUTH_OIDC_PROVIDER_UNAVAILABLE');
      provider = await startTestOidcProvider([REDIRECT], { port });
      const sub = `late-${uniqueUsername('s')}`;
      provider.account({ sub });
      const started = await request(app.getHttpServer())
        .get('/auth/oauth/test')
        .query({ transport: 'bearer', code_challenge: createHash('sha256').update('v'.repeat(43)).digest('base64url') })
        .expect(302);
      const back = await provider.signIn(started.headers.location as string, sub);
      await request(app.getHttpServer())
        .get(`/auth/oauth/test/callback${back.search}`)
        .set('Cookie', `nw_oidc=${cookieOf(started, 'nw_oidc')}`)
        .expect(302);
    } finally {
      await app.close();
      await provider?.stop();
    }
  });
});

describe.each(ADAPTERS)('a client that authenticates with private_key_jwt (RFC 7523) on %s', (adapter) => {
  const KEYED_REDIRECT = `${TEST_APP.callbackBaseUrl}/oauth/keyed/callback`;
  const keys = {
    ES256: generateKeyPairSync('ec', { namedCurve: 'P-256' }),
    EdDSA: generateKeyPairSync('ed25519'),
    RS256: generateKeyPairSync('rsa', { modulusLength: 2048 }),
  };
  let provider: TestOidcProvider;

  beforeAll(async () => {
    provider = await startTestOidcProvider([KEYED_REDIRECT], {
      privateKeyJwtClient: {
        clientId: 'nest-warden-keyed',
        jwks: { keys: Object.entries(keys).map(([kid, pair]) => ({ ...pair.publicKey.export({ format: 'jwk' }), kid, use: 'sig' })) },
      },
    });
  });

  afterAll(async () => {
    await provider.stop();
  });

  const loginWith = async (privateKey: string, kid: string) => {
    const app = await createApp(
      OidcAppModule.with({
        clock: () => Date.now(),
        providers: [{ id: 'keyed', issuer: provider.issuer, clientId: 'nest-warden-keyed', privateKeyJwt: { privateKey, kid } }],
      }),
      adapter,
    );
    try {
      const sub = `kim-${uniqueUsername('s')}`;
      provider.account({ sub });
      const verifier = 'v'.repeat(43);
      const started = await request(app.getHttpServer())
        .get('/auth/oauth/keyed')
        .query({ transport: 'bearer', code_challenge: createHash('sha256').update(verifier).digest('base64url') })
        .expect(302);
      const back = await provider.signIn(started.headers.location as string, sub);
      return await request(app.getHttpServer())
        .get(`/auth/oauth/keyed/callback${back.search}`)
        .set('Cookie', `nw_oidc=${cookieOf(started, 'nw_oidc')}`);
    } finally {
      await app.close();
    }
  };

  it.each(Object.keys(keys) as Array<keyof typeof keys>)('signs in with a %s client assertion, no secret shared', async (alg) => {
    const pem = keys[alg].privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
    const landed = await loginWith(pem, alg);
    expect(landed.status).toBe(302);
    expect(new URL(landed.headers.location as string).hash).toMatch(/^#code=/);
  });

  it('is refused by the provider when the assertion is signed by a key it does not hold', async () => {
    const rogue = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
    const refused = await loginWith(rogue, 'ES256');
    expect(refused.status).toBe(400);
    expect(refused.body.code).toBe('AUTH_OIDC_CALLBACK_FAILED');
  });
});
