import { Counter, Histogram, register as globalRegister, type Registry } from 'prom-client';
import { AuditSink, type AuthAuditEvent, type AuthAuditEventName } from '../audit/audit-sink.js';
import { AuthErrorCode } from '../auth.errors.js';
import { instrumentStore } from './instrument-store.js';

/** Options of {@link PrometheusAuditSink}. */
export interface PrometheusAuditSinkOptions {
  /** The registry the metrics go into. Default: prom-client's global `register`. */
  registry?: Registry;
  /** Put before every metric's name. Default `nest_warden_`. */
  prefix?: string;
  /**
   * Upper bounds of the store histogram's buckets, in seconds, ascending. Default: 0.5 ms to 2.5 s.
   * When the registry already holds the histogram (a second sink), its buckets stay.
   */
  storeDurationBucketsSeconds?: readonly number[];
}

/** How a timed store operation ended: its promise resolved (`ok`) or rejected (`error`). */
export type StoreOperationOutcome = 'ok' | 'error';

const DEFAULT_BUCKETS_SECONDS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

// What each event counts as, beyond events_total. A Record, so a new event name fails to compile
// until it is sorted here. Refusals are the events the LoggerAuditSink writes at `warn`.
type Kind = 'refusal' | 'other';
const KINDS: Readonly<Record<AuthAuditEventName, Kind>> = {
  register: 'other',
  'login.succeeded': 'other',
  'login.failed': 'refusal',
  'login.throttled': 'refusal',
  logout: 'other',
  'logout.all': 'other',
  'token.rejected': 'refusal',
  'refresh.succeeded': 'other',
  'refresh.grace': 'other',
  'refresh.failed': 'refusal',
  'refresh.reused': 'refusal',
  'session.revoked': 'other',
  'session.evicted': 'other',
  'password.changed': 'other',
  'password.change.failed': 'refusal',
  'email.verification.requested': 'other',
  'email.verification.sent': 'other',
  'email.verification.used': 'other',
  'email.verification.failed': 'refusal',
  'email.change.requested': 'other',
  'email.change.sent': 'other',
  'email.change.used': 'other',
  'email.change.failed': 'refusal',
  'password.reset.requested': 'other',
  'password.reset.sent': 'other',
  'password.reset.used': 'other',
  'password.reset.failed': 'refusal',
  'login.mfa_required': 'other',
  reauthenticated: 'other',
  'reauthentication.failed': 'refusal',
  'mfa.totp.setup': 'other',
  'mfa.totp.enabled': 'other',
  'mfa.totp.disabled': 'other',
  'mfa.recovery_codes.replaced': 'other',
  'mfa.recovery_code.used': 'other',
  'mfa.code.failed': 'refusal',
  'passkey.registered': 'other',
  'passkey.registration.failed': 'refusal',
  'passkey.renamed': 'other',
  'passkey.removed': 'other',
  'passkey.login.failed': 'refusal',
  'passkey.clone_suspected': 'refusal',
  'oidc.linked': 'other',
  'oidc.unlinked': 'other',
  'oidc.login.failed': 'refusal',
};

// Every way of signing in ends in login.succeeded; the failures of each method count as failed.
const LOGIN_OUTCOMES: Partial<Record<AuthAuditEventName, string>> = {
  'login.succeeded': 'succeeded',
  'login.failed': 'failed',
  'passkey.login.failed': 'failed',
  'oidc.login.failed': 'failed',
  'login.throttled': 'throttled',
  'login.mfa_required': 'mfa_required',
};

const REFRESH_OUTCOMES: Partial<Record<AuthAuditEventName, string>> = {
  'refresh.succeeded': 'succeeded',
  'refresh.grace': 'grace',
  'refresh.failed': 'failed',
  'refresh.reused': 'reused',
};

const CODES: ReadonlySet<string> = new Set(Object.values(AuthErrorCode));
const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

/**
 * An {@link AuditSink} that counts audit events as Prometheus metrics on prom-client (an optional
 * peer), and times store operations ({@link PrometheusAuditSink.instrument}). Metric names start
 * with `prefix` (default `nest_warden_`):
 *
 * - `logins_total{outcome}`: `succeeded`, `failed` (a wrong password or second step, a refused
 *   passkey or OpenID login), `throttled`, `mfa_required` (the right password, a second factor asked)
 * - `refusals_total{code}`: every refusal event by its `AUTH_*` code, or `other`
 * - `throttle_hits_total`: refusals with `AUTH_TOO_MANY_ATTEMPTS`
 * - `refresh_reuse_total`: rotated-away refresh tokens presented again (the session was ended)
 * - `refresh_total{outcome}`: `succeeded`, `grace`, `failed`, `reused`
 * - `events_total{name}`: every audit event by its name
 * - `store_operation_duration_seconds{store, operation, outcome}`: the instrumented stores' calls
 *
 * Label values are codes, outcomes and names from fixed lists: never a user id, address or
 * username. A second sink on the same registry reuses the metrics already there (their counts add
 * up); a metric of that name of another kind or labels is a `TypeError`.
 *
 * @example
 * ```ts
 * const metrics = new PrometheusAuditSink();
 * AuthModule.forRoot({
 *   secret,
 *   audit: combineAuditSinks(new LoggerAuditSink(), metrics),
 *   sessionStore: metrics.instrument(new RedisSessionStore({ url }), 'session'),
 * })
 * ```
 */
