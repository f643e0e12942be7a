import { Injectable } from '@nestjs/common';
import { AuditTrail } from '../audit/audit-trail.js';
import { AuthErrorCode, UsernameTakenError } from '../auth.errors.js';
import type { RequestMeta } from '../interfaces/request-meta.interface.js';
import { CredentialPolicy, isWellFormedText, PASSWORD_INPUT_MAX_LENGTH } from '../passwords/credential-policy.js';
import { PasswordService } from '../passwords/password.service.js';
import { SessionService } from '../sessions/session.service.js';
import { LoginDefence } from '../throttle/login-defence.js';
import { UserStore, type UserRecord } from '../users/user-store.js';

/** A registered user as the API shows it. */
export interface RegisteredUser {
  userId: string;
  username: string;
}

/** Outcome of a password change. */
export type PasswordChangeResult =
  | { ok: true; endedSessions: number }
  | { ok: false; code: typeof AuthErrorCode.INVALID_CREDENTIALS | typeof AuthErrorCode.PASSWORD_POLICY; message: string };

/** Accounts: registration and password change, under the credential policy and the login defence. */
@Injectable()
export class AccountService {
  constructor(
    private readonly users: UserStore,
    private readonly policy: CredentialPolicy,
    private readonly passwords: PasswordService,
    private readonly defence: LoginDefence,
    private readonly sessions: SessionService,
    private readonly audit: AuditTrail,
  ) {}

  /** The user with that id, or `null`. */
  findUser(userId: string): Promise<UserRecord | null> {
    return this.users.findById(userId);
  }

  /**
   * Creates a user. Throws `CredentialPolicyError` for a refused pair, `UsernameTakenError` for a
   * taken username and `TooManyAttemptsError` past `maxRegistrationsPerIp`.
   */
  async register(username: string, password: string, meta: RequestMeta): Promise<RegisteredUser> {
    this.policy.assert(username, password);
    await this.defence.admitRegistration(meta);
    const normalized = username.normalize('NFC');
    if (await this.users.findByUsername(normalized)) throw new UsernameTakenError();
    const passwordHash = await this.passwords.hash(password);
    const user = await this.users.create({ username: normalized, passwordHash });
    this.audit.record('register', { userId: user.id }, meta);
    return { userId: user.id, username: user.username };
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
    let valid = false;
    if (
      user !== null &&
      typeof currentPassword === 'string' &&
      currentPassword.length <= PASSWORD_INPUT_MAX_LENGTH &&
      isWellFormedText(currentPassword)
    ) {
      // Checking the current password is a guess like a login: the account's failure budget.
      const reservation = await this.defence.admitPasswordCheck(user.id);
      try {
        valid = (await this.passwords.check(user.passwordHash, currentPassword)).valid;
      } catch (error) {
        await reservation.abandoned();
        throw error;
      }
      await (valid ? reservation.succeeded() : reservation.failed());
    }
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
