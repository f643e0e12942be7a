/**
 * `nestjs-warden/terminus`: a `@nestjs/terminus` health indicator for every store of the
 * `AuthModule` and its flows (`@nestjs/terminus` is an optional peer: `npm i @nestjs/terminus`).
 * See docs/health.md.
 *
 * @packageDocumentation
 */
export { AuthHealthIndicator, DEFAULT_HEALTH_TIMEOUT_MS } from './auth-health.indicator.js';
export type {
  AuthHealthOptions,
  AuthHealthResult,
  AuthHealthStoreName,
  AuthStoresHealth,
  StoreDownReason,
  StoreHealth,
} from './auth-health.indicator.js';
export { AuthHealthModule } from './auth-health.module.js';
