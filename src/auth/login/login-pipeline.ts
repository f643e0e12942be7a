import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import type { AuthConfig } from '../auth.config.js';
import { AUTH_CONFIG } from '../auth.constants.js';
import { AuditTrail, errorName } from '../audit/audit-trail.js';
import { AuthError, AuthErrorCode, TooManyAttemptsError } from '../auth.errors.js';
import { LOGIN_STEPS, LoginStep, type LoginStepContext } from '../flows/auth-flow.js';
import type { RequestMeta } from '../interfaces/request-meta.interface.js';
import { isEmailAddress } from '../dto/credentials.dto.js';
import { isWellFormedText, PASSWORD_INPUT_MAX_LENGTH } from '../passwords/credential-policy.js';
import type { PasswordCheck } from '../passwords/password-hasher.js';
import { PasswordService } from '../passwords/password.service.js';
import { SessionService, type LoginResult } from '../sessions/session.service.js';
import type { AttemptReservation } from '../throttle/attempt-throttle.js';
import { LoginDefence, NOTHING_RESERVED } from '../throttle/login-defence.js';
import { UserStore, type UserRecord } from '../users/user-store.js';
import { SecondFactor, SecondFactorRequiredError } from './second-factor.js';

/** Options of a login. */
export interface LoginOptions {
  /** The device proof this client got at an earlier successful login, if any (or several: the first valid one counts). */
  deviceToken?: unknown;
  /**
   * Which field named the account, with `loginIdentifier` `"email"` or `"either"`: `"email"` is
   * looked up by address only. Default: as `loginIdentifier` says.
   */
  identifiedBy?: 'username' | 'email';
}

/**
 * Login as a pipeline: the first factor (the password, inside the login defence), then the
 * further steps of the flows ({@link LoginStep}), then the session and its tokens.
 */
@Injectable()
export class LoginPipeline {
  private readonly logger = new Logger(LoginPipeline.name);
  private readonly steps: readonly LoginStep[];

  constructor(
    private readonly users: UserStore,
    private readonly passwords: PasswordService,
    private readonly defence: LoginDefence,
    private readonly sessions: SessionService,
    private readonly audit: AuditTrail,
    @Inject(AUTH_CONFIG) private readonly config: Pick<AuthConfig, 'loginIdentifier'>,
    @Optional() @Inject(LOGIN_STEPS) steps?: LoginStep[],
    @Optional() private readonly secondFactor?: SecondFactor,
  ) {
    this.steps = steps ?? [];
  }

  /**
   * `username` names the account as `loginIdentifier` says (a username, an email address, or
   * either). `null` for bad credentials, never thrown for them; an unknown username costs the same hashing
   * time as a wrong password. Throws `TooManyAttemptsError` while over the login throttle,
   * whatever `AuthError` a login step refuses with, and `SecondFactorRequiredError` (with the
   * challenge) after the right password of an account with a second factor.
   */
  async login(username: unknown, password: unknown, meta: RequestMeta, options: LoginOptions): Promise<LoginResult | null> {
    const first = await this.firstFactor(username, password, meta, options);
    if (!first) return null;
    const { user, deviceId, reservation } = first;
    // The attempt is settled only once every step has passed: a step's refusal (a wrong second
    // factor) counts against the account like a wrong password, and never clears its failures.
    await this.furtherSteps(user, meta, reservation);
    const challenge = await this.challengeOf(user, deviceId, meta, reservation);
    await reservation.succeeded();
    if (challenge) {
      // The password was right: its attempt settles as a success, and the codes have a budget of their own.
      this.audit.record('login.mfa_required', { userId: user.id }, meta);
      throw new SecondFactorRequiredError(challenge);
    }
    return this.finish(user, deviceId, ['pwd'], meta);
  }

  /**
   * The second step of a login: redeems the challenge's `mfaToken` with a code (through the
   * flow's {@link SecondFactor}) and opens the session, `amr` `["pwd", "otp"]`. Throws
   * `AUTH_MFA_TOKEN_INVALID`, `AUTH_MFA_CODE_INVALID` or `TooManyAttemptsError`.
   */
  async completeSecondFactor(mfaToken: unknown, code: unknown, meta: RequestMeta): Promise<LoginResult> {
    if (!this.secondFactor) throw new AuthError(AuthErrorCode.MFA_TOKEN_INVALID);
    let step;
    try {
      step = await this.secondFactor.redeem(mfaToken, code, meta);
    } catch (error) {
      if (error instanceof AuthError && error.code !== AuthErrorCode.STORE_UNAVAILABLE) {
        this.audit.record('login.failed', { reason: error.code }, meta);
      }
      throw error;
    }
    return this.finish(step.user, step.deviceId, ['pwd', ...step.amr], meta);
  }

  /**
   * A login by a first factor a flow has checked itself (a passkey, `amr` `["hwk", "user"]`):
   * the login steps of the flows, as after a password, then the session. No second factor is
   * asked: the flow's factor is already two (a key and its user verification). Throws whatever
   * `AuthError` a login step refuses with.
   */
  async loginVerified(user: UserRecord, amr: readonly string[], meta: RequestMeta): Promise<LoginResult> {
    await this.furtherSteps(user, meta, NOTHING_RESERVED);
    return this.finish(user, null, amr, meta);
  }

  private async finish(user: UserRecord, deviceId: string | null, amr: readonly string[], meta: RequestMeta): Promise<LoginResult> {
    const { session, refreshToken } = await this.sessions.open(user, meta, amr);
    this.audit.record('login.succeeded', { userId: user.id, sessionId: session.id }, meta);
    await this.sessions.enforceLimit(user.id, session.id, meta);
    const tokens = await this.sessions.tokensFor(session, refreshToken);
    const deviceToken = this.defence.issueDeviceProof(user.id, deviceId);
    return deviceToken === undefined ? tokens : { ...tokens, deviceToken };
  }

