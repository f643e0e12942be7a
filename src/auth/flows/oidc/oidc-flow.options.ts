import { createPrivateKey, type KeyObject } from 'node:crypto';
import { checkBoolean, checkInteger } from '../../auth.config.js';
import { AuthOptionsError } from '../../auth.errors.js';
import { OneTimeTokenStore } from '../../one-time-tokens/one-time-token.store.js';
import type { FlowPartFactory } from '../email/email-flow.options.js';
import { secretBoxKeys, type SecretBoxKey } from '../mfa/secret-box.js';
import { IdentityStore } from './identity-store.js';

/**
 * One provider: an OpenID Provider (Google, Microsoft, your corporate IdP) by its issuer URL, or
 * a plain OAuth 2 server (GitHub) with `oauth2` endpoints and a profile read from its API.
 */
export interface OidcProviderOptions {
  /** Its id in this app, in the routes (`/auth/oauth/<id>`): 1 to 64 characters of `a-z 0-9 _ -`. */
  id: string;
  /** What a sign-in button calls it (`GET /auth/oauth/providers`): at most 64 characters. Default: the id. */
  name?: string;
  /**
   * The issuer URL. For OpenID Connect, its `/.well-known/openid-configuration` is read at
   * start-up (and retried). With `oauth2`, the server's issuer identifier: compared with the
   * `iss` of its answers when it sends one (RFC 9207), and the audience of `private_key_jwt`
   * assertions.
   */
  issuer: string;
  clientId: string;
  /** The client secret (`client_secret_basic`; `client_secret_post` for `oauth2` servers). Either this or `privateKeyJwt`. */
  clientSecret?: string;
  /**
   * `private_key_jwt` (RFC 7523) instead of a secret: the client signs a short-lived assertion
   * with this private key (PKCS#8 PEM or a `KeyObject`: RSA for RS256, P-256 for ES256, Ed25519
   * for EdDSA); the provider holds the public key (registered, or at your JWKS URL) under `kid`.
   */
  privateKeyJwt?: { privateKey: string | KeyObject; kid?: string };
  /** Scopes asked for. Default `["openid", "email", "profile"]` (OIDC, where `openid` is always there). */
  scopes?: readonly string[];
  /** Plain-http issuers and endpoints: for a provider on loopback in tests only. Default `false`. */
  allowInsecureRequests?: boolean;
  /** A plain OAuth 2 server, which gives no ID token: its endpoints, and who the user is from its API. */
  oauth2?: OAuth2ServerOptions;
}

/**
 * A plain OAuth 2 server (authorization code with PKCE): no discovery, no ID token. With no nonce,
 * PKCE is what binds a code to the login that asked for it: the server must enforce S256 (GitHub
 * does); do not configure one that ignores `code_challenge`.
 */
export interface OAuth2ServerOptions {
  authorizationEndpoint: string;
  tokenEndpoint: string;
  /**
   * Who signed in: reads the provider's API with the access token (`api.get(url)` answers the
   * parsed JSON, throwing on a non-2xx) and answers the user's stable subject (an id, never a
   * name that can change) and address. Runs before anything is stored.
   */
  profile(api: ProviderApi): Promise<ProviderProfile>;
}

/** The provider's API, with the access token of the login being settled. */
export interface ProviderApi {
  /** `GET url` with the access token: the parsed JSON body; throws on a non-2xx answer. */
  get(url: string): Promise<unknown>;
}

/** Who signed in at an OAuth 2 provider. */
export interface ProviderProfile {
  /** The provider's stable id for the user: 1 to 255 characters. */
  subject: string;
  email: string | null;
  /** Whether the provider has verified that address. */
  emailVerified: boolean;
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
  /**
   * Keep the provider's access and refresh tokens of each login, to call its API for the user
   * (`ProviderTokenVault.providerTokens(userId, provider)`), sealed with AES-256-GCM under this key (at
   * least 32 bytes; a list, new key first, to rotate), bound to the account and identity. Default:
   * not kept.
   */
  storeProviderTokens?: { encryptionKey: string | Buffer | ReadonlyArray<string | Buffer> };
}

