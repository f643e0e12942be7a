// SMTP mail: import from 'nestjs-warden/smtp' (needs the optional peer dependency nodemailer).
export { SmtpMailer, SmtpMailerError } from './smtp-mailer.js';
export type { SmtpMailerOptions } from './smtp-mailer.js';
