import { Inject, Injectable } from '@nestjs/common';
import { AuditTrail } from '../../audit/audit-trail.js';
import { AuthError, AuthErrorCode, AuthOptionsError, EmailTakenError } from '../../auth.errors.js';
import type { RequestMeta } from '../../interfaces/request-meta.interface.js';
import { checkCurrentPassword } from '../../accounts/current-password.js';
import { PasswordService } from '../../passwords/password.service.js';
import { LoginDefence } from '../../throttle/login-defence.js';
import { isEmailAddress } from '../../dto/credentials.dto.js';
import { foldEmail, UserStore, type UserRecord } from '../../users/user-store.js';
import { EMAIL_FLOW_CONFIG, type EmailFlowConfig } from './email-flow.options.js';
import { RecoveryMail } from './recovery-mail.js';
import { RecoveryThrottle } from './recovery-throttle.js';
import { changeBinding, changedEmail, RecoveryTokens, TokenPurpose } from './recovery-tokens.js';

/** Email verification and email change: the links, and what using one does. */
@Injectable()
export class EmailVerificationService {
  constructor(
    private readonly users: UserStore,
    private readonly tokens: RecoveryTokens,
    private readonly mail: RecoveryMail,
    private readonly throttle: RecoveryThrottle,
    private readonly passwords: PasswordService,
    private readonly defence: LoginDefence,
    private readonly audit: AuditTrail,
    @Inject(EMAIL_FLOW_CONFIG) private readonly config: EmailFlowConfig,
  ) {
    // At start-up, once the user store is known: the flow needs one that keeps addresses.
    if (!users.keepsEmail) {
      throw new AuthOptionsError(
        'flows',
        `flow "email": the userStore ${users.constructor.name} keeps no email addresses (keepsEmail is false)`,
      );
    }
  }

  /**
   * Mails a verification link to the account's current address (`POST /email/verification`).
   * An account without an address is a 400; one already verified gets no mail (the answer is the same).
   */
  async requestVerification(userId: string, meta: RequestMeta): Promise<void> {
    await this.throttle.admit('verification', meta, userId);
    const user = await this.users.findById(userId);
    if (!user?.email) throw new AuthError(AuthErrorCode.VALIDATION_FAILED, 'the account has no email address to verify');
    this.audit.record('email.verification.requested', { userId }, meta);
    if (user.emailVerified) return;
    await this.sendVerification(user, meta);
  }

  /**
   * `POST /email/verification/resend {email}`, open to anonymous callers (an account that may not
   * log in before its address is verified has no session to ask with): counts the request per
   * client and per address, answers, and mails a new link after the response if the address is
   * an account's and not verified yet, so the answer tells nothing.
   */
  async resendVerification(email: string, meta: RequestMeta): Promise<void> {
    await this.throttle.admit('resend', meta, `email:${foldEmail(email)}`);
    this.mail.background('verification resend', async () => {
      const user = await this.users.findByEmail(email.normalize('NFC'));
      if (!user || user.emailVerified || !(await this.throttle.allowsMail('resend', user.id))) return;
      this.audit.record('email.verification.requested', { userId: user.id }, meta);
      await this.sendVerification(user, meta);
    });
  }

  /** Issues a verification link for the user's address and queues the mail (also on registration). */
  async sendVerification(user: Pick<UserRecord, 'id' | 'username' | 'email'>, meta: RequestMeta): Promise<void> {
    if (!user.email) return;
    const token = await this.tokens.issue(
      TokenPurpose.VERIFY_EMAIL,
      user.id,
      foldEmail(user.email),
      this.config.verificationTtlSeconds,
      // The newest link only: a resend voids the older ones, so an account holds one at a time.
      true,
    );
    this.mail.send(
      'verifyEmail',
      {
        username: user.username,
        email: user.email,
        link: this.config.links.verifyEmail(token),
        expiresInMinutes: this.config.verificationTtlSeconds / 60,
      },
      { sent: 'email.verification.sent', failed: 'email.verification.failed', userId: user.id },
      meta,
    );
  }

