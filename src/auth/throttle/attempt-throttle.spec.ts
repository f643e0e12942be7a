import { describe, expect, it } from '@jest/globals';
import { TooManyAttemptsError } from '../auth.errors.js';
import { FakeClock } from '../testing/fake-clock.js';
import { AttemptThrottle, type AttemptCounter } from './attempt-throttle.js';
import { InMemoryThrottleStore } from './in-memory-throttle.store.js';

const counter = (limit: number, clearOnSuccess = false): AttemptCounter => ({ key: 'client', limit, windowSeconds: 60, clearOnSuccess });

function setup(timing = {}): { clock: FakeClock; store: InMemoryThrottleStore; throttle: AttemptThrottle } {
  const clock = new FakeClock(Date.now());
  const store = new InMemoryThrottleStore({ clock: clock.now });
  return { clock, store, throttle: new AttemptThrottle(store, clock.now, timing) };
}

describe('AttemptThrottle', () => {
  it('an attempt settled after its window ended gives nothing back to the next window', async () => {
    const { clock, store, throttle } = setup();
    try {
      const late = await throttle.acquire([counter(3)]);
      clock.advance(61);
      for (let i = 0; i < 3; i++) await (await throttle.acquire([counter(3)])).failed();
      await late.succeeded(); // taken in the old window: must not free a place in this one
      await expect(throttle.acquire([counter(3)])).rejects.toBeInstanceOf(TooManyAttemptsError);
    } finally {
      store.onModuleDestroy();
    }
  });

  it('counts failures for as long as their window, and answers Retry-After for the window', async () => {
    const { clock, store, throttle } = setup();
    try {
      for (let i = 0; i < 3; i++) {
        const attempt = await throttle.acquire([counter(3)]);
        clock.advance(10);
        await attempt.failed();
      }
      const refusal = (await throttle.acquire([counter(3)]).catch((error: unknown) => error)) as TooManyAttemptsError;
      expect(refusal).toBeInstanceOf(TooManyAttemptsError);
      expect(refusal.retryAfterSeconds).toBe(30);
      clock.advance(30);
      await (await throttle.acquire([counter(3)])).succeeded();
    } finally {
      store.onModuleDestroy();
    }
  });

  it('lets a bounded number of attempts wait on one counter; the rest are refused at once', async () => {
    // Waiting would outlast the test's timeout: the third waiter must be refused while the place is still held.
    const { store, throttle } = setup({ maxWaitersPerKey: 2, maxWaitMs: 60_000 });
    try {
      const holder = await throttle.acquire([counter(1)]);
      const waiters = [throttle.acquire([counter(1)]), throttle.acquire([counter(1)])];
      await new Promise((resolve) => setTimeout(resolve, 30));
      await expect(throttle.acquire([counter(1)])).rejects.toBeInstanceOf(TooManyAttemptsError);
      await holder.succeeded();
      const first = await Promise.race(waiters);
      await first.succeeded();
      await Promise.all(waiters.map((waiter) => waiter.then((reservation) => reservation.succeeded())));
    } finally {
      store.onModuleDestroy();
    }
  });
});
