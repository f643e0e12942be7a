import type { Provider, Type } from '@nestjs/common';
import type { RequestMeta } from '../interfaces/request-meta.interface.js';
import type { SecondFactorMethod } from '../login/second-factor.js';
import type { UserRecord } from '../users/user-store.js';

/**
 * What a {@link LoginStep} is shown: the account that passed the first factor (never its
 * password or hash; its address and whether it is verified, for an account that has one), and the
 * request's client.
 */
export interface LoginStepContext {
  readonly user: Readonly<Pick<UserRecord, 'id' | 'username' | 'email' | 'emailVerified'>>;
  readonly meta: Readonly<RequestMeta>;
}

/**
 * A further step of login, run after the first factor (the password) has passed and before the
 * session opens, in the order the flows list them. A step refuses the login by throwing an
 * `AuthError` (its code reaches the client through the error table), which counts against the
 * account's login budget like a wrong password; returning lets the login go on. A step never
 * sees the password or its hash.
 *
 * @example
 * ```ts
 * @Injectable()
 * class NotSuspended extends LoginStep {
 *   readonly name = 'not-suspended';
 *   constructor(private readonly suspensions: SuspensionList) { super(); }
 *   async check({ user }: LoginStepContext): Promise<void> {
 *     if (await this.suspensions.has(user.id)) throw new AuthError(AuthErrorCode.INVALID_CREDENTIALS);
 *   }
 * }
 * ```
 */
export abstract class LoginStep {
  /** Names the step in audit events and errors. */
  abstract readonly name: string;
  /**
   * Whether a refusal counts against the account's login budget like a wrong password (`true`,
   * the default: a guessed second factor is throttled too). A step whose refusal is no guess
   * (an unverified email address, after the right password) says `false`: the attempt then
   * settles as the success of the password it was.
   */
  readonly refusalIsFailure: boolean = true;
  abstract check(context: LoginStepContext): void | Promise<void>;
}

/** What a {@link RegistrationStep} is shown of a registration: never the password. */
export interface RegistrationContext {
  readonly username: string;
  /** The email address given, NFC, or `undefined`. */
  readonly email: string | undefined;
  readonly meta: Readonly<RequestMeta>;
}

/**
 * A step of registration, from a flow: `check` runs before the user is created and refuses the
 * registration by throwing an `AuthError`; `created` runs once it exists (to send a verification
 * link, say), and what it throws is logged, never the registration's answer.
 */
export abstract class RegistrationStep {
  /** Names the step in logs. */
  abstract readonly name: string;
  check(context: RegistrationContext): void | Promise<void> {
    void context;
  }
  created(user: Readonly<Pick<UserRecord, 'id' | 'username' | 'email'>>, context: RegistrationContext): void | Promise<void> {
    void user;
    void context;
  }
}

/** The injection token of the registration steps of every flow, in order. */
export const REGISTRATION_STEPS = Symbol('nest-warden:registration-steps');

/** The injection token of the login steps of every flow, in order. */
export const LOGIN_STEPS = Symbol('nest-warden:login-steps');

/**
 * A flow: one capability (email verification, password reset, a second factor, a social login)
 * in its own folder, plugged into `AuthModule` with the `flows` option. The module adds its
 * providers, mounts its controllers under `routePrefix` (behind `AuthGuard`, so a route open
 * to anonymous callers says `@Public()`, and with the module's error edge), and runs its login
 * steps in the login pipeline; the core does not grow with it.
 */
export interface AuthFlow {
  /** Names the flow in start-up errors. */
  readonly name: string;
  /** The flow's services, and its stores under their abstract classes (so a host can override them). */
  readonly providers?: readonly Provider[];
  /**
   * Controllers, mounted under `routePrefix`: a controller declared `@Controller('totp')` answers
   * at `/auth/totp`. Each declares a path of its own, not one of the module's routes. Put
   * `AuthGuard`, if at all, on the class (the module drops it there under `globalGuard`); left
   * out with `controller: false`.
   */
  readonly controllers?: readonly Type[];
  /** Login steps, each a provider class, run after the first factor in the order given. */
  readonly loginSteps?: readonly Type<LoginStep>[];
  /** Registration steps, each a provider class, run in the order given. */
  readonly registrationSteps?: readonly Type<RegistrationStep>[];
  /**
   * Second factors this flow adds to the second-factor flow's login step (a passkey beside
   * TOTP), each a provider class: offered after a password to an account that has a second
   * factor on and this method enrolled.
   */
  readonly secondFactorMethods?: readonly Type<SecondFactorMethod>[];
  /** Fields this flow adds to `GET /auth/me` (the linked identities of a sign-in flow), each a provider class. */
  readonly profileFields?: readonly Type<ProfileField>[];
}

/**
 * A field a flow adds to `GET /auth/me`, under its `name` (which must not be one of the core's:
 * `userId`, `username`, `sessionId`, `email`, `emailVerified`, `mfa`).
 */
export abstract class ProfileField {
  abstract readonly name: string;
  abstract valueFor(userId: string): Promise<unknown>;
}

/** The injection token of the {@link ProfileField}s of every flow, in order. */
export const PROFILE_FIELDS = Symbol('nest-warden:profile-fields');