/** A provider after validation. */
export interface OidcProviderConfig {
  readonly id: string;
  readonly name: string;
  readonly issuer: string;
  readonly clientId: string;
  readonly clientSecret: string | null;
  readonly privateKeyJwt: { readonly privateKey: KeyObject; readonly kid: string | null } | null;
  readonly oauth2: OAuth2ServerOptions | null;
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
  /** The keys sealing the providers' tokens, or `null`: not kept. */
  readonly providerTokenKeys: readonly SecretBoxKey[] | null;
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
    if (RESERVED_IDS.has(given.id)) throw new AuthOptionsError(`${name}.id`, `"${given.id}" is a route of the flow`);
    if (providers.has(given.id)) throw new AuthOptionsError(`${name}.id`, `repeats the provider "${given.id}"`);
    const display = given.name ?? given.id;
    if (
      typeof display !== 'string' ||
      display.trim().length === 0 ||
      display.length > 64 ||
      [...display].some((char) => char < ' ' || char === '\x7f')
    )
      throw new AuthOptionsError(`${name}.name`, 'must be 1 to 64 printable characters');
    const insecure = checkBoolean(`${name}.allowInsecureRequests`, given.allowInsecureRequests ?? false);
    // Plain http only to a provider on this machine (tests): never across a network.
    const issuer = checkUrl(`${name}.issuer`, given.issuer);
    if (typeof given.clientId !== 'string' || given.clientId.length === 0) throw new AuthOptionsError(`${name}.clientId`, 'is required');
    const secret = given.clientSecret;
    if (secret !== undefined && (typeof secret !== 'string' || secret.length === 0))
      throw new AuthOptionsError(`${name}.clientSecret`, 'must be a non-empty string');
    if ((secret === undefined) === (given.privateKeyJwt === undefined))
      throw new AuthOptionsError(`${name}.clientSecret`, 'give either clientSecret or privateKeyJwt');
    const privateKeyJwt = given.privateKeyJwt === undefined ? null : checkPrivateKeyJwt(`${name}.privateKeyJwt`, given.privateKeyJwt);
    const oauth2 = given.oauth2 === undefined ? null : checkOAuth2(`${name}.oauth2`, given.oauth2);
    const scopes = given.scopes ?? (oauth2 ? [] : ['openid', 'email', 'profile']);
    if (!Array.isArray(scopes) || scopes.some((scope) => typeof scope !== 'string' || !/^[\x21\x23-\x5b\x5d-\x7e]+$/.test(scope))) {
      throw new AuthOptionsError(`${name}.scopes`, 'must be a list of scope names');
    }
    providers.set(given.id, {
      id: given.id,
      name: display,
      issuer,
      clientId: given.clientId,
      clientSecret: secret ?? null,
      privateKeyJwt,
      oauth2,
      // OpenID Connect always asks for `openid`; an OAuth 2 server gets what it was told.
      scopes: Object.freeze([...new Set(oauth2 ? scopes : ['openid', ...scopes])]),
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
    providerTokenKeys: providerTokenKeys(options.storeProviderTokens),
  });
}

// Routes of the flow's own under /auth/oauth/.
const RESERVED_IDS = new Set(['providers', 'identities', 'exchange']);

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

function providerTokenKeys(given: unknown): readonly SecretBoxKey[] | null {
  if (given === undefined) return null;
  if (typeof given !== 'object' || given === null)
    throw new AuthOptionsError('oidcFlow.storeProviderTokens', 'must be { encryptionKey } (at least 32 bytes)');
  return Object.freeze(secretBoxKeys('oidcFlow.storeProviderTokens.encryptionKey', (given as { encryptionKey?: unknown }).encryptionKey));
}

function checkPrivateKeyJwt(name: string, given: unknown): { privateKey: KeyObject; kid: string | null } {
  const { privateKey, kid } = (given ?? {}) as { privateKey?: unknown; kid?: unknown };
  let key: KeyObject;
  try {
    key = typeof privateKey === 'string' ? createPrivateKey(privateKey) : (privateKey as KeyObject);
  } catch {
    throw new AuthOptionsError(`${name}.privateKey`, 'must be a PKCS#8 PEM private key');
  }
  if (typeof key !== 'object' || key === null || (key as { type?: unknown }).type !== 'private') {
    throw new AuthOptionsError(`${name}.privateKey`, 'must be a private key (PEM or KeyObject)');
  }
  const type = key.asymmetricKeyType;
  const curve = key.asymmetricKeyDetails?.namedCurve;
  if (type === 'rsa' && (key.asymmetricKeyDetails?.modulusLength ?? 0) < 2048)
    throw new AuthOptionsError(`${name}.privateKey`, 'an RSA key must have at least 2048 bits');
  if (!(type === 'rsa' || type === 'ed25519' || (type === 'ec' && curve === 'prime256v1'))) {
    throw new AuthOptionsError(`${name}.privateKey`, 'must be an RSA, P-256 or Ed25519 key (RS256, ES256, EdDSA)');
  }
  if (kid !== undefined && (typeof kid !== 'string' || kid.length === 0 || kid.length > 256))
    throw new AuthOptionsError(`${name}.kid`, 'must be 1 to 256 characters');
  return Object.freeze({ privateKey: key, kid: (kid as string | undefined) ?? null });
}

