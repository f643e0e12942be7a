import { Injectable, Logger } from '@nestjs/common';
import { EventEmitter2, OnEvent, type OnEventOptions } from '@nestjs/event-emitter';
import { AuditSink, type AuthAuditEvent, type AuthAuditEventName } from '../audit/audit-sink.js';
import { errorName } from '../audit/audit-trail.js';

/** What every event name on the emitter starts with: `auth.login.failed` for `login.failed`. */
export const AUTH_EVENT_PREFIX = 'auth.';

/** The name an audit event is emitted under: `auth.` and the {@link AuthAuditEventName}. */
export type AuthEventName = `auth.${AuthAuditEventName}`;

/** The payload of every `auth.*` event: a frozen copy of the audit event. */
export type AuthEvent = Readonly<AuthAuditEvent>;

/** The emitter's name of an audit event, checked at compile time: `authEventName('login.failed')` is `'auth.login.failed'`. */
export function authEventName(name: AuthAuditEventName): AuthEventName {
  return `${AUTH_EVENT_PREFIX}${name}`;
}

/**
 * `@OnEvent(...)` for an audit event, its name checked at compile time: `@OnAuthEvent('login.failed')`
 * is `@OnEvent('auth.login.failed')`. `@OnAuthEvent('**')` listens to every audit event, which
 * needs `EventEmitterModule.forRoot({ wildcard: true })`.
 */
export function OnAuthEvent(name: AuthAuditEventName | '**', options?: OnEventOptions): MethodDecorator {
  return OnEvent(`${AUTH_EVENT_PREFIX}${name}`, options);
}

/**
 * An {@link AuditSink} that emits every audit event on `@nestjs/event-emitter`'s `EventEmitter2`
 * as `auth.<event name>` (`auth.login.failed`, see {@link authEventName}), with a frozen copy of
 * the event as the payload, so a listener cannot change what other listeners and sinks see.
 * Listeners run during the request that records the event: keep them quick, or hand the work on.
 *
 * A listener that throws, or whose promise rejects, is logged (`audit listener failed: <error
 * name>`, context `AuthAudit`) and does not fail the login or other operation being recorded.
 * Nest's `@OnEvent` already catches and logs its handlers' errors unless `suppressErrors: false`;
 * a raw `emitter.on(..., { async: true })` listener runs later and is beyond this sink's reach.
 *
 * @example
 * ```ts
 * AuthModule.forRootAsync({
 *   inject: [EventEmitter2],
 *   useFactory: (emitter: EventEmitter2) => ({ secret, audit: new EventEmitterAuditSink(emitter) }),
 * })
 * ```
 */
@Injectable()
export class EventEmitterAuditSink extends AuditSink {
  private readonly logger = new Logger('AuthAudit');

  constructor(private readonly emitter: EventEmitter2) {
    super();
  }

  emit(event: AuthAuditEvent): void {
    const payload: AuthEvent = Object.freeze({ ...event, at: new Date(event.at.getTime()) });
    try {
      // emitAsync, not emit: it hands back the listeners' promises, so a rejection is caught here
      // rather than left unhandled (which would end the process).
      const pending: unknown = this.emitter.emitAsync(authEventName(event.name), payload);
      if (isThenable(pending)) pending.then(undefined, (error: unknown) => this.failed(error));
    } catch (error) {
      this.failed(error);
    }
  }

  private failed(error: unknown): void {
    this.logger.error(`audit listener failed: ${errorName(error)}`);
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | null)?.then === 'function';
}
