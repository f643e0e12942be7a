import { Logger, type OnApplicationShutdown } from '@nestjs/common';
import type { Mailer, MailMessage } from './mailer.js';

/** Settings of a {@link MailQueue}; every one a positive integer. */
export interface MailQueueOptions {
  /** The most messages held at once (waiting, being sent, or waiting for a retry); past it `enqueue` refuses. Default 1000. */
  maxQueued?: number;
  /** How many messages are sent at once. Default 2. */
  concurrency?: number;
  /** Attempts per message, the first included. Default 4. */
  maxAttempts?: number;
  /**
   * The wait before the first retry; each later one waits 4 times longer than the one before,
   * with jitter (between half and all of it), and never more than 15 minutes. Default 1000 ms.
   */
  retryDelayMs?: number;
  /** How long one attempt may take before it counts as failed (and is retried). Default 30000 ms. */
  sendTimeoutMs?: number;
  /** On application shutdown, how long to wait for the queue to empty before the rest is dropped. Default 10000 ms. */
  shutdownTimeoutMs?: number;
}

const DEFAULTS: Required<MailQueueOptions> = {
  maxQueued: 1000,
  concurrency: 2,
  maxAttempts: 4,
  retryDelayMs: 1000,
  sendTimeoutMs: 30_000,
  shutdownTimeoutMs: 10_000,
};

// Longer timers fire at once in Node (the delay is a signed 32-bit number).
const MAX_TIMER_MS = 2_147_483_647;
const MAX_RETRY_DELAY_MS = 15 * 60 * 1000;
// A flood of refusals is one warning per interval, with the count since the last one.
const REFUSAL_WARNING_INTERVAL_MS = 10_000;

interface Job {
  message: MailMessage;
  hooks: { sent?: () => void; failed?: (error: unknown) => void };
  attempts: number;
}

/**
 * Sends mail in the background, so that no request waits for (or learns anything from) an SMTP
 * server: `enqueue` returns at once; a few workers send, retry failures with backoff and bound
 * each attempt. Messages are held in memory only: a process that stops drops what it still holds
 * (on application shutdown it first drains for `shutdownTimeoutMs`). Logs never hold a message's
 * address, subject or body (they may carry a link with a token), only counts and error names.
 *
 * A timed-out attempt cannot be cancelled (the {@link Mailer} contract has no signal): it is
 * retried, so a slow server that delivers late may deliver a message twice.
 */
