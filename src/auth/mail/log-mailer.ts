import { Logger, type LoggerService } from '@nestjs/common';
import { Mailer, type MailMessage } from './mailer.js';

const CONTEXT = 'Mail';

/**
 * The development mailer: writes each message to the log (context `Mail`) as one block, the
 * recipient, the subject and the plain-text body, instead of sending it. Links in the body (a
 * verification or reset token) are in the log too, so it is for development only; use
 * `SmtpMailer` (`nestjs-warden/smtp`) or your own {@link Mailer} in production.
 */
export class LogMailer extends Mailer {
  private readonly logger: LoggerService;

  /** @param logger Where the blocks go; default Nest's `Logger` (so `Logger.overrideLogger` reaches it). */
  constructor(logger?: LoggerService) {
    super();
    this.logger = logger ?? new Logger(CONTEXT);
  }

  override send(message: MailMessage): Promise<void> {
    this.logger.log(formatMail(message), CONTEXT);
    return Promise.resolve();
  }
}

// The headers on one line each (line breaks in them flattened, so they cannot forge log lines), then the text.
function formatMail(message: MailMessage): string {
  return [`To: ${oneLine(message.to)}`, `Subject: ${oneLine(message.subject)}`, '(HTML part omitted)', '', message.text].join('\n');
}

function oneLine(value: string): string {
  return String(value).replace(/[\r\n]+/g, ' ');
}
