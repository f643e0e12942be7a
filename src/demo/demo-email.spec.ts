import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { DataSource } from 'typeorm';
import { startTestRedis, type TestRedis } from '../../test/utils/redis-server.js';
import { AuthOptionsError, EMAIL_FLOW_CONFIG, type EmailFlowConfig, type FlowPartFactory, type OneTimeTokenStore } from '../auth/index.js';
import { RedisOneTimeTokenStore } from '../auth/redis/index.js';
import { SmtpMailer } from '../auth/smtp/index.js';
import { TypeOrmOneTimeTokenStore } from '../auth/typeorm/index.js';
import { demoEmailFlow, demoEmailFlowOptions } from './demo-email.js';

const SMTP = { SMTP_URL: 'smtp://127.0.0.1:2525' };

/** The settings a flow resolved its options to. */
function configOf(env: NodeJS.ProcessEnv): EmailFlowConfig {
  const provider = demoEmailFlow(env).providers?.find(
    (one): one is { provide: symbol; useValue: EmailFlowConfig } =>
      typeof one === 'object' && 'provide' in one && one.provide === EMAIL_FLOW_CONFIG,
  );
  return provider!.useValue;
}

describe('demoEmailFlowOptions', () => {
  it('logs the mails without SMTP_URL, links to the app on PORT, keeps the tokens in memory, and requires no verification', () => {
    expect(demoEmailFlowOptions({})).toEqual({
      appUrl: 'http://localhost:3000',
      emailVerification: { required: false },
      production: false,
    });
    expect(demoEmailFlowOptions({ PORT: '8080' }).appUrl).toBe('http://localhost:8080');
    expect(configOf({ PORT: '8080' }).links.verifyEmail('abc')).toBe('http://localhost:8080/verify-email#token=abc');
  });

  it('takes APP_URL for the links', () => {
    const env = { APP_URL: 'https://demo.example.com/', PORT: '8080' };
    expect(demoEmailFlowOptions(env).appUrl).toBe('https://demo.example.com/');
    expect(configOf(env).links.resetPassword('abc')).toBe('https://demo.example.com/reset-password#token=abc');
  });

  it('sends over SMTP_URL, from MAIL_FROM or the demo sender', () => {
    expect(demoEmailFlowOptions(SMTP).mailer).toBeInstanceOf(SmtpMailer);
    expect(demoEmailFlowOptions({ ...SMTP, MAIL_FROM: 'Demo <demo@example.com>' }).mailer).toBeInstanceOf(SmtpMailer);
    expect(demoEmailFlowOptions({ SMTP_URL: '' }).mailer).toBeUndefined();
  });

  it('requires verified addresses with AUTH_EMAIL_REQUIRED=true, and refuses other values', () => {
    expect(demoEmailFlowOptions({ AUTH_EMAIL_REQUIRED: 'true' }).emailVerification).toEqual({ required: true });
    expect(demoEmailFlowOptions({ AUTH_EMAIL_REQUIRED: 'false' }).emailVerification).toEqual({ required: false });
    expect(configOf({ AUTH_EMAIL_REQUIRED: 'true' }).required).toBe(true);
    expect(() => demoEmailFlowOptions({ AUTH_EMAIL_REQUIRED: 'yes' })).toThrow(/AUTH_EMAIL_REQUIRED must be "true" or "false"/);
  });

  it('keeps the tokens in SQL with AUTH_SESSION_STORE=sql, made from the app’s DataSource', () => {
    const tokenStore = demoEmailFlowOptions({ AUTH_SESSION_STORE: 'sql', AUTH_DATABASE_URL: 'postgres://u@db/warden' })
      .tokenStore as FlowPartFactory<OneTimeTokenStore>;
    expect(tokenStore.inject).toEqual([DataSource]);
    const dataSource = { options: { type: 'postgres' }, createQueryRunner: () => undefined, isInitialized: false } as unknown as DataSource;
    const store = tokenStore.useFactory(dataSource as never) as TypeOrmOneTimeTokenStore;
    expect(store).toBeInstanceOf(TypeOrmOneTimeTokenStore);
    store.onModuleDestroy();
    expect(() => demoEmailFlowOptions({ AUTH_SESSION_STORE: 'sql' })).toThrow(/needs AUTH_DATABASE_URL/);
    expect(() => demoEmailFlowOptions({ AUTH_SESSION_STORE: 'mongo' })).toThrow(/"memory", "redis" or "sql"/);
  });

  describe('with AUTH_SESSION_STORE=redis', () => {
    let redis: TestRedis;

    beforeAll(async () => {
      redis = await startTestRedis();
    });

    afterAll(async () => {
      await redis?.stop();
    });

    it('keeps the tokens in Redis at REDIS_URL, connecting only when the app makes the store', async () => {
      const tokenStore = demoEmailFlowOptions({ AUTH_SESSION_STORE: 'redis', REDIS_URL: redis.url })
        .tokenStore as FlowPartFactory<OneTimeTokenStore>;
      expect(tokenStore).not.toBeInstanceOf(RedisOneTimeTokenStore);
      expect(tokenStore.inject ?? []).toEqual([]);
      const store = (await tokenStore.useFactory()) as RedisOneTimeTokenStore;
      try {
        expect(store).toBeInstanceOf(RedisOneTimeTokenStore);
        expect(await store.take('0'.repeat(64), ['email-verification'])).toBeNull();
      } finally {
        await store.onModuleDestroy();
      }
    });
  });
});

describe('demoEmailFlow', () => {
  it('refuses to start in production without SMTP_URL, with the flow’s error', () => {
    expect(() => demoEmailFlow({ NODE_ENV: 'production', APP_URL: 'https://demo.example.com' })).toThrow(AuthOptionsError);
    expect(() => demoEmailFlow({ NODE_ENV: 'production' })).toThrow(/invalid option "emailFlow\.mailer": is required in production/);
  });

  it('needs an https APP_URL in production', () => {
    expect(() => demoEmailFlow({ NODE_ENV: 'production', ...SMTP })).toThrow(
      /invalid option "emailFlow\.appUrl": must be https in production/,
    );
    expect(demoEmailFlow({ NODE_ENV: 'production', ...SMTP, APP_URL: 'https://demo.example.com' }).name).toBe('email');
  });
});
