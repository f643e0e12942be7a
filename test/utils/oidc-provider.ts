import type { JsonWebKey, webcrypto } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { decodeJwt, exportJWK, generateKeyPair, SignJWT } from 'jose';
import Provider from 'oidc-provider';

/** An account at the test provider: what its ID tokens say. */
export interface TestOidcAccount {
  sub: string;
  email?: string;
  email_verified?: boolean;
}

/**
 * A client that authenticates to the token endpoint with `private_key_jwt` (RFC 7523): a client assertion signed
 * with a private key whose public half is in `jwks`.
 */
export interface TestPrivateKeyJwtClient {
  clientId: string;
  /**
   * The client's public keys, no private members: as jose's `exportJWK`, a KeyObject's `export({ format: 'jwk' })`
   * or `crypto.subtle.exportKey('jwk', …)` give them (a `kid` added if the assertions name one).
   */
  jwks: { keys: (JsonWebKey | webcrypto.JsonWebKey)[] };
}

/** How {@link startTestOidcProvider} starts. */
export interface TestOidcProviderOptions {
  /** The `client_secret_basic` client's id: `nest-warden` unless given. */
  clientId?: string;
  port?: number;
  /** A second client, for the same redirect URIs, that authenticates with `private_key_jwt`. */
  privateKeyJwtClient?: TestPrivateKeyJwtClient;
  /**
   * Publish another public key at the JWKS URL, under the signing key's `kid`: the ID tokens are
   * then signed by a key the published set does not hold, as a forged token would be.
   */
  publishRogueJwks?: boolean;
  /**
   * Rewrite the claims of every ID token the token endpoint hands out, re-signed with the
   * provider's own key: a token that verifies, yet names another issuer or audience.
   */
  rewriteIdToken?: (claims: Record<string, unknown>) => Record<string, unknown>;
}

/** A real OpenID Provider (panva's oidc-provider, OpenID-certified) in this process, on a loopback port. */
export interface TestOidcProvider {
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** Adds (or replaces) an account the login form can sign in as. */
  account(account: TestOidcAccount): void;
  /**
   * Drives a browser through the provider from `authorizationUrl`: its login form as `sub`, then
   * its consent form (or `deny` it). Answers where the provider sends the browser back.
   */
  signIn(authorizationUrl: string, sub: string, options?: { deny?: boolean }): Promise<URL>;
  stop(): Promise<void>;
}

/**
 * Starts a provider with one confidential client for `redirectUris` (`client_secret_basic`), and a
 * `private_key_jwt` one if `options.privateKeyJwtClient` says so, signing ID tokens with a key of its own.
 */
