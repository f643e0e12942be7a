import { SecondFactor } from '../../login/second-factor.js';
import type { AuthFlow } from '../auth-flow.js';
import { partProvider } from '../email/email-flow.options.js';
import { InMemoryMfaStore } from './in-memory-mfa.store.js';
import { MFA_FLOW_CONFIG, resolveMfaFlowConfig, type MfaFlowOptions } from './mfa-flow.options.js';
import { MfaStore } from './mfa-store.js';
import { MfaController } from './mfa.controller.js';
import { TotpFactorService } from './totp-factor.service.js';

/**
 * A second factor as a flow: TOTP (RFC 6238) with recovery codes. Enrolment at
 * `POST /auth/mfa/totp/setup` and `/mfa/totp/confirm`; for an account with TOTP on, a right
 * password at login answers `{ mfaRequired: true, mfaToken, methods }` and
 * `POST /auth/mfa/verify { mfaToken, code }` opens the session (`amr` `["pwd", "otp"]`);
 * `POST /auth/reauthenticate` then needs the code too. The store (`MfaStore`) is a provider
 * under its abstract class, so a host can override it.
 *
 * @example
 * ```ts
 * AuthModule.forRoot({
 *   secret,
 *   flows: [mfaFlow({ encryptionKey: process.env.AUTH_MFA_KEY!, issuer: 'Acme' })],
 * })
 * ```
 */
export function mfaFlow(options: MfaFlowOptions): AuthFlow {
  const config = resolveMfaFlowConfig(options);
  return {
    name: 'mfa',
    providers: [
      { provide: MFA_FLOW_CONFIG, useValue: config },
      // A provider, so Nest's shutdown hooks reach its connection.
      partProvider(MfaStore, options.store, () => new InMemoryMfaStore()),
      TotpFactorService,
      { provide: SecondFactor, useExisting: TotpFactorService },
    ],
    controllers: [MfaController],
  };
}
