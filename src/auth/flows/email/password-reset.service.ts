import { Inject, Injectable, Logger } from '@nestjs/common';
import { AuditTrail, errorName } from '../../audit/audit-trail.js';
import { AuthError, AuthErrorCode } from '../../auth.errors.js';
import type { RequestMeta } from '../../interfaces/request-meta.interface.js';
import { CredentialPolicy } from '../../passwords/credential-policy.js';
import { PasswordService } from '../../passwords/password.service.js';
import { SessionService } from '../../sessions/session.service.js';
import { LoginDefence } from '../../throttle/login-defence.js';
import { foldEmail, UserStore, type UserRecord } from '../../users/user-store.js';
import { EMAIL_FLOW_CONFIG, type EmailFlowConfig } from './email-flow.options.js';
import { RecoveryMail } from './recovery-mail.js';
import { RecoveryThrottle } from './recovery-throttle.js';
import { RecoveryTokens, resetBinding, TokenPurpose } from './recovery-tokens.js';

/** Who forgot their password: an email address or a username. */
export type ForgottenAccount = { email: string; username?: undefined } | { username: string; email?: undefined };

/** Password reset: the link, and the new password it sets. */
@Injectable()
export class PasswordResetService {
  private readonly logger = new Logger('EmailFlow');

  constructor(
    private readonly users: UserStore,
    private readonly tokens: RecoveryTokens,
    private readonly mail: RecoveryMail,
    private readonly throttle: RecoveryThrottle,
    private readonly passwords: PasswordService,
    private readonly policy: CredentialPolicy,
    private readonly sessions: SessionService,
    private readonly defence: LoginDefence,
    private readonly audit: AuditTrail,
    @Inject(EMAIL_FLOW_CONFIG) private readonly config: EmailFlowConfig,
  ) {}

  /**
   * `POST /password/forgot`: counts the request (per client, and per address or username as
   * given), then answers. Finding the account and mailing its link happen after the response,
   * so the answer and its timing are the same whether the account exists or not. A newer request
   * voids the account's older links.
   */
  async forgot(account: ForgottenAccount, meta: RequestMeta): Promise<void> {
    const asked = account.email !== undefined ? `email:${foldEmail(account.email)}` : `username:${account.username.normalize('NFC')}`;
    await this.throttle.admit('forgot', meta, asked);
    this.mail.background('password reset request', async () => {
      const user = await this.find(account);
      this.audit.record('password.reset.requested', user ? { userId: user.id } : { reason: 'unknown-account' }, meta);
      // Counted per account too (a user id, whatever the address or username was spelled as), after the response.
      if (!user?.email || !(await this.throttle.allowsMail('forgot', user.id))) return;
      const token = await this.tokens.issue(TokenPurpose.RESET_PASSWORD, user.id, resetBinding(user), this.config.resetTtlSeconds, true);
      this.mail.send(
        'resetPassword',
        {
          username: user.username,
          email: user.email,
          link: this.config.links.resetPassword(token),
          expiresInMinutes: this.config.resetTtlSeconds / 60,
        },
        { sent: 'password.reset.sent', failed: 'password.reset.failed', userId: user.id },
        meta,
      );
    });
  }

  /**
   * `POST /password/reset`: sets the new password (under the policy, as at registration), ends
   * every session of the account, voids its other reset links and pending address changes,
   * marks its address verified (the link reached it) and clears its login throttle.
   * Throws `AUTH_VERIFICATION_TOKEN_INVALID` for a link that is unknown, used, expired or void (the
   * password changed since it was sent); a refused password leaves the link usable.
   */
  async reset(token: string, newPassword: string, meta: RequestMeta): Promise<void> {
    await this.throttle.admit('reset', meta);
    // The rules that need no account first, so a refused password leaves the link as it is.
    const early = this.policy.checkPassword(newPassword);
    if (early !== null) throw new AuthError(AuthErrorCode.PASSWORD_POLICY, early);
    const taken = await this.tokens.take(token, [TokenPurpose.RESET_PASSWORD]);
    const user = taken ? await this.users.findById(taken.userId) : null;
    if (!taken || !user || resetBinding(user) !== taken.subject) {
      this.audit.record(
        'password.reset.failed',
        { ...(taken ? { userId: taken.userId } : {}), reason: AuthErrorCode.VERIFICATION_TOKEN_INVALID },
        meta,
      );
      throw new AuthError(AuthErrorCode.VERIFICATION_TOKEN_INVALID);
    }
    const reason = this.policy.checkPassword(newPassword, user.username);
    if (reason !== null) {
      // Only the username rule is left to fail here: the link is put back, so the user can try
      // another password. (A newer request made in the moment between would leave this link
      // usable beside the new one until it expires; both are bound to the same password hash.)
      await this.tokens.restore(taken);
      this.audit.record('password.reset.failed', { userId: user.id, reason: AuthErrorCode.PASSWORD_POLICY }, meta);
      throw new AuthError(AuthErrorCode.PASSWORD_POLICY, reason);
    }
    await this.users.updatePasswordHash(user.id, await this.passwords.hash(newPassword));
    // Pending address changes end with the password: they may be an intruder's.
    await Promise.all([
      this.tokens.revokeAll(user.id, TokenPurpose.RESET_PASSWORD),
      this.tokens.revokeAll(user.id, TokenPurpose.CHANGE_EMAIL),
    ]);
    await this.sessions.endAll(user.id, meta);
    await this.defence.clearAccount(user);
    await this.verifyReachedAddress(user);
    this.audit.record('password.reset.used', { userId: user.id }, meta);
  }

  // The link reached the account's address (it is bound to it): that address is proven, if it
  // is still the account's (a change may have completed while the password was hashed).
  private async verifyReachedAddress(user: UserRecord): Promise<void> {
    if (!user.email || user.emailVerified) return;
    try {
      const now = await this.users.findById(user.id);
      if (now?.email && !now.emailVerified && foldEmail(now.email) === foldEmail(user.email))
        await this.users.updateEmail(user.id, now.email, true);
    } catch (error) {
      // The reset itself is done; the address stays unverified.
      this.logger.warn(`marking the address of user ${user.id} verified after a reset failed: ${errorName(error)}`);
    }
  }

  private find(account: ForgottenAccount): Promise<UserRecord | null> {
    return account.email !== undefined
      ? this.users.findByEmail(account.email.normalize('NFC'))
      : this.users.findByUsername(account.username.normalize('NFC'));
  }
}