  // The flow's challenge for an account with a second factor; an outage gives the attempt back.
  private async challengeOf(user: UserRecord, deviceId: string | null, meta: RequestMeta, reservation: AttemptReservation) {
    if (!this.secondFactor) return null;
    try {
      return await this.secondFactor.challenge(user, deviceId, meta);
    } catch (error) {
      await reservation.abandoned();
      throw error;
    }
  }

  /**
   * Throws `TooManyAttemptsError` (and records `login.throttled`) when the login throttle would
   * refuse this attempt whatever its password (`LoginDefence.refusalAhead`): for the edge to ask
   * before it validates the credentials, so a flood over its budget is refused for the least work.
   */
  async refuseAhead(username: unknown, meta: RequestMeta, options: LoginOptions): Promise<void> {
    // A proof is there when the body or a cookie holds one: the cookie transport reads none as [].
    const proof = options.deviceToken;
    const refusal = await this.defence.refusalAhead(
      username,
      meta,
      Array.isArray(proof) ? proof.length > 0 : proof !== undefined && proof !== null,
    );
    if (!refusal) return;
    this.audit.record('login.throttled', { reason: AuthErrorCode.TOO_MANY_ATTEMPTS }, meta);
    throw refusal;
  }

  // The password, counted before any hashing and atomically, so concurrent guesses cannot slip past.
  private async firstFactor(
    username: unknown,
    password: unknown,
    meta: RequestMeta,
    options: LoginOptions,
  ): Promise<{ user: UserRecord; deviceId: string | null; reservation: AttemptReservation } | null> {
    if (
      typeof username !== 'string' ||
      typeof password !== 'string' ||
      password.length > PASSWORD_INPUT_MAX_LENGTH ||
      !isWellFormedText(password)
    ) {
      this.audit.record('login.failed', { reason: AuthErrorCode.INVALID_CREDENTIALS }, meta);
      return null;
    }
    const normalized = username.normalize('NFC');
    let admission;
    try {
      admission = await this.defence.admitLogin(normalized, meta, options.deviceToken, () =>
        this.findAccount(normalized, options.identifiedBy),
      );
    } catch (error) {
      if (error instanceof TooManyAttemptsError) this.audit.record('login.throttled', { reason: AuthErrorCode.TOO_MANY_ATTEMPTS }, meta);
      throw error;
    }
    const { user, deviceId, reservation } = admission;
    let check: PasswordCheck;
    try {
      check = await this.passwords.checkLogin(user ? user.passwordHash : null, password);
    } catch (error) {
      // No verdict (a hashing thread failed): the attempt is given back, not counted as a failure.
      await reservation.abandoned();
      throw error;
    }
    if (!user || !check.valid) {
      await reservation.failed();
      this.audit.record('login.failed', { ...(user ? { userId: user.id } : {}), reason: AuthErrorCode.INVALID_CREDENTIALS }, meta);
      return null;
    }
    if (check.needsRehash) await this.upgradeHash(user, password);
    return { user, deviceId, reservation };
  }

  // By username or by email address, as loginIdentifier says. An email field is an address.
  // With `either`, a username field shaped like an address is an address first (a verified one),
  // and a username only otherwise (one registered before the mode was on): a username never
  // stands in for someone's verified address.
  private async findAccount(identifier: string, identifiedBy: 'username' | 'email' | undefined): Promise<UserRecord | null> {
    const by = this.config.loginIdentifier;
    if (by === 'username') return this.users.findByUsername(identifier);
    const address = isEmailAddress(identifier);
    if (by === 'email' || identifiedBy === 'email') return address ? this.users.findByEmail(identifier) : null;
    if (!address) return this.users.findByUsername(identifier);
    // A verified address wins; an unverified one (anyone may type any address at registration)
    // does not take the name from a username registered before the mode was on.
    const holder = await this.users.findByEmail(identifier);
    if (holder?.emailVerified) return holder;
    return (await this.users.findByUsername(identifier)) ?? holder;
  }

  private async furtherSteps(user: UserRecord, meta: RequestMeta, reservation: AttemptReservation): Promise<void> {
    if (this.steps.length === 0) return;
    // What a step sees: never the password, nor its hash.
    const context: LoginStepContext = Object.freeze({
      // The address only for an account that has one.
      user: Object.freeze({
        id: user.id,
        username: user.username,
        ...(user.email ? { email: user.email, emailVerified: user.emailVerified === true } : {}),
      }),
      meta: Object.freeze({ ...meta }),
    });
    for (const step of this.steps) {
      try {
        await step.check(context);
      } catch (error) {
        // A refusal is a verdict; an outage or a bug is not, and gives the attempt back.
        const refused = error instanceof AuthError && error.code !== AuthErrorCode.STORE_UNAVAILABLE;
        await (refused ? (step.refusalIsFailure ? reservation.failed() : reservation.succeeded()) : reservation.abandoned());
        this.audit.record('login.failed', { userId: user.id, reason: refused ? error.code : `step:${step.name}` }, meta);
        throw error;
      }
    }
  }

  private async upgradeHash(user: UserRecord, password: string): Promise<void> {
    try {
      await this.users.updatePasswordHash(user.id, await this.passwords.hash(password));
    } catch (error) {
      // The login itself is valid; the upgrade is retried on the next login.
      this.logger.warn(`password hash upgrade failed for user ${user.id}: ${errorName(error)}`);
    }
  }
}
