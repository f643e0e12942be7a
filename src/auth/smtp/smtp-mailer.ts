import type { OnApplicationShutdown } from '@nestjs/common';
import { createTransport, type SMTPPoolOptions, type SMTPTransportOptions } from 'nodemailer';
import addressparser from 'nodemailer/lib/addressparser';
import { Mailer, type MailMessage } from '../mail/mailer.js';

/** Settings of an {@link SmtpMailer}: exactly one of `url` or `transport`, and `from`. */
export interface SmtpMailerOptions {
  /**
   * The server as a URL: `smtp://` (STARTTLS when the server offers it) or `smtps://` (TLS from
   * the start), with the login if any: `smtps://user:password@smtp.example.com:465` (encode
   * special characters in the password with `encodeURIComponent`).
   */
  url?: string;
  /** nodemailer's SMTP transport options (`host`, `port`, `secure`, `auth`, `pool: true`, `tls`...), for what a URL cannot say. */
  transport?: SMTPTransportOptions | SMTPPoolOptions;
  /** The sender: `no-reply@example.com` or `Example <no-reply@example.com>`. */
  from: string;
}

/** Why an {@link SmtpMailer} send failed: nodemailer's code and the server's reply code, without the reply's text. */
export class SmtpMailerError extends Error {
  /** nodemailer's error code: `EAUTH`, `ECONNECTION`, `ETIMEDOUT`, `EENVELOPE`, `EMESSAGE`... */
  readonly code: string | undefined;
  /** The SMTP reply code, if the server answered: 4xx is temporary, 5xx permanent. */
  readonly responseCode: number | undefined;
  /** The SMTP step that failed: `CONN`, `AUTH PLAIN`, `MAIL FROM`, `RCPT TO`, `DATA`... */
  readonly command: string | undefined;

  constructor(code: string | undefined, responseCode: number | undefined, command: string | undefined) {
    const details = [code, responseCode, command === undefined ? undefined : `at ${command}`].filter((part) => part !== undefined);
    super(`SMTP send failed${details.length > 0 ? ` (${details.join(' ')})` : ''}`);
    this.name = 'SmtpMailerError';
    this.code = code;
    this.responseCode = responseCode;
    this.command = command;
  }
}

// Shorter than nodemailer's (2 minutes to connect, 10 minutes of socket silence): a server that
// does not answer fails the attempt, and the MailQueue retries. The host's transport options win.
const TIMEOUTS = { connectionTimeout: 10_000, greetingTimeout: 10_000, socketTimeout: 60_000 } as const;

// Keys that make nodemailer build another kind of transport than SMTP.
const OTHER_TRANSPORTS = ['sendmail', 'streamTransport', 'jsonTransport', 'SES'];

interface SmtpTransporter {
  sendMail(mail: { from: string; to: string; subject: string; text: string; html: string }): Promise<unknown>;
  close(): void;
}

/**
 * Sends mail over SMTP, on nodemailer (an optional peer dependency: `npm install nodemailer`).
 * Its options are checked when it is made, with a `TypeError` naming the wrong one (never quoting
 * the URL, which may hold a password). A failed send rejects with an {@link SmtpMailerError}
 * that keeps nodemailer's code and the SMTP reply code, not the server's reply or the login.
 * Closes its transport (a pool's connections) on application shutdown, once the `MailQueue`
 * that sends through it has drained.
 *
 * @example
 * ```ts
 * emailFlow({ mailer: new SmtpMailer({ url: process.env.SMTP_URL!, from: 'Example <no-reply@example.com>' }) })
 * ```
 */
export class SmtpMailer extends Mailer implements OnApplicationShutdown {
  private readonly from: string;
  private readonly transporter: SmtpTransporter;

  constructor(options: SmtpMailerOptions) {
    super();
    if (typeof options !== 'object' || options === null) throw new TypeError('SmtpMailer: the options must be an object');
    const { url, transport, from } = options;
    if ((url === undefined) === (transport === undefined)) throw new TypeError('SmtpMailer: give exactly one of "url" or "transport"');
    if (!isSingleAddress(from)) throw new TypeError('SmtpMailer: "from" must be an email address, or "Name <address>"');
    this.from = from;
    let settings: SMTPTransportOptions | SMTPPoolOptions;
    if (url !== undefined) {
      if (!isSmtpUrl(url)) throw new TypeError('SmtpMailer: "url" must be an smtp:// or smtps:// URL with a host');
      settings = { ...TIMEOUTS, url };
    } else {
      if (typeof transport !== 'object' || transport === null || Array.isArray(transport)) {
        throw new TypeError('SmtpMailer: "transport" must be nodemailer SMTP transport options');
      }
      if (OTHER_TRANSPORTS.some((key) => key in transport)) {
        throw new TypeError('SmtpMailer: "transport" must be SMTP options, not another nodemailer transport');
      }
      if (transport.url !== undefined && !isSmtpUrl(transport.url)) {
        throw new TypeError('SmtpMailer: "transport.url" must be an smtp:// or smtps:// URL with a host');
      }
      settings = { ...TIMEOUTS, ...transport };
    }
    this.transporter = createTransport(settings) as SmtpTransporter;
  }

  /** Hands the message to the SMTP server; resolves once the server accepted it. */
  override async send(message: MailMessage): Promise<void> {
    // One recipient, never a list: a comma in an address must not add recipients.
    if (!isSingleAddress(message.to, { plain: true })) throw new TypeError('SmtpMailer: "to" must be one email address');
    try {
      await this.transporter.sendMail({
        from: this.from,
        to: message.to,
        subject: message.subject,
        text: message.text,
        html: message.html,
      });
    } catch (error) {
      // A new error, without the cause: nodemailer's message quotes addresses and the server's reply.
      throw cleanError(error);
    }
  }

  /** Closes the transport: a pool's idle connections now, its busy ones once their message is sent. */
  onApplicationShutdown(): void {
    this.transporter.close();
  }
}

function isSmtpUrl(value: unknown): boolean {
  if (typeof value !== 'string') return false;
  let parsed: URL;
  try {
    parsed = new URL(value);
  } catch {
    // Node's error quotes the input: never rethrown.
    return false;
  }
  return (parsed.protocol === 'smtp:' || parsed.protocol === 'smtps:') && parsed.hostname !== '';
}

// Through nodemailer's own address parser, so that the sender is read as nodemailer reads it.
function isSingleAddress(value: unknown, options: { plain?: boolean } = {}): value is string {
  if (typeof value !== 'string' || value.length > 998 || /\p{Cc}/u.test(value)) return false;
  const parsed = addressparser(value);
  if (parsed.length !== 1) return false;
  const [entry] = parsed;
  if (!entry || entry.address === undefined || !/^[^\s@<>()[\]\\,;:"]+@[^\s@<>()[\]\\,;:"]+$/.test(entry.address)) return false;
  return options.plain ? entry.address === value.trim() && entry.name === '' : true;
}

function cleanError(error: unknown): SmtpMailerError {
  const { code, responseCode, command } = (error ?? {}) as { code?: unknown; responseCode?: unknown; command?: unknown };
  return new SmtpMailerError(
    typeof code === 'string' && /^[A-Z0-9_]{1,32}$/.test(code) ? code : undefined,
    typeof responseCode === 'number' && Number.isInteger(responseCode) ? responseCode : undefined,
    typeof command === 'string' && /^[A-Z][A-Z0-9 -]{0,31}$/.test(command) ? command : undefined,
  );
}
