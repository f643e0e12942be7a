import { Logger } from '@nestjs/common';
import { AuditSink, type AuthAuditEvent } from './audit-sink.js';
import { errorName } from './audit-trail.js';

/**
 * An {@link AuditSink} that hands every event to several sinks, in the order given: the log and
 * the metrics, say. A sink that throws or rejects is logged (`audit sink failed: <error name>`,
 * context `AuthAudit`) and does not keep the event from the others. Made by
 * {@link combineAuditSinks}.
 */
export class CompositeAuditSink extends AuditSink {
  private readonly logger = new Logger('AuthAudit');
  /** The sinks, in the order they get each event. */
  readonly sinks: readonly AuditSink[];

  /** Throws a `TypeError` when one of `sinks` is not an {@link AuditSink}. */
  constructor(sinks: readonly AuditSink[]) {
    super();
    if (!Array.isArray(sinks)) throw new TypeError('CompositeAuditSink: sinks must be an array of AuditSink instances');
    sinks.forEach((sink: unknown, index) => {
      if (!(sink instanceof AuditSink)) throw new TypeError(`CompositeAuditSink: sinks[${index}] is not an AuditSink`);
    });
    this.sinks = Object.freeze([...sinks]);
  }

  emit(event: AuthAuditEvent): void {
    for (const sink of this.sinks) {
      try {
        const pending = sink.emit(event);
        if (pending) pending.catch((error: unknown) => this.logger.error(`audit sink failed: ${errorName(error)}`));
      } catch (error) {
        this.logger.error(`audit sink failed: ${errorName(error)}`);
      }
    }
  }
}

/**
 * One {@link AuditSink} of several, for the `audit` option, which takes one:
 *
 * @example
 * ```ts
 * AuthModule.forRoot({ secret, audit: combineAuditSinks(new LoggerAuditSink(), metrics) })
 * ```
 */
export function combineAuditSinks(...sinks: AuditSink[]): CompositeAuditSink {
  return new CompositeAuditSink(sinks);
}