export async function startTestOidcProvider(redirectUris: string[], options: TestOidcProviderOptions = {}): Promise<TestOidcProvider> {
  const keyJwtClient = options.privateKeyJwtClient;
  if (keyJwtClient?.jwks.keys.some((key) => key.d !== undefined || key.k !== undefined)) {
    throw new Error('test provider: privateKeyJwtClient.jwks takes public keys only');
  }
  const server: Server = createServer();
  server.listen(options.port ?? 0, '127.0.0.1');
  await once(server, 'listening');
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const jwk = { ...(await exportJWK(privateKey)), kid: 'op-key', use: 'sig', alg: 'RS256' };
  const accounts = new Map<string, TestOidcAccount>();
  const clientId = options.clientId ?? 'nest-warden';
  const clientSecret = 'a-test-client-secret-of-at-least-32-bytes';
  // The private_key_jwt client's keys go by jwks_uri, served below, not inline `jwks`. Under Jest (a vm context),
  // the global structuredClone is the outer realm's: oidc-provider clones each static client's metadata with it,
  // then refuses any `jwks` key whose constructor is not its own realm's Object ("client JSON Web Key Set is
  // invalid"), wherever the JWK came from. A JWKS it fetches it parses itself, with its own realm's JSON.
  const keyJwtJwksPath = keyJwtClient && `/test-client-jwks/${encodeURIComponent(keyJwtClient.clientId)}`;
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: clientId,
        client_secret: clientSecret,
        redirect_uris: redirectUris,
        response_types: ['code'],
        grant_types: ['authorization_code'],
      },
      ...(keyJwtClient
        ? [
            {
              client_id: keyJwtClient.clientId,
              redirect_uris: redirectUris,
              response_types: ['code' as const],
              grant_types: ['authorization_code'],
              token_endpoint_auth_method: 'private_key_jwt' as const,
              jwks_uri: `${issuer}${keyJwtJwksPath}`,
            },
          ]
        : []),
    ],
    // oidc-provider fetches through an SSRF guard (its undici `dispatcher`) that refuses loopback addresses: the
    // client's JWKS, on this server, is fetched without it. (Under Jest the guard is off anyway, with a warning: it
    // looks for undici's global dispatcher under a symbol on globalThis, and Jest copies only named globals in.)
    fetch: (input, init) => {
      const own = new URL(input instanceof Request ? input.url : input).origin === issuer;
      return fetch(input, own ? ({ ...init, dispatcher: undefined } as RequestInit) : init);
    },
    jwks: { keys: [jwk] },
    cookies: { keys: ['a-test-provider-cookie-key'] },
    claims: { openid: ['sub'], email: ['email', 'email_verified'] },
    // The email claims in the ID token too, as Google and Microsoft put them there.
    conformIdTokenClaims: false,
    pkce: { required: () => true },
    features: { devInteractions: { enabled: true } },
    async findAccount(_context, id) {
      const account = accounts.get(id);
      if (!account) return undefined;
      return { accountId: id, claims: async () => ({ ...account }) };
    },
  });
  const handle = provider.callback();
  const rogueJwks = options.publishRogueJwks
    ? JSON.stringify({
        keys: [
          {
            ...(await exportJWK((await generateKeyPair('RS256', { extractable: true })).publicKey)),
            kid: 'op-key',
            use: 'sig',
            alg: 'RS256',
          },
        ],
      })
    : null;
  server.on('request', (incoming, outgoing) => {
    const rewrite = options.rewriteIdToken;
    if (rewrite && incoming.method === 'POST' && incoming.url === '/token') {
      // Koa ends the response in one call, headers not yet sent: the body is swapped there.
      const end = outgoing.end.bind(outgoing) as (body?: unknown) => typeof outgoing;
      outgoing.end = ((body?: unknown) => {
        const text = Buffer.isBuffer(body) ? body.toString('utf8') : typeof body === 'string' ? body : '';
        let answer: { id_token?: string } | null = null;
        try {
          answer = JSON.parse(text) as { id_token?: string };
        } catch {
          return end(body);
        }
        if (typeof answer?.id_token !== 'string') return end(body);
        void new SignJWT(rewrite({ ...decodeJwt(answer.id_token) }))
          .setProtectedHeader({ alg: 'RS256', kid: 'op-key' })
          .sign(privateKey)
          .then((idToken) => {
            const swapped = JSON.stringify({ ...answer, id_token: idToken });
            outgoing.setHeader('content-length', Buffer.byteLength(swapped));
            end(swapped);
          });
        return outgoing;
      }) as typeof outgoing.end;
    }
    if (rogueJwks !== null && incoming.method === 'GET' && incoming.url === '/jwks') {
      outgoing.writeHead(200, { 'content-type': 'application/jwk-set+json' }).end(rogueJwks);
      return;
    }
    if (keyJwtClient && incoming.method === 'GET' && incoming.url === keyJwtJwksPath) {
      outgoing.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(keyJwtClient.jwks));
      return;
    }
    void handle(incoming, outgoing);
  });

  const signIn = async (authorizationUrl: string, sub: string, signInOptions: { deny?: boolean } = {}): Promise<URL> => {
    const jar = new Map<string, string>();
    const go = async (url: URL, init: RequestInit = {}): Promise<Response> => {
      const response = await fetch(url, {
        ...init,
        redirect: 'manual',
        headers: {
          ...(init.headers as Record<string, string> | undefined),
          cookie: [...jar].map(([name, value]) => `${name}=${value}`).join('; '),
        },
      });
      for (const cookie of response.headers.getSetCookie()) {
        const [pair] = cookie.split(';');
        const name = pair!.slice(0, pair!.indexOf('='));
        const value = pair!.slice(pair!.indexOf('=') + 1);
        if (value && !/expires=Thu, 01 Jan 1970/i.test(cookie)) jar.set(name, value);
        else jar.delete(name);
      }
      return response;
    };
    let location = new URL(authorizationUrl);
    for (let hops = 0; location.origin === issuer; hops++) {
      if (hops > 12) throw new Error('test provider: too many redirects');
      const response = await go(location);
      if (response.status >= 300 && response.status < 400) {
        location = new URL(response.headers.get('location')!, issuer);
        continue;
      }
      const html = await response.text();
      if (response.status !== 200) throw new Error(`test provider: ${response.status} at ${location.pathname}: ${html.slice(0, 300)}`);
      const action = /<form[^>]*action="([^"]+)"[^>]*method="post"/i.exec(html)?.[1]?.replace(/&amp;/g, '&');
      if (!action) throw new Error(`test provider: no form at ${location.pathname}`);
      const login = html.includes('name="prompt" value="login"');
      const abort = !login && signInOptions.deny ? /<a[^>]*href="([^"]*abort[^"]*)"/i.exec(html)?.[1]?.replace(/&amp;/g, '&') : undefined;
      const submitted = abort
        ? await go(new URL(abort, issuer))
        : await go(new URL(action, issuer), {
            method: 'POST',
            headers: { 'content-type': 'application/x-www-form-urlencoded' },
            body: new URLSearchParams(login ? { prompt: 'login', login: sub, password: 'any' } : { prompt: 'consent' }).toString(),
          });
      if (submitted.status < 300 || submitted.status >= 400) throw new Error(`test provider: form answered ${submitted.status}`);
      location = new URL(submitted.headers.get('location')!, issuer);
    }
    return location;
  };

  return {
    issuer,
    clientId,
    clientSecret,
    account: (account) => accounts.set(account.sub, account),
    signIn,
    stop: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
