import { describe, expect, it } from '@jest/globals';
import { AuthOptionsError } from '../../auth.errors.js';
import { Mailer, type MailMessage } from '../../mail/mailer.js';
import { DEFAULT_EMAIL_TEMPLATES, escapeHtml } from './email-templates.js';
import { resolveEmailFlowConfig, type EmailFlowOptions } from './email-flow.options.js';

describe('resolveEmailFlowConfig', () => {
  it('fills in the defaults and makes links with the token in the fragment', () => {
    const config = resolveEmailFlowConfig({ appUrl: 'https://app.example.com/', production: false });
    expect(config).toMatchObject({
      appName: 'nest-warden',
      required: false,
      sendOnRegistration: true,
      verificationTtlSeconds: 86_400,
      resetTtlSeconds: 1800,
      changeTtlSeconds: 3600,
      throttle: { maxPerAccount: 5, maxPerIp: 30, windowSeconds: 900 },
    });
    expect(config.links.verifyEmail('abc')).toBe('https://app.example.com/verify-email#token=abc');
    expect(config.links.resetPassword('a-b_c')).toBe('https://app.example.com/reset-password#token=a-b_c');
    expect(resolveEmailFlowConfig({ appUrl: 'https://example.com/app', production: false }).links.changeEmail('t')).toBe(
      'https://example.com/app/verify-email#token=t',
    );
  });

  it('takes link functions instead of appUrl', () => {
    const config = resolveEmailFlowConfig({
      production: false,
      links: { verifyEmail: (t) => `v:${t}`, changeEmail: (t) => `c:${t}`, resetPassword: (t) => `r:${t}` },
    });
    expect([config.links.verifyEmail('1'), config.links.changeEmail('2'), config.links.resetPassword('3')]).toEqual(['v:1', 'c:2', 'r:3']);
  });

  it('stops start-up in production without a mailer, naming the option', () => {
    expect(() => resolveEmailFlowConfig({ appUrl: 'https://app.example.com', production: true })).toThrow(
      expect.objectContaining({ option: 'emailFlow.mailer' }),
    );
  });

  it.each<[string, EmailFlowOptions, string]>([
    ['no appUrl and no links', { production: false }, 'emailFlow.appUrl'],
    ['an appUrl with a query', { production: false, appUrl: 'https://a.example.com/?x=1' }, 'emailFlow.appUrl'],
    ['an appUrl that is not http(s)', { production: false, appUrl: 'javascript:alert(1)' }, 'emailFlow.appUrl'],
    ['a mailer that is no Mailer', { production: false, appUrl: 'https://a.example.com', mailer: {} as never }, 'emailFlow.mailer'],
    [
      'a token store that is no store',
      { production: false, appUrl: 'https://a.example.com', tokenStore: 'redis' as never },
      'emailFlow.tokenStore',
    ],
    [
      'a reset lifetime over a day',
      { production: false, appUrl: 'https://a.example.com', passwordReset: { ttlSeconds: 90_000 } },
      'emailFlow.passwordReset.ttlSeconds',
    ],
    [
      'a non-boolean required',
      { production: false, appUrl: 'https://a.example.com', emailVerification: { required: 'yes' as never } },
      'emailFlow.emailVerification.required',
    ],
    [
      'a template that is no function',
      { production: false, appUrl: 'https://a.example.com', templates: { verifyEmail: 'hi' as never } },
      'emailFlow.templates.verifyEmail',
    ],
    [
      'a zero account limit',
      { production: false, appUrl: 'https://a.example.com', throttle: { maxPerAccount: 0 } },
      'emailFlow.throttle.maxPerAccount',
    ],
  ])('refuses %s', (_label, options, option) => {
    expect(() => resolveEmailFlowConfig(options)).toThrow(expect.objectContaining({ option }));
    expect(() => resolveEmailFlowConfig(options)).toThrow(AuthOptionsError);
  });

  it('requires https in production, once a mailer is given', () => {
    class Outbox extends Mailer {
      readonly sent: MailMessage[] = [];
      send(message: MailMessage): Promise<void> {
        this.sent.push(message);
        return Promise.resolve();
      }
    }
    const mailer = new Outbox();
    expect(() => resolveEmailFlowConfig({ production: true, appUrl: 'http://app.example.com', mailer })).toThrow(
      expect.objectContaining({ option: 'emailFlow.appUrl' }),
    );
    expect(resolveEmailFlowConfig({ production: true, appUrl: 'https://app.example.com', mailer }).required).toBe(false);
  });
});

describe('the default templates', () => {
  it('escape what they put in HTML, and carry the link in both bodies', () => {
    const mail = DEFAULT_EMAIL_TEMPLATES.verifyEmail({
      appName: 'App',
      username: '<script>x</script>',
      email: 'a@example.com',
      link: 'https://app.example.com/verify-email#token=abc',
      expiresInMinutes: 1440,
    });
    expect(mail.html).not.toContain('<script>');
    expect(mail.html).toContain(escapeHtml('<script>x</script>'));
    expect(mail.text).toContain('https://app.example.com/verify-email#token=abc');
    expect(mail.html).toContain('href="https://app.example.com/verify-email#token=abc"');
    expect(mail.text).toContain('24 hours');
    expect(
      DEFAULT_EMAIL_TEMPLATES.resetPassword({ appName: 'App', username: 'u', email: 'e', link: 'l', expiresInMinutes: 30 }).text,
    ).toContain('30 minutes');
  });
});
