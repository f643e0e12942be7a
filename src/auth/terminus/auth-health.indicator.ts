import { Injectable, type OnModuleInit } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import { MfaStore } from '../flows/mfa/mfa-store.js';
import { IdentityStore } from '../flows/oidc/identity-store.js';
import { OIDC_EXCHANGE_STORE } from '../flows/oidc/oidc-flow.options.js';
import { PasskeyStore } from '../flows/passkeys/passkey-store.js';
import { PASSKEY_CHALLENGE_STORE } from '../flows/passkeys/passkeys-flow.options.js';
import { OneTimeTokenStore } from '../one-time-tokens/one-time-token.store.js';
import { SessionStore } from '../sessions/session-store.js';
import { ThrottleStore } from '../throttle/throttle-store.js';
import { UserStore } from '../users/user-store.js';

/** Default of {@link AuthHealthOptions.timeoutMs}. */
export const DEFAULT_HEALTH_TIMEOUT_MS = 1000;

/** What {@link AuthHealthIndicator.isHealthy} takes besides its key. */
export interface AuthHealthOptions {
  /**
   * How long each store's `ping()` may take before the store counts as down: an integer from 1 to
   * 60000. Default 1000 ms. The stores are pinged at once, so the check takes about this long at
   * most, however many there are.
   */
  timeoutMs?: number;
}

/**
 * Why a store is down: its `ping()` answered `false` (`unavailable`: the Redis or the database
 * behind it does not answer), did not answer within the timeout (`timeout`), or threw (`error`:
 * a store's own fault; its message is not reported, as it may name hosts or accounts).
 */
export type StoreDownReason = 'unavailable' | 'timeout' | 'error';

/** One store's line in the health details: never a connection string, a key prefix or an error message. */
export interface StoreHealth {
  /** `up` when its `ping()` answered `true` within the timeout. */
  status: 'up' | 'down';
  /** The store's class: `RedisSessionStore`, `TypeOrmUserStore`, `InMemoryThrottleStore`, a host's own. */
  implementation: string;
  /** How long `ping()` took, in whole milliseconds (the timeout, for a store that did not answer). */
  responseTimeMs: number;
  /** Set when `status` is `down`. */
  reason?: StoreDownReason;
}

/**
 * The stores of an auth health result, by {@link AuthHealthStoreName}: those the module and its
 * flows provide (the core's three always, a flow's only with that flow).
 */
export type AuthStoresHealth = Partial<Record<AuthHealthStoreName, StoreHealth>>;

/** The result of {@link AuthHealthIndicator.isHealthy}: `{ [key]: { status, sessionStore, userStore, ... } }`. */
export type AuthHealthResult<Key extends string = string> = HealthIndicatorResult<Key, 'up' | 'down', AuthStoresHealth>;

interface Pingable {
  ping(): Promise<boolean>;
}

/**
 * The name a store is reported by: `sessionStore`, `userStore` and `throttleStore` (the core's),
 * `oneTimeTokenStore` (the email flow's links), `mfaStore` (second factors), `passkeyStore` and
 * `passkeyChallengeStore` (passkeys), `identityStore` and `oidcExchangeStore` (OpenID Connect).
 */
export type AuthHealthStoreName =
  | 'sessionStore'
  | 'userStore'
  | 'throttleStore'
  | 'oneTimeTokenStore'
  | 'mfaStore'
  | 'passkeyStore'
  | 'passkeyChallengeStore'
  | 'identityStore'
  | 'oidcExchangeStore';

// Each store under the token the module or its flow provides it with, in the order reported.
const STORES: ReadonlyArray<readonly [AuthHealthStoreName, (abstract new (...args: never[]) => unknown) | symbol]> = [
  ['sessionStore', SessionStore],
  ['userStore', UserStore],
  ['throttleStore', ThrottleStore],
  ['oneTimeTokenStore', OneTimeTokenStore],
  ['mfaStore', MfaStore],
  ['passkeyStore', PasskeyStore],
  ['passkeyChallengeStore', PASSKEY_CHALLENGE_STORE],
  ['identityStore', IdentityStore],
  ['oidcExchangeStore', OIDC_EXCHANGE_STORE],
];

