import { describe, expect, it } from '@jest/globals';
import { Registry, type Histogram } from 'prom-client';
import { InMemorySessionStore } from '../sessions/in-memory-session.store.js';
import { SessionStore } from '../sessions/session-store.js';
import { InMemoryUserStore } from '../users/in-memory-user.store.js';
import { UserStore } from '../users/user-store.js';
import { instrumentStore, PrometheusAuditSink } from './index.js';

const HISTOGRAM = 'nest_warden_store_operation_duration_seconds';

/** The `_count` of each series of the store histogram, keyed `store/operation/outcome`. */
async function counts(registry: Registry): Promise<Record<string, number>> {
  const { values } = await (registry.getSingleMetric(HISTOGRAM) as Histogram).get();
  const result: Record<string, number> = {};
  for (const one of values) {
    if (one.metricName !== `${HISTOGRAM}_count`) continue;
    result[`${one.labels.store}/${one.labels.operation}/${one.labels.outcome}`] = one.value;
  }
  return result;
}

const session = (id: string) => ({
  id,
  userId: 'u1',
  username: 'alice',
  createdAt: new Date(),
  lastSeenAt: new Date(),
  expiresAt: new Date(Date.now() + 60_000),
});

// A store with a truly private field: a method run with `this` as the proxy could not read it.
class PrivateFieldStore {
  #calls = 0;
  get calls(): number {
    return this.#calls;
  }
  async count(): Promise<number> {
    this.#calls += 1;
    return this.#calls;
  }
  async fail(): Promise<never> {
    this.#calls += 1;
    throw new Error('backend down');
  }
  throwsAtOnce(): Promise<never> {
    throw new Error('not connected');
  }
  label(): string {
    return `calls: ${this.#calls}`;
  }
  async onApplicationShutdown(): Promise<void> {}
}

describe('instrumentStore', () => {
  it('times the promise-returning calls of an in-memory session store, which still passes instanceof', async () => {
    const registry = new Registry();
    const metrics = new PrometheusAuditSink({ registry });
    const store = new InMemorySessionStore({ sweepIntervalSeconds: 0 });
    const timed = metrics.instrument(store, 'session');
    expect(timed).toBeInstanceOf(SessionStore);
    expect(timed).toBeInstanceOf(InMemorySessionStore);
    await timed.create(session('s1'));
    expect((await timed.get('s1'))?.userId).toBe('u1');
    expect(await timed.get('missing')).toBeNull();
    expect(await timed.delete('s1')).toBe(true);
    // A getter reads the store itself.
    expect(timed.size).toBe(0);
    expect(await counts(registry)).toEqual({ 'session/create/ok': 1, 'session/get/ok': 2, 'session/delete/ok': 1 });
    const { values } = await (registry.getSingleMetric(HISTOGRAM) as Histogram).get();
    const sum = values.find((one) => one.metricName === `${HISTOGRAM}_sum` && one.labels.operation === 'get')!;
    expect(sum.value).toBeGreaterThan(0);
    expect(sum.value).toBeLessThan(1);
  });

  it('runs methods with this bound to the store (private fields work) and records rejections and throws as error', async () => {
    const registry = new Registry();
    const metrics = new PrometheusAuditSink({ registry });
    const store = new PrivateFieldStore();
    const timed = instrumentStore(store, metrics, 'custom_store');
    expect(timed).toBeInstanceOf(PrivateFieldStore);
    expect(await timed.count()).toBe(1);
    await expect(timed.fail()).rejects.toThrow('backend down');
    expect(() => timed.throwsAtOnce()).toThrow('not connected');
    // Not a promise: returned as it is, not recorded.
    expect(timed.label()).toBe('calls: 2');
    expect(timed.calls).toBe(2);
    // A lifecycle hook is Nest's call, not a store operation.
    await timed.onApplicationShutdown();
    expect(await counts(registry)).toEqual({
      'custom_store/count/ok': 1,
      'custom_store/fail/error': 1,
      'custom_store/throwsAtOnce/error': 1,
    });
  });

  it('hands back the same method each time, and the store keeps working unwrapped', async () => {
    const metrics = new PrometheusAuditSink({ registry: new Registry() });
    const users = new InMemoryUserStore();
    const timed = metrics.instrument(users, 'user');
    expect(timed).toBeInstanceOf(UserStore);
    expect(timed.findById).toBe(timed.findById);
    expect(timed.keepsEmail).toBe(users.keepsEmail);
    const created = await timed.create({ username: 'alice', passwordHash: 'h' });
    expect((await users.findById(created.id))?.username).toBe('alice');
  });

  it('refuses a name that is not a short fixed word, and what is not a store or a sink', () => {
    const metrics = new PrometheusAuditSink({ registry: new Registry() });
    for (const name of ['', 'session store', 'user-9a136dd2', 'x'.repeat(65), 'é']) {
      expect(() => instrumentStore(new PrivateFieldStore(), metrics, name)).toThrow(TypeError);
    }
    expect(() => instrumentStore(null as unknown as object, metrics, 'session')).toThrow(TypeError);
    expect(() => instrumentStore(new PrivateFieldStore(), {} as PrometheusAuditSink, 'session')).toThrow(TypeError);
  });
});
