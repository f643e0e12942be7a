import { TooManyAttemptsError } from '../auth.errors.js';
import { systemClock, type Clock } from '../clock.js';
import type { ThrottleStore } from './throttle-store.js';

/** One budget an attempt draws on: a counter key, how many attempts fit, and its window. */
export interface AttemptCounter {
  /** Counter key in the {@link ThrottleStore}; never holds a username or other secret in clear. */
  key: string;
  /** Attempts that may fail within the window. */
  limit: number;
  windowSeconds: number;
  /** A success clears the counter (an account's own counters); otherwise it only takes back its hit (a client IP). */
  clearOnSuccess: boolean;
}

/** What {@link AttemptThrottle.acquire} hands back: settle it once the attempt's outcome is known. */
export interface AttemptReservation {
  /** The attempt succeeded: account counters are cleared, the rest take back this attempt. */
  succeeded(): Promise<void>;
  /** The attempt failed: it stays counted and is recorded as a failure. */
  failed(): Promise<void>;
  /** The attempt ended without a verdict (an error): it is taken back and counts as nothing. */
  abandoned(): Promise<void>;
}

/** Timing of the wait for attempts in flight. */
export interface AttemptThrottleTiming {
  /** Longest wait for attempts in flight to settle before answering 429 anyway. Default 10 s. */
  maxWaitMs?: number;
  /** First pause between two looks at the counters; doubles up to 200 ms, with jitter. Default 10 ms. */
  firstPauseMs?: number;
  /** Most attempts of this process waiting on one counter; past it, 429 at once. Default 32. */
  maxWaitersPerKey?: number;
}

/**
 * Brute-force budgets on a {@link ThrottleStore}, counted before any hashing.
 *
 * Each counter is two keys: `key` counts attempts that failed or are still running, and
 * `key:f` counts failures alone. An attempt takes a place in `key` atomically before it may run,
 * so no more than `limit` unverified guesses ever run per window, however many arrive at once.
 * When the places are full, the attempt is refused (429) only if failures fill them; if attempts
 * still in flight hold them, it waits for those to settle (a success gives its place back), so
 * a client that has not failed is not refused because it sent requests in parallel.
 */
export class AttemptThrottle {
  private readonly maxWaitMs: number;
  private readonly firstPauseMs: number;
  private readonly maxWaitersPerKey: number;
  // Attempts of this process waiting for places, per counter key.
  private readonly waiting = new Map<string, number>();

  constructor(
    private readonly store: ThrottleStore,
    private readonly clock: Clock = systemClock,
    timing: AttemptThrottleTiming = {},
  ) {
    this.maxWaitMs = timing.maxWaitMs ?? 10_000;
    this.firstPauseMs = timing.firstPauseMs ?? 10;
    this.maxWaitersPerKey = timing.maxWaitersPerKey ?? 32;
  }

  /**
   * Takes one place on every counter, in order: a later counter is not touched while an earlier
   * one is full, so a client over its own limit cannot grow the store with new keys. Throws
   * {@link TooManyAttemptsError} when failures fill a counter (or the wait runs out).
   */
  async acquire(counters: readonly AttemptCounter[], message?: string): Promise<AttemptReservation> {
    // Each counter with the instant its window ends, as seen when the place was taken.
    const taken: Array<[AttemptCounter, number]> = [];
    try {
      for (const counter of counters) taken.push([counter, await this.take(counter, message)]);
    } catch (error) {
      await Promise.all(taken.map(([counter]) => this.store.undo(counter.key)));
      throw error;
    }
    let settled = false;
    const settle = async (outcome: (counter: AttemptCounter, windowLeftSeconds: number) => Promise<unknown>): Promise<void> => {
      if (settled) return;
      settled = true;
      const now = this.clock();
      await Promise.all(
        taken.map(([counter, windowEndsAt]) =>
          // A place taken in a window that has ended since is gone with it: giving it back or
          // counting its failure would touch the next window's counts.
          windowEndsAt > now
            ? outcome(counter, Math.ceil((windowEndsAt - now) / 1000))
            : counter.clearOnSuccess
              ? outcome(counter, 0)
              : undefined,
        ),
      );
    };
    return {
      succeeded: () =>
        settle((counter) =>
          counter.clearOnSuccess
            ? Promise.all([this.store.reset(counter.key), this.store.reset(failuresKey(counter))])
            : this.store.undo(counter.key),
        ),
      // The failure count ends with the attempts' window, so a failure never outlives it.
      failed: () =>
        settle((counter, windowLeftSeconds) =>
          windowLeftSeconds > 0 ? this.store.hit(failuresKey(counter), windowLeftSeconds) : Promise.resolve(),
        ),
      abandoned: () => settle((counter, windowLeftSeconds) => (windowLeftSeconds > 0 ? this.store.undo(counter.key) : Promise.resolve())),
    };
  }

  /**
   * The refusal `acquire` would end in for `counter` without taking a place or waiting: when its
   * places are all taken and failures fill them. `null` otherwise (the attempt may still be
   * refused by `acquire`). The failures key can outlive the attempts key (its window is rounded
   * up, and a capped store drops the older key first): then `acquire` admits, and so must this.
   */
  async refusal(counter: AttemptCounter, message?: string): Promise<TooManyAttemptsError | null> {
    const failures = await this.store.peek(failuresKey(counter));
    if (failures.count < counter.limit) return null;
    const attempts = await this.store.peek(counter.key);
    if (attempts.count < counter.limit) return null;
    return new TooManyAttemptsError(Math.max(1, attempts.resetInSeconds, failures.resetInSeconds), message);
  }

  // Takes a place, waiting while attempts in flight hold them all; answers when its window ends.
  private async take(counter: AttemptCounter, message: string | undefined): Promise<number> {
    const deadline = Date.now() + this.maxWaitMs;
    let pauseMs = this.firstPauseMs;
    let waiting = false;
    try {
      for (let first = true; ; first = false) {
        // After the first try, look before taking: a waiter does not inflate the count others see.
        const seen = first ? null : await this.store.peek(counter.key);
        if (seen === null || seen.count < counter.limit) {
          const attempts = await this.store.hit(counter.key, counter.windowSeconds);
          if (attempts.count <= counter.limit) return this.clock() + Math.max(1, attempts.resetInSeconds) * 1000;
          await this.store.undo(counter.key);
        }
        const failures = await this.store.peek(failuresKey(counter));
        if (failures.count >= counter.limit) {
          // Places come back when the window ends.
          const attempts = await this.store.peek(counter.key);
          throw new TooManyAttemptsError(Math.max(1, attempts.resetInSeconds, failures.resetInSeconds), message);
        }
        // The places are held by attempts still running: wait for them to settle, a bounded
        // number of waiters per key and for a bounded time.
        if (!waiting) {
          const count = this.waiting.get(counter.key) ?? 0;
          if (count >= this.maxWaitersPerKey) throw new TooManyAttemptsError(1, message);
          this.waiting.set(counter.key, count + 1);
          waiting = true;
        }
        if (Date.now() + pauseMs > deadline) throw new TooManyAttemptsError(1, message);
        await new Promise((resolve) => setTimeout(resolve, pauseMs * (0.5 + Math.random() / 2)));
        pauseMs = Math.min(pauseMs * 2, 200);
      }
    } finally {
      if (waiting) {
        const left = (this.waiting.get(counter.key) ?? 1) - 1;
        if (left > 0) this.waiting.set(counter.key, left);
        else this.waiting.delete(counter.key);
      }
    }
  }
}

function failuresKey(counter: AttemptCounter): string {
  return `${counter.key}:f`;
}
