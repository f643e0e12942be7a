import { describe, expect, it } from '@jest/globals';
import { describeSessionStoreContract, FakeClock } from '../testing/index.js';
import { InMemorySessionStore } from './in-memory-session.store.js';

describeSessionStoreContract('InMemorySessionStore', ({ clock }) => new InMemorySessionStore({ clock: clock.now }), {
  teardown: (store) => (store as InMemorySessionStore).onModuleDestroy(),
});

describe('InMemorySessionStore memory', () => {
  it('sweeps expired sessions out of memory, index included', async () => {
    const clock = new FakeClock();
    const store = new InMemorySessionStore({ clock: clock.now, sweepIntervalSeconds: 0 });
    for (let i = 0; i < 100; i++) {
      await store.create({
        id: `s${i}`,
        userId: `u${i % 10}`,
        username: 'u',
        createdAt: clock.date(),
        lastSeenAt: clock.date(),
        expiresAt: clock.date(i < 60 ? 10 : 1000),
      });
    }
    clock.advance(10);
    expect(store.sweep()).toBe(60);
    expect(store.size).toBe(40);
    clock.advance(1000);
    expect(store.sweep()).toBe(40);
    expect(store.size).toBe(0);
    expect(await store.listForUser('u1')).toEqual([]);
  });

  it('refuses a bad sweep interval', () => {
    expect(() => new InMemorySessionStore({ sweepIntervalSeconds: -1 })).toThrow(TypeError);
  });
});
