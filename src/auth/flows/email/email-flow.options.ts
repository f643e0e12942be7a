import type { InjectionToken } from '@nestjs/common';
import { checkBoolean, checkInteger } from '../../auth.config.js';
import { AuthOptionsError } from '../../auth.errors.js';
import { Mailer } from '../../mail/mailer.js';
import type { MailQueueOptions } from '../../mail/mail-queue.js';
import { OneTimeTokenStore } from '../../one-time-tokens/one-time-token.store.js';
import { DEFAULT_EMAIL_TEMPLATES, type EmailTemplates } from './email-templates.js';

/** The links the mails carry, each made from its token. */
export interface EmailLinks {
  /** Default `${appUrl}/verify-email#token=<token>`. */
  verifyEmail: (token: string) => string;
  /** Default `${appUrl}/verify-email#token=<token>` (the same page: `POST /auth/email/verify` takes both). */
  changeEmail: (token: string) => string;
  /** Default `${appUrl}/reset-password#token=<token>`. */
  resetPassword: (token: string) => string;
}

/** Limits of the flow's requests, counted in the `ThrottleStore` per account and per client IP. */
export interface EmailFlowThrottleOptions {
  /** Mails asked for per account (or per address or username at `forgot`) within the window. Default 5. */
  maxPerAccount?: number;
  /** Requests per client IP within the window, each route its own budget (mails asked for, links tried). Default 30. */
  maxPerIp?: number;
  /** Window in seconds. Default 900 (15 min). */
  windowSeconds?: number;
}

/**
 * A part made by a factory from providers (the `DataSource` of `@nestjs/typeorm`, the
 * `ConfigService`), as for `forRootAsync`: flows are given before the app's providers exist.
 */
export interface FlowPartFactory<T> {
  inject?: InjectionToken[];
  useFactory: (...args: never[]) => T | Promise<T>;
}

/** Options of {@link emailFlow}. */
export interface EmailFlowOptions {
  /**
   * Sends the mails. Default: a `LogMailer` (each message in the log) outside production; in
   * production (`NODE_ENV=production`) a mailer is required, and the flow refuses to start without one.
   */
  mailer?: Mailer | FlowPartFactory<Mailer>;
  /** Where the single-use tokens live. Default: a new `InMemoryOneTimeTokenStore`; Redis or SQL with several instances. */
  tokenStore?: OneTimeTokenStore | FlowPartFactory<OneTimeTokenStore>;
  /** The app's base URL, for the links (`https://app.example.com`). Required unless `links` makes all three. */
  appUrl?: string;
  /** Makes the links instead of `appUrl`. */
  links?: Partial<EmailLinks>;
  /** The mails' texts: replace any of them. */
  templates?: Partial<EmailTemplates>;
  /** Names the app in the mails. Default `"nest-warden"`. */
  appName?: string;
  emailVerification?: {
    /** Unverified accounts cannot log in (403 `AUTH_EMAIL_NOT_VERIFIED`), and registration needs an address. Default `false`. */
    required?: boolean;
    /** Send a verification link on registration with an address. Default `true`. */
    sendOnRegistration?: boolean;
    /** Lifetime of a verification link. Default 86400 (24 h). */
    ttlSeconds?: number;
  };
  passwordReset?: {
    /** Lifetime of a reset link. Default 1800 (30 min). */
    ttlSeconds?: number;
  };
  emailChange?: {
    /** Lifetime of an email-change link. Default 3600 (1 h). */
    ttlSeconds?: number;
  };
  /** Request limits; `false` turns them off (tests). */
  throttle?: EmailFlowThrottleOptions | false;
  /** The outgoing queue's limits (retries, concurrency, size). */
  queue?: MailQueueOptions;
  /** Whether this is production, where a missing mailer stops start-up. Default `process.env.NODE_ENV === 'production'`. */
  production?: boolean;
}

/** The flow's settings after validation and defaults (the `EMAIL_FLOW_CONFIG` token). */
export interface EmailFlowConfig {
  readonly links: Readonly<EmailLinks>;
  readonly templates: Readonly<EmailTemplates>;
  readonly appName: string;
  readonly required: boolean;
  readonly sendOnRegistration: boolean;
  readonly verificationTtlSeconds: number;
  readonly resetTtlSeconds: number;
  readonly changeTtlSeconds: number;
  readonly throttle: Readonly<Required<EmailFlowThrottleOptions>> | null;
}

/** The injection token of {@link EmailFlowConfig}. */
export const EMAIL_FLOW_CONFIG = Symbol('nest-warden:email-flow-config');

