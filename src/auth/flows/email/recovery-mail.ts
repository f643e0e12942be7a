import { Inject, Injectable, Logger } from '@nestjs/common';
import { AuditTrail, errorName } from '../../audit/audit-trail.js';
import type { AuthAuditEventName } from '../../audit/audit-sink.js';
import type { RequestMeta } from '../../interfaces/request-meta.interface.js';
import { MailQueue } from '../../mail/mail-queue.js';
import { EMAIL_FLOW_CONFIG, type EmailFlowConfig } from './email-flow.options.js';
import type { EmailTemplateContext, EmailTemplates } from './email-templates.js';

// Most background jobs (a forgot-password lookup and its mail) at once; past it they are dropped and logged.
const MAX_BACKGROUND_JOBS = 256;

/**
 * The flow's outgoing mail, off the request path: a job looks the account up and queues its
 * message; the queue sends with retries. Nothing here changes a response: failures are audited
 * and logged (never the message, its address or its link).
 */
@Injectable()
export class RecoveryMail {
  private readonly logger = new Logger('EmailFlow');
  private readonly jobs = new Set<Promise<void>>();

  constructor(
    private readonly queue: MailQueue,
    private readonly audit: AuditTrail,
    @Inject(EMAIL_FLOW_CONFIG) private readonly config: EmailFlowConfig,
  ) {}

  /** Queues one mail; `sent`/`failed` audit events follow its delivery. */
  send(
    template: keyof EmailTemplates,
    context: Omit<EmailTemplateContext, 'appName'>,
    events: { sent: AuthAuditEventName; failed: AuthAuditEventName; userId: string },
    meta: RequestMeta,
  ): void {
    let content;
    try {
      content = this.config.templates[template]({ ...context, appName: this.config.appName });
    } catch (error) {
      this.logger.error(`template "${template}" failed: ${errorName(error)}`);
      this.audit.record(events.failed, { userId: events.userId, reason: 'template' }, meta);
      return;
    }
    const queued = this.queue.enqueue(
      { to: context.email, subject: content.subject, text: content.text, html: content.html },
      {
        sent: () => this.audit.record(events.sent, { userId: events.userId }, meta),
        failed: () => this.audit.record(events.failed, { userId: events.userId, reason: 'mail' }, meta),
      },
    );
    if (!queued) this.audit.record(events.failed, { userId: events.userId, reason: 'queue-full' }, meta);
  }

  /** Runs `job` after the response, so its work (found or not) cannot be timed; failures are logged. */
  background(name: string, job: () => Promise<void>): void {
    if (this.jobs.size >= MAX_BACKGROUND_JOBS) {
      this.logger.warn(`${name}: too many background jobs, one dropped`);
      return;
    }
    const run = new Promise<void>((resolve) => setImmediate(resolve))
      .then(job)
      .catch((error: unknown) => this.logger.warn(`${name} failed: ${errorName(error)}`))
      .finally(() => this.jobs.delete(run));
    this.jobs.add(run);
  }

  /** Resolves once every background job has run and the queue has sent (or given up on) every mail: for tests and shutdown. */
  async drain(timeoutMs?: number): Promise<void> {
    while (this.jobs.size > 0) await Promise.all([...this.jobs]);
    await this.queue.drain(timeoutMs);
  }
}
