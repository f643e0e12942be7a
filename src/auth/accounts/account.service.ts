import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { AuditTrail } from '../audit/audit-trail.js';
import { errorName } from '../audit/audit-trail.js';
import type { AuthConfig } from '../auth.config.js';
import { AUTH_CONFIG } from '../auth.constants.js';
import { AuthError, AuthErrorCode, CredentialPolicyError, EmailTakenError, UsernameTakenError } from '../auth.errors.js';
import { isEmailAddress } from '../dto/credentials.dto.js';
import { checkCurrentPassword } from './current-password.js';
import { REGISTRATION_STEPS, RegistrationStep, type RegistrationContext } from '../flows/auth-flow.js';
import type { RequestMeta } from '../interfaces/request-meta.interface.js';
import { CredentialPolicy } from '../passwords/credential-policy.js';
import { PasswordService } from '../passwords/password.service.js';
import { SessionService } from '../sessions/session.service.js';
import { LoginDefence } from '../throttle/login-defence.js';
import { UserStore, type UserRecord } from '../users/user-store.js';

/** A registered user as the API shows it. */
export interface RegisteredUser {
  userId: string;
  username: string;
  /** The address given at registration, if one was. */
  email?: string;
}

/** Optional parts of a registration. */
export interface RegistrationOptions {
  /** An email address for the account (stored unverified); needs a user store that keeps them. */
  email?: string;
}

/** Outcome of a password change. */
export type PasswordChangeResult =
  | { ok: true; endedSessions: number }
  | { ok: false; code: typeof AuthErrorCode.INVALID_CREDENTIALS | typeof AuthErrorCode.PASSWORD_POLICY; message: string };

/** Accounts: registration and password change, under the credential policy and the login defence. */
@Injectable()
export class AccountService {
  private readonly logger = new Logger(AccountService.name);
  private readonly steps: readonly RegistrationStep[];

  constructor(
    private readonly users: UserStore,
    private readonly policy: CredentialPolicy,
    private readonly passwords: PasswordService,
    private readonly defence: LoginDefence,
    private readonly sessions: SessionService,
    private readonly audit: AuditTrail,
    @Inject(AUTH_CONFIG) private readonly config: Pick<AuthConfig, 'loginIdentifier'>,
    @Optional() @Inject(REGISTRATION_STEPS) steps?: RegistrationStep[],
  ) {
    this.steps = steps ?? [];
  }

  /** The user with that id, or `null`. */
  findUser(userId: string): Promise<UserRecord | null> {
    return this.users.findById(userId);
  }

  /**
   * Creates a user. Throws `CredentialPolicyError` for a refused pair, `UsernameTakenError` for a
   * taken username, `EmailTakenError` for a taken address, `TooManyAttemptsError` past
   * `maxRegistrationsPerIp`, and what a flow's registration step refuses with.
   */
  async register(username: string, password: string, meta: RequestMeta, options: RegistrationOptions = {}): Promise<RegisteredUser> {
    this.policy.assert(username, password);
    // Where one login field takes usernames and addresses, no username may look like an address (it would stand in for someone's).
    if (this.config.loginIdentifier === 'either' && isEmailAddress(username)) {
      throw new CredentialPolicyError('username', 'username must not be an email address');
    }
    const email = options.email?.normalize('NFC');
    if (email !== undefined && !isEmailAddress(email))
      throw new AuthError(AuthErrorCode.VALIDATION_FAILED, 'email must be an email address');
    if (email !== undefined && !this.users.keepsEmail) {
      throw new AuthError(AuthErrorCode.VALIDATION_FAILED, 'email is not accepted: this app keeps no email addresses');
    }
    await this.defence.admitRegistration(meta);
    const normalized = username.normalize('NFC');
    const context: RegistrationContext = Object.freeze({ username: normalized, email, meta: Object.freeze({ ...meta }) });
    for (const step of this.steps) await step.check(context);
    if (await this.users.findByUsername(normalized)) throw new UsernameTakenError();
    if (email !== undefined && (await this.users.findByEmail(email))) throw new EmailTakenError();
    const passwordHash = await this.passwords.hash(password);
    const user = await this.users.create({ username: normalized, passwordHash, ...(email === undefined ? {} : { email }) });
    this.audit.record('register', { userId: user.id }, meta);
    for (const step of this.steps) await this.afterRegistration(step, user, context);
    return { userId: user.id, username: user.username, ...(user.email ? { email: user.email } : {}) };
  }

  // The account exists whatever a step does next: its failure is logged, not the answer.
  private async afterRegistration(step: RegistrationStep, user: UserRecord, context: RegistrationContext): Promise<void> {
    try {
      await step.created(Object.freeze({ id: user.id, username: user.username, email: user.email ?? null }), context);
    } catch (error) {
      this.logger.warn(`registration step "${step.name}" failed after user ${user.id} was created: ${errorName(error)}`);
    }
  }

  /**
   * Changes a password after checking the current one (the account's failure budget) and the
   * policy, then ends every other session of the user (`keepSessionId` survives).
   */
  async changePassword(
    userId: string,
    currentPassword: unknown,
    newPassword: unknown,
    keepSessionId: string | undefined,
    meta: RequestMeta,
  ): Promise<PasswordChangeResult> {
    const user = typeof userId === 'string' ? await this.users.findById(userId) : null;
    const valid = user !== null && (await checkCurrentPassword(this.defence, this.passwords, user, currentPassword));
    if (!user || !valid) {
      this.audit.record('password.change.failed', { userId, reason: AuthErrorCode.INVALID_CREDENTIALS }, meta);
      return { ok: false, code: AuthErrorCode.INVALID_CREDENTIALS, message: 'Current password is wrong' };
    }
    const reason = this.policy.checkPassword(newPassword, user.username);
    if (reason !== null) {
      this.audit.record('password.change.failed', { userId, reason: AuthErrorCode.PASSWORD_POLICY }, meta);
      return { ok: false, code: AuthErrorCode.PASSWORD_POLICY, message: reason };
    }
    await this.users.updatePasswordHash(user.id, await this.passwords.hash(newPassword as string));
    const endedSessions = await this.sessions.endOthers(user.id, keepSessionId);
    this.audit.record('password.changed', { userId: user.id }, meta);
    return { ok: true, endedSessions };
  }
}
