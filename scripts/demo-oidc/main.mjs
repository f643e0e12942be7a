// npm run demo:oidc: the demo with "Sign in with ..." a real OpenID Provider on this machine.
// Builds (npm run build), starts panva's oidc-provider (a devDependency) on
// http://127.0.0.1:$DEMO_OIDC_PORT (default 3001) with one client for the demo's callback, then runs
// the demo (dist/main.js) with AUTH_OIDC_* pointing at it. The provider's login form (its
// devInteractions) takes any login name and any password: the account is that name, with the
// verified address <login>@example.test. Ctrl-C stops both.
// The provider's settings follow test/utils/oidc-provider.ts (the browser and e2e tests' provider).
/* global fetch, setTimeout */
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const env = process.env;
const providerPort = Number(env.DEMO_OIDC_PORT || 3001);
const issuer = `http://127.0.0.1:${providerPort}`;
const providerId = env.AUTH_OIDC_ID || 'oidc';
// As src/demo/demo-oidc.ts reads it (demoPublicUrl): where the browser opens the demo, normalised
// the same way, so the redirect URI registered here is the one the demo sends.
const givenUrl = new URL(env.AUTH_PUBLIC_URL || env.APP_URL || `http://localhost:${env.PORT || 3000}`);
const publicUrl = `${givenUrl.origin}${givenUrl.pathname}`.replace(/\/+$/, '');
const callback = `${publicUrl}/auth/oauth/${providerId}/callback`;
// Made anew each run: only this process and the demo it starts know them.
const clientId = 'nest-warden-demo';
const clientSecret = randomBytes(32).toString('base64url');

const build = spawnSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit' });
if (build.status !== 0) process.exit(build.status ?? 1);
// Loaded after the build, so its output comes first.
const { exportJWK, generateKeyPair } = await import('jose');
const { default: Provider } = await import('oidc-provider');

/** The claims of the account a login name signs in as: the name, and its verified address at example.test. */
function accountOf(login) {
  const local =
    login
      .toLowerCase()
      .replace(/[^a-z0-9._+-]+/g, '-')
      .replace(/^[.-]+|[.-]+$/g, '') || 'user';
  return { sub: login, email: `${local}@example.test`, email_verified: true };
}

const { privateKey } = await generateKeyPair('RS256', { extractable: true });
const jwk = { ...(await exportJWK(privateKey)), kid: 'demo-op-key', use: 'sig', alg: 'RS256' };
const provider = new Provider(issuer, {
  clients: [
    {
      client_id: clientId,
      client_secret: clientSecret,
      redirect_uris: [callback],
      response_types: ['code'],
      grant_types: ['authorization_code'],
    },
  ],
  jwks: { keys: [jwk] },
  cookies: { keys: [randomBytes(32).toString('base64url')] },
  claims: { openid: ['sub'], email: ['email', 'email_verified'] },
  // The email claims in the ID token too, as Google and Microsoft put them there.
  conformIdTokenClaims: false,
  pkce: { required: () => true },
  features: { devInteractions: { enabled: true } },
  // Any login name is an account.
  async findAccount(_context, id) {
    return { accountId: id, claims: async () => accountOf(id) };
  },
});

const handle = provider.callback();
const server = createServer((request, response) => {
  void handle(request, response);
});
server.listen(providerPort, '127.0.0.1');
try {
  await once(server, 'listening');
} catch (error) {
  console.error(`demo:oidc: the provider cannot listen on ${issuer} (${error.code ?? error.message}); set DEMO_OIDC_PORT to another port`);
  process.exit(1);
}

const demo = spawn(process.execPath, ['dist/main.js'], {
  cwd: root,
  stdio: 'inherit',
  env: {
    ...env,
    AUTH_OIDC_ISSUER: issuer,
    AUTH_OIDC_ID: providerId,
    AUTH_OIDC_CLIENT_ID: clientId,
    AUTH_OIDC_CLIENT_SECRET: clientSecret,
  },
});

let stopping = false;
async function stop(code) {
  if (stopping) return;
  stopping = true;
  if (demo.exitCode === null && demo.signalCode === null) {
    demo.kill('SIGTERM');
    await once(demo, 'exit');
  }
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  process.exit(code);
}

demo.on('exit', (code, signal) => {
  if (!stopping) {
    if (code !== 0) console.error(`demo:oidc: the demo stopped (${signal ?? `exit code ${code}`}); stopping the provider`);
    void stop(code ?? 1);
  }
});
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => void stop(0));

// Once the demo answers, how to use it.
for (let tries = 0; tries < 300 && !stopping; tries += 1) {
  const up = await fetch(`http://127.0.0.1:${env.PORT || 3000}/health`).then(
    (response) => response.ok,
    () => false,
  );
  if (up) {
    console.log(`
demo:oidc is up.
  The OpenID Provider (oidc-provider, devInteractions): ${issuer} (client "${clientId}", redirect URI ${callback})
  The demo: ${publicUrl}/ (open it at this address: the provider sends the browser back there)

  Click "Sign in with ${env.AUTH_OIDC_NAME || 'OpenID Provider'}", type any login name and any password at the
  provider, then Continue: the first login makes an account (address <login>@example.test,
  verified), the next ones sign in to it. Signed in with a password, "Link" adds the provider to
  that account. Ctrl-C stops both.
`);
    break;
  }
  await new Promise((resolve) => setTimeout(resolve, 200));
  if (tries === 299) {
    console.log(
      `demo:oidc: the demo's /health has not answered 200 in 60 s (a store it needs may be down: see its log above); the provider stays up at ${issuer}`,
    );
  }
}