function checkOAuth2(name: string, given: unknown): OAuth2ServerOptions {
  const server = given as Partial<OAuth2ServerOptions> | null;
  if (typeof server !== 'object' || server === null) throw new AuthOptionsError(name, 'must be an object');
  if (typeof server.profile !== 'function') throw new AuthOptionsError(`${name}.profile`, 'must be a function reading who signed in');
  return Object.freeze({
    authorizationEndpoint: checkUrl(`${name}.authorizationEndpoint`, server.authorizationEndpoint),
    tokenEndpoint: checkUrl(`${name}.tokenEndpoint`, server.tokenEndpoint),
    profile: server.profile.bind(server),
  });
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
    name: 'Google',
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
    name: 'Microsoft',
    issuer: `https://login.microsoftonline.com/${options.tenant}/v2.0`,
    clientId: options.clientId,
    clientSecret: options.clientSecret,
    ...(options.scopes ? { scopes: options.scopes } : {}),
  };
}

/**
 * GitHub (OAuth 2: it gives no ID token), id `github` unless given: the user is read from its
 * API (`/user` for the numeric id, the subject; `/user/emails` for the primary address and
 * whether GitHub verified it). `enterpriseUrl` for GitHub Enterprise Server
 * (`https://github.example.com`, API under `/api/v3`).
 */
export function githubProvider(options: {
  clientId: string;
  clientSecret: string;
  id?: string;
  /** Default `["read:user", "user:email"]`; without `user:email` (or `user`) no address is read. */
  scopes?: readonly string[];
  enterpriseUrl?: string;
  /** Plain http to an Enterprise Server on loopback (tests only). Default `false`. */
  allowInsecureRequests?: boolean;
}): OidcProviderOptions {
  const web = (options.enterpriseUrl ?? 'https://github.com').replace(/\/+$/, '');
  const api = options.enterpriseUrl === undefined ? 'https://api.github.com' : `${web}/api/v3`;
  const scopes = options.scopes ?? ['read:user', 'user:email'];
  const readsEmail = scopes.includes('user:email') || scopes.includes('user');
  return {
    id: options.id ?? 'github',
    name: 'GitHub',
    issuer: web,
    clientId: options.clientId,
    clientSecret: options.clientSecret,
    scopes,
    ...(options.allowInsecureRequests === undefined ? {} : { allowInsecureRequests: options.allowInsecureRequests }),
    oauth2: {
      authorizationEndpoint: `${web}/login/oauth/authorize`,
      tokenEndpoint: `${web}/login/oauth/access_token`,
      profile: (client) => githubProfile(client, api, readsEmail),
    },
  };
}

async function githubProfile(client: ProviderApi, api: string, readsEmail: boolean): Promise<ProviderProfile> {
  const user = (await client.get(`${api}/user`)) as { id?: unknown } | null;
  // The numeric id: a login name can be changed and then taken by someone else.
  if (typeof user?.id !== 'number' || !Number.isSafeInteger(user.id)) throw new Error('GitHub: /user answered no numeric id');
  if (!readsEmail) return { subject: String(user.id), email: null, emailVerified: false };
  const emails = (await client.get(`${api}/user/emails`)) as unknown;
  const primary = Array.isArray(emails)
    ? (emails as Array<{ email?: unknown; primary?: unknown; verified?: unknown } | null>).find(
        (entry) => entry?.primary === true && typeof entry.email === 'string',
      )
    : undefined;
  return {
    subject: String(user.id),
    email: (primary?.email as string | undefined) ?? null,
    emailVerified: primary?.verified === true,
  };
}
