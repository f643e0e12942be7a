import { Inject, Injectable, Logger } from '@nestjs/common';
import type { AuthConfig } from '../auth.config.js';
import { AUTH_CONFIG } from '../auth.constants.js';
import type { RequestMeta } from '../interfaces/request-meta.interface.js';
import { boundedUserAgent } from '../request-meta.js';
import { AuditSink, type AuthAuditEvent, type AuthAuditEventName } from './audit-sink.js';

/** The fields of an event besides its name, time and request. */
export type AuditFields = Pick<Partial<AuthAuditEvent>, 'userId' | 'sessionId' | 'reason'>;

/**
 * Writes audit events to the {@link AuditSink}: stamps the time and the request's client, and
 * keeps a failing sink from failing the operation it records.
 */
@Injectable()
export class AuditTrail {
  private readonly logger = new Logger('AuthAudit');

  constructor(
    @Inject(AUTH_CONFIG) private readonly config: AuthConfig,
    private readonly sink: AuditSink,
  ) {}

  record(name: AuthAuditEventName, fields: AuditFields, meta: RequestMeta): void {
    const event: AuthAuditEvent = { name, at: new Date(this.config.clock()) };
    if (fields.userId !== undefined) event.userId = fields.userId;
    if (fields.sessionId !== undefined) event.sessionId = fields.sessionId;
    if (fields.reason !== undefined) event.reason = fields.reason;
    if (meta.ip) event.ip = meta.ip;
    if (meta.userAgent) event.userAgent = boundedUserAgent(meta.userAgent);
    try {
      const pending = this.sink.emit(event);
      if (pending) pending.catch((error: unknown) => this.logger.error(`audit sink failed: ${errorName(error)}`));
    } catch (error) {
      this.logger.error(`audit sink failed: ${errorName(error)}`);
    }
  }
}

/** An error's class name, never its message (which may quote a backend or an input). */
export function errorName(error: unknown): string {
  return error instanceof Error ? error.name : 'unknown error';
}
