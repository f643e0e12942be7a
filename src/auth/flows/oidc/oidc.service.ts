import { createHash, randomBytes } from 'node:crypto';
import { Inject, Injectable, Optional } from '@nestjs/common';
import * as client from 'openid-client';
import { AuditTrail } from '../../audit/audit-trail.js';
import type { AuthConfig } from '../../auth.config.js';
import { AUTH_CONFIG } from '../../auth.constants.js';
import { AuthError, AuthErrorCode } from '../../auth.errors.js';
import type { RequestMeta } from '../../interfaces/request-meta.interface.js';
import { OneTimeTokenStore } from '../../one-time-tokens/one-time-token.store.js';
import { PasswordService } from '../../passwords/password.service.js';
import { UserStore, type UserRecord } from '../../users/user-store.js';
import { isEmailAddress } from '../../dto/credentials.dto.js';
import { SecondFactor } from '../../login/second-factor.js';
import { SessionService } from '../../sessions/session.service.js';
import { isWellFormedText } from '../../passwords/credential-policy.js';
import { ProfileField } from '../auth-flow.js';
import { IdentityStore, type IdentityView, type LinkedIdentity } from './identity-store.js';
import { OidcClients } from './oidc-clients.js';
import { OIDC_EXCHANGE_STORE, OIDC_FLOW_CONFIG, type OidcFlowConfig, type ProviderApi } from './oidc-flow.options.js';
import { OidcStateCookies } from './oidc-state.js';
import { ProviderTokenVault } from './provider-token-vault.js';

export type { IdentityView } from './identity-store.js';

/** The `amr` of a session opened by a provider: nest-warden's own value, "federated" (RFC 8176 has none for it). */
export const OIDC_AMR: readonly string[] = Object.freeze(['fed']);

/** What the start of a login answers: where to send the browser, and the state cookie to set. */
export interface OidcStart {
  authorizationUrl: string;
  stateCookie: string;
  maxAgeSeconds: number;
}

/** What a callback settled: the account, and where the browser goes with which transport. */
export interface OidcOutcome {
  user: UserRecord;
  returnTo: string;
  transport: 'cookie' | 'bearer';
  /** A link from a signed-in session: no new session is opened. */
  linked: boolean;
  /** Bearer mode: the client's S256 challenge the exchange code is bound to. */
  clientChallenge: string | null;
}

type Use = { email: string | null; emailVerified: boolean; usedAt: number; grant: client.TokenEndpointResponse };
type IdentityUse = { email: string | null; emailVerified: boolean; usedAt: number; providerTokens: string | null };

const EXCHANGE = 'oidc-exchange';

/**
 * OpenID Connect login on openid-client: the authorization request (state, nonce, PKCE S256, in
 * a signed cookie), the callback (state checked, the code exchanged, the ID token validated by
 * openid-client: issuer, audience, nonce, signature from the provider's JWKS, expiry), and the
 * account it belongs to: a linked identity's, a new one, or (with `linkByVerifiedEmail`) the
 * verified local account with the provider's verified address.
 */
@Injectable()
export class OidcService {
  private readonly states: OidcStateCookies;

  constructor(
    @Inject(OIDC_FLOW_CONFIG) private readonly config: OidcFlowConfig,
    @Inject(AUTH_CONFIG) private readonly authConfig: AuthConfig,
    @Inject(OIDC_EXCHANGE_STORE) private readonly exchanges: OneTimeTokenStore,
    private readonly clients: OidcClients,
    private readonly identities: IdentityStore,
    private readonly users: UserStore,
    private readonly passwords: PasswordService,
    private readonly audit: AuditTrail,
    private readonly sessions: SessionService,
    private readonly vault: ProviderTokenVault,
    @Optional() private readonly secondFactor?: SecondFactor,
  ) {
    this.states = new OidcStateCookies(authConfig.keys);
  }

