import type { OnModuleDestroy } from '@nestjs/common';
import { systemClock, type Clock } from '../clock.js';
import { ThrottleStore, type ThrottleCount } from './throttle-store.js';

/** Options of {@link InMemoryThrottleStore}. */
export interface InMemoryThrottleStoreOptions {
  clock?: Clock;
  /**
   * Most counters held at once. Past it, opening a counter drops the 1% whose windows opened
   * first, so a flood of distinct keys cannot grow memory without bound. Default 100000.
   */
  maxCounters?: number;
}

/**
 * The default {@link ThrottleStore}: counters in this process, swept when their window ends,
 * at most `maxCounters` of them.
 */
export class InMemoryThrottleStore extends ThrottleStore implements OnModuleDestroy {
  // In the order their windows opened: a counter whose window starts again moves to the end.
  private readonly counters = new Map<string, { count: number; resetAt: number }>();
  private readonly clock: Clock;
  private readonly maxCounters: number;
  private readonly sweeper: NodeJS.Timeout;

  constructor(options: InMemoryThrottleStoreOptions = {}) {
    super();
    this.clock = options.clock ?? systemClock;
    const maxCounters = options.maxCounters ?? 100_000;
    if (!Number.isInteger(maxCounters) || maxCounters < 1)
      throw new TypeError('InMemoryThrottleStore: maxCounters must be a positive integer');
    this.maxCounters = maxCounters;
    this.sweeper = setInterval(() => this.sweep(), 60_000);
    this.sweeper.unref();
  }

  async hit(key: string, windowSeconds: number): Promise<ThrottleCount> {
    const now = this.clock();
    let counter = this.counters.get(key);
    if (!counter || counter.resetAt <= now) {
      if (counter) this.counters.delete(key);
      else if (this.counters.size >= this.maxCounters) this.evictOldest();
      counter = { count: 0, resetAt: now + windowSeconds * 1000 };
      this.counters.set(key, counter);
    }
    counter.count++;
    return { count: counter.count, resetInSeconds: Math.ceil((counter.resetAt - now) / 1000) };
  }

  async peek(key: string): Promise<ThrottleCount> {
    const now = this.clock();
    const counter = this.counters.get(key);
    if (!counter || counter.resetAt <= now) return { count: 0, resetInSeconds: 0 };
    return { count: counter.count, resetInSeconds: Math.ceil((counter.resetAt - now) / 1000) };
  }

  async undo(key: string): Promise<void> {
    const counter = this.counters.get(key);
    if (counter && counter.count > 0) counter.count--;
  }

  async reset(key: string): Promise<void> {
    this.counters.delete(key);
  }

  // Drops the oldest 1% in one pass: a Map keeps deleted entries as holes until it rehashes,
  // so dropping one at a time from the front would walk every earlier hole on each insert.
  private evictOldest(): void {
    let excess = this.counters.size - this.maxCounters + Math.max(1, Math.floor(this.maxCounters / 100));
    for (const key of this.counters.keys()) {
      if (excess-- <= 0) break;
      this.counters.delete(key);
    }
  }

  /** How many counters are held (ended ones included until the next sweep). */
  get size(): number {
    return this.counters.size;
  }

  /** Drops counters whose window has ended. Runs every minute. */
  sweep(): void {
    const now = this.clock();
    for (const [key, counter] of this.counters) if (counter.resetAt <= now) this.counters.delete(key);
  }

  onModuleDestroy(): void {
    clearInterval(this.sweeper);
  }
}
