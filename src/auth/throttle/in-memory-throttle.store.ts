import type { OnModuleDestroy } from '@nestjs/common';
import { systemClock, type Clock } from '../clock.js';
import { ThrottleStore, type ThrottleCount } from './throttle-store.js';

/** The default {@link ThrottleStore}: counters in this process, swept when their window ends. */
export class InMemoryThrottleStore extends ThrottleStore implements OnModuleDestroy {
  private readonly counters = new Map<string, { count: number; resetAt: number }>();
  private readonly clock: Clock;
  private readonly sweeper: NodeJS.Timeout;

  constructor(options: { clock?: Clock } = {}) {
    super();
    this.clock = options.clock ?? systemClock;
    this.sweeper = setInterval(() => this.sweep(), 60_000);
    this.sweeper.unref();
  }

  async hit(key: string, windowSeconds: number): Promise<ThrottleCount> {
    const now = this.clock();
    let counter = this.counters.get(key);
    if (!counter || counter.resetAt <= now) {
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

  /** Drops counters whose window has ended. Runs every minute. */
  sweep(): void {
    const now = this.clock();
    for (const [key, counter] of this.counters) if (counter.resetAt <= now) this.counters.delete(key);
  }

  onModuleDestroy(): void {
    clearInterval(this.sweeper);
  }
}
