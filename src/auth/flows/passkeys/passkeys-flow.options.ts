import { checkInteger } from '../../auth.config.js';
import { AuthOptionsError } from '../../auth.errors.js';
import { OneTimeTokenStore } from '../../one-time-tokens/one-time-token.store.js';
import type { FlowPartFactory } from '../email/email-flow.options.js';
import { MAX_PASSKEYS_PER_ACCOUNT, PasskeyStore } from './passkey-store.js';

/** Options of {@link passkeysFlow}. */
export interface PasskeysFlowOptions {
  /**
   * The relying party id: your site's registrable domain or a host under it (`example.com`,
   * `login.example.com`), no scheme, no port. Passkeys are bound to it: changing it later
   * strands every passkey registered under the old one. Required.
   */
  rpId: string;
  /** The name authenticators show beside the account ("Acme"). Required. */
  rpName: string;
  /**
   * The origins your pages run on (`https://example.com`), each on `rpId` or under it; `http:`
   * only for `localhost`. A ceremony from any other origin is refused. Required.
   */
  origins: string | readonly string[];
  /** Where passkeys live. Default: a new `InMemoryPasskeyStore`; Redis or SQL for real accounts. */
  store?: PasskeyStore | FlowPartFactory<PasskeyStore>;
  /**
   * Where ceremony challenges wait (single use, `challengeTtlSeconds`): a `OneTimeTokenStore`
   * (memory, `RedisOneTimeTokenStore`, `TypeOrmOneTimeTokenStore`), shared by every instance.
   * Default: a new `InMemoryOneTimeTokenStore` (one instance only).
   */
  challengeStore?: OneTimeTokenStore | FlowPartFactory<OneTimeTokenStore>;
  /**
   * User verification (a PIN or a biometric on the authenticator) asked at registration and at
   * the second step after a password: `"required"` or `"preferred"` (default). A passkey login
   * without a password always requires it: a passkey alone is then two factors.
   */
  userVerification?: 'required' | 'preferred';
  /** How long a ceremony's challenge lives, in seconds. Default 300 (5 min). */
  challengeTtlSeconds?: number;
  /** Passkeys per account. Default 10, at most 100. */
  maxPerAccount?: number;
  /**
   * Per client IP within the window: ceremonies started (`/passkeys/login/options`, default 60)
   * and failed passkey logins (default 20), then 429. Default window 900 s.
   */
  throttle?: { maxCeremoniesPerIp?: number; maxFailuresPerIp?: number; windowSeconds?: number };
}

/** The flow's options after validation and defaults. */
export interface PasskeysFlowConfig {
  readonly rpId: string;
  readonly rpName: string;
  readonly origins: readonly string[];
  readonly userVerification: 'required' | 'preferred';
  readonly challengeTtlSeconds: number;
  readonly maxPerAccount: number;
  readonly maxCeremoniesPerIp: number;
  readonly maxFailuresPerIp: number;
  readonly windowSeconds: number;
}

/** Injection token of the {@link PasskeysFlowConfig}. */
export const PASSKEYS_FLOW_CONFIG = Symbol('nest-warden:passkeys-flow-config');

/** Injection token of the passkeys flow's challenge store (a `OneTimeTokenStore` of its own, apart from the email flow's). */
export const PASSKEY_CHALLENGE_STORE = Symbol('nest-warden:passkey-challenge-store');

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);

/** Validates the options and fills in defaults; throws `AuthOptionsError` naming the first bad one. */
export function resolvePasskeysFlowConfig(options: PasskeysFlowOptions): PasskeysFlowConfig {
  if (typeof options !== 'object' || options === null)
    throw new AuthOptionsError('passkeysFlow', 'must be given options with rpId, rpName and origins');
  const rpId = options.rpId;
  if (typeof rpId !== 'string' || !/^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*$/.test(rpId)) {
    throw new AuthOptionsError('passkeysFlow.rpId', 'must be a lower-case host name such as "example.com" (no scheme, no port)');
  }
  const rpName = options.rpName;
  if (typeof rpName !== 'string' || rpName.trim().length === 0 || rpName.length > 64) {
    throw new AuthOptionsError('passkeysFlow.rpName', 'must be a name of 1 to 64 characters');
  }
  const given = typeof options.origins === 'string' ? [options.origins] : options.origins;
  if (!Array.isArray(given) || given.length === 0) throw new AuthOptionsError('passkeysFlow.origins', 'must name at least one origin');
  const origins = (given as readonly unknown[]).map((value, index) => checkOrigin(value, rpId, `passkeysFlow.origins[${index}]`));
  checkPart('store', options.store, PasskeyStore, 'a PasskeyStore');
  checkPart('challengeStore', options.challengeStore, OneTimeTokenStore, 'a OneTimeTokenStore');
  const userVerification = options.userVerification ?? 'preferred';
  if (userVerification !== 'required' && userVerification !== 'preferred') {
    throw new AuthOptionsError('passkeysFlow.userVerification', 'must be "required" or "preferred"');
  }
  const throttle = options.throttle ?? {};
  if (typeof throttle !== 'object' || throttle === null) throw new AuthOptionsError('passkeysFlow.throttle', 'must be an object');
  return Object.freeze({
    rpId,
    rpName,
    origins: Object.freeze([...new Set(origins)]),
    userVerification,
    challengeTtlSeconds: checkInteger('passkeysFlow.challengeTtlSeconds', options.challengeTtlSeconds ?? 300, 30, 3600),
    maxPerAccount: checkInteger('passkeysFlow.maxPerAccount', options.maxPerAccount ?? 10, 1, MAX_PASSKEYS_PER_ACCOUNT),
    maxCeremoniesPerIp: checkInteger('passkeysFlow.throttle.maxCeremoniesPerIp', throttle.maxCeremoniesPerIp ?? 60, 1, 1_000_000),
    maxFailuresPerIp: checkInteger('passkeysFlow.throttle.maxFailuresPerIp', throttle.maxFailuresPerIp ?? 20, 1, 1_000_000),
    windowSeconds: checkInteger('passkeysFlow.throttle.windowSeconds', throttle.windowSeconds ?? 900, 1, 86_400),
  });
}

// An origin as browsers write it in clientDataJSON: scheme, host and port only, on the RP id.
function checkOrigin(value: unknown, rpId: string, name: string): string {
  let url: URL;
  try {
    url = new URL(String(value));
  } catch {
    throw new AuthOptionsError(name, 'must be an origin such as https://example.com');
  }
  if (typeof value !== 'string' || url.origin !== value.replace(/\/$/, '')) {
    throw new AuthOptionsError(name, 'must be an origin (scheme, host and port only), such as https://example.com');
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && LOOPBACK.has(url.hostname))) {
    throw new AuthOptionsError(name, 'must be https (http only for localhost)');
  }
  if (url.hostname !== rpId && !url.hostname.endsWith(`.${rpId}`)) {
    throw new AuthOptionsError(name, `must be on the rpId "${rpId}" or a host under it, not ${url.hostname}`);
  }
  return url.origin;
}

function checkPart(name: string, value: unknown, type: abstract new (...args: never[]) => unknown, what: string): void {
  if (value === undefined || value instanceof type) return;
  const factory = value as Partial<FlowPartFactory<unknown>> | null;
  if (typeof factory !== 'object' || factory === null || typeof factory.useFactory !== 'function') {
    throw new AuthOptionsError(`passkeysFlow.${name}`, `must be ${what}, or { useFactory, inject } making one`);
  }
  if (factory.inject !== undefined && !Array.isArray(factory.inject))
    throw new AuthOptionsError(`passkeysFlow.${name}.inject`, 'must be an array');
}
