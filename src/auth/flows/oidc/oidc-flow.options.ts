import { checkBoolean, checkInteger } from '../../auth.config.js';
import { AuthOptionsError } from '../../auth.errors.js';
import { OneTimeTokenStore } from '../../one-time-tokens/one-time-token.store.js';
import type { FlowPartFactory } from '../email/email-flow.options.js';
import { IdentityStore } from './identity-store.js';

/** One OpenID Provider (Google, Microsoft, your corporate IdP) by its issuer URL. */
export interface OidcProviderOptions {
  /** Its id in this app, in the routes (`/auth/oauth/<id>`): 1 to 64 characters of `a-z 0-9 _ -`. */
  id: string;
  /** The issuer URL; its `/.well-known/openid-configuration` is read at start-up (and retried). */
  issuer: string;
  clientId: string;
  /** The client secret (`client_secret_basic`). */
  clientSecret: string;
  /** Scopes asked for. Default `["openid", "email", "profile"]`; `openid` is always there. */
  scopes?: readonly string[];
  /** Plain-http issuers and endpoints: for a provider on loopback in tests only. Default `false`. */
  allowInsecureRequests?: boolean;
}

/** Options of {@link oidcFlow}. */
export interface OidcFlowOptions {
  providers: readonly OidcProviderOptions[];
  /**
   * The public URL of the module's routes, as the providers reach them
   * (`https://app.example.com/auth`): the redirect URI of provider `p` is `<callbackBaseUrl>/oauth/p/callback`.
   */
  callbackBaseUrl: string;
  /**
   * Where the browser goes after a login: the default `returnTo`, and the allow-list of origins a
   * `?returnTo=` may point at (its first entry is the default). Required.
   */
  returnTo: readonly string[];
  /** Where the browser goes when a login fails: `<errorUrl>?error=<code>`. Default: a 4xx JSON answer. */
  errorUrl?: string;
  /** Where identities are linked to accounts. Default: a new `InMemoryIdentityStore`. */
  identityStore?: IdentityStore | FlowPartFactory<IdentityStore>;
  /** Where the one-time codes of bearer mode wait (60 s). Default: a new `InMemoryOneTimeTokenStore`. */
  exchangeStore?: OneTimeTokenStore | FlowPartFactory<OneTimeTokenStore>;
  /**
   * Link a new identity to the account holding the same address when the provider says it is
   * verified and so is the account's. Default `false`: the user links from a signed-in session.
   */
  linkByVerifiedEmail?: boolean;
  /** How long a login may take at the provider, in seconds. Default 600. */
  stateTtlSeconds?: number;
}

/** A provider after validation. */
export interface OidcProviderConfig {
  readonly id: string;
  readonly issuer: string;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly scopes: readonly string[];
  readonly allowInsecureRequests: boolean;
  readonly redirectUri: string;
}

/** The flow's options after validation and defaults. */
export interface OidcFlowConfig {
  readonly providers: ReadonlyMap<string, OidcProviderConfig>;
  readonly returnTo: readonly string[];
  readonly errorUrl: string | null;
  readonly linkByVerifiedEmail: boolean;
  readonly stateTtlSeconds: number;
  readonly exchangeTtlSeconds: number;
}

/** Injection token of the {@link OidcFlowConfig}. */
export const OIDC_FLOW_CONFIG = Symbol('nest-warden:oidc-flow-config');
/** Injection token of the flow's exchange-code store (a `OneTimeTokenStore` of its own). */
export const OIDC_EXCHANGE_STORE = Symbol('nest-warden:oidc-exchange-store');