  /** The authorization URL of `providerId` and the state cookie that goes with it. */
  async start(
    providerId: string,
    options: {
      returnTo?: unknown;
      transport: 'cookie' | 'bearer';
      link?: { userId: string; sessionId: string };
      clientChallenge?: unknown;
    },
  ): Promise<OidcStart> {
    const returnTo = this.returnTo(options.returnTo);
    const { provider, configuration } = await this.clients.of(providerId);
    // Bearer mode hands the session over by a code in a URL: only to the client that began the
    // login, which proves it with the verifier of this challenge (PKCE between app and client),
    // so a code an attacker made for their own account cannot be planted in a victim's client.
    const clientChallenge = options.transport === 'bearer' ? options.clientChallenge : null;
    if (clientChallenge !== null && (typeof clientChallenge !== 'string' || !/^[A-Za-z0-9_-]{43}$/.test(clientChallenge))) {
      throw new AuthError(
        AuthErrorCode.VALIDATION_FAILED,
        'bearer mode needs code_challenge: the S256 of a verifier the client keeps (43 base64url characters)',
      );
    }
    const verifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const nonce = client.randomNonce();
    const authorizationUrl = client.buildAuthorizationUrl(configuration, {
      redirect_uri: provider.redirectUri,
      scope: provider.scopes.join(' '),
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
      // A nonce is an OpenID Connect parameter, checked in the ID token: none for an OAuth 2 server.
      ...(provider.oauth2 ? {} : { nonce }),
    });
    const stateCookie = this.states.seal({
      provider: provider.id,
      state,
      nonce,
      verifier,
      returnTo,
      transport: options.transport,
      clientChallenge: (clientChallenge as string | null | undefined) ?? null,
      linkUserId: options.link?.userId ?? null,
      linkSessionId: options.link?.sessionId ?? null,
      expiresAt: this.authConfig.clock() + this.config.stateTtlSeconds * 1000,
    });
    return { authorizationUrl: authorizationUrl.href, stateCookie, maxAgeSeconds: this.config.stateTtlSeconds };
  }

