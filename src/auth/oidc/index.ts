/**
 * `nestjs-warden/oidc`: sign-in with OpenID Providers, on openid-client (an optional peer:
 * `npm i openid-client`). A CommonJS host's Jest (Node before 24.9) must transform openid-client
 * and oauth4webapi, which ship as ES modules only: see docs/oidc.md.
 *
 * @packageDocumentation
 */
export { oidcFlow } from '../flows/oidc/oidc.flow.js';
export { OIDC_EXCHANGE_STORE, OIDC_FLOW_CONFIG } from '../flows/oidc/oidc-flow.options.js';
export { githubProvider, googleProvider, microsoftProvider } from '../flows/oidc/oidc-flow.options.js';
export type {
  OAuth2ServerOptions,
  OidcFlowConfig,
  OidcFlowOptions,
  OidcProviderConfig,
  OidcProviderOptions,
  ProviderApi,
  ProviderProfile,
} from '../flows/oidc/oidc-flow.options.js';
export { OidcClients } from '../flows/oidc/oidc-clients.js';
export { OIDC_AMR, OidcService } from '../flows/oidc/oidc.service.js';
export type { IdentityView, OidcOutcome, OidcStart } from '../flows/oidc/oidc.service.js';
export { ProviderTokenVault } from '../flows/oidc/provider-token-vault.js';
export type { ProviderTokens } from '../flows/oidc/provider-token-vault.js';
export { OidcController, OidcExchangeDto } from '../flows/oidc/oidc.controller.js';
export type { OidcLoginState } from '../flows/oidc/oidc-state.js';
