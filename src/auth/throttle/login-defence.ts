import { createHash } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import type { AuthConfig } from '../auth.config.js';
import { AUTH_CONFIG } from '../auth.constants.js';
import { TooManyAttemptsError } from '../auth.errors.js';
import type { RequestMeta } from '../interfaces/request-meta.interface.js';
import { LOGIN_USERNAME_INPUT_MAX_LENGTH } from '../passwords/credential-policy.js';
import { throttleClientKey } from './client-key.js';
import type { UserRecord } from '../users/user-store.js';
import { AttemptThrottle, type AttemptCounter, type AttemptReservation } from './attempt-throttle.js';
import { DeviceProofs } from './device-proof.js';
import { ThrottleStore } from './throttle-store.js';

/** A login let through the throttle: who it is for, and the reservation to settle with its outcome. */
export interface LoginAdmission {
  /** The account the username resolved to, or `null`. */
  user: UserRecord | null;
  /** The device id when the client presented a valid device proof for `user`. */
  deviceId: string | null;
  reservation: AttemptReservation;
}

/** A reservation that counts nothing: for an attempt outside any budget. */
export const NOTHING_RESERVED: AttemptReservation = Object.freeze({
  succeeded: () => Promise.resolve(),
  failed: () => Promise.resolve(),
  abandoned: () => Promise.resolve(),
});

/**
 * The brute-force defence around everything that verifies a password: login (per client IP,
 * then per spelling of the username and per resolved account, or per trusted device),
 * registration (per IP) and password change (per account). Budgets are counted before any
 * hashing, in the {@link ThrottleStore}; `AttemptThrottle` holds the rules.
 */
@Injectable()
export class LoginDefence {
  private readonly throttle: AttemptThrottle;
  private readonly proofs: DeviceProofs | null;
  private readonly logger = new Logger(LoginDefence.name);
  private warnedNoClientIp = false;

  constructor(
    @Inject(AUTH_CONFIG) private readonly config: AuthConfig,
    private readonly store: ThrottleStore,
  ) {
    this.throttle = new AttemptThrottle(store, config.clock);
    this.proofs = config.loginThrottle ? new DeviceProofs(config.deviceProofKeys, config.loginThrottle.deviceProofTtlSeconds) : null;
  }

  /**
   * Admits a login attempt or throws {@link TooManyAttemptsError}. The client's IP counter comes
   * first: while it is full, no account counter is touched, so a flood of distinct usernames
   * from one client cannot grow the store. The account side counts the username as spelled and,
   * when it resolves, the account's id, so every spelling a user store maps to one account
   * shares that account's budget whatever the store's collation, and a success clears only the
   * counters of the account it logged into. A valid device proof for the account replaces both
   * with the device's own budget.
   */
  async admitLogin(
    username: string,
    meta: RequestMeta,
    deviceProof: unknown,
    findUser: () => Promise<UserRecord | null>,
  ): Promise<LoginAdmission> {
    const limits = this.config.loginThrottle;
    if (!limits || !this.proofs) {
      const user = await findUser();
      return { user, deviceId: null, reservation: NOTHING_RESERVED };
    }
    if (!meta.ip) this.warnNoClientIp();
    const client = await this.throttle.acquire(meta.ip ? [this.ipCounter(meta.ip, limits.maxFailuresPerIp)] : []);
    try {
      const user = await findUser();
      const deviceId = user ? this.trustedDevice(deviceProof, user.id) : null;
      const counters =
        user && deviceId
          ? [this.counter(`login:device:${digest(`${user.id}\n${deviceId}`)}`, limits.maxFailuresPerDevice, true)]
          : [
              this.nameCounter(username, limits.maxFailuresPerAccount),
              // An unknown name takes a second counter too, so the store work (one more round
              // trip on Redis) does not tell which names are accounts.
              this.counter(`login:user:${user ? digest(user.id) : digest(`unknown\n${username}`)}`, limits.maxFailuresPerAccount, true),
            ];
      const account = await this.throttle.acquire(counters);
      return { user, deviceId, reservation: both(client, account) };
    } catch (error) {
      await client.abandoned();
      throw error;
    }
  }