export class PrometheusAuditSink extends AuditSink {
  /** The registry the metrics are in. */
  readonly registry: Registry;
  private readonly logins: Counter<'outcome'>;
  private readonly refusals: Counter<'code'>;
  private readonly throttleHits: Counter;
  private readonly refreshReuse: Counter;
  private readonly refreshes: Counter<'outcome'>;
  private readonly events: Counter<'name'>;
  private readonly storeDuration: Histogram<'store' | 'operation' | 'outcome'>;

  /** Throws a `TypeError` naming the option when one is invalid. */
  constructor(options: PrometheusAuditSinkOptions = {}) {
    super();
    const registry = options.registry ?? globalRegister;
    if (typeof registry?.getSingleMetric !== 'function' || typeof registry.registerMetric !== 'function') {
      throw new TypeError('PrometheusAuditSink: registry must be a prom-client Registry');
    }
    const prefix = options.prefix ?? 'nest_warden_';
    if (typeof prefix !== 'string' || (prefix !== '' && !METRIC_NAME.test(prefix))) {
      throw new TypeError('PrometheusAuditSink: prefix must be empty or letters, digits, _ and :, not starting with a digit');
    }
    const buckets = checkBuckets(options.storeDurationBucketsSeconds ?? DEFAULT_BUCKETS_SECONDS);
    this.registry = registry;
    const counter = <L extends string>(name: string, help: string, labelNames: readonly L[]): Counter<L> =>
      metric(
        registry,
        `${prefix}${name}`,
        Counter,
        labelNames,
        () => new Counter({ name: `${prefix}${name}`, help, labelNames, registers: [registry] }),
      );
    this.logins = counter('logins_total', 'Logins by outcome: succeeded, failed, throttled, mfa_required.', ['outcome']);
    this.refusals = counter('refusals_total', 'Refused attempts by error code (AUTH_*, or other).', ['code']);
    this.throttleHits = counter('throttle_hits_total', 'Attempts refused by the brute-force throttle (AUTH_TOO_MANY_ATTEMPTS).', []);
    this.refreshReuse = counter('refresh_reuse_total', 'Rotated-away refresh tokens presented again: their sessions were ended.', []);
    this.refreshes = counter('refresh_total', 'Refreshes by outcome: succeeded, grace, failed, reused.', ['outcome']);
    this.events = counter('events_total', 'Audit events by name.', ['name']);
    const histogram = `${prefix}store_operation_duration_seconds`;
    this.storeDuration = metric(
      registry,
      histogram,
      Histogram,
      ['store', 'operation', 'outcome'] as const,
      () =>
        new Histogram({
          name: histogram,
          help: 'Duration of store operations in seconds, by store, operation (method) and outcome (ok, error).',
          labelNames: ['store', 'operation', 'outcome'],
          buckets: [...buckets],
          registers: [registry],
        }),
    );
    // Every outcome is on the scrape from the start, at 0, so rates and alerts see it before it happens.
    for (const outcome of new Set(Object.values(LOGIN_OUTCOMES))) this.logins.inc({ outcome }, 0);
    for (const outcome of Object.values(REFRESH_OUTCOMES)) this.refreshes.inc({ outcome }, 0);
    this.throttleHits.inc(0);
    this.refreshReuse.inc(0);
  }

  emit(event: AuthAuditEvent): void {
    const kind = Object.hasOwn(KINDS, event.name) ? KINDS[event.name] : undefined;
    this.events.inc({ name: kind === undefined ? 'other' : event.name });
    if (kind === undefined) return;
    const login = LOGIN_OUTCOMES[event.name];
    if (login) this.logins.inc({ outcome: login });
    const refresh = REFRESH_OUTCOMES[event.name];
    if (refresh) this.refreshes.inc({ outcome: refresh });
    if (event.name === 'refresh.reused') this.refreshReuse.inc();
    if (kind === 'refusal') {
      const code = typeof event.reason === 'string' && CODES.has(event.reason) ? event.reason : 'other';
      this.refusals.inc({ code });
      if (code === AuthErrorCode.TOO_MANY_ATTEMPTS) this.throttleHits.inc();
    }
  }

  /**
   * The store, its promise-returning calls timed into `store_operation_duration_seconds` with
   * `store: name` (see {@link instrumentStore}). Pass the result as the store option.
   */
  instrument<T extends object>(store: T, name: string): T {
    return instrumentStore(store, this, name);
  }

  /** Records one store operation of `seconds`; what {@link instrumentStore} calls for each settled call. */
  observeStoreOperation(store: string, operation: string, outcome: StoreOperationOutcome, seconds: number): void {
    this.storeDuration.observe({ store, operation, outcome }, seconds);
  }
}

// The registry's metric of that name when it is of the kind and labels asked for, else a new one.
function metric<M extends object>(
  registry: Registry,
  name: string,
  kind: abstract new (...args: never[]) => M,
  labelNames: readonly string[],
  create: () => M,
): M {
  const existing: unknown = registry.getSingleMetric(name);
  if (existing === undefined) return create();
  const labels = (existing as { labelNames?: readonly string[] }).labelNames ?? [];
  if (existing instanceof kind && labels.length === labelNames.length && labelNames.every((label) => labels.includes(label))) {
    return existing;
  }
  throw new TypeError(`PrometheusAuditSink: the registry already holds a metric "${name}" of another kind or labels`);
}

function checkBuckets(value: unknown): readonly number[] {
  const valid =
    Array.isArray(value) &&
    value.length > 0 &&
    value.every(
      (bound: unknown, index) =>
        typeof bound === 'number' && Number.isFinite(bound) && bound > 0 && (index === 0 || bound > value[index - 1]),
    );
  if (!valid) throw new TypeError('PrometheusAuditSink: storeDurationBucketsSeconds must be ascending positive numbers of seconds');
  return value as readonly number[];
}