  /**
   * Settles a callback: `query` is the callback's query string as received, `stateCookie` the
   * state cookie. Throws `AUTH_OIDC_STATE_INVALID`, `AUTH_OIDC_CALLBACK_FAILED`,
   * `AUTH_OIDC_PROVIDER_UNAVAILABLE`, `AUTH_OIDC_ACCOUNT_EXISTS` or `AUTH_OIDC_IDENTITY_TAKEN`;
   * nothing is created unless the whole callback verified.
   */
  async callback(providerId: string, query: string, stateCookie: unknown, meta: RequestMeta): Promise<OidcOutcome> {
    const { provider, configuration } = await this.clients.of(providerId);
    const login = this.states.open(stateCookie, provider.id, this.authConfig.clock());
    if (!login) throw this.failed(AuthErrorCode.OIDC_STATE_INVALID, meta);
    // The URL as the provider sent the browser to it: the registered redirect URI and the query
    // as received (never the Host header).
    const current = new URL(provider.redirectUri);
    current.search = query.startsWith('?') ? query.slice(1) : query;
    let said: { subject: unknown; email: unknown; emailVerified: unknown };
    let grant: client.TokenEndpointResponse;
    try {
      if (provider.oauth2) {
        // A plain OAuth 2 server: no ID token; who signed in comes from its API.
        grant = await client.authorizationCodeGrant(configuration, current, {
          pkceCodeVerifier: login.verifier,
          expectedState: login.state,
        });
        const profile = await provider.oauth2.profile(providerApi(configuration, grant.access_token));
        said = { subject: profile?.subject, email: profile?.email, emailVerified: profile?.emailVerified };
      } else {
        const tokens = await client.authorizationCodeGrant(configuration, current, {
          pkceCodeVerifier: login.verifier,
          expectedState: login.state,
          expectedNonce: login.nonce,
          idTokenExpected: true,
        });
        const claims = tokens.claims()!;
        grant = tokens;
        said = { subject: claims.sub, email: claims.email, emailVerified: claims.email_verified };
      }
    } catch (error) {
      throw this.failed(
        unreachable(error) ? AuthErrorCode.OIDC_PROVIDER_UNAVAILABLE : AuthErrorCode.OIDC_CALLBACK_FAILED,
        meta,
        withoutBody(error),
      );
    }
    const subject = said.subject;
    // Checked as the stores will keep them, before anything is made: an address that is no
    // address is no address (null); a subject no store could keep refuses the login.
    const givenEmail = typeof said.email === 'string' ? said.email.normalize('NFC') : null;
    const email =
      givenEmail !== null && givenEmail.length <= 320 && isEmailAddress(givenEmail) && isWellFormedText(givenEmail) ? givenEmail : null;
    const emailVerified = email !== null && said.emailVerified === true;
    if (
      typeof subject !== 'string' ||
      subject.length === 0 ||
      subject.length > 255 ||
      !isWellFormedText(subject) ||
      [...subject].some((char) => char.charCodeAt(0) < 0x20 || char.charCodeAt(0) === 0x7f)
    ) {
      throw this.failed(AuthErrorCode.OIDC_CALLBACK_FAILED, meta);
    }
    const usedAt = this.authConfig.clock();
    const use = { email, emailVerified, usedAt, grant };
    const outcome = (user: UserRecord, linked = false): OidcOutcome => ({
      user,
      returnTo: login.returnTo,
      transport: login.transport,
      linked,
      clientChallenge: login.clientChallenge ?? null,
    });

    const linked = await this.identities.find(provider.id, subject);
    if (login.linkUserId !== null) {
      // A signed-in account links this identity, while the session that began it lives: a link
      // begun and abandoned on a shared browser is void once that session is logged out.
      if (typeof login.linkSessionId !== 'string' || !(await this.sessions.findOwn(login.linkUserId, login.linkSessionId))) {
        throw this.failed(AuthErrorCode.OIDC_STATE_INVALID, meta);
      }
      if (linked) {
        if (linked.userId !== login.linkUserId) throw this.failed(AuthErrorCode.OIDC_IDENTITY_TAKEN, meta);
        const user = await this.account(linked.userId, meta);
        await this.identities.recordUse(provider.id, subject, this.usage(user.id, provider.id, subject, use));
        return outcome(user, true);
      }
      const user = await this.account(login.linkUserId, meta);
      await this.link(user, provider.id, subject, use, meta);
      return outcome(user, true);
    }
    if (linked) {
      const user = await this.account(linked.userId, meta);
      await this.withoutSecondFactor(user, meta);
      await this.identities.recordUse(provider.id, subject, this.usage(user.id, provider.id, subject, use));
      return outcome(user);
    }
    // Only an address the provider verified is anyone's: an unverified one neither links nor
    // blocks (nor tells whether an account holds it).
    const holder = email !== null && emailVerified && this.users.keepsEmail ? await this.users.findByEmail(email) : null;
    if (holder) {
      // Never a takeover: the provider's word and the account's both verify the address, and the host opted in.
      if (!(this.config.linkByVerifiedEmail && holder.emailVerified === true) || (await this.hasSecondFactor(holder))) {
        throw this.failed(AuthErrorCode.OIDC_ACCOUNT_EXISTS, meta);
      }
      await this.link(holder, provider.id, subject, use, meta);
      return outcome(holder);
    }
    return outcome(await this.newAccount(provider.id, subject, use, meta));
  }

  /** A one-time code (60 s, single use) for `POST /auth/oauth/exchange`: how bearer mode hands the session over. */
  async exchangeCode(user: UserRecord, clientChallenge: string): Promise<string> {
    const code = randomBytes(32).toString('base64url');
    await this.exchanges.save(
      {
        hash: digest(code),
        purpose: EXCHANGE,
        userId: user.id,
        subject: clientChallenge,
        expiresAt: this.authConfig.clock() + this.config.exchangeTtlSeconds * 1000,
      },
      { replace: false },
    );
    return code;
  }

  /** The account of an exchange code, once; `AUTH_OIDC_CODE_INVALID` otherwise. */
  async redeem(code: unknown, codeVerifier: unknown, meta: RequestMeta): Promise<UserRecord> {
    if (typeof code !== 'string' || !/^[A-Za-z0-9_-]{43}$/.test(code)) throw this.failed(AuthErrorCode.OIDC_CODE_INVALID, meta);
    if (typeof codeVerifier !== 'string' || !/^[A-Za-z0-9._~-]{43,128}$/.test(codeVerifier))
      throw this.failed(AuthErrorCode.OIDC_CODE_INVALID, meta);
    // Taken whatever the verifier says: a code is tried once.
    const taken = await this.exchanges.take(digest(code), [EXCHANGE]);
    if (!taken || taken.expiresAt <= this.authConfig.clock()) throw this.failed(AuthErrorCode.OIDC_CODE_INVALID, meta);
    const challenge = createHash('sha256').update(codeVerifier).digest('base64url');
    if (taken.subject !== challenge) throw this.failed(AuthErrorCode.OIDC_CODE_INVALID, meta);
    return this.account(taken.userId, meta);
  }

