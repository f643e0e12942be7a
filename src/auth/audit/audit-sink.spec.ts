import { afterEach, describe, expect, it } from '@jest/globals';
import { ConsoleLogger, Logger, type LoggerService } from '@nestjs/common';
import { LoggerAuditSink } from './audit-sink.js';

class CapturingLogger implements LoggerService {
  readonly lines: Array<{ level: string; message: unknown; context: unknown }> = [];
  log(message: unknown, context?: unknown): void {
    this.lines.push({ level: 'log', message, context });
  }
  warn(message: unknown, context?: unknown): void {
    this.lines.push({ level: 'warn', message, context });
  }
  error(message: unknown, context?: unknown): void {
    this.lines.push({ level: 'error', message, context });
  }
}

describe('LoggerAuditSink', () => {
  afterEach(() => {
    Logger.overrideLogger(new ConsoleLogger());
  });

  const at = new Date('2026-12-02T06:00:00.000Z');

  it('writes one JSON line per event under AuthAudit: failures at warn, the rest at log', () => {
    const logger = new CapturingLogger();
    Logger.overrideLogger(logger);
    const sink = new LoggerAuditSink();
    sink.emit({ name: 'login.failed', at, reason: 'AUTH_INVALID_CREDENTIALS', ip: '203.0.113.9' });
    sink.emit({ name: 'login.succeeded', at, userId: 'u1', sessionId: 's1' });
    expect(logger.lines).toEqual([
      {
        level: 'warn',
        message: JSON.stringify({ name: 'login.failed', at: at.toISOString(), reason: 'AUTH_INVALID_CREDENTIALS', ip: '203.0.113.9' }),
        context: 'AuthAudit',
      },
      {
        level: 'log',
        message: JSON.stringify({ name: 'login.succeeded', at: at.toISOString(), userId: 'u1', sessionId: 's1' }),
        context: 'AuthAudit',
      },
    ]);
  });

  it("hands a custom logger every line, whatever the app's log levels: it applies its own", () => {
    const logger = new CapturingLogger();
    Logger.overrideLogger(logger);
    Logger.overrideLogger(['error']);
    new LoggerAuditSink().emit({ name: 'logout', at, userId: 'u1' });
    expect(logger.lines).toEqual([
      { level: 'log', message: JSON.stringify({ name: 'logout', at: at.toISOString(), userId: 'u1' }), context: 'AuthAudit' },
    ]);
  });
});
