/** One message as nest-warden sends it: a plain-text and an HTML body. */
export interface MailMessage {
  /** The recipient's address. */
  to: string;
  subject: string;
  text: string;
  html: string;
}

/**
 * Sends mail: the contract and the DI token. `SmtpMailer` (from `nestjs-warden/smtp`, on
 * nodemailer) sends over SMTP; `LogMailer` writes each message to the log, for development.
 * Extend it for a provider's HTTP API. `send` resolves once the message is accepted for
 * delivery and rejects when it is not (nest-warden retries, then logs the failure).
 */
export abstract class Mailer {
  abstract send(message: MailMessage): Promise<void>;
}
