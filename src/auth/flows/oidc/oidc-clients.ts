import { webcrypto, type KeyObject } from 'node:crypto';
import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import * as client from 'openid-client';
import { AuthError, AuthErrorCode } from '../../auth.errors.js';
import { OIDC_FLOW_CONFIG, type OidcFlowConfig, type OidcProviderConfig } from './oidc-flow.options.js';

/** How long after a failed discovery it is tried again, in the background. */
const RETRY_MS = 30_000;

/**
 * The providers' openid-client configurations, from their discovery documents: read in the
 * background at start-up and retried every 30 s while a provider is down, so an outage never
 * stops the app; a login at a provider not discovered yet tries once more, then answers 503.
 */
@Injectable()
export class OidcClients implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('OidcFlow');
  private readonly configs = new Map<string, client.Configuration>();
  private readonly pending = new Map<string, Promise<client.Configuration | null>>();
  private readonly timers = new Set<NodeJS.Timeout>();
  // Providers whose background retry is on until they are discovered, and those with a timer set.
  private readonly retrying = new Set<string>();
  private readonly scheduled = new Set<string>();
  private closed = false;

  constructor(@Inject(OIDC_FLOW_CONFIG) private readonly config: OidcFlowConfig) {}

  onApplicationBootstrap(): void {
    for (const provider of this.config.providers.values()) void this.discover(provider, true);
  }

  onApplicationShutdown(): void {
    this.closed = true;
    for (const timer of this.timers) clearTimeout(timer);
  }

  /** The provider's configuration; 404 for an unknown provider, 503 while it cannot be discovered. */
  async of(id: string): Promise<{ provider: OidcProviderConfig; configuration: client.Configuration }> {
    const provider = this.provider(id);
    const configuration = this.configs.get(id) ?? (await this.discover(provider, false));
    if (!configuration) throw new AuthError(AuthErrorCode.OIDC_PROVIDER_UNAVAILABLE);
    return { provider, configuration };
  }

  provider(id: string): OidcProviderConfig {
    const provider = this.config.providers.get(id);
    if (!provider) throw new AuthError(AuthErrorCode.OIDC_PROVIDER_UNKNOWN);
    return provider;
  }

  private discover(provider: OidcProviderConfig, retry: boolean): Promise<client.Configuration | null> {
    if (retry) this.retrying.add(provider.id);
    const running = this.pending.get(provider.id);
    if (running) return running;
    const attempt = (async () => {
      try {
        const configuration = await this.configure(provider);
        this.configs.set(provider.id, configuration);
        this.retrying.delete(provider.id);
        return configuration;
      } catch (error) {
        // Whichever attempt failed, the background retry goes on while it is wanted.
        const again = this.retrying.has(provider.id) && !this.closed;
        this.logger.warn(
          `provider "${provider.id}": discovery failed (${(error as Error).name})${again ? `; retrying in ${RETRY_MS / 1000} s` : ''}`,
        );
        if (again) this.scheduleRetry(provider);
        return null;
      } finally {
        this.pending.delete(provider.id);
      }
    })();
    this.pending.set(provider.id, attempt);
    return attempt;
  }

  private scheduleRetry(provider: OidcProviderConfig): void {
    if (this.scheduled.has(provider.id)) return;
    this.scheduled.add(provider.id);
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      this.scheduled.delete(provider.id);
      void this.discover(provider, true);
    }, RETRY_MS);
    timer.unref();
    this.timers.add(timer);
  }

  // OpenID Connect by discovery; a plain OAuth 2 server from its given endpoints.
  private async configure(provider: OidcProviderConfig): Promise<client.Configuration> {
    const auth = await clientAuthentication(provider);
    if (provider.oauth2) {
      const configuration = new client.Configuration(
        {
          issuer: provider.issuer,
          authorization_endpoint: provider.oauth2.authorizationEndpoint,
          token_endpoint: provider.oauth2.tokenEndpoint,
        },
        provider.clientId,
        provider.clientSecret ?? undefined,
        auth,
      );
      if (provider.allowInsecureRequests) client.allowInsecureRequests(configuration);
      return configuration;
    }
    return client.discovery(
      new URL(provider.issuer),
      provider.clientId,
      provider.clientSecret ?? undefined,
      auth,
      // The ID token's signature checked against the provider's JWKS too, not only its claims.
      {
        execute: provider.allowInsecureRequests
          ? [client.allowInsecureRequests, client.enableNonRepudiationChecks]
          : [client.enableNonRepudiationChecks],
      },
    );
  }
}

// client_secret_basic for OpenID Providers (every one supports it), client_secret_post for OAuth 2
// servers (GitHub documents only that), or a private_key_jwt assertion.
async function clientAuthentication(provider: OidcProviderConfig): Promise<client.ClientAuth> {
  if (provider.privateKeyJwt) {
    const { privateKey, kid } = provider.privateKeyJwt;
    const cryptoKey = await webcrypto.subtle.importKey(
      'pkcs8',
      privateKey.export({ format: 'der', type: 'pkcs8' }),
      signingAlgorithm(privateKey),
      false,
      ['sign'],
    );
    return client.PrivateKeyJwt(kid === null ? cryptoKey : { key: cryptoKey, kid });
  }
  return provider.oauth2 ? client.ClientSecretPost(provider.clientSecret!) : client.ClientSecretBasic(provider.clientSecret!);
}

// RS256, ES256 or EdDSA by the key's type (the options allow no other).
function signingAlgorithm(key: KeyObject): webcrypto.RsaHashedImportParams | webcrypto.EcKeyImportParams | webcrypto.Algorithm {
  if (key.asymmetricKeyType === 'rsa') return { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };
  if (key.asymmetricKeyType === 'ec') return { name: 'ECDSA', namedCurve: 'P-256' };
  return { name: 'Ed25519' };
}
