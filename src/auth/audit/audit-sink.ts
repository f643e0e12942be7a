import { Logger } from '@nestjs/common';

/** Names of the events nest-warden emits. */
export type AuthAuditEventName =
  | 'register'
  | 'login.succeeded'
  | 'login.failed'
  | 'login.throttled'
  | 'logout'
  | 'logout.all'
  | 'token.rejected'
  | 'refresh.succeeded'
  | 'refresh.grace'
  | 'refresh.failed'
  | 'refresh.reused'
  | 'session.revoked'
  | 'session.evicted'
  | 'password.changed'
  | 'password.change.failed'
  | 'email.verification.requested'
  | 'email.verification.sent'
  | 'email.verification.used'
  | 'email.verification.failed'
  | 'email.change.requested'
  | 'email.change.sent'
  | 'email.change.used'
  | 'email.change.failed'
  | 'password.reset.requested'
  | 'password.reset.sent'
  | 'password.reset.used'
  | 'password.reset.failed'
  | 'login.mfa_required'
  | 'reauthenticated'
  | 'reauthentication.failed'
  | 'mfa.totp.setup'
  | 'mfa.totp.enabled'
  | 'mfa.totp.disabled'
  | 'mfa.recovery_codes.replaced'
  | 'mfa.recovery_code.used'
  | 'mfa.code.failed'
  | 'passkey.registered'
  | 'passkey.registration.failed'
  | 'passkey.renamed'
  | 'passkey.removed'
  | 'passkey.login.failed'
  | 'passkey.clone_suspected'
  | 'oidc.linked'
  | 'oidc.unlinked'
  | 'oidc.login.failed';

/**
 * One security event. Never holds a password, hash or token; `reason` is an error code.
 */
export interface AuthAuditEvent {
  name: AuthAuditEventName;
  at: Date;
  userId?: string;
  sessionId?: string;
  ip?: string;
  userAgent?: string;
  /** Why a login or token was refused: an `AUTH_*` code or a short fixed word. */
  reason?: string;
}

/**
 * Receives audit events. Extend it to ship events to your SIEM and pass it as the `audit`
 * option. `emit` must not throw; a rejected promise is caught and logged.
 */
export abstract class AuditSink {
  abstract emit(event: AuthAuditEvent): void | Promise<void>;
}

const WARNINGS = new Set<AuthAuditEventName>([
  'login.failed',
  'login.throttled',
  'token.rejected',
  'refresh.failed',
  'refresh.reused',
  'password.change.failed',
  'email.verification.failed',
  'email.change.failed',
  'password.reset.failed',
  'reauthentication.failed',
  'mfa.code.failed',
  'passkey.registration.failed',
  'passkey.login.failed',
  'passkey.clone_suspected',
  'oidc.login.failed',
]);

/**
 * The default {@link AuditSink}: one JSON line per event through Nest's `Logger` (context
 * `AuthAudit`), refusals and failures at `warn`, the rest at `log`. Every line goes to the
 * logger, which applies its own levels (a custom logger gets them all).
 */
export class LoggerAuditSink extends AuditSink {
  private readonly logger = new Logger('AuthAudit');

  emit(event: AuthAuditEvent): void {
    const line = JSON.stringify({ ...event, at: event.at.toISOString() });
    if (WARNINGS.has(event.name)) this.logger.warn(line);
    else this.logger.log(line);
  }
}
