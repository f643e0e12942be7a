import { afterEach, describe, expect, it } from '@jest/globals';
import { Gauge, register, Registry } from 'prom-client';
import type { AuthAuditEvent, AuthAuditEventName } from '../audit/audit-sink.js';
import { PrometheusAuditSink } from './index.js';

const at = new Date('2026-12-02T06:00:00.000Z');
const event = (name: AuthAuditEventName, fields: Partial<AuthAuditEvent> = {}): AuthAuditEvent => ({
  name,
  at,
  userId: 'user-9a136dd2',
  ip: '203.0.113.9',
  userAgent: 'curl/8.0',
  ...fields,
});

/** The value of one series, 0 when absent. */
async function value(registry: Registry, name: string, labels: Record<string, string> = {}): Promise<number> {
  const metric = registry.getSingleMetric(name);
  if (!metric) throw new Error(`no metric ${name}`);
  const { values } = await metric.get();
  const wanted = Object.entries(labels);
  const series = values.find((one) => {
    const own = Object.entries(one.labels);
    return own.length === wanted.length && wanted.every(([key, label]) => one.labels[key] === label);
  });
  return series?.value ?? 0;
}

/** Every label value of a metric's series. */
async function labelValues(registry: Registry, name: string): Promise<string[]> {
  const { values } = await registry.getSingleMetric(name)!.get();
  return values.flatMap((one) => Object.values(one.labels).map(String));
}