  /**
   * Uses a verification or email-change link (`POST /email/verify`): the address it was sent to
   * is the account's, verified. Throws `AUTH_VERIFICATION_TOKEN_INVALID` for a token that is
   * unknown, used, expired or void (the address changed since), `AUTH_EMAIL_TAKEN` when the new
   * address went to another account meanwhile.
   */
  async verify(token: string, meta: RequestMeta): Promise<{ emailVerified: true }> {
    await this.throttle.admit('verify', meta);
    const taken = await this.tokens.take(token, [TokenPurpose.VERIFY_EMAIL, TokenPurpose.CHANGE_EMAIL]);
    const user = taken ? await this.users.findById(taken.userId) : null;
    if (!taken || !user)
      return this.refuse(
        taken?.purpose === TokenPurpose.CHANGE_EMAIL ? 'email.change.failed' : 'email.verification.failed',
        taken?.userId,
        meta,
      );
    if (taken.purpose === TokenPurpose.VERIFY_EMAIL) {
      // Bound to the address it was sent to: after a change, the old address's link is void.
      if (!user.email || foldEmail(user.email) !== taken.subject) return this.refuse('email.verification.failed', user.id, meta);
      await this.users.updateEmail(user.id, user.email, true);
      this.audit.record('email.verification.used', { userId: user.id }, meta);
      return { emailVerified: true };
    }
    // Bound to the password too: after a reset or a password change, a pending change is void.
    const newEmail = changedEmail(taken.subject, user.passwordHash);
    if (newEmail === null) return this.refuse('email.change.failed', user.id, meta);
    try {
      await this.users.updateEmail(user.id, newEmail, true);
    } catch (error) {
      if (error instanceof EmailTakenError) this.audit.record('email.change.failed', { userId: user.id, reason: error.code }, meta);
      throw error;
    }
    // Links to the old address are void with it (verification links name it, reset links are bound
    // to it); other change links and reset links asked for before go too.
    await Promise.all([
      this.tokens.revokeAll(user.id, TokenPurpose.CHANGE_EMAIL),
      this.tokens.revokeAll(user.id, TokenPurpose.RESET_PASSWORD),
    ]);
    this.audit.record('email.change.used', { userId: user.id }, meta);
    return { emailVerified: true };
  }

  /**
   * Asks to change the account's address (`POST /email/change`): the current password proves the
   * caller is the account's owner now; a link goes to the new address, a notice to the old one,
   * and the address changes only when the link is used. A wrong password is `AUTH_INVALID_CREDENTIALS`
   * (on the account's failure budget). A new address another account holds gets no link, and the
   * answer is the same (it tells no one whose address it is).
   */
  async requestChange(userId: string, newEmail: string, password: string, meta: RequestMeta): Promise<void> {
    await this.throttle.admit('change', meta, userId);
    const user = await this.users.findById(userId);
    if (!user || !(await checkCurrentPassword(this.defence, this.passwords, user, password))) {
      this.audit.record('email.change.failed', { userId, reason: AuthErrorCode.INVALID_CREDENTIALS }, meta);
      throw new AuthError(AuthErrorCode.INVALID_CREDENTIALS, 'Password is wrong');
    }
    if (!isEmailAddress(newEmail)) throw new AuthError(AuthErrorCode.VALIDATION_FAILED, 'newEmail must be an email address');
    const email = newEmail.normalize('NFC');
    this.audit.record('email.change.requested', { userId }, meta);
    if (user.email && foldEmail(user.email) === foldEmail(email) && user.emailVerified) return;
    const holder = await this.users.findByEmail(email);
    if (holder && holder.id !== user.id) {
      this.audit.record('email.change.failed', { userId, reason: AuthErrorCode.EMAIL_TAKEN }, meta);
      return;
    }
    const token = await this.tokens.issue(
      TokenPurpose.CHANGE_EMAIL,
      user.id,
      changeBinding(email, user.passwordHash),
      this.config.changeTtlSeconds,
      true,
    );
    this.mail.send(
      'changeEmail',
      { username: user.username, email, link: this.config.links.changeEmail(token), expiresInMinutes: this.config.changeTtlSeconds / 60 },
      { sent: 'email.change.sent', failed: 'email.change.failed', userId: user.id },
      meta,
    );
    if (user.email && foldEmail(user.email) !== foldEmail(email)) {
      this.mail.send(
        'emailChangeNotice',
        { username: user.username, email: user.email, newEmail: email },
        { sent: 'email.change.sent', failed: 'email.change.failed', userId: user.id },
        meta,
      );
    }
  }

  private refuse(event: 'email.verification.failed' | 'email.change.failed', userId: string | undefined, meta: RequestMeta): never {
    this.audit.record(event, { ...(userId === undefined ? {} : { userId }), reason: AuthErrorCode.VERIFICATION_TOKEN_INVALID }, meta);
    throw new AuthError(AuthErrorCode.VERIFICATION_TOKEN_INVALID);
  }
}