/** Validates the options and fills in defaults; throws `AuthOptionsError` naming the first bad one. */
export function resolveOidcFlowConfig(options: OidcFlowOptions): OidcFlowConfig {
  if (typeof options !== 'object' || options === null) throw new AuthOptionsError('oidcFlow', 'must be given options');
  const base = checkUrl('oidcFlow.callbackBaseUrl', options.callbackBaseUrl).replace(/\/+$/, '');
  if (!Array.isArray(options.providers) || options.providers.length === 0) {
    throw new AuthOptionsError('oidcFlow.providers', 'must name at least one provider');
  }
  const providers = new Map<string, OidcProviderConfig>();
  options.providers.forEach((given: OidcProviderOptions, index) => {
    const name = `oidcFlow.providers[${index}]`;
    if (typeof given?.id !== 'string' || !/^[a-z0-9_-]{1,64}$/.test(given.id))
      throw new AuthOptionsError(`${name}.id`, 'must be 1 to 64 characters of a-z, 0-9, _ and -');
    if (providers.has(given.id)) throw new AuthOptionsError(`${name}.id`, `repeats the provider "${given.id}"`);
    const insecure = checkBoolean(`${name}.allowInsecureRequests`, given.allowInsecureRequests ?? false);
    // Plain http only to a provider on this machine (tests): never across a network.
    const issuer = checkUrl(`${name}.issuer`, given.issuer);
    if (typeof given.clientId !== 'string' || given.clientId.length === 0) throw new AuthOptionsError(`${name}.clientId`, 'is required');
    if (typeof given.clientSecret !== 'string' || given.clientSecret.length === 0)
      throw new AuthOptionsError(`${name}.clientSecret`, 'is required');
    const scopes = given.scopes ?? ['openid', 'email', 'profile'];
    if (!Array.isArray(scopes) || scopes.some((scope) => typeof scope !== 'string' || !/^[\x21\x23-\x5b\x5d-\x7e]+$/.test(scope))) {
      throw new AuthOptionsError(`${name}.scopes`, 'must be a list of scope names');
    }
    providers.set(given.id, {
      id: given.id,
      issuer,
      clientId: given.clientId,
      clientSecret: given.clientSecret,
      scopes: Object.freeze([...new Set(['openid', ...scopes])]),
      allowInsecureRequests: insecure,
      redirectUri: `${base}/oauth/${given.id}/callback`,
    });
  });
  if (!Array.isArray(options.returnTo) || options.returnTo.length === 0)
    throw new AuthOptionsError('oidcFlow.returnTo', 'must name at least one URL');
  const returnTo = options.returnTo.map((url, index) => checkUrl(`oidcFlow.returnTo[${index}]`, url));
  checkPart('identityStore', options.identityStore, IdentityStore, 'an IdentityStore');
  checkPart('exchangeStore', options.exchangeStore, OneTimeTokenStore, 'a OneTimeTokenStore');
  return Object.freeze({
    providers,
    returnTo: Object.freeze(returnTo),
    errorUrl: options.errorUrl === undefined ? null : checkUrl('oidcFlow.errorUrl', options.errorUrl),
    linkByVerifiedEmail: checkBoolean('oidcFlow.linkByVerifiedEmail', options.linkByVerifiedEmail ?? false),
    stateTtlSeconds: checkInteger('oidcFlow.stateTtlSeconds', options.stateTtlSeconds ?? 600, 60, 3600),
    exchangeTtlSeconds: 60,
  });
}

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);

// An absolute http(s) URL without credentials or fragment; https unless on loopback (or allowed).
function checkUrl(name: string, value: unknown, insecure = false): string {
  let url: URL;
  try {
    url = new URL(String(value));
  } catch {
    throw new AuthOptionsError(name, 'must be an absolute URL');
  }
  if (typeof value !== 'string' || (url.protocol !== 'https:' && url.protocol !== 'http:') || url.username || url.password || url.hash) {
    throw new AuthOptionsError(name, 'must be an http(s) URL without credentials or fragment');
  }
  if (url.protocol === 'http:' && !insecure && !LOOPBACK.has(url.hostname))
    throw new AuthOptionsError(name, 'must be https (http only on localhost)');
  return value;
}

function checkPart(name: string, value: unknown, type: abstract new (...args: never[]) => unknown, what: string): void {
  if (value === undefined || value instanceof type) return;
  const factory = value as Partial<FlowPartFactory<unknown>> | null;
  if (typeof factory !== 'object' || factory === null || typeof factory.useFactory !== 'function') {
    throw new AuthOptionsError(`oidcFlow.${name}`, `must be ${what}, or { useFactory, inject } making one`);
  }
}

/** Google's OpenID Provider (`https://accounts.google.com`), id `google` unless given. */
export function googleProvider(options: {
  clientId: string;
  clientSecret: string;
  id?: string;
  scopes?: readonly string[];
}): OidcProviderOptions {
  return {
    id: options.id ?? 'google',
    issuer: 'https://accounts.google.com',
    clientId: options.clientId,
    clientSecret: options.clientSecret,
    ...(options.scopes ? { scopes: options.scopes } : {}),
  };
}

/**
 * Microsoft Entra ID for one tenant (`https://login.microsoftonline.com/<tenant>/v2.0`), id
 * `microsoft` unless given. A tenant id or domain, not `common`: an ID token names its own
 * tenant as issuer, which must match the discovered one.
 */
export function microsoftProvider(options: {
  tenant: string;
  clientId: string;
  clientSecret: string;
  id?: string;
  scopes?: readonly string[];
}): OidcProviderOptions {
  if (
    typeof options.tenant !== 'string' ||
    !/^[A-Za-z0-9.-]{1,128}$/.test(options.tenant) ||
    ['common', 'organizations', 'consumers'].includes(options.tenant)
  ) {
    throw new AuthOptionsError('microsoftProvider.tenant', 'must be your tenant id or domain (not common, organizations or consumers)');
  }
  return {
    id: options.id ?? 'microsoft',
    issuer: `https://login.microsoftonline.com/${options.tenant}/v2.0`,
    clientId: options.clientId,
    clientSecret: options.clientSecret,
    ...(options.scopes ? { scopes: options.scopes } : {}),
  };
}