  /**
   * The 429 that {@link admitLogin} would end in for this attempt whatever its password, known
   * without taking a place, waiting or looking the user up: the client's IP budget is filled by
   * failures, or, when no device proof comes with it, the budget of the username as spelled
   * (a device proof may replace that budget, which only the full check can tell). Asked before
   * the request's body is validated, so a flood from a client or at an account that is over its
   * budget is refused for the least work; `null` when the login must go on to `admitLogin`.
   */
  async refusalAhead(username: unknown, meta: RequestMeta, hasDeviceProof: boolean): Promise<TooManyAttemptsError | null> {
    const limits = this.config.loginThrottle;
    if (!limits) return null;
    if (meta.ip) {
      const refusal = await this.throttle.refusal(this.ipCounter(meta.ip, limits.maxFailuresPerIp));
      if (refusal) return refusal;
    }
    // Only a name admitLogin would count as this one: a string (the body's validation refuses the rest), normalized alike.
    if (hasDeviceProof || typeof username !== 'string' || username.length > LOGIN_USERNAME_INPUT_MAX_LENGTH) return null;
    return this.throttle.refusal(this.nameCounter(username.normalize('NFC'), limits.maxFailuresPerAccount));
  }

  // The device id of the first valid proof for the account; several may come as cookies.
  private trustedDevice(deviceProof: unknown, userId: string): string | null {
    const now = this.config.clock();
    const proofs = Array.isArray(deviceProof) ? deviceProof.slice(0, 4) : [deviceProof];
    for (const proof of proofs) {
      const deviceId = this.proofs!.verify(proof, userId, now);
      if (deviceId) return deviceId;
    }
    return null;
  }

  /** A device proof for a client that just logged into `userId` (renewing `deviceId`'s), or `undefined` when throttling is off. */
  issueDeviceProof(userId: string, deviceId: string | null): string | undefined {
    return this.proofs?.issue(userId, this.config.clock(), deviceId ?? undefined);
  }

  /** Counts a registration attempt from the client; throws {@link TooManyAttemptsError} past `maxRegistrationsPerIp`. */
  async admitRegistration(meta: RequestMeta): Promise<void> {
    const limits = this.config.loginThrottle;
    if (!limits || !meta.ip) return;
    const hit = await this.store.hit(`register:ip:${throttleClientKey(meta.ip)}`, limits.windowSeconds);
    if (hit.count > limits.maxRegistrationsPerIp) {
      throw new TooManyAttemptsError(Math.max(1, hit.resetInSeconds), 'Too many registrations from this client; try again later');
    }
  }

  /** Admits a check of the account's current password (password change); the account's failure budget. */
  async admitPasswordCheck(userId: string): Promise<AttemptReservation> {
    const limits = this.config.loginThrottle;
    if (!limits) return NOTHING_RESERVED;
    return this.throttle.acquire(
      [this.counter(`password:user:${digest(userId)}`, limits.maxFailuresPerAccount, true)],
      'Too many wrong passwords; try again later',
    );
  }

  /**
   * Admits a check of a second-factor code for the account (login's second step,
   * reauthentication, enrolment): `maxFailures` wrong codes per `windowSeconds` and
   * `maxFailuresPerDay` per 24 hours, then 429; a right code clears both. On whether
   * the login throttle is on or not: six digits are guessable.
   */
  admitSecondFactor(
    userId: string,
    limits: { maxFailures: number; windowSeconds: number; maxFailuresPerDay: number },
  ): Promise<AttemptReservation> {
    const key = `mfa:user:${digest(userId)}`;
    return this.throttle.acquire(
      [
        { key, limit: limits.maxFailures, windowSeconds: limits.windowSeconds, clearOnSuccess: true },
        // A day's cap too: the short window alone would let 480 guesses a day through.
        { key: `${key}:day`, limit: limits.maxFailuresPerDay, windowSeconds: 86_400, clearOnSuccess: true },
      ],
      'Too many wrong codes; try again later',
    );
  }

