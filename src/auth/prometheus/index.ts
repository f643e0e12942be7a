/**
 * `nestjs-warden/prometheus`: audit events counted as Prometheus metrics and store operations
 * timed, on prom-client (an optional peer: `npm i prom-client`). See docs/observability.md.
 *
 * @packageDocumentation
 */
export { PrometheusAuditSink } from './prometheus-audit-sink.js';
export type { PrometheusAuditSinkOptions, StoreOperationOutcome } from './prometheus-audit-sink.js';
export { instrumentStore } from './instrument-store.js';
