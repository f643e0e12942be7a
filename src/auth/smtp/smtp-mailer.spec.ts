import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { ConsoleLogger, Logger, type LoggerService } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { freePort } from '../../../test/utils/redis-server.js';
import { startTestSmtpServer, type TestSmtpServer } from '../../../test/utils/smtp-server.js';
import { MailQueue } from '../mail/mail-queue.js';
import { Mailer, type MailMessage } from '../mail/mailer.js';
import { SmtpMailer, SmtpMailerError } from './index.js';

const message = (to = 'alice@example.com'): MailMessage => ({
  to,
  subject: 'Vérifiez votre adresse ✉ — Überprüfung',
  text: 'Hello Alice,\n\nopen https://app.example.com/verify?token=abc123 to verify your address.',
  html: '<p>Hello Alice,</p><p><a href="https://app.example.com/verify?token=abc123">Verify your address</a></p>',
});

// Everything an error could leak through: its message, stack, own properties and cause.
const everythingIn = (error: unknown): string => {
  const value = error as Error & { cause?: unknown };
  return [value.message, value.stack, JSON.stringify(value), String(value.cause)].join('\n');
};

class CapturingLogger implements LoggerService {
  readonly lines: string[] = [];
  log(message: unknown): void {
    this.lines.push(String(message));
  }
  warn(message: unknown): void {
    this.lines.push(String(message));
  }
  error(message: unknown): void {
    this.lines.push(String(message));
  }
}

