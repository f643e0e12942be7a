import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { ConsoleLogger, Logger, type LoggerService } from '@nestjs/common';
import { MailQueue, type MailQueueOptions } from './mail-queue.js';
import { Mailer, type MailMessage } from './mailer.js';

/**
 * A real Mailer for these tests: it records every attempt and every accepted message, fails the
 * attempts it was told to fail, and can hold sends until released (to look at the queue while
 * they are in flight).
 */
class RecordingMailer extends Mailer {
  readonly attempts: Array<{ subject: string; atMs: number }> = [];
  readonly accepted: MailMessage[] = [];
  active = 0;
  maxActive = 0;
  private readonly failures = new Map<string, { count: number; error: () => unknown }>();
  private held: Promise<void> | undefined;
  private releaseHeld: (() => void) | undefined;

  /** The next `count` attempts for this subject fail with `error()`. */
  failNext(subject: string, count: number, error: () => unknown = () => new Error('refused')): void {
    this.failures.set(subject, { count, error });
  }

  /** Sends wait until the returned function is called. */
  hold(): () => void {
    this.held = new Promise((resolve) => (this.releaseHeld = resolve));
    return () => {
      this.held = undefined;
      this.releaseHeld?.();
    };
  }

  override async send(message: MailMessage): Promise<void> {
    this.attempts.push({ subject: message.subject, atMs: performance.now() });
    this.active += 1;
    this.maxActive = Math.max(this.maxActive, this.active);
    try {
      // Sends overlap for a moment even when not held, so a broken concurrency bound would show.
      await (this.held ?? new Promise((resolve) => setTimeout(resolve, 2)));
      const failure = this.failures.get(message.subject);
      if (failure && failure.count > 0) {
        failure.count -= 1;
        throw failure.error();
      }
      this.accepted.push(message);
    } finally {
      this.active -= 1;
    }
  }
}

/** A mailer whose sends never settle: every attempt runs into sendTimeoutMs. */
class SilentMailer extends Mailer {
  attempts = 0;
  override send(): Promise<void> {
    this.attempts += 1;
    return new Promise(() => undefined);
  }
}

/** A mailer that throws before returning a promise, as a careless implementation may. */
class ThrowingMailer extends Mailer {
  attempts = 0;
  override send(): Promise<void> {
    this.attempts += 1;
    throw new RangeError('synchronous failure');
  }
}

class CapturingLogger implements LoggerService {
  readonly lines: Array<{ level: string; message: string; context: unknown }> = [];
  log(message: unknown, context?: unknown): void {
    this.lines.push({ level: 'log', message: String(message), context });
  }
  warn(message: unknown, context?: unknown): void {
    this.lines.push({ level: 'warn', message: String(message), context });
  }
  error(message: unknown, context?: unknown): void {
    this.lines.push({ level: 'error', message: String(message), context });
  }
  warnings(): string[] {
    return this.lines.filter((line) => line.level === 'warn' && line.context === 'MailQueue').map((line) => line.message);
  }
}

const SECRET_LINK = 'https://app.example.com/reset?token=s3cr3t-token';
const mail = (subject: string): MailMessage => ({
  to: `${subject}@example.com`,
  subject,
  text: `Reset: ${SECRET_LINK}`,
  html: `<a href="${SECRET_LINK}">reset</a>`,
});

/** Like an SMTP client's error: a code, an SMTP reply code, and a message quoting the recipient. */
const smtpLikeError = (): Error =>
  Object.assign(new Error('Message failed for recipient alice@example.com: 451 try later'), {
    name: 'SmtpLikeError',
    code: 'EMESSAGE',
    responseCode: 451,
  });