  /**
   * Forgets the account's login and password-check failures (after a password reset): the
   * account's own counters and those of its username and address as spelled at login.
   */
  async clearAccount(user: Pick<UserRecord, 'id' | 'username' | 'email'>): Promise<void> {
    if (!this.config.loginThrottle) return;
    const keys = [`login:user:${digest(user.id)}`, `password:user:${digest(user.id)}`, this.nameCounter(user.username, 0).key];
    if (user.email) keys.push(this.nameCounter(user.email, 0).key);
    await Promise.all(keys.flatMap((key) => [this.store.reset(key), this.store.reset(`${key}:f`)]));
  }

  /**
   * Counts one request against fixed-window limits (the recovery flows: mails asked for, links
   * tried), each key its own budget; throws {@link TooManyAttemptsError} once any is past its
   * limit. Keys are digested here, so they may hold addresses.
   */
  async admitRequest(budgets: ReadonlyArray<{ key: string; limit: number }>, windowSeconds: number, message: string): Promise<void> {
    for (const budget of budgets) {
      const hit = await this.store.hit(`req:${digest(budget.key)}`, windowSeconds);
      if (hit.count > budget.limit) throw new TooManyAttemptsError(Math.max(1, hit.resetInSeconds), message);
    }
  }

  /**
   * Admits a ceremony whose failure is counted per client IP (a passkey login): `limit` failures
   * per `windowSeconds`, then 429, a success clearing nothing (another client's failures stay).
   * Without a client IP nothing is counted.
   */
  admitFailuresPerIp(scope: string, meta: RequestMeta, limit: number, windowSeconds: number): Promise<AttemptReservation> {
    const client = this.clientKey(meta);
    if (client === null) return Promise.resolve(NOTHING_RESERVED);
    return this.throttle.acquire(
      [{ key: `${scope}:ip:${client}`, limit, windowSeconds, clearOnSuccess: false }],
      'Too many failed attempts; try again later',
    );
  }

  /** The client's part of a request budget key: its IP as the login throttle counts it, or `null` without one. */
  clientKey(meta: RequestMeta): string | null {
    return meta.ip ? throttleClientKey(meta.ip) : null;
  }

  // Without a client IP only the account budgets apply: say so once, as it is a deployment matter
  // (a Unix socket without trustProxy, or a proxy that writes no address).
  private warnNoClientIp(): void {
    if (this.warnedNoClientIp) return;
    this.warnedNoClientIp = true;
    this.logger.warn('a login came without a client IP: the per-IP limits do not apply to such requests (check trustProxy)');
  }

  private nameCounter(normalizedUsername: string, limit: number): AttemptCounter {
    return this.counter(`login:name:${digest(normalizedUsername)}`, limit, true);
  }

  private ipCounter(ip: string, limit: number): AttemptCounter {
    return this.counter(`login:ip:${throttleClientKey(ip)}`, limit, false);
  }

  private counter(key: string, limit: number, clearOnSuccess: boolean): AttemptCounter {
    return { key, limit, windowSeconds: this.config.loginThrottle!.windowSeconds, clearOnSuccess };
  }
}

// Hashed, so usernames and ids never sit in the counter store.
function digest(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('base64url');
}

function both(first: AttemptReservation, second: AttemptReservation): AttemptReservation {
  return {
    succeeded: async () => void (await Promise.all([first.succeeded(), second.succeeded()])),
    failed: async () => void (await Promise.all([first.failed(), second.failed()])),
    abandoned: async () => void (await Promise.all([first.abandoned(), second.abandoned()])),
  };
}
