import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import type { ThrottleStore } from '../throttle/throttle-store.js';
import { FakeClock } from './fake-clock.js';

/**
 * The jest suite every {@link ThrottleStore} must pass. Stores on a real server (Redis) keep
 * time themselves: pass `realTime: true` and the expiry test waits a real second.
 */
export function describeThrottleStoreContract(
  name: string,
  factory: (context: { clock: FakeClock }) => ThrottleStore | Promise<ThrottleStore>,
  options: { teardown?: (store: ThrottleStore) => void | Promise<void>; realTime?: boolean } = {},
): void {
  describe(`${name} (ThrottleStore contract)`, () => {
    let clock: FakeClock;
    let store: ThrottleStore;
    const key = (): string => `k-${randomBytes(6).toString('hex')}`;

    beforeEach(async () => {
      clock = new FakeClock(Date.now());
      store = await factory({ clock });
    });

    afterEach(async () => {
      await options.teardown?.(store);
    });

    it('counts failures within a window and reports when it ends', async () => {
      const k = key();
      expect(await store.peek(k)).toEqual({ count: 0, resetInSeconds: 0 });
      expect(await store.hit(k, 60)).toEqual({ count: 1, resetInSeconds: 60 });
      expect((await store.hit(k, 60)).count).toBe(2);
      const peeked = await store.peek(k);
      expect(peeked.count).toBe(2);
      expect(peeked.resetInSeconds).toBeGreaterThan(0);
      expect(peeked.resetInSeconds).toBeLessThanOrEqual(60);
    });

    it('keeps counters apart', async () => {
      const a = key();
      const b = key();
      await store.hit(a, 60);
      await store.hit(a, 60);
      expect((await store.peek(b)).count).toBe(0);
      expect((await store.hit(b, 60)).count).toBe(1);
    });

    it('forgets a counter on reset', async () => {
      const k = key();
      await store.hit(k, 60);
      await store.reset(k);
      expect((await store.peek(k)).count).toBe(0);
      expect((await store.hit(k, 60)).count).toBe(1);
    });

    it('takes back one hit on undo, never below zero', async () => {
      const k = key();
      await store.hit(k, 60);
      await store.hit(k, 60);
      await store.undo(k);
      expect((await store.peek(k)).count).toBe(1);
      await store.undo(k);
      await store.undo(k);
      expect((await store.peek(k)).count).toBe(0);
      await store.undo(key());
    });

    it('starts again once the window has ended', async () => {
      const k = key();
      await store.hit(k, 1);
      await store.hit(k, 1);
      if (options.realTime) await new Promise((resolve) => setTimeout(resolve, 1100));
      else clock.advance(1);
      expect((await store.peek(k)).count).toBe(0);
      expect((await store.hit(k, 1)).count).toBe(1);
    });

    it('loses no hit under concurrency', async () => {
      const k = key();
      const results = await Promise.all(Array.from({ length: 40 }, () => store.hit(k, 60)));
      expect(results.map((r) => r.count).sort((x, y) => x - y)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
      expect((await store.peek(k)).count).toBe(40);
    });
  });
}