describe('PrometheusAuditSink', () => {
  afterEach(() => {
    register.clear();
  });

  it('counts logins by outcome, all four on the scrape at 0 from the start', async () => {
    const registry = new Registry();
    const sink = new PrometheusAuditSink({ registry });
    const scrape = await registry.metrics();
    for (const outcome of ['succeeded', 'failed', 'throttled', 'mfa_required']) {
      expect(scrape).toContain(`nest_warden_logins_total{outcome="${outcome}"} 0`);
    }
    sink.emit(event('login.succeeded', { sessionId: 's1' }));
    sink.emit(event('login.failed', { reason: 'AUTH_INVALID_CREDENTIALS' }));
    sink.emit(event('login.failed', { reason: 'AUTH_MFA_CODE_INVALID' }));
    sink.emit(event('passkey.login.failed', { reason: 'AUTH_PASSKEY_LOGIN_FAILED' }));
    sink.emit(event('login.throttled', { reason: 'AUTH_TOO_MANY_ATTEMPTS' }));
    sink.emit(event('login.mfa_required'));
    expect(await value(registry, 'nest_warden_logins_total', { outcome: 'succeeded' })).toBe(1);
    expect(await value(registry, 'nest_warden_logins_total', { outcome: 'failed' })).toBe(3);
    expect(await value(registry, 'nest_warden_logins_total', { outcome: 'throttled' })).toBe(1);
    expect(await value(registry, 'nest_warden_logins_total', { outcome: 'mfa_required' })).toBe(1);
    expect(await value(registry, 'nest_warden_throttle_hits_total')).toBe(1);
  });

  it('counts refusals by their AUTH_* code, anything else as other', async () => {
    const registry = new Registry();
    const sink = new PrometheusAuditSink({ registry });
    sink.emit(event('token.rejected', { reason: 'AUTH_TOKEN_EXPIRED' }));
    sink.emit(event('token.rejected', { reason: 'AUTH_TOKEN_EXPIRED' }));
    sink.emit(event('login.failed', { reason: 'step:suspension' }));
    sink.emit(event('email.verification.failed', { reason: 'queue-full' }));
    // Shaped like a code, but no code of nest-warden's: not a label value of its own.
    sink.emit(event('refresh.failed', { reason: 'AUTH_MADE_UP_BY_A_CLIENT' }));
    sink.emit(event('mfa.code.failed', { reason: 'AUTH_TOO_MANY_ATTEMPTS' }));
    // Not refusals, though they carry a reason.
    sink.emit(event('password.reset.requested', { reason: 'unknown-account' }));
    sink.emit(event('oidc.unlinked', { reason: 'restore_failed' }));
    expect(await value(registry, 'nest_warden_refusals_total', { code: 'AUTH_TOKEN_EXPIRED' })).toBe(2);
    expect(await value(registry, 'nest_warden_refusals_total', { code: 'other' })).toBe(3);
    expect(await value(registry, 'nest_warden_refusals_total', { code: 'AUTH_TOO_MANY_ATTEMPTS' })).toBe(1);
    expect((await labelValues(registry, 'nest_warden_refusals_total')).sort()).toEqual([
      'AUTH_TOKEN_EXPIRED',
      'AUTH_TOO_MANY_ATTEMPTS',
      'other',
    ]);
    expect(await value(registry, 'nest_warden_throttle_hits_total')).toBe(1);
  });

  it('counts refreshes by outcome and reuse on its own', async () => {
    const registry = new Registry();
    const sink = new PrometheusAuditSink({ registry });
    sink.emit(event('refresh.succeeded', { sessionId: 's1' }));
    sink.emit(event('refresh.succeeded', { sessionId: 's1' }));
    sink.emit(event('refresh.grace', { sessionId: 's1' }));
    sink.emit(event('refresh.failed', { reason: 'AUTH_REFRESH_TOKEN_INVALID' }));
    sink.emit(event('refresh.reused', { sessionId: 's1', reason: 'AUTH_REFRESH_TOKEN_REUSED' }));
    expect(await value(registry, 'nest_warden_refresh_total', { outcome: 'succeeded' })).toBe(2);
    expect(await value(registry, 'nest_warden_refresh_total', { outcome: 'grace' })).toBe(1);
    expect(await value(registry, 'nest_warden_refresh_total', { outcome: 'failed' })).toBe(1);
    expect(await value(registry, 'nest_warden_refresh_total', { outcome: 'reused' })).toBe(1);
    expect(await value(registry, 'nest_warden_refresh_reuse_total')).toBe(1);
    expect(await value(registry, 'nest_warden_refusals_total', { code: 'AUTH_REFRESH_TOKEN_REUSED' })).toBe(1);
  });

  it('counts every event by name, an unknown name as other, and never puts a user id, address or agent in a label', async () => {
    const registry = new Registry();
    const sink = new PrometheusAuditSink({ registry });
    sink.emit(event('register'));
    sink.emit(event('mfa.recovery_codes.replaced'));
    sink.emit(event('mfa.recovery_codes.replaced'));
    sink.emit({ ...event('logout'), name: 'user-9a136dd2' as AuthAuditEventName });
    expect(await value(registry, 'nest_warden_events_total', { name: 'register' })).toBe(1);
    expect(await value(registry, 'nest_warden_events_total', { name: 'mfa.recovery_codes.replaced' })).toBe(2);
    expect(await value(registry, 'nest_warden_events_total', { name: 'other' })).toBe(1);
    const scrape = await registry.metrics();
    for (const personal of ['user-9a136dd2', '203.0.113.9', 'curl']) expect(scrape).not.toContain(personal);
  });

  it('takes a prefix, and registers in the global registry by default', async () => {
    const registry = new Registry();
    new PrometheusAuditSink({ registry, prefix: 'idp_' }).emit(event('register'));
    expect(await value(registry, 'idp_events_total', { name: 'register' })).toBe(1);
    expect(registry.getSingleMetric('nest_warden_events_total')).toBeUndefined();

    const sink = new PrometheusAuditSink();
    expect(sink.registry).toBe(register);
    sink.emit(event('register'));
    expect(await value(register, 'nest_warden_events_total', { name: 'register' })).toBe(1);
  });

  it('shares the metrics of a registry between two sinks: no "already registered", the counts add up', async () => {
    const registry = new Registry();
    const first = new PrometheusAuditSink({ registry });
    const second = new PrometheusAuditSink({ registry });
    first.emit(event('login.failed', { reason: 'AUTH_INVALID_CREDENTIALS' }));
    second.emit(event('login.failed', { reason: 'AUTH_INVALID_CREDENTIALS' }));
    expect(await value(registry, 'nest_warden_logins_total', { outcome: 'failed' })).toBe(2);
    expect(registry.getMetricsAsArray()).toHaveLength(7);
  });

  it('refuses a registry holding a metric of the same name of another kind', () => {
    const registry = new Registry();
    new Gauge({ name: 'nest_warden_events_total', help: 'not ours', labelNames: ['name'], registers: [registry] });
    expect(() => new PrometheusAuditSink({ registry })).toThrow(
      new TypeError('PrometheusAuditSink: the registry already holds a metric "nest_warden_events_total" of another kind or labels'),
    );
  });

  it('refuses bad options with a TypeError naming the option', () => {
    expect(() => new PrometheusAuditSink({ registry: new Registry(), prefix: '9lives' })).toThrow(/prefix/);
    expect(() => new PrometheusAuditSink({ registry: new Registry(), prefix: 'has space' })).toThrow(/prefix/);
    expect(() => new PrometheusAuditSink({ registry: {} as Registry })).toThrow(/registry/);
    for (const buckets of [[], [0.1, 0.05], [-1], [Number.NaN]]) {
      expect(() => new PrometheusAuditSink({ registry: new Registry(), storeDurationBucketsSeconds: buckets })).toThrow(
        /storeDurationBucketsSeconds/,
      );
    }
  });
});
