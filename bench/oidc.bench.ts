// OpenID Connect callbacks per second (#20), the provider in-process (panva's oidc-provider on
// a loopback port), one process:
// - the bare library: openid-client's authorizationCodeGrant (the code exchanged at the
//   provider's token endpoint, the ID token validated against its JWKS), what any relying party
//   pays;
// - nest-warden's path, as GET /auth/oauth/:provider/callback runs it: OidcService.callback (the
//   state cookie opened, the same grant, the identity looked up, the account read) and
//   LoginPipeline.loginVerified (the session and its tokens), on the in-memory stores, a second
//   login of a known identity each time.
// The logins at the provider (its forms, for the codes) are made before the timed part. The
// share of nest-warden's own code is 1 - (bare time / nest-warden time) per callback, taken
// within each round, then the median.
import 'reflect-metadata';
import { createHash } from 'node:crypto';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import * as client from 'openid-client';
import { AuditSink, AuthModule, LoginPipeline } from '../src/auth/index.js';
import { OidcService, oidcFlow } from '../src/auth/oidc/index.js';
import { startTestOidcProvider } from '../test/utils/oidc-provider.js';
import { median } from './lib.js';

// A bearer client's own PKCE pair, as a real one would send at the start (the exchange is not timed).
const CLIENT_CHALLENGE = createHash('sha256').update('the-bench-clients-own-verifier-of-43-characters').digest('base64url');

class SilentAudit extends AuditSink {
  emit(): void {}
}

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const CALLBACKS = Number(process.env.BENCH_CALLBACKS ?? 150);
const CALLERS = 10;
const BASE = 'http://127.0.0.1:3000/auth';
const REDIRECT = `${BASE}/oauth/op/callback`;

async function main(): Promise<void> {
  const provider = await startTestOidcProvider([REDIRECT]);
  const sub = 'bench-user';
  provider.account({ sub, email: 'bench@example.test', email_verified: true });

  @Module({
    imports: [
      AuthModule.forRoot({
        secret: 'bench-secret-that-is-at-least-32-bytes!!',
        audit: new SilentAudit(),
        loginThrottle: false,
        flows: [
          oidcFlow({
            providers: [
              {
                id: 'op',
                issuer: provider.issuer,
                clientId: provider.clientId,
                clientSecret: provider.clientSecret,
                allowInsecureRequests: true,
              },
            ],
            callbackBaseUrl: BASE,
            returnTo: ['http://127.0.0.1:3000/'],
          }),
        ],
      }),
    ],
  })
  class BenchModule {}

  const app = await NestFactory.createApplicationContext(BenchModule, { logger: false });
  await app.init();
  const oidc = app.get(OidcService);
  const pipeline = app.get(LoginPipeline);
  const bare = await client.discovery(
    new URL(provider.issuer),
    provider.clientId,
    provider.clientSecret,
    client.ClientSecretBasic(provider.clientSecret),
    // The same checks as nest-warden's discovery: the ID token's signature against the JWKS too.
    {
      execute: [client.allowInsecureRequests, client.enableNonRepudiationChecks],
    },
  );

  // nest-warden's inputs: a login begun through the flow, finished at the provider's forms.
  const wardenInputs = async (count: number) => {
    const inputs: Array<{ query: string; cookie: string }> = [];
    for (let i = 0; i < count; i++) {
      const start = await oidc.start('op', { transport: 'bearer', clientChallenge: CLIENT_CHALLENGE });
      const back = await provider.signIn(start.authorizationUrl, sub);
      inputs.push({ query: back.search, cookie: start.stateCookie });
    }
    return inputs;
  };
  // The bare library's inputs: the same, with openid-client's own state, nonce and PKCE.
  const bareInputs = async (count: number) => {
    const inputs: Array<{ url: URL; verifier: string; state: string; nonce: string }> = [];
    for (let i = 0; i < count; i++) {
      const verifier = client.randomPKCECodeVerifier();
      const state = client.randomState();
      const nonce = client.randomNonce();
      const url = client.buildAuthorizationUrl(bare, {
        redirect_uri: REDIRECT,
        scope: 'openid email profile',
        code_challenge: await client.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
        state,
        nonce,
      });
      inputs.push({ url: await provider.signIn(url.href, sub), verifier, state, nonce });
    }
    return inputs;
  };

  const timed = async (count: number, run: (n: number) => Promise<unknown>): Promise<{ perSecond: number; msEach: number }> => {
    let next = 0;
    const startedAt = performance.now();
    await Promise.all(
      Array.from({ length: CALLERS }, async () => {
        while (next < count) await run(next++);
      }),
    );
    const ms = performance.now() - startedAt;
    return { perSecond: (count * 1000) / ms, msEach: ms / count };
  };

  // The first login makes the account; every timed one finds it.
  const [first] = await wardenInputs(1);
  await oidc.callback('op', first!.query, first!.cookie, {});

  const results = { bare: [] as number[], warden: [] as number[], share: [] as number[] };
  try {
    for (let round = 0; round < ROUNDS; round++) {
      // Each case's codes made just before it runs: the provider's codes live 60 s.
      const b = await bareInputs(CALLBACKS);
      const bareRun = await timed(CALLBACKS, async (n) => {
        const input = b[n]!;
        const tokens = await client.authorizationCodeGrant(bare, input.url, {
          pkceCodeVerifier: input.verifier,
          expectedState: input.state,
          expectedNonce: input.nonce,
          idTokenExpected: true,
        });
        if (tokens.claims()?.sub !== sub) throw new Error('bare: wrong subject');
      });
      const w = await wardenInputs(CALLBACKS);
      const wardenRun = await timed(CALLBACKS, async (n) => {
        const input = w[n]!;
        const outcome = await oidc.callback('op', input.query, input.cookie, {});
        const result = await pipeline.loginVerified(outcome.user, ['fed'], {});
        if (!result.accessToken) throw new Error('nest-warden: no session');
      });
      results.bare.push(bareRun.perSecond);
      results.warden.push(wardenRun.perSecond);
      results.share.push(1 - bareRun.msEach / wardenRun.msEach);
    }
  } finally {
    await app.close();
    await provider.stop();
  }
  const ratios = results.warden.map((rate, r) => rate / results.bare[r]!);
  console.log(
    `\nOpenID Connect callbacks, one process with the provider, ${CALLERS} concurrent callers, ${ROUNDS} rounds of ${CALLBACKS}, medians\n`,
  );
  console.log('| case | callbacks/s | vs bare | rounds, lowest to highest | share of the time in nest-warden |');
  console.log('|---|---:|---:|---:|---:|');
  console.log(
    `| bare openid-client \`authorizationCodeGrant\` (token endpoint, ID token check) | ${Math.round(median(results.bare))} | 1.00x | | |`,
  );
  console.log(
    `| nest-warden: \`OidcService.callback\` + \`loginVerified\`, in-memory stores | ${Math.round(median(results.warden))} | ${median(ratios).toFixed(2)}x | ` +
      `${Math.min(...ratios).toFixed(2)} to ${Math.max(...ratios).toFixed(2)} | ${(median(results.share) * 100).toFixed(0)}% |`,
  );
}

await main();