/**
 * A `@nestjs/terminus` health indicator for nest-warden's stores: it pings every store the
 * `AuthModule` and its flows provide, each within a timeout, and is down when any is. Provide it
 * where `TerminusModule` is imported (or import `AuthHealthModule`, which does both).
 *
 * @example
 * ```ts
 * @Controller('health')
 * class HealthController {
 *   constructor(private readonly health: HealthCheckService, private readonly auth: AuthHealthIndicator) {}
 *
 *   @Public()
 *   @Get()
 *   @HealthCheck()
 *   check() {
 *     return this.health.check([() => this.auth.isHealthy('auth')]);
 *   }
 * }
 * ```
 */
@Injectable()
export class AuthHealthIndicator implements OnModuleInit {
  private stores: ReadonlyArray<readonly [AuthHealthStoreName, Pingable]> = [];

  constructor(
    private readonly healthIndicatorService: HealthIndicatorService,
    private readonly moduleRef: ModuleRef,
  ) {}

  /** Finds the stores once every provider exists; fails the start-up when there is no `AuthModule`. */
  onModuleInit(): void {
    const found: Array<readonly [AuthHealthStoreName, Pingable]> = [];
    for (const [name, token] of STORES) {
      const store = this.find(token);
      if (store) found.push([name, store]);
    }
    if (!found.some(([name]) => name === 'sessionStore')) {
      throw new Error('AuthHealthIndicator: no SessionStore is provided; import AuthModule in the application');
    }
    this.stores = found;
  }

  /**
   * Pings every store, each bounded by `timeoutMs`, and answers `{ [key]: { status, ...stores } }`:
   * `up` when every store answered, `down` when any did not (Terminus' `HealthCheckService`
   * then answers 503). Never throws for a store's failure, and never waits past the timeout.
   *
   * @param key the name of the result in the health check's body. Default `auth`.
   */
  async isHealthy<const Key extends string = 'auth'>(
    key: Key = 'auth' as Key,
    options: AuthHealthOptions = {},
  ): Promise<AuthHealthResult<Key>> {
    const timeoutMs = options.timeoutMs ?? DEFAULT_HEALTH_TIMEOUT_MS;
    if (!Number.isInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > 60_000) {
      throw new TypeError('AuthHealthIndicator.isHealthy: "timeoutMs" must be an integer from 1 to 60000');
    }
    const session = this.healthIndicatorService.check(key);
    // One store given for several parts (a one-time-token store shared by flows) is pinged once.
    const pings = new Map<Pingable, Promise<Omit<StoreHealth, 'implementation'>>>();
    const entries = await Promise.all(
      this.stores.map(async ([name, store]) => {
        let ping = pings.get(store);
        if (!ping) pings.set(store, (ping = pingWithin(store, timeoutMs)));
        const { status, responseTimeMs, reason } = await ping;
        const health: StoreHealth = { status, implementation: implementationOf(store), responseTimeMs, ...(reason && { reason }) };
        return [name, health] as const;
      }),
    );
    const details: AuthStoresHealth = {};
    for (const [name, health] of entries) details[name] = health;
    return (entries.every(([, health]) => health.status === 'up') ? session.up(details) : session.down(details)) as AuthHealthResult<Key>;
  }

  private find(token: (typeof STORES)[number][1]): Pingable | undefined {
    try {
      const store = this.moduleRef.get<unknown>(token, { strict: false });
      return typeof (store as Partial<Pingable> | null)?.ping === 'function' ? (store as Pingable) : undefined;
    } catch {
      // Not provided: that flow is not on.
      return undefined;
    }
  }
}

async function pingWithin(store: Pingable, timeoutMs: number): Promise<Omit<StoreHealth, 'implementation'>> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), timeoutMs);
  });
  try {
    const answer = await Promise.race([
      // A ping that throws before it returns its promise is down too, not a failed health check.
      Promise.resolve()
        .then(() => store.ping())
        .then(
          (up) => (up === true ? 'up' : 'unavailable'),
          () => 'error' as const,
        ),
      timedOut,
    ]);
    const responseTimeMs = answer === 'timeout' ? timeoutMs : Math.round(performance.now() - started);
    return answer === 'up' ? { status: 'up', responseTimeMs } : { status: 'down', responseTimeMs, reason: answer };
  } finally {
    clearTimeout(timer);
  }
}

function implementationOf(store: Pingable): string {
  const name = (store as { constructor?: { name?: unknown } }).constructor?.name;
  return typeof name === 'string' && name.length > 0 ? name : 'anonymous';
}