describe('SmtpMailer', () => {
  let server: TestSmtpServer | undefined;
  const mailers: SmtpMailer[] = [];
  const smtpMailer = (options: ConstructorParameters<typeof SmtpMailer>[0]): SmtpMailer => {
    const made = new SmtpMailer(options);
    mailers.push(made);
    return made;
  };

  afterEach(async () => {
    for (const mailer of mailers.splice(0)) mailer.onApplicationShutdown();
    await server?.close();
    server = undefined;
  });

  it('is a Mailer whose message arrives with its text and HTML bodies, UTF-8 subject and sender', async () => {
    server = await startTestSmtpServer();
    const mailer = smtpMailer({ url: server.url, from: 'Warden Tëst <no-reply@example.com>' });
    expect(mailer).toBeInstanceOf(Mailer);
    await expect(mailer.send(message())).resolves.toBeUndefined();
    const received = await server.waitForMail((mail) => mail.to.includes('alice@example.com'));
    expect(received).toMatchObject({
      to: ['alice@example.com'],
      subject: message().subject,
      text: message().text,
      html: message().html,
    });
    expect(received.from).toBe('"Warden Tëst" <no-reply@example.com>');
    expect(received.raw).toMatch(/^Content-Type: multipart\/alternative/m);
    expect(server.messages).toHaveLength(1);
  });

  it('takes nodemailer transport options instead of a URL', async () => {
    server = await startTestSmtpServer();
    const mailer = smtpMailer({ transport: { host: '127.0.0.1', port: server.port, secure: false }, from: 'no-reply@example.com' });
    await mailer.send(message('bob@example.com'));
    expect(await server.waitForMail()).toMatchObject({ to: ['bob@example.com'], from: 'no-reply@example.com' });
  });

  describe('with a server that requires a login', () => {
    const user = 'mailer@example.com';
    const pass = 'p@ss:w/rd ü%';

    beforeEach(async () => {
      server = await startTestSmtpServer({ auth: { user, pass } });
    });

    it('logs in with the user and password of the URL (percent-encoded)', async () => {
      const url = `smtp://${encodeURIComponent(user)}:${encodeURIComponent(pass)}@127.0.0.1:${server!.port}`;
      await smtpMailer({ url, from: 'no-reply@example.com' }).send(message());
      expect(await server!.waitForMail()).toMatchObject({ to: ['alice@example.com'] });
    });

    it('logs in with transport.auth', async () => {
      await smtpMailer({ transport: { host: '127.0.0.1', port: server!.port, auth: { user, pass } }, from: 'no-reply@example.com' }).send(
        message(),
      );
      expect(server!.messages).toHaveLength(1);
    });

    it('rejects with EAUTH on a wrong password, and the error holds neither the login nor the address', async () => {
      const url = `smtp://${encodeURIComponent(user)}:wrong-secret-password@127.0.0.1:${server!.port}`;
      const error = await smtpMailer({ url, from: 'no-reply@example.com' })
        .send(message())
        .then(
          () => undefined,
          (caught: unknown) => caught,
        );
      expect(error).toBeInstanceOf(SmtpMailerError);
      expect(error).toMatchObject({ name: 'SmtpMailerError', code: 'EAUTH', responseCode: 535, command: 'AUTH PLAIN' });
      expect(everythingIn(error)).not.toMatch(/wrong-secret-password|mailer@example|alice|Invalid username/);
      expect(server!.messages).toHaveLength(0);
    });

    it('rejects without a login (the server requires one)', async () => {
      await expect(smtpMailer({ url: server!.url, from: 'no-reply@example.com' }).send(message())).rejects.toBeInstanceOf(SmtpMailerError);
      expect(server!.messages).toHaveLength(0);
    });
  });

  it('rejects a message the server refuses, with the reply code but not the reply or the recipient', async () => {
    server = await startTestSmtpServer();
    const mailer = smtpMailer({ url: server.url, from: 'no-reply@example.com' });
    server.failNext(1, 550);
    const error = await mailer.send(message()).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(SmtpMailerError);
    expect(error).toMatchObject({
      code: 'EMESSAGE',
      responseCode: 550,
      command: 'DATA',
      message: 'SMTP send failed (EMESSAGE 550 at DATA)',
    });
    expect(everythingIn(error)).not.toMatch(/alice|Refused by the test server/);
    // The next one goes through.
    await mailer.send(message());
    expect(server.messages).toHaveLength(1);
  });

  it('rejects when no server listens (ESOCKET)', async () => {
    const port = await freePort();
    const error = await smtpMailer({ url: `smtp://127.0.0.1:${port}`, from: 'no-reply@example.com' })
      .send(message())
      .then(
        () => undefined,
        (caught: unknown) => caught,
      );
    expect(error).toBeInstanceOf(SmtpMailerError);
    expect((error as SmtpMailerError).code).toBe('ESOCKET');
  });

  it('refuses a recipient that is not one plain address (a list, a name, a line break), before any connection', async () => {
    server = await startTestSmtpServer();
    const mailer = smtpMailer({ url: server.url, from: 'no-reply@example.com' });
    for (const to of [
      'alice@example.com, eve@example.com',
      'Eve <eve@example.com>',
      'alice@example.com\r\nBcc: eve@example.com',
      'not-an-address',
      '',
    ]) {
      await expect(mailer.send(message(to))).rejects.toThrow(new TypeError('SmtpMailer: "to" must be one email address'));
    }
    expect(server.messages).toHaveLength(0);
  });

  it('through a MailQueue: a temporary refusal (451) is retried and the message arrives once', async () => {
    server = await startTestSmtpServer();
    const logger = new CapturingLogger();
    Logger.overrideLogger(logger);
    try {
      const queue = new MailQueue(smtpMailer({ url: server.url, from: 'no-reply@example.com' }), { retryDelayMs: 10 });
      server.failNext(2, 451);
      const outcomes: string[] = [];
      expect(queue.enqueue(message(), { sent: () => outcomes.push('sent'), failed: () => outcomes.push('failed') })).toBe(true);
      await expect(queue.drain(10_000)).resolves.toBe(true);
      expect(outcomes).toEqual(['sent']);
      expect(server.messages).toHaveLength(1);
      expect(server.messages[0]).toMatchObject({ to: ['alice@example.com'], subject: message().subject });
      expect(logger.lines).toEqual([]);
    } finally {
      Logger.overrideLogger(new ConsoleLogger());
    }
  });

  it('in a Nest app, closing the app sends what the MailQueue holds before the transport (a pool) is closed', async () => {
    server = await startTestSmtpServer();
    const mailer = new SmtpMailer({
      transport: { host: '127.0.0.1', port: server.port, pool: true, maxConnections: 1 },
      from: 'no-reply@example.com',
    });
    const moduleRef = await Test.createTestingModule({
      providers: [
        { provide: Mailer, useValue: mailer },
        { provide: MailQueue, useFactory: (sender: Mailer) => new MailQueue(sender), inject: [Mailer] },
      ],
    }).compile();
    const app = moduleRef.createNestApplication({ logger: false });
    await app.init();
    const queue = app.get(MailQueue);
    const failures: unknown[] = [];
    for (const to of ['a@example.com', 'b@example.com', 'c@example.com'])
      queue.enqueue(message(to), { failed: (error) => failures.push(error) });
    await app.close();
    expect(failures).toEqual([]);
    expect(server.messages.map((mail) => mail.to[0]).sort()).toEqual(['a@example.com', 'b@example.com', 'c@example.com']);
    // The pool is closed now.
    await expect(mailer.send(message())).rejects.toMatchObject({ code: 'ECONNECTION' });
  });

  describe('options', () => {
    const from = 'no-reply@example.com';

    it('wants exactly one of url or transport', () => {
      const exactlyOne = new TypeError('SmtpMailer: give exactly one of "url" or "transport"');
      expect(() => new SmtpMailer({ from })).toThrow(exactlyOne);
      expect(() => new SmtpMailer({ url: 'smtp://127.0.0.1:2525', transport: { host: '127.0.0.1' }, from })).toThrow(exactlyOne);
      expect(() => new SmtpMailer(undefined as never)).toThrow(new TypeError('SmtpMailer: the options must be an object'));
    });

    it('rejects a URL that is not smtp:// or smtps:// with a host, without quoting it (it may hold a password)', () => {
      for (const url of [
        'http://user:hunter2-secret@mail.example.com',
        'smtp://user:hunter2-secret@',
        'user:hunter2-secret@mail',
        'smtp:/',
        42,
      ]) {
        let thrown: unknown;
        try {
          new SmtpMailer({ url: url as string, from });
        } catch (error) {
          thrown = error;
        }
        expect(thrown).toEqual(new TypeError('SmtpMailer: "url" must be an smtp:// or smtps:// URL with a host'));
        expect(everythingIn(thrown)).not.toContain('hunter2');
      }
      expect(() => new SmtpMailer({ transport: { url: 'http://user:hunter2-secret@x' }, from })).toThrow(/"transport\.url"/);
      expect(() => new SmtpMailer({ url: 'smtps://user:pass@smtp.example.com:465', from })).not.toThrow();
    });

    it('rejects transport options that are not an object, or another kind of nodemailer transport', () => {
      expect(() => new SmtpMailer({ transport: 'smtp://x' as never, from })).toThrow(
        /"transport" must be nodemailer SMTP transport options/,
      );
      expect(() => new SmtpMailer({ transport: { sendmail: true } as never, from })).toThrow(/"transport" must be SMTP options/);
      expect(() => new SmtpMailer({ transport: { jsonTransport: true } as never, from })).toThrow(/"transport" must be SMTP options/);
    });

    it('requires from: one address, or "Name <address>"', () => {
      const badFrom = new TypeError('SmtpMailer: "from" must be an email address, or "Name <address>"');
      for (const bad of [
        undefined,
        '',
        'no-reply',
        'a@example.com, b@example.com',
        'Name <no-reply>',
        'team: a@example.com;',
        'a@example.com\nBcc: b@example.com',
        7,
      ]) {
        expect(() => new SmtpMailer({ url: 'smtp://127.0.0.1:2525', from: bad as string })).toThrow(badFrom);
      }
      for (const good of ['no-reply@example.com', 'Warden <no-reply@example.com>', '"Warden, Inc." <no-reply@example.com>']) {
        expect(() => new SmtpMailer({ url: 'smtp://127.0.0.1:2525', from: good })).not.toThrow();
      }
    });
  });
});
