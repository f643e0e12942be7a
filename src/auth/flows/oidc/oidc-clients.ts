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
    const running = this.pending.get(provider.id);
    if (running) return running;
    const attempt = (async () => {
      try {
        const configuration = await client.discovery(
          new URL(provider.issuer),
          provider.clientId,
          provider.clientSecret,
          client.ClientSecretBasic(provider.clientSecret),
          // The ID token's signature checked against the provider's JWKS too, not only its claims.
          {
            execute: provider.allowInsecureRequests
              ? [client.allowInsecureRequests, client.enableNonRepudiationChecks]
              : [client.enableNonRepudiationChecks],
          },
        );
        this.configs.set(provider.id, configuration);
        return configuration;
      } catch (error) {
        this.logger.warn(`provider "${provider.id}": discovery failed (${(error as Error).name}); retrying in ${RETRY_MS / 1000} s`);
        if (retry && !this.closed) {
          const timer = setTimeout(() => {
            this.timers.delete(timer);
            void this.discover(provider, true);
          }, RETRY_MS);
          timer.unref();
          this.timers.add(timer);
        }
        return null;
      } finally {
        this.pending.delete(provider.id);
      }
    })();
    this.pending.set(provider.id, attempt);
    return attempt;
  }
}