export class MailQueue implements OnApplicationShutdown {
  private readonly logger = new Logger('MailQueue');
  private readonly settings: Required<MailQueueOptions>;
  private readonly waiting: Job[] = [];
  private readonly retrying = new Map<NodeJS.Timeout, Job>();
  private readonly idleWaiters = new Set<() => void>();
  private sending = 0;
  private closed = false;
  private refusedSinceWarning = 0;
  private lastRefusalWarningMs = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly mailer: Mailer,
    options: MailQueueOptions = {},
  ) {
    if (typeof (mailer as Partial<Mailer> | undefined)?.send !== 'function') throw new TypeError('MailQueue: "mailer" must be a Mailer');
    this.settings = validateOptions(options);
  }

  /** How many messages the queue holds: waiting, being sent, or waiting for a retry. */
  get pendingCount(): number {
    return this.waiting.length + this.retrying.size + this.sending;
  }

  /**
   * Queues one message and returns at once: true when it was queued, false (with a warning in the
   * log) when the queue is full or shut down. Never throws. `sent` runs once the mailer accepted
   * it, `failed` once the last attempt failed (or the queue shut down without sending it); a hook
   * that throws is logged and changes nothing.
   */
  enqueue(message: MailMessage, hooks?: { sent?: () => void; failed?: (error: unknown) => void }): boolean {
    try {
      if (this.closed || this.pendingCount >= this.settings.maxQueued) return this.refuse();
      // A copy: the caller may reuse its object while the message waits.
      const { to, subject, text, html } = message;
      this.waiting.push({ message: { to, subject, text, html }, hooks: { ...hooks }, attempts: 0 });
      this.startWorkers();
      return true;
    } catch (error) {
      this.logger.warn(`a message was not queued: ${describeError(error)}`);
      return false;
    }
  }

  /**
   * Resolves once nothing is waiting, being sent or waiting for a retry: `true`; or, given
   * `timeoutMs`, `false` when that passed first (the queue carries on). For tests and shutdown.
   */
  drain(timeoutMs?: number): Promise<boolean> {
    if (timeoutMs !== undefined && (!Number.isSafeInteger(timeoutMs) || timeoutMs < 0 || timeoutMs > MAX_TIMER_MS)) {
      return Promise.reject(new TypeError('MailQueue.drain: "timeoutMs" must be an integer from 0 to 2147483647'));
    }
    if (this.pendingCount === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const idle = (): void => {
        clearTimeout(timer);
        resolve(true);
      };
      this.idleWaiters.add(idle);
      // Not unref'd: a process awaiting the drain (shutdown) stays up until it ends.
      if (timeoutMs !== undefined) {
        timer = setTimeout(() => {
          this.idleWaiters.delete(idle);
          resolve(false);
        }, timeoutMs);
      }
    });
  }

  /**
   * Drains for up to `shutdownTimeoutMs`, then refuses new messages. What is still waiting then is
   * dropped (its `failed` hooks run) and logged as a count; sends in flight finish on their own.
   */
  async onApplicationShutdown(): Promise<void> {
    const drained = await this.drain(this.settings.shutdownTimeoutMs);
    this.closed = true;
    if (drained) return;
    const dropped = [...this.waiting.splice(0), ...this.retrying.values()];
    for (const timer of this.retrying.keys()) clearTimeout(timer);
    this.retrying.clear();
    this.logger.warn(
      `shutdown: gave up after ${this.settings.shutdownTimeoutMs} ms: ${dropped.length} message(s) dropped unsent, ${this.sending} still being sent`,
    );
    const error = namedError('MailQueueShutdownError', 'the mail queue shut down before the message was sent');
    for (const job of dropped) this.runHook('failed', () => job.hooks.failed?.(error));
    this.notifyIfIdle();
  }

  private startWorkers(): void {
    while (this.sending < this.settings.concurrency && this.waiting.length > 0) {
      const job = this.waiting.shift()!;
      this.sending += 1;
      void this.run(job);
    }
  }

  // Never rejects: every outcome is handled here.
  private async run(job: Job): Promise<void> {
    job.attempts += 1;
    let failure: { error: unknown } | undefined;
    try {
      await this.attempt(job.message);
    } catch (error) {
      failure = { error };
    }
    this.sending -= 1;
    try {
      if (!failure) {
        this.runHook('sent', () => job.hooks.sent?.());
      } else if (job.attempts < this.settings.maxAttempts && !this.closed) {
        this.retryLater(job);
      } else {
        this.logger.warn(`a message was not sent after ${job.attempts} attempt(s): ${describeError(failure.error)}`);
        this.runHook('failed', () => job.hooks.failed?.(failure.error));
      }
    } finally {
      this.startWorkers();
      this.notifyIfIdle();
    }
  }

  // One attempt, bounded by sendTimeoutMs. The send starts after the caller's synchronous code
  // (enqueue never runs the mailer), and a mailer that throws synchronously fails the attempt too.
  private attempt(message: MailMessage): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(namedError('TimeoutError', `the mailer did not answer within ${this.settings.sendTimeoutMs} ms`)),
        this.settings.sendTimeoutMs,
      );
      timer.unref();
      const sending = Promise.resolve().then(() => this.mailer.send({ ...message }));
      sending.then(
        () => {
          clearTimeout(timer);
          resolve();
        },
        (error: unknown) => {
          clearTimeout(timer);
          reject(error);
        },
      );
    });
  }

  private retryLater(job: Job): void {
    const base = Math.min(this.settings.retryDelayMs * 4 ** (job.attempts - 1), MAX_RETRY_DELAY_MS);
    // Jitter (not a secret): retries of messages that failed together spread out.
    const delayMs = Math.round(base / 2 + (Math.random() * base) / 2);
    const timer = setTimeout(() => {
      this.retrying.delete(timer);
      // Ahead of younger messages: it has waited longest.
      this.waiting.unshift(job);
      this.startWorkers();
    }, delayMs);
    timer.unref();
    this.retrying.set(timer, job);
  }

  private runHook(name: 'sent' | 'failed', hook: () => unknown): void {
    const logFailure = (error: unknown): void => this.logger.warn(`a "${name}" hook failed: ${describeError(error)}`);
    try {
      const result = hook();
      // A hook may be an async function: its rejection must not go unhandled.
      if (result instanceof Promise) result.catch(logFailure);
    } catch (error) {
      logFailure(error);
    }
  }

  private notifyIfIdle(): void {
    if (this.pendingCount > 0) return;
    const waiters = [...this.idleWaiters];
    this.idleWaiters.clear();
    for (const idle of waiters) idle();
  }

  private refuse(): false {
    this.refusedSinceWarning += 1;
    const now = Date.now();
    if (now - this.lastRefusalWarningMs >= REFUSAL_WARNING_INTERVAL_MS) {
      const why = this.closed ? 'the queue is shut down' : `the queue is full (${this.settings.maxQueued} messages held)`;
      this.logger.warn(`${why}: ${this.refusedSinceWarning} message(s) refused`);
      this.refusedSinceWarning = 0;
      this.lastRefusalWarningMs = now;
    }
    return false;
  }
}

function validateOptions(options: MailQueueOptions): Required<MailQueueOptions> {
  if (typeof options !== 'object' || options === null) throw new TypeError('MailQueue: the options must be an object');
  for (const key of Object.keys(options)) {
    if (!Object.hasOwn(DEFAULTS, key)) throw new TypeError(`MailQueue: unknown option "${key}"`);
  }
  const settings = { ...DEFAULTS };
  for (const name of Object.keys(DEFAULTS) as Array<keyof MailQueueOptions>) {
    const value: unknown = options[name] === undefined ? DEFAULTS[name] : options[name];
    const max = name.endsWith('Ms') ? MAX_TIMER_MS : Number.MAX_SAFE_INTEGER;
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1 || value > max) {
      throw new TypeError(`MailQueue: "${name}" must be a positive integer${max === MAX_TIMER_MS ? ` of at most ${MAX_TIMER_MS}` : ''}`);
    }
    settings[name] = value;
  }
  return settings;
}

function namedError(name: string, message: string): Error {
  const error = new Error(message);
  error.name = name;
  return error;
}

// The error's name and codes only: its message may quote an address or a server's reply.
function describeError(error: unknown): string {
  if (!(error instanceof Error)) return 'unknown error';
  const name = /^[\w.$-]{1,64}$/.test(error.name) ? error.name : 'Error';
  const { code, responseCode } = error as { code?: unknown; responseCode?: unknown };
  const parts = [name];
  if ((typeof code === 'string' && /^[\w.-]{1,40}$/.test(code)) || Number.isSafeInteger(code)) parts.push(`code ${String(code)}`);
  if (Number.isSafeInteger(responseCode)) parts.push(`response ${String(responseCode)}`);
  return parts.join(', ');
}
