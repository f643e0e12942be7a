import type { PrometheusAuditSink } from './prometheus-audit-sink.js';

// Called by Nest or by the runtime, not by nest-warden: passed through, never timed.
const NOT_TIMED = new Set([
  'onModuleInit',
  'onApplicationBootstrap',
  'onModuleDestroy',
  'beforeApplicationShutdown',
  'onApplicationShutdown',
]);
// Returned as they are: a proxy that answered `then` would pass for a promise, and the
// constructor is the class itself.
const AS_IS = new Set(['then', 'constructor']);
const STORE_NAME = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;

/**
 * Wraps a store (any of the session, user, throttle, one-time-token, MFA, passkey or identity
 * stores, yours included) so each call of one of its methods that returns a promise is timed until
 * the promise settles, into `store_operation_duration_seconds` with the labels `store` (`name`),
 * `operation` (the method's name) and `outcome` (`ok`, or `error` for a rejection or a throw).
 * Calls that return at once without a promise are not recorded.
 *
 * The result is a `Proxy` of the store itself: it passes the module's `instanceof` checks (its
 * prototype is the store's), and every method runs with `this` bound to the store, so private
 * fields and internal calls work as before. `name` is a label value: a short fixed word such as
 * `session` (letters, digits and `_`, at most 64), never a per-request value.
 *
 * @example
 * ```ts
 * sessionStore: instrumentStore(new RedisSessionStore({ url }), metrics, 'session')
 * ```
 */
export function instrumentStore<T extends object>(store: T, metrics: PrometheusAuditSink, name: string): T {
  if (typeof store !== 'object' || store === null) throw new TypeError('instrumentStore: store must be an object');
  if (typeof metrics?.observeStoreOperation !== 'function') throw new TypeError('instrumentStore: metrics must be a PrometheusAuditSink');
  if (typeof name !== 'string' || !STORE_NAME.test(name)) {
    throw new TypeError('instrumentStore: name must be letters, digits and _ (a label value such as "session"), at most 64');
  }
  // One wrapper per method name, so `proxy.get === proxy.get` holds as it does on the store.
  const wrappers = new Map<string, { method: (...args: unknown[]) => unknown; wrapper: (...args: unknown[]) => unknown }>();
  const wrap = (method: (...args: unknown[]) => unknown, operation: string): ((...args: unknown[]) => unknown) => {
    const timed = !NOT_TIMED.has(operation);
    return function (...args: unknown[]): unknown {
      const started = performance.now();
      const observe = (outcome: 'ok' | 'error'): void => {
        if (timed) metrics.observeStoreOperation(name, operation, outcome, (performance.now() - started) / 1000);
      };
      let result: unknown;
      try {
        result = Reflect.apply(method, store, args);
      } catch (error) {
        observe('error');
        throw error;
      }
      if (!isThenable(result)) return result;
      return result.then(
        (value) => {
          observe('ok');
          return value;
        },
        (error: unknown) => {
          observe('error');
          throw error;
        },
      );
    };
  };
  return new Proxy(store, {
    get(target, key) {
      // Read from the store itself: a getter sees the store as `this`, not the proxy.
      const value: unknown = Reflect.get(target, key);
      if (typeof value !== 'function' || (typeof key === 'string' && AS_IS.has(key))) return value;
      const method = value as (...args: unknown[]) => unknown;
      // Symbol-keyed methods (Symbol.asyncDispose, say) are not operations: bound, not timed.
      if (typeof key === 'symbol') return method.bind(target);
      let cached = wrappers.get(key);
      if (cached?.method !== method) {
        cached = { method, wrapper: wrap(method, key) };
        wrappers.set(key, cached);
      }
      return cached.wrapper;
    },
  });
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | null)?.then === 'function';
}
