import { Inject, Injectable } from '@nestjs/common';
import type * as client from 'openid-client';
import type { AuthConfig } from '../../auth.config.js';
import { AUTH_CONFIG } from '../../auth.constants.js';
import { SecretBox } from '../mfa/secret-box.js';
import { IdentityStore, type LinkedIdentity } from './identity-store.js';
import { OIDC_FLOW_CONFIG, type OidcFlowConfig } from './oidc-flow.options.js';

/** A provider's tokens, as {@link ProviderTokenVault.providerTokens} answers them. */
export interface ProviderTokens {
  accessToken: string;
  refreshToken: string | null;
  tokenType: string;
  scope: string | null;
  /** When the access token expires, when the provider said. */
  expiresAt: Date | null;
  /** When they were received (the login, or the host's update). */
  receivedAt: Date;
}

// What is sealed: short keys, so the sealed value stays well under a store's 16384 characters.
interface StoredTokens {
  a: string;
  t: string;
  at: number;
  r?: string;
  s?: string;
  e?: number;
}

/** A store keeps at most this many characters of sealed tokens: larger ones are not kept. */
const MAX_SEALED = 16_384;

/**
 * The providers' tokens kept for the host (`storeProviderTokens`): sealed with AES-256-GCM (the
 * `SecretBox` of TOTP secrets), bound to the account, provider and subject, kept opaque on the
 * linked identity. Without the option nothing is kept, and a login clears what an earlier one kept.
 */
@Injectable()
export class ProviderTokenVault {
  private readonly box: SecretBox | null;

  constructor(
    @Inject(OIDC_FLOW_CONFIG) config: OidcFlowConfig,
    @Inject(AUTH_CONFIG) private readonly authConfig: AuthConfig,
    private readonly identities: IdentityStore,
  ) {
    this.box = config.providerTokenKeys === null ? null : new SecretBox(config.providerTokenKeys, 'oidc-provider-tokens');
  }

  /** A login's tokens sealed for this account's identity, or `null` unless they are kept. */
  sealGrant(userId: string, provider: string, subject: string, grant: client.TokenEndpointResponse): string | null {
    const now = this.authConfig.clock();
    return this.seal(userId, provider, subject, {
      a: grant.access_token,
      t: grant.token_type,
      at: now,
      ...(typeof grant.refresh_token === 'string' ? { r: grant.refresh_token } : {}),
      ...(typeof grant.scope === 'string' ? { s: grant.scope } : {}),
      ...(typeof grant.expires_in === 'number' && Number.isFinite(grant.expires_in) ? { e: now + grant.expires_in * 1000 } : {}),
    });
  }

  /**
   * The provider's tokens from the account's latest login with `providerId` (to call the
   * provider's API for the user), or `null`: none kept (`storeProviderTokens` off), none linked,
   * or sealed under a key no longer given. Never logged, never answered by a route.
   */
  async providerTokens(userId: string, providerId: string): Promise<ProviderTokens | null> {
    if (!this.box) return null;
    const latest = await this.latest(userId, providerId, (identity) => identity.providerTokens !== null);
    if (!latest) return null;
    const opened = this.box.open(latest.providerTokens!, tokenContext(userId, latest.provider, latest.subject));
    if (opened === null) return null;
    const stored = JSON.parse(opened) as StoredTokens;
    return {
      accessToken: stored.a,
      refreshToken: stored.r ?? null,
      tokenType: stored.t,
      scope: stored.s ?? null,
      expiresAt: stored.e === undefined ? null : new Date(stored.e),
      receivedAt: new Date(stored.at),
    };
  }

  /**
   * Replaces the kept tokens of the account's latest `providerId` identity, sealed as a login
   * seals them: after your code refreshed them at the provider (refresh tokens are often single
   * use). `false` when none are kept or the account has no such identity.
   */
  async updateProviderTokens(
    userId: string,
    providerId: string,
    tokens: { accessToken: string; refreshToken?: string | null; tokenType?: string; scope?: string | null; expiresAt?: Date | null },
  ): Promise<boolean> {
    if (!this.box || typeof tokens?.accessToken !== 'string' || tokens.accessToken.length === 0) return false;
    const latest = await this.latest(userId, providerId, () => true);
    if (!latest) return false;
    const sealed = this.seal(userId, providerId, latest.subject, {
      a: tokens.accessToken,
      t: (tokens.tokenType ?? 'bearer').toLowerCase(),
      at: this.authConfig.clock(),
      ...(tokens.refreshToken ? { r: tokens.refreshToken } : {}),
      ...(tokens.scope ? { s: tokens.scope } : {}),
      ...(tokens.expiresAt ? { e: tokens.expiresAt.getTime() } : {}),
    });
    return this.identities.setProviderTokens(providerId, latest.subject, sealed);
  }

  private seal(userId: string, provider: string, subject: string, stored: StoredTokens): string | null {
    if (!this.box) return null;
    const sealed = this.box.seal(JSON.stringify(stored), tokenContext(userId, provider, subject));
    return sealed.length <= MAX_SEALED ? sealed : null;
  }

  // The account's most recently used identity at the provider that `keep` accepts.
  private async latest(
    userId: string,
    providerId: string,
    keep: (identity: LinkedIdentity) => boolean,
  ): Promise<LinkedIdentity | undefined> {
    return (await this.identities.listByUser(userId))
      .filter((identity) => identity.provider === providerId && keep(identity))
      .sort((a, b) => (b.lastUsedAt ?? b.createdAt) - (a.lastUsedAt ?? a.createdAt))[0];
  }
}

// Sealed tokens open only for the account and identity they were sealed for.
function tokenContext(userId: string, provider: string, subject: string): string {
  return `oidc-tokens\n${userId}\n${provider}\n${subject}`;
}