  /** The account's links, oldest first. */
  async list(userId: string): Promise<IdentityView[]> {
    return (await this.identities.listByUser(userId)).map(view);
  }

  /** Removes one of the account's links; 404 for another's or none. */
  async unlink(userId: string, id: string, meta: RequestMeta): Promise<void> {
    const links = await this.identities.listByUser(userId);
    if (!links.some((link) => link.id === id)) throw new AuthError(AuthErrorCode.OIDC_IDENTITY_NOT_FOUND);
    // An account made by a provider has a password no one knows: its last link goes only once a
    // verified address can reset one.
    if (links.length === 1) {
      const user = await this.users.findById(userId);
      if (!user?.email || user.emailVerified !== true) throw new AuthError(AuthErrorCode.OIDC_LAST_LOGIN_METHOD);
    }
    const removed = links.find((link) => link.id === id)!;
    if (!(await this.identities.remove(userId, id))) throw new AuthError(AuthErrorCode.OIDC_IDENTITY_NOT_FOUND);
    // Two unlinks at once may each have seen another link left: the one that leaves none puts its link back.
    if ((await this.identities.listByUser(userId)).length === 0) {
      const user = await this.users.findById(userId);
      if (!user?.email || user.emailVerified !== true) {
        // Put back; should the identity have been linked elsewhere meanwhile, it stays removed,
        // and the audit trail says so.
        if (await this.identities.create(removed)) throw new AuthError(AuthErrorCode.OIDC_LAST_LOGIN_METHOD);
        this.audit.record('oidc.unlinked', { userId, reason: 'restore_failed' }, meta);
        throw new AuthError(AuthErrorCode.OIDC_LAST_LOGIN_METHOD);
      }
    }
    this.audit.record('oidc.unlinked', { userId }, meta);
  }

  // What a login records on its identity: the address now, and the sealed tokens (null when not kept).
  private usage(userId: string, provider: string, subject: string, use: Use): IdentityUse {
    return {
      email: use.email,
      emailVerified: use.emailVerified,
      usedAt: use.usedAt,
      providerTokens: this.vault.sealGrant(userId, provider, subject, use.grant),
    };
  }

  // A provider's login is one factor: it does not open a session of an account that has a
  // second factor on (that account signs in with its password and code, or a passkey). 403.
  private async withoutSecondFactor(user: UserRecord, meta: RequestMeta): Promise<void> {
    if (await this.hasSecondFactor(user)) {
      throw this.failed(AuthErrorCode.MFA_REQUIRED, meta);
    }
  }

  private async hasSecondFactor(user: UserRecord): Promise<boolean> {
    return this.secondFactor !== undefined && (await this.secondFactor.status(user.id)).totp;
  }

  // `returnTo` as given, when on an allowed origin (no open redirect), else the first allowed URL.
  private returnTo(given: unknown): string {
    if (given === undefined || given === null || given === '') return this.config.returnTo[0]!;
    if (typeof given !== 'string' || given.length > 2048) throw new AuthError(AuthErrorCode.OIDC_RETURN_TO_INVALID);
    let url: URL;
    try {
      url = new URL(given);
    } catch {
      throw new AuthError(AuthErrorCode.OIDC_RETURN_TO_INVALID);
    }
    // Same origin, and under an allowed path by whole segments (`/app` allows `/app/x`, not
    // `/application`); never a path a router could read as another host (`//evil.example`).
    const allowed =
      !url.username &&
      !url.password &&
      !url.pathname.startsWith('//') &&
      this.config.returnTo.some((base) => {
        const allowedUrl = new URL(base);
        const path = allowedUrl.pathname;
        const under = url.pathname === path || url.pathname.startsWith(path.endsWith('/') ? path : `${path}/`);
        return url.origin === allowedUrl.origin && under;
      });
    if (!allowed) throw new AuthError(AuthErrorCode.OIDC_RETURN_TO_INVALID);
    return url.href;
  }

