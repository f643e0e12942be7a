/**
 * `nestjs-warden/event-emitter`: audit events on `@nestjs/event-emitter` (an optional peer:
 * `npm i @nestjs/event-emitter`), for hosts that react to them with `@OnEvent('auth.login.failed')`.
 * See docs/observability.md.
 *
 * @packageDocumentation
 */
export { AUTH_EVENT_PREFIX, authEventName, EventEmitterAuditSink, OnAuthEvent } from './event-emitter-audit-sink.js';
export type { AuthEvent, AuthEventName } from './event-emitter-audit-sink.js';
