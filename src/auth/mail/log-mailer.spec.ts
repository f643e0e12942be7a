import { afterEach, describe, expect, it } from '@jest/globals';
import { ConsoleLogger, Logger, type LoggerService } from '@nestjs/common';
import { LogMailer } from './log-mailer.js';
import { Mailer, type MailMessage } from './mailer.js';

class CapturingLogger implements LoggerService {
  readonly lines: Array<{ level: string; message: unknown; context: unknown }> = [];
  log(message: unknown, context?: unknown): void {
    this.lines.push({ level: 'log', message, context });
  }
  warn(message: unknown, context?: unknown): void {
    this.lines.push({ level: 'warn', message, context });
  }
  error(message: unknown, context?: unknown): void {
    this.lines.push({ level: 'error', message, context });
  }
}

const message: MailMessage = {
  to: 'alice@example.com',
  subject: 'Verify your email address',
  text: 'Hello,\n\nopen https://app.example.com/verify?token=abc to verify.\n',
  html: '<p>Hello, <a href="https://app.example.com/verify?token=abc">verify</a>.</p>',
};

describe('LogMailer', () => {
  afterEach(() => {
    Logger.overrideLogger(new ConsoleLogger());
  });

  it('is a Mailer that writes one block per message: recipient, subject, a note that the HTML part is omitted, then the text', async () => {
    const logger = new CapturingLogger();
    const mailer = new LogMailer(logger);
    expect(mailer).toBeInstanceOf(Mailer);
    await expect(mailer.send(message)).resolves.toBeUndefined();
    expect(logger.lines).toEqual([
      {
        level: 'log',
        message: [
          'To: alice@example.com',
          'Subject: Verify your email address',
          '(HTML part omitted)',
          '',
          'Hello,',
          '',
          'open https://app.example.com/verify?token=abc to verify.',
          '',
        ].join('\n'),
        context: 'Mail',
      },
    ]);
    expect(String(logger.lines[0]!.message)).not.toContain('<p>');
  });

  it("writes through Nest's Logger under the context Mail by default", async () => {
    const logger = new CapturingLogger();
    Logger.overrideLogger(logger);
    await new LogMailer().send(message);
    expect(logger.lines).toHaveLength(1);
    expect(logger.lines[0]).toMatchObject({ level: 'log', context: 'Mail' });
    expect(logger.lines[0]!.message).toContain('To: alice@example.com\nSubject: Verify your email address\n');
  });

  it('flattens line breaks in the recipient and subject, so they cannot forge lines of the block', async () => {
    const logger = new CapturingLogger();
    await new LogMailer(logger).send({ ...message, to: 'a@example.com\r\nSubject: forged', subject: 'one\ntwo' });
    const lines = String(logger.lines[0]!.message).split('\n');
    expect(lines.slice(0, 3)).toEqual(['To: a@example.com Subject: forged', 'Subject: one two', '(HTML part omitted)']);
  });
});
