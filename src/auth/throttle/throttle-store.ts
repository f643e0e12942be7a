/** A counter's state. */
export interface ThrottleCount {
  /** Failures counted in the current window. */
  count: number;
  /** Seconds until the window ends and the counter starts again (0 when no window is open). */
  resetInSeconds: number;
}

/**
 * Where failed-login counters live: in-process by default, Redis when instances must share
 * them. An abstract class, so it is both the contract and the DI token. Every implementation
 * must pass `describeThrottleStoreContract` from `nestjs-warden/testing`.
 *
 * Counters use fixed windows: the first failure opens a window of `windowSeconds`; failures
 * inside it add up; when it ends the counter is gone.
 */
export abstract class ThrottleStore {
  /** Counts one failure under `key`, opening a window if none is open. Atomic under concurrency. */
  abstract hit(key: string, windowSeconds: number): Promise<ThrottleCount>;

  /** The current count without changing it. */
  abstract peek(key: string): Promise<ThrottleCount>;

  /** Takes back one hit, never below zero (an attempt that turned out to succeed). */
  abstract undo(key: string): Promise<void>;

  /** Forgets the counter (after a successful login). */
  abstract reset(key: string): Promise<void>;

  /** Whether the backing storage answers. Reported by health checks. Default `true`. */
  async ping(): Promise<boolean> {
    return true;
  }
}