  // A new account for a first login: a username of its own, a password no one knows (a reset
  // sets one), the provider's address when it is verified and no account holds it.
  private async newAccount(provider: string, subject: string, use: Use, meta: RequestMeta): Promise<UserRecord> {
    const username = `${provider}_${randomBytes(8).toString('hex')}`;
    const passwordHash = await this.passwords.hash(randomBytes(32).toString('base64url'));
    const user = await this.users.create({ username, passwordHash });
    this.audit.record('register', { userId: user.id }, meta);
    await this.link(user, provider, subject, use, meta);
    if (use.email !== null && use.emailVerified && this.users.keepsEmail) {
      await this.users.updateEmail(user.id, use.email, true);
      return (await this.users.findById(user.id)) ?? user;
    }
    return user;
  }

  private async link(user: UserRecord, provider: string, subject: string, use: Use, meta: RequestMeta): Promise<void> {
    const identity: LinkedIdentity = {
      id: randomBytes(16).toString('base64url'),
      userId: user.id,
      provider,
      subject,
      email: use.email,
      emailVerified: use.emailVerified,
      createdAt: use.usedAt,
      lastUsedAt: use.usedAt,
      providerTokens: this.vault.sealGrant(user.id, provider, subject, use.grant),
    };
    if (!(await this.identities.create(identity))) throw this.failed(AuthErrorCode.OIDC_IDENTITY_TAKEN, meta);
    this.audit.record('oidc.linked', { userId: user.id }, meta);
  }

  private async account(userId: string, meta: RequestMeta): Promise<UserRecord> {
    const user = await this.users.findById(userId);
    if (!user) throw this.failed(AuthErrorCode.OIDC_CALLBACK_FAILED, meta);
    return user;
  }

  private failed(code: AuthErrorCode, meta: RequestMeta, cause?: unknown): AuthError {
    this.audit.record('oidc.login.failed', { reason: code }, meta);
    return new AuthError(code, undefined, { cause });
  }
}

// The provider could not be reached (a network error, not an answer).
function unreachable(error: unknown): boolean {
  const cause = (error as { cause?: unknown } | null)?.cause;
  return error instanceof TypeError && /fetch failed/i.test(error.message)
    ? true
    : cause instanceof Error && /ECONNREFUSED|ETIMEDOUT|ENOTFOUND/.test(String((cause as { code?: unknown }).code));
}

// What a failed grant says, without what it carried: oauth4webapi puts the token endpoint's
// answer (tokens included) on its errors, and a host logging the AuthError's cause would print it.
function withoutBody(error: unknown, depth = 0): Error {
  const plain = new Error(error instanceof Error ? error.message : 'the provider answered what was not expected');
  plain.name = error instanceof Error ? error.name : 'Error';
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string') Object.assign(plain, { code });
  // The causes' names, messages and codes (openid-client wraps oauth4webapi's error, which says
  // what was wrong), never their other fields: those carry the answer's body.
  const cause = (error as { cause?: unknown } | null)?.cause;
  if (depth < 3 && cause instanceof Error) Object.assign(plain, { cause: withoutBody(cause, depth + 1) });
  return plain;
}

// The provider's API with the access token of the login being settled.
function providerApi(configuration: client.Configuration, accessToken: string): ProviderApi {
  return {
    get: async (url: string): Promise<unknown> => {
      const response = await client.fetchProtectedResource(
        configuration,
        accessToken,
        new URL(url),
        'GET',
        undefined,
        // GitHub refuses requests without a User-Agent.
        new Headers({ accept: 'application/json', 'user-agent': 'nestjs-warden' }),
      );
      if (!response.ok) throw new Error(`GET ${new URL(url).pathname} answered ${response.status}`);
      return response.json();
    },
  };
}

function digest(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}

function view(identity: LinkedIdentity): IdentityView {
  return {
    id: identity.id,
    provider: identity.provider,
    email: identity.email,
    createdAt: new Date(identity.createdAt).toISOString(),
    lastUsedAt: identity.lastUsedAt === null ? null : new Date(identity.lastUsedAt).toISOString(),
  };
}

/** `GET /auth/me`'s `identities`: the caller's linked identities. */
@Injectable()
export class LinkedIdentitiesField extends ProfileField {
  readonly name = 'identities';

  constructor(private readonly oidc: OidcService) {
    super();
  }

  valueFor(userId: string): Promise<IdentityView[]> {
    return this.oidc.list(userId);
  }
}