const nextTick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('MailQueue', () => {
  let logger: CapturingLogger;
  const queues: MailQueue[] = [];
  const queue = (mailer: Mailer, options?: MailQueueOptions): MailQueue => {
    const made = new MailQueue(mailer, options);
    queues.push(made);
    return made;
  };

  beforeEach(() => {
    logger = new CapturingLogger();
    Logger.overrideLogger(logger);
  });

  afterEach(async () => {
    // Nothing a test queued may outlive it.
    for (const made of queues.splice(0)) await made.drain(5000);
    Logger.overrideLogger(new ConsoleLogger());
  });

  it('sends every message in the order queued, one worker at a time with concurrency 1', async () => {
    const mailer = new RecordingMailer();
    const mails = queue(mailer, { concurrency: 1 });
    const subjects = ['m1', 'm2', 'm3', 'm4', 'm5'];
    expect(subjects.map((subject) => mails.enqueue(mail(subject)))).toEqual([true, true, true, true, true]);
    await expect(mails.drain()).resolves.toBe(true);
    expect(mailer.accepted.map((message) => message.subject)).toEqual(subjects);
    expect(mailer.accepted[0]).toEqual(mail('m1'));
    expect(mailer.maxActive).toBe(1);
  });

  it('returns before the mailer is called, and sends a copy of the message as it was queued', async () => {
    const mailer = new RecordingMailer();
    const mails = queue(mailer);
    const message = mail('original');
    expect(mails.enqueue(message)).toBe(true);
    expect(mailer.attempts).toHaveLength(0);
    message.subject = 'changed after enqueue';
    await mails.drain();
    expect(mailer.accepted.map((sent) => sent.subject)).toEqual(['original']);
  });

  it('runs the sent hook once the mailer accepted the message, and never the failed hook', async () => {
    const mailer = new RecordingMailer();
    const mails = queue(mailer);
    const events: string[] = [];
    mails.enqueue(mail('m1'), { sent: () => events.push(`sent ${mailer.accepted.length}`), failed: () => events.push('failed') });
    await mails.drain();
    expect(events).toEqual(['sent 1']);
  });

  it('retries a failed send with growing delays, then succeeds: sent once, no warning', async () => {
    const mailer = new RecordingMailer();
    const mails = queue(mailer, { retryDelayMs: 20 });
    mailer.failNext('flaky', 2, smtpLikeError);
    const events: string[] = [];
    mails.enqueue(mail('flaky'), { sent: () => events.push('sent'), failed: () => events.push('failed') });
    await expect(mails.drain()).resolves.toBe(true);
    expect(mailer.attempts.map((attempt) => attempt.subject)).toEqual(['flaky', 'flaky', 'flaky']);
    expect(mailer.accepted).toHaveLength(1);
    expect(events).toEqual(['sent']);
    // The waits are 20 ms then 80 ms, each with jitter down to half (plus the 2 ms the mailer takes).
    const [first, second, third] = mailer.attempts.map((attempt) => attempt.atMs) as [number, number, number];
    expect(second - first).toBeGreaterThanOrEqual(10 - 1);
    expect(third - second).toBeGreaterThanOrEqual(40 - 1);
    expect(logger.warnings()).toEqual([]);
  });

  it('gives up after maxAttempts: the failed hook gets the last error; the warning names it and its codes, never the message', async () => {
    const mailer = new RecordingMailer();
    const mails = queue(mailer, { maxAttempts: 3, retryDelayMs: 1 });
    mailer.failNext('doomed', 100, smtpLikeError);
    const failures: unknown[] = [];
    let sent = 0;
    mails.enqueue(mail('doomed'), { sent: () => (sent += 1), failed: (error) => failures.push(error) });
    await mails.drain();
    expect(mailer.attempts).toHaveLength(3);
    expect(sent).toBe(0);
    expect(failures).toHaveLength(1);
    expect(failures[0]).toMatchObject({ name: 'SmtpLikeError', code: 'EMESSAGE', responseCode: 451 });
    expect(logger.warnings()).toEqual(['a message was not sent after 3 attempt(s): SmtpLikeError, code EMESSAGE, response 451']);
    for (const line of logger.lines) {
      expect(line.message).not.toMatch(/doomed|example\.com|token|recipient/);
    }
  });

  it('counts a mailer that throws synchronously as a failed attempt', async () => {
    const mailer = new ThrowingMailer();
    const mails = queue(mailer, { maxAttempts: 2, retryDelayMs: 1 });
    const failures: unknown[] = [];
    expect(mails.enqueue(mail('m1'), { failed: (error) => failures.push(error) })).toBe(true);
    await mails.drain();
    expect(mailer.attempts).toBe(2);
    expect(failures).toEqual([expect.any(RangeError)]);
  });

  it('bounds each attempt by sendTimeoutMs: a mailer that never answers is retried, then given up on', async () => {
    const mailer = new SilentMailer();
    const mails = queue(mailer, { sendTimeoutMs: 20, maxAttempts: 2, retryDelayMs: 1 });
    const failures: unknown[] = [];
    mails.enqueue(mail('m1'), { failed: (error) => failures.push(error) });
    await expect(mails.drain(5000)).resolves.toBe(true);
    expect(mailer.attempts).toBe(2);
    expect(failures).toEqual([expect.objectContaining({ name: 'TimeoutError' })]);
    expect(logger.warnings()).toEqual(['a message was not sent after 2 attempt(s): TimeoutError']);
  });

  it('refuses past maxQueued (false, and a warning with a count only), and queues again once there is room', async () => {
    const mailer = new RecordingMailer();
    const mails = queue(mailer, { maxQueued: 3, concurrency: 1 });
    const release = mailer.hold();
    // One being sent, two waiting: three held.
    expect([mails.enqueue(mail('a')), mails.enqueue(mail('b')), mails.enqueue(mail('c'))]).toEqual([true, true, true]);
    expect(mails.pendingCount).toBe(3);
    expect(mails.enqueue(mail('d'))).toBe(false);
    expect(logger.warnings()).toEqual(['the queue is full (3 messages held): 1 message(s) refused']);
    expect(logger.warnings().join('\n')).not.toMatch(/example\.com|token/);
    // A flood of refusals is not a flood of warnings.
    for (let i = 0; i < 50; i += 1) expect(mails.enqueue(mail(`flood${i}`))).toBe(false);
    expect(logger.warnings()).toHaveLength(1);
    release();
    await mails.drain();
    expect(mailer.accepted.map((message) => message.subject)).toEqual(['a', 'b', 'c']);
    expect(mails.enqueue(mail('e'))).toBe(true);
    await mails.drain();
    expect(mailer.accepted.map((message) => message.subject)).toEqual(['a', 'b', 'c', 'e']);
  });

  it('counts messages waiting for a retry against maxQueued', async () => {
    const mailer = new RecordingMailer();
    const mails = queue(mailer, { maxQueued: 1, retryDelayMs: 50 });
    mailer.failNext('a', 1);
    mails.enqueue(mail('a'));
    while (mailer.attempts.length < 1 || mailer.active > 0) await nextTick();
    expect(mails.pendingCount).toBe(1);
    expect(mails.enqueue(mail('b'))).toBe(false);
    await mails.drain();
    expect(mailer.accepted.map((message) => message.subject)).toEqual(['a']);
  });

  it('never has more than concurrency sends in flight', async () => {
    const mailer = new RecordingMailer();
    const mails = queue(mailer, { concurrency: 3 });
    const release = mailer.hold();
    for (let i = 0; i < 10; i += 1) mails.enqueue(mail(`m${i}`));
    for (let i = 0; i < 5; i += 1) await nextTick();
    expect(mailer.active).toBe(3);
    expect(mails.pendingCount).toBe(10);
    release();
    await mails.drain();
    expect(mailer.accepted).toHaveLength(10);
    expect(mailer.maxActive).toBe(3);
  });

  it('keeps sending when hooks throw or reject, and logs the hook failure', async () => {
    const mailer = new RecordingMailer();
    const mails = queue(mailer, { concurrency: 1, maxAttempts: 1 });
    mailer.failNext('fails', 1);
    mails.enqueue(mail('first'), {
      sent: () => {
        throw new Error('hook broke');
      },
    });
    mails.enqueue(mail('fails'), {
      failed: () => {
        throw new TypeError('hook broke too');
      },
    });
    mails.enqueue(mail('third'), { sent: () => Promise.reject(new SyntaxError('async hook broke')) as unknown as void });
    mails.enqueue(mail('last'));
    await mails.drain();
    await nextTick();
    expect(mailer.accepted.map((message) => message.subject)).toEqual(['first', 'third', 'last']);
    expect(logger.warnings()).toEqual([
      'a "sent" hook failed: Error',
      'a message was not sent after 1 attempt(s): Error',
      'a "failed" hook failed: TypeError',
      'a "sent" hook failed: SyntaxError',
    ]);
  });

  it('never throws from enqueue, even for a message it cannot read', () => {
    const mails = queue(new RecordingMailer());
    expect(mails.enqueue(null as unknown as MailMessage)).toBe(false);
    expect(logger.warnings()).toEqual(['a message was not queued: TypeError']);
  });

  describe('drain', () => {
    it('resolves true at once when idle, and after the last retry otherwise', async () => {
      const mailer = new RecordingMailer();
      const mails = queue(mailer, { retryDelayMs: 5 });
      await expect(mails.drain()).resolves.toBe(true);
      mailer.failNext('m1', 2);
      mails.enqueue(mail('m1'));
      await expect(mails.drain()).resolves.toBe(true);
      expect(mails.pendingCount).toBe(0);
      expect(mailer.attempts).toHaveLength(3);
    });

    it('resolves false when timeoutMs passes first, and the queue carries on', async () => {
      const mailer = new RecordingMailer();
      const mails = queue(mailer);
      const release = mailer.hold();
      mails.enqueue(mail('m1'));
      await expect(mails.drain(20)).resolves.toBe(false);
      expect(mailer.accepted).toHaveLength(0);
      release();
      await expect(mails.drain(5000)).resolves.toBe(true);
      expect(mailer.accepted).toHaveLength(1);
    });

    it('rejects a timeoutMs that is not a non-negative integer', async () => {
      const mails = queue(new RecordingMailer());
      await expect(mails.drain(-1)).rejects.toThrow(TypeError);
      await expect(mails.drain(1.5)).rejects.toThrow(/"timeoutMs"/);
    });
  });

  describe('on application shutdown', () => {
    it('drains, then refuses new messages', async () => {
      const mailer = new RecordingMailer();
      const mails = queue(mailer);
      mails.enqueue(mail('m1'));
      mails.enqueue(mail('m2'));
      await mails.onApplicationShutdown();
      expect(mailer.accepted).toHaveLength(2);
      expect(mails.enqueue(mail('late'))).toBe(false);
      expect(logger.warnings()).toEqual(['the queue is shut down: 1 message(s) refused']);
    });

    it('gives up after shutdownTimeoutMs: drops what waits (failed hooks run) and logs how many', async () => {
      const mailer = new RecordingMailer();
      const mails = queue(mailer, { concurrency: 1, shutdownTimeoutMs: 30 });
      const release = mailer.hold();
      const outcomes: string[] = [];
      for (const subject of ['m1', 'm2', 'm3']) {
        mails.enqueue(mail(subject), {
          sent: () => outcomes.push(`${subject} sent`),
          failed: (error) => outcomes.push(`${subject} ${(error as Error).name}`),
        });
      }
      await mails.onApplicationShutdown();
      expect(logger.warnings()).toEqual(['shutdown: gave up after 30 ms: 2 message(s) dropped unsent, 1 still being sent']);
      expect(outcomes).toEqual(['m2 MailQueueShutdownError', 'm3 MailQueueShutdownError']);
      // The send in flight finishes on its own.
      release();
      await expect(mails.drain(5000)).resolves.toBe(true);
      expect(outcomes).toEqual(['m2 MailQueueShutdownError', 'm3 MailQueueShutdownError', 'm1 sent']);
      expect(mailer.accepted.map((message) => message.subject)).toEqual(['m1']);
    });

    it('drops a message waiting for its retry, without retrying it', async () => {
      const mailer = new RecordingMailer();
      const mails = queue(mailer, { retryDelayMs: 60_000, shutdownTimeoutMs: 20 });
      mailer.failNext('m1', 1);
      const failures: unknown[] = [];
      mails.enqueue(mail('m1'), { failed: (error) => failures.push(error) });
      while (mailer.attempts.length < 1 || mailer.active > 0) await nextTick();
      await mails.onApplicationShutdown();
      expect(failures).toEqual([expect.objectContaining({ name: 'MailQueueShutdownError' })]);
      expect(mails.pendingCount).toBe(0);
      expect(mailer.attempts).toHaveLength(1);
    });
  });

  describe('options', () => {
    const names = ['maxQueued', 'concurrency', 'maxAttempts', 'retryDelayMs', 'sendTimeoutMs', 'shutdownTimeoutMs'] as const;

    it.each(names)('rejects a "%s" that is not a positive integer, naming it', (name) => {
      for (const value of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, '2', null]) {
        expect(() => new MailQueue(new RecordingMailer(), { [name]: value } as unknown as MailQueueOptions)).toThrow(
          new TypeError(`MailQueue: "${name}" must be a positive integer${name.endsWith('Ms') ? ' of at most 2147483647' : ''}`),
        );
      }
      expect(() => new MailQueue(new RecordingMailer(), { [name]: 7 })).not.toThrow();
    });

    it('rejects delays past what a Node timer can wait', () => {
      expect(() => new MailQueue(new RecordingMailer(), { sendTimeoutMs: 2 ** 31 })).toThrow(/"sendTimeoutMs"/);
    });

    it('rejects an unknown option (a misspelt one would otherwise be ignored), and a missing mailer', () => {
      expect(() => new MailQueue(new RecordingMailer(), { retryDelay: 50 } as unknown as MailQueueOptions)).toThrow(
        new TypeError('MailQueue: unknown option "retryDelay"'),
      );
      expect(() => new MailQueue(undefined as unknown as Mailer)).toThrow(new TypeError('MailQueue: "mailer" must be a Mailer'));
    });
  });
});
