import type { Provider } from '@nestjs/common';
import { AuthOptionsError } from '../../auth.errors.js';
import { InMemoryOneTimeTokenStore } from '../../one-time-tokens/in-memory-one-time-token.store.js';
import { OneTimeTokenStore } from '../../one-time-tokens/one-time-token.store.js';
import type { AuthFlow } from '../auth-flow.js';
import { partProvider, type FlowPartFactory } from '../email/email-flow.options.js';
import { IdentityStore } from './identity-store.js';
import { InMemoryIdentityStore } from './in-memory-identity.store.js';
import { OidcClients } from './oidc-clients.js';
import { OIDC_EXCHANGE_STORE, OIDC_FLOW_CONFIG, resolveOidcFlowConfig, type OidcFlowOptions } from './oidc-flow.options.js';
import { OidcController } from './oidc.controller.js';
import { LinkedIdentitiesField, OidcService } from './oidc.service.js';
import { ProviderTokenVault } from './provider-token-vault.js';

/**
 * Sign-in with OpenID Providers (on openid-client) as a flow: `GET /auth/oauth/<provider>`
 * and its callback, one-time codes for bearer clients at `POST /auth/oauth/exchange`, and
 * linking from a signed-in account. From `nestjs-warden/oidc` (it loads openid-client, an
 * optional peer).
 *
 * @example
 * ```ts
 * AuthModule.forRoot({
 *   secret,
 *   cookies: true,
 *   flows: [
 *     oidcFlow({
 *       providers: [{ id: 'google', issuer: 'https://accounts.google.com', clientId, clientSecret }],
 *       callbackBaseUrl: 'https://app.example.com/auth',
 *       returnTo: ['https://app.example.com/'],
 *     }),
 *   ],
 * })
 * ```
 */
export function oidcFlow(options: OidcFlowOptions): AuthFlow {
  const config = resolveOidcFlowConfig(options);
  return {
    name: 'oidc',
    providers: [
      { provide: OIDC_FLOW_CONFIG, useValue: config },
      partProvider(IdentityStore, options.identityStore, () => new InMemoryIdentityStore()),
      exchangeStoreProvider(options.exchangeStore),
      OidcClients,
      ProviderTokenVault,
      OidcService,
    ],
    controllers: [OidcController],
    profileFields: [LinkedIdentitiesField],
  };
}

function exchangeStoreProvider(given: OneTimeTokenStore | FlowPartFactory<OneTimeTokenStore> | undefined): Provider {
  if (given === undefined) return { provide: OIDC_EXCHANGE_STORE, useFactory: () => new InMemoryOneTimeTokenStore() };
  if (given instanceof OneTimeTokenStore) return { provide: OIDC_EXCHANGE_STORE, useValue: given };
  return {
    provide: OIDC_EXCHANGE_STORE,
    useFactory: async (...args: never[]) => {
      const made = await given.useFactory(...args);
      if (!(made instanceof OneTimeTokenStore))
        throw new AuthOptionsError('oidcFlow.exchangeStore', 'the factory must make a OneTimeTokenStore');
      return made;
    },
    inject: given.inject ?? [],
  };
}
