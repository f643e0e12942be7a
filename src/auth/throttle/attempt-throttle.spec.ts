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

  it('refusal() answers what acquire would, without taking a place: 429 once failures fill the counter, with the same Retry-After', async () => {
    const { clock, store, throttle } = setup();
    try {
      expect(await throttle.refusal(counter(3))).toBeNull();
      for (let i = 0; i < 3; i++) await (await throttle.acquire([counter(3)])).failed();
      clock.advance(20);
      const ahead = await throttle.refusal(counter(3));
      const full = (await throttle.acquire([counter(3)]).catch((error: unknown) => error)) as TooManyAttemptsError;
      expect(ahead).toBeInstanceOf(TooManyAttemptsError);
      expect(full).toBeInstanceOf(TooManyAttemptsError);
      expect(ahead!.retryAfterSeconds).toBe(full.retryAfterSeconds);
      expect((await store.peek('client')).count).toBe(3); // refusal() took no place
    } finally {
      store.onModuleDestroy();
    }
  });

  it('refusal() gives way when the failures outlive the places (a rounded-up window, a capped store dropping the older key): acquire admits then', async () => {
    const { clock, store, throttle } = setup();
    try {
      const attempts = [];
      for (let i = 0; i < 3; i++) attempts.push(await throttle.acquire([counter(3)]));
      clock.advance(0.7);
      for (const attempt of attempts) await attempt.failed(); // their failures end 0.7 s after the places
      clock.advance(59.5);
      expect((await store.peek('client:f')).count).toBe(3);
      expect(await throttle.refusal(counter(3))).toBeNull();
      await (await throttle.acquire([counter(3)])).succeeded();
      // The places dropped alone, as a capped store drops its oldest keys first.
      clock.advance(60);
      for (let i = 0; i < 3; i++) await (await throttle.acquire([counter(3)])).failed();
      await store.reset('client');
      expect(await throttle.refusal(counter(3))).toBeNull();
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
