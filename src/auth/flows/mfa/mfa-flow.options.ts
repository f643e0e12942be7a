import { checkInteger } from '../../auth.config.js';
import { AuthOptionsError } from '../../auth.errors.js';
import type { FlowPartFactory } from '../email/email-flow.options.js';
import { MAX_RECOVERY_CODES, MfaStore } from './mfa-store.js';
import { secretBoxKeys, type SecretBoxKey } from './secret-box.js';

/** Options of {@link mfaFlow}. */
export interface MfaFlowOptions {
  /**
   * The key that encrypts TOTP secrets at rest (AES-256-GCM) and keys the recovery-code digests:
   * at least 32 bytes (a string counts its UTF-8 bytes), from your secret store, never in code.
   * To rotate, give a list, the new key first: values are sealed with the first and each carries
   * its key's id (a fingerprint), so older keys still open theirs (re-sealed at their next use).
   * Required.
   */
  encryptionKey: string | Buffer | ReadonlyArray<string | Buffer>;
  /** Where factors live. Default: a new `InMemoryMfaStore`; Redis or SQL for real accounts. */
  store?: MfaStore | FlowPartFactory<MfaStore>;
  /** The issuer an authenticator app shows beside the account (the `otpauth://` URL's `issuer`). Default `"nest-warden"`. */
  issuer?: string;
  /** Recovery codes per set. Default 10, at most 32. */
  recoveryCodes?: number;
  /** How long a setup waits for its first code, in seconds. Default 600. */
  setupTtlSeconds?: number;
  /** How long a login's `mfaToken` lives, in seconds. Default 300 (5 min). */
  loginTokenTtlSeconds?: number;
  /**
   * Wrong codes per account (TOTP or recovery, at login, reauthentication and enrolment) within the
   * window, and within a day, before 429: six digits are guessable. Defaults 5 per 900 s and 30
   * per day (at most 10 guesses in a million a day get through); a right code clears both.
   */
  throttle?: { maxFailures?: number; windowSeconds?: number; maxFailuresPerDay?: number };
}

/** The flow's options after validation and defaults. */
export interface MfaFlowConfig {
  readonly keys: readonly SecretBoxKey[];
  readonly issuer: string;
  readonly recoveryCodes: number;
  readonly setupTtlSeconds: number;
  readonly loginTokenTtlSeconds: number;
  readonly maxFailures: number;
  readonly windowSeconds: number;
  readonly maxFailuresPerDay: number;
}

/** Injection token of the {@link MfaFlowConfig}. */
export const MFA_FLOW_CONFIG = Symbol('nest-warden:mfa-flow-config');

/** Validates the options and fills in defaults; throws `AuthOptionsError` naming the first bad one. */
export function resolveMfaFlowConfig(options: MfaFlowOptions): MfaFlowConfig {
  if (typeof options !== 'object' || options === null) throw new AuthOptionsError('mfaFlow', 'must be given options with an encryptionKey');
  if (options.encryptionKey === undefined)
    throw new AuthOptionsError('mfaFlow.encryptionKey', 'is required (at least 32 bytes) to encrypt TOTP secrets');
  const keys = secretBoxKeys('mfaFlow.encryptionKey', options.encryptionKey);
  if (options.store !== undefined && !(options.store instanceof MfaStore)) {
    const factory = options.store as Partial<FlowPartFactory<MfaStore>> | null;
    if (typeof factory !== 'object' || factory === null || typeof factory.useFactory !== 'function') {
      throw new AuthOptionsError('mfaFlow.store', 'must be an MfaStore, or { useFactory, inject } making one');
    }
  }
  const issuer = options.issuer ?? 'nest-warden';
  if (typeof issuer !== 'string' || issuer.length === 0 || issuer.length > 64 || issuer.includes(':')) {
    throw new AuthOptionsError('mfaFlow.issuer', 'must be 1 to 64 characters without ":"');
  }
  const throttle = options.throttle ?? {};
  if (typeof throttle !== 'object' || throttle === null) throw new AuthOptionsError('mfaFlow.throttle', 'must be an object');
  return Object.freeze({
    keys: Object.freeze(keys),
    issuer,
    recoveryCodes: checkInteger('mfaFlow.recoveryCodes', options.recoveryCodes ?? 10, 1, MAX_RECOVERY_CODES),
    setupTtlSeconds: checkInteger('mfaFlow.setupTtlSeconds', options.setupTtlSeconds ?? 600, 60, 86_400),
    loginTokenTtlSeconds: checkInteger('mfaFlow.loginTokenTtlSeconds', options.loginTokenTtlSeconds ?? 300, 30, 3600),
    maxFailures: checkInteger('mfaFlow.throttle.maxFailures', throttle.maxFailures ?? 5, 1, 100),
    windowSeconds: checkInteger('mfaFlow.throttle.windowSeconds', throttle.windowSeconds ?? 900, 1, 86_400),
    maxFailuresPerDay: checkInteger('mfaFlow.throttle.maxFailuresPerDay', throttle.maxFailuresPerDay ?? 30, 1, 1000),
  });
}
