import type { Provider } from '@nestjs/common';
import { AuthOptionsError } from '../../auth.errors.js';
import { InMemoryOneTimeTokenStore } from '../../one-time-tokens/in-memory-one-time-token.store.js';
import { OneTimeTokenStore } from '../../one-time-tokens/one-time-token.store.js';
import type { AuthFlow } from '../auth-flow.js';
import { partProvider, type FlowPartFactory } from '../email/email-flow.options.js';
import { InMemoryPasskeyStore } from './in-memory-passkey.store.js';
import { PasskeySecondFactor } from './passkey-second-factor.js';
import { PasskeyStore } from './passkey-store.js';
import { PasskeyService } from './passkey.service.js';
import {
  PASSKEY_CHALLENGE_STORE,
  PASSKEYS_FLOW_CONFIG,
  resolvePasskeysFlowConfig,
  type PasskeysFlowOptions,
} from './passkeys-flow.options.js';
import { PasskeysController } from './passkeys.controller.js';

/**
 * Passkeys (WebAuthn) as a flow: registration and management at `/auth/passkeys` (changes need a
 * recent login), passwordless login at `POST /auth/passkeys/login/options` and `/login/verify`
 * (discoverable credentials, user verification required: the session's `amr` is
 * `["hwk", "user"]`, which `@RequireMfa()` accepts). With `mfaFlow` too, a passkey is also a
 * second factor after a password. The stores are providers under their abstract class
 * (`PasskeyStore`) or token, so a host can override them.
 *
 * @example
 * ```ts
 * AuthModule.forRoot({
 *   secret,
 *   flows: [passkeysFlow({ rpId: 'example.com', rpName: 'Acme', origins: ['https://example.com'] })],
 * })
 * ```
 */
export function passkeysFlow(options: PasskeysFlowOptions): AuthFlow {
  const config = resolvePasskeysFlowConfig(options);
  return {
    name: 'passkeys',
    providers: [
      { provide: PASSKEYS_FLOW_CONFIG, useValue: config },
      // Providers, so Nest's shutdown hooks reach their connections.
      partProvider(PasskeyStore, options.store, () => new InMemoryPasskeyStore()),
      challengeStoreProvider(options.challengeStore),
      PasskeyService,
    ],
    controllers: [PasskeysController],
    secondFactorMethods: [PasskeySecondFactor],
  };
}

// The challenge store under a token of its own: the email flow's OneTimeTokenStore is another.
function challengeStoreProvider(given: OneTimeTokenStore | FlowPartFactory<OneTimeTokenStore> | undefined): Provider {
  if (given === undefined) return { provide: PASSKEY_CHALLENGE_STORE, useFactory: () => new InMemoryOneTimeTokenStore() };
  if (given instanceof OneTimeTokenStore) return { provide: PASSKEY_CHALLENGE_STORE, useValue: given };
  return {
    provide: PASSKEY_CHALLENGE_STORE,
    useFactory: async (...args: never[]) => {
      const made = await given.useFactory(...args);
      if (!(made instanceof OneTimeTokenStore))
        throw new AuthOptionsError('passkeysFlow.challengeStore', 'the factory must make a OneTimeTokenStore');
      return made;
    },
    inject: given.inject ?? [],
  };
}
