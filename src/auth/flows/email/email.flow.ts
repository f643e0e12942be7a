import { Logger } from '@nestjs/common';
import { LogMailer } from '../../mail/log-mailer.js';
import { MailQueue } from '../../mail/mail-queue.js';
import { Mailer } from '../../mail/mailer.js';
import { InMemoryOneTimeTokenStore } from '../../one-time-tokens/in-memory-one-time-token.store.js';
import { OneTimeTokenStore } from '../../one-time-tokens/one-time-token.store.js';
import type { AuthFlow } from '../auth-flow.js';
import { EmailController, PasswordResetController } from './email.controller.js';
import { EMAIL_FLOW_CONFIG, partProvider, resolveEmailFlowConfig, type EmailFlowOptions } from './email-flow.options.js';
import { EmailRegistrationStep, EmailVerifiedStep } from './email-steps.js';
import { EmailVerificationService } from './email-verification.service.js';
import { PasswordResetService } from './password-reset.service.js';
import { RecoveryMail } from './recovery-mail.js';
import { RecoveryThrottle } from './recovery-throttle.js';
import { RecoveryTokens } from './recovery-tokens.js';

/**
 * Email addresses as a flow: verification (`POST /auth/email/verification`, `/email/verify`),
 * password reset (`/password/forgot`, `/password/reset`) and email change (`/email/change`),
 * mailed through a {@link Mailer} off the request path. Its stores (`OneTimeTokenStore`,
 * `Mailer`) are providers under their abstract classes, so a host can override them.
 *
 * @example
 * ```ts
 * AuthModule.forRoot({
 *   secret,
 *   flows: [emailFlow({ mailer: new SmtpMailer({ url: process.env.SMTP_URL!, from: 'no-reply@example.com' }), appUrl: 'https://app.example.com' })],
 * })
 * ```
 */
export function emailFlow(options: EmailFlowOptions = {}): AuthFlow {
  const config = resolveEmailFlowConfig(options);
  if (options.mailer === undefined) {
    new Logger('EmailFlow').warn(
      'no mailer given: every mail, links included, goes to the log (LogMailer); pass emailFlow({ mailer }) before production',
    );
  }
  return {
    name: 'email',
    providers: [
      { provide: EMAIL_FLOW_CONFIG, useValue: config },
      partProvider(Mailer, options.mailer, () => new LogMailer()),
      // A provider, so Nest's shutdown hooks reach its sweeper or connection.
      partProvider(OneTimeTokenStore, options.tokenStore, () => new InMemoryOneTimeTokenStore()),
      { provide: MailQueue, useFactory: (sender: Mailer) => new MailQueue(sender, options.queue), inject: [Mailer] },
      RecoveryTokens,
      RecoveryMail,
      RecoveryThrottle,
      EmailVerificationService,
      PasswordResetService,
    ],
    controllers: [EmailController, PasswordResetController],
    loginSteps: [EmailVerifiedStep],
    registrationSteps: [EmailRegistrationStep],
  };
}
