import { DataSource } from 'typeorm';
import { emailFlow, type AuthFlow, type EmailFlowOptions } from '../auth/index.js';
import { RedisOneTimeTokenStore } from '../auth/redis/index.js';
import { SmtpMailer } from '../auth/smtp/index.js';
import { TypeOrmOneTimeTokenStore } from '../auth/typeorm/index.js';
import { demoRedisUrl, demoStoreKind, SQL_STORE_NEEDS_DATABASE } from './demo-options.js';

/** The sender of the demo's mails unless `MAIL_FROM` says otherwise. */
export const DEMO_MAIL_FROM = 'nest-warden demo <no-reply@localhost>';

/**
 * The demo's email flow options from the environment:
 * - `SMTP_URL` (`smtp://user:pass@host:587`, `smtps://...`) sends the mails over SMTP from
 *   `MAIL_FROM`; without it every mail, links included, goes to the log (`LogMailer`), and in
 *   production (`NODE_ENV=production`) the demo refuses to start.
 * - `APP_URL` is the base of the links (default `http://localhost:$PORT`; https in production).
 * - `AUTH_EMAIL_REQUIRED=true` makes registration need an address and login a verified one.
 * - The single-use tokens live where `AUTH_SESSION_STORE` puts the sessions (memory, Redis, SQL).
 */
export function demoEmailFlowOptions(env: NodeJS.ProcessEnv = process.env): EmailFlowOptions {
  const options: EmailFlowOptions = {
    appUrl: env.APP_URL || `http://localhost:${env.PORT || 3000}`,
    emailVerification: { required: demoEmailRequired(env) },
    // From the environment given, not the process's, like the rest of the demo's settings.
    production: env.NODE_ENV === 'production',
  };
  if (env.SMTP_URL) options.mailer = new SmtpMailer({ url: env.SMTP_URL, from: env.MAIL_FROM || DEMO_MAIL_FROM });
  const store = demoStoreKind(env);
  // Factories, so no connection opens before the app starts, and the DataSource is the app's.
  if (store === 'redis') {
    const url = demoRedisUrl(env);
    options.tokenStore = { useFactory: () => new RedisOneTimeTokenStore({ url }) };
  } else if (store === 'sql') {
    if (!env.AUTH_DATABASE_URL) throw new Error(SQL_STORE_NEEDS_DATABASE);
    options.tokenStore = { inject: [DataSource], useFactory: (dataSource: DataSource) => new TypeOrmOneTimeTokenStore({ dataSource }) };
  }
  return options;
}

/** The demo's email flow (verification, password reset, email change), set up from the environment: see {@link demoEmailFlowOptions}. */
export function demoEmailFlow(env: NodeJS.ProcessEnv = process.env): AuthFlow {
  return emailFlow(demoEmailFlowOptions(env));
}

function demoEmailRequired(env: NodeJS.ProcessEnv): boolean {
  const value = env.AUTH_EMAIL_REQUIRED;
  if (value === undefined || value === '' || value === 'false') return false;
  if (value === 'true') return true;
  throw new Error(`AUTH_EMAIL_REQUIRED must be "true" or "false", not "${value}"`);
}