/** Validates the options, naming the first bad one (`emailFlow.<option>`). */
export function resolveEmailFlowConfig(options: EmailFlowOptions): EmailFlowConfig {
  if (options === null || typeof options !== 'object') throw new AuthOptionsError('emailFlow', 'takes an options object');
  checkPart('mailer', options.mailer, Mailer, 'a Mailer (SmtpMailer, LogMailer or your own subclass)');
  checkPart('tokenStore', options.tokenStore, OneTimeTokenStore, 'a OneTimeTokenStore');
  const production = options.production ?? process.env.NODE_ENV === 'production';
  if (production && options.mailer === undefined) {
    throw new AuthOptionsError('emailFlow.mailer', 'is required in production (SmtpMailer from nestjs-warden/smtp, or your own Mailer)');
  }
  const base = options.appUrl === undefined ? undefined : checkAppUrl(options.appUrl, production);
  const link = (name: keyof EmailLinks, path: string): ((token: string) => string) => {
    const given = options.links?.[name];
    if (given !== undefined) {
      if (typeof given !== 'function') throw new AuthOptionsError(`emailFlow.links.${name}`, 'must be a function of the token');
      return given;
    }
    if (base === undefined) throw new AuthOptionsError('emailFlow.appUrl', `is required to make the ${name} link (or give links.${name})`);
    // In the fragment: browsers send it to no server, so the token stays out of access logs and Referer headers.
    return (token) => `${base}/${path}#token=${encodeURIComponent(token)}`;
  };
  const templates = { ...DEFAULT_EMAIL_TEMPLATES, ...(options.templates ?? {}) };
  for (const [name, template] of Object.entries(templates)) {
    if (typeof template !== 'function') throw new AuthOptionsError(`emailFlow.templates.${name}`, 'must be a function');
  }
  const appName = options.appName ?? 'nest-warden';
  if (typeof appName !== 'string' || appName.length === 0 || appName.length > 100) {
    throw new AuthOptionsError('emailFlow.appName', 'must be a string of 1 to 100 characters');
  }
  const verification = options.emailVerification ?? {};
  return {
    links: {
      verifyEmail: link('verifyEmail', 'verify-email'),
      changeEmail: link('changeEmail', 'verify-email'),
      resetPassword: link('resetPassword', 'reset-password'),
    },
    templates,
    appName,
    required: checkBoolean('emailFlow.emailVerification.required', verification.required ?? false),
    sendOnRegistration: checkBoolean('emailFlow.emailVerification.sendOnRegistration', verification.sendOnRegistration ?? true),
    verificationTtlSeconds: checkInteger('emailFlow.emailVerification.ttlSeconds', verification.ttlSeconds ?? 86_400, 60, 86_400 * 30),
    resetTtlSeconds: checkInteger('emailFlow.passwordReset.ttlSeconds', options.passwordReset?.ttlSeconds ?? 1800, 60, 86_400),
    changeTtlSeconds: checkInteger('emailFlow.emailChange.ttlSeconds', options.emailChange?.ttlSeconds ?? 3600, 60, 86_400 * 30),
    throttle: resolveThrottle(options.throttle),
  };
}

function resolveThrottle(value: EmailFlowThrottleOptions | false | undefined): Required<EmailFlowThrottleOptions> | null {
  if (value === false) return null;
  if (value !== undefined && (value === null || typeof value !== 'object')) {
    throw new AuthOptionsError('emailFlow.throttle', 'must be an object or false');
  }
  return Object.freeze({
    maxPerAccount: checkInteger('emailFlow.throttle.maxPerAccount', value?.maxPerAccount ?? 5, 1, 10_000),
    maxPerIp: checkInteger('emailFlow.throttle.maxPerIp', value?.maxPerIp ?? 30, 1, 100_000),
    windowSeconds: checkInteger('emailFlow.throttle.windowSeconds', value?.windowSeconds ?? 900, 1, 86_400),
  });
}

function checkPart(name: string, value: unknown, type: abstract new (...args: never[]) => unknown, what: string): void {
  if (value === undefined || value instanceof type) return;
  const factory = value as Partial<FlowPartFactory<unknown>> | null;
  if (typeof factory !== 'object' || factory === null || typeof factory.useFactory !== 'function') {
    throw new AuthOptionsError(`emailFlow.${name}`, `must be ${what}, or { useFactory, inject } making one`);
  }
  if (factory.inject !== undefined && !Array.isArray(factory.inject))
    throw new AuthOptionsError(`emailFlow.${name}.inject`, 'must be an array');
}

/** The provider of a part given as an instance, a factory, or not at all. */
export function partProvider<T>(
  token: abstract new (...args: never[]) => T,
  given: T | FlowPartFactory<T> | undefined,
  fallback: () => T,
): { provide: typeof token; useFactory: (...args: never[]) => T | Promise<T>; inject: InjectionToken[] } {
  if (given === undefined) return { provide: token, useFactory: fallback, inject: [] };
  if (given instanceof token) return { provide: token, useFactory: () => given, inject: [] };
  const factory = given as FlowPartFactory<T>;
  const check = async (...args: never[]): Promise<T> => {
    const made = await factory.useFactory(...args);
    if (!(made instanceof token)) throw new AuthOptionsError(`emailFlow.${token.name}`, `the factory must make a ${token.name}`);
    return made;
  };
  return { provide: token, useFactory: check, inject: factory.inject ?? [] };
}

function checkAppUrl(value: unknown, production: boolean): string {
  let url: URL;
  try {
    url = new URL(String(value));
  } catch {
    throw new AuthOptionsError('emailFlow.appUrl', 'must be an absolute URL such as https://app.example.com');
  }
  if (typeof value !== 'string' || (url.protocol !== 'https:' && url.protocol !== 'http:') || url.search || url.hash || url.username) {
    throw new AuthOptionsError('emailFlow.appUrl', 'must be an http(s) URL without query, fragment or credentials');
  }
  if (production && url.protocol !== 'https:') throw new AuthOptionsError('emailFlow.appUrl', 'must be https in production');
  return url.href.replace(/\/+$/, '');
}
