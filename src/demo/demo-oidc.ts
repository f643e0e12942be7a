import { DataSource } from 'typeorm';
import type { AuthFlow } from '../auth/index.js';
import { oidcFlow, type OidcFlowOptions } from '../auth/oidc/index.js';
import { RedisIdentityStore, RedisOneTimeTokenStore } from '../auth/redis/index.js';
import { TypeOrmIdentityStore, TypeOrmOneTimeTokenStore } from '../auth/typeorm/index.js';
import { demoRedisUrl, demoStoreKind } from './demo-options.js';

/** The error of `AUTH_OIDC_ISSUER` without the client's credentials. */
export const OIDC_NEEDS_CLIENT =
  'AUTH_OIDC_ISSUER needs AUTH_OIDC_CLIENT_ID and AUTH_OIDC_CLIENT_SECRET (the client registered at the provider)';

// Where plain http is let through to the provider (tests, `npm run demo:oidc`): this machine only.
const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * The address the browser opens the demo at, without a trailing slash: `AUTH_PUBLIC_URL`, else
 * `APP_URL` (the mails' links), else `http://localhost:$PORT` (default port 3000).
 */
export function demoPublicUrl(env: NodeJS.ProcessEnv = process.env): string {
  const given = env.AUTH_PUBLIC_URL || env.APP_URL || `http://localhost:${env.PORT || 3000}`;
  let url: URL;
  try {
    url = new URL(given);
  } catch {
    throw new Error(`AUTH_PUBLIC_URL must be an absolute http(s) URL, not "${given}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`AUTH_PUBLIC_URL must be an http(s) URL, not "${given}"`);
  return `${url.origin}${url.pathname}`.replace(/\/+$/, '');
}

/**
 * The demo's OpenID Connect options from the environment, or `null` (no flow) without
 * `AUTH_OIDC_ISSUER`:
 * - One provider at `AUTH_OIDC_ISSUER`, id `AUTH_OIDC_ID` (default `oidc`), shown as
 *   `AUTH_OIDC_NAME` (default "OpenID Provider"), with the client `AUTH_OIDC_CLIENT_ID` and
 *   `AUTH_OIDC_CLIENT_SECRET` (both required with an issuer). A plain-http issuer is allowed on
 *   loopback only (`npm run demo:oidc`'s provider on 127.0.0.1).
 * - The provider sends the browser back to `<public URL>/auth/oauth/<id>/callback` (see
 *   {@link demoPublicUrl}); logins end on the page at `<public URL>/`, failures there too with
 *   `?error=<code>`.
 * - Links live with the users: in SQL with `AUTH_DATABASE_URL`, else in Redis with
 *   `AUTH_SESSION_STORE=redis`, else in memory; bearer mode's one-time codes where the sessions are.
 */
export function demoOidcFlowOptions(env: NodeJS.ProcessEnv = process.env): OidcFlowOptions | null {
  const issuer = env.AUTH_OIDC_ISSUER;
  if (!issuer) return null;
  const clientId = env.AUTH_OIDC_CLIENT_ID;
  const clientSecret = env.AUTH_OIDC_CLIENT_SECRET;
  if (!clientId || !clientSecret) throw new Error(OIDC_NEEDS_CLIENT);
  const publicUrl = demoPublicUrl(env);
  const options: OidcFlowOptions = {
    providers: [
      {
        id: env.AUTH_OIDC_ID || 'oidc',
        name: env.AUTH_OIDC_NAME || 'OpenID Provider',
        issuer,
        clientId,
        clientSecret,
        ...(insecureLoopback(issuer) ? { allowInsecureRequests: true } : {}),
      },
    ],
    callbackBaseUrl: `${publicUrl}/auth`,
    returnTo: [`${publicUrl}/`],
    errorUrl: `${publicUrl}/`,
  };
  const store = demoStoreKind(env);
  // Factories, so no connection opens before the app starts, and the DataSource is the app's.
  if (env.AUTH_DATABASE_URL) {
    options.identityStore = { inject: [DataSource], useFactory: (dataSource: DataSource) => new TypeOrmIdentityStore({ dataSource }) };
  } else if (store === 'redis') {
    const url = demoRedisUrl(env);
    options.identityStore = { useFactory: () => new RedisIdentityStore({ url }) };
  }
  if (store === 'redis') {
    const url = demoRedisUrl(env);
    options.exchangeStore = { useFactory: () => new RedisOneTimeTokenStore({ url }) };
  } else if (store === 'sql' && env.AUTH_DATABASE_URL) {
    options.exchangeStore = { inject: [DataSource], useFactory: (dataSource: DataSource) => new TypeOrmOneTimeTokenStore({ dataSource }) };
  }
  return options;
}

/** The demo's "Sign in with ..." flow, when `AUTH_OIDC_ISSUER` is set (else none): see {@link demoOidcFlowOptions}. */
export function demoOidcFlows(env: NodeJS.ProcessEnv = process.env): AuthFlow[] {
  const options = demoOidcFlowOptions(env);
  return options ? [oidcFlow(options)] : [];
}

function insecureLoopback(issuer: string): boolean {
  try {
    const url = new URL(issuer);
    return url.protocol === 'http:' && LOOPBACK.has(url.hostname);
  } catch {
    // Not a URL: the flow's own check names it.
    return false;
  }
}
