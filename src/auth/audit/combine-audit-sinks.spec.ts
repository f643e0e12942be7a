import { afterEach, describe, expect, it } from '@jest/globals';
import { ConsoleLogger, Logger, type LoggerService } from '@nestjs/common';
import { AuditSink, LoggerAuditSink, type AuthAuditEvent } from './audit-sink.js';
import { combineAuditSinks, CompositeAuditSink } from './combine-audit-sinks.js';

class CapturingLogger implements LoggerService {
  readonly errors: string[] = [];
  log(): void {}
  warn(): void {}
  error(message: unknown): void {
    this.errors.push(String(message));
  }
}

class ListSink extends AuditSink {
  readonly events: AuthAuditEvent[] = [];
  emit(event: AuthAuditEvent): void {
    this.events.push(event);
  }
}

class SecretLeakingError extends Error {
  override name = 'BackendDown';
}

describe('combineAuditSinks', () => {
  afterEach(() => {
    Logger.overrideLogger(new ConsoleLogger());
  });

  const event: AuthAuditEvent = { name: 'login.failed', at: new Date('2026-12-02T06:00:00.000Z'), reason: 'AUTH_INVALID_CREDENTIALS' };

  it('hands every event to each sink, in order', () => {
    const order: string[] = [];
    const first = new (class extends AuditSink {
      emit(): void {
        order.push('first');
      }
    })();
    const second = new ListSink();
    const sink = combineAuditSinks(first, second);
    sink.emit(event);
    expect(sink).toBeInstanceOf(CompositeAuditSink);
    expect(sink).toBeInstanceOf(AuditSink);
    expect(order).toEqual(['first']);
    expect(second.events).toEqual([event]);
  });

  it('keeps a throwing or rejecting sink from the others, and logs its error name only', async () => {
    const logger = new CapturingLogger();
    Logger.overrideLogger(logger);
    const throwing = new (class extends AuditSink {
      emit(): void {
        throw new SecretLeakingError('password=hunter2');
      }
    })();
    const rejecting = new (class extends AuditSink {
      async emit(): Promise<void> {
        throw new SecretLeakingError('token=abc');
      }
    })();
    const last = new ListSink();
    const sink = combineAuditSinks(throwing, rejecting, last);
    expect(() => sink.emit(event)).not.toThrow();
    expect(last.events).toEqual([event]);
    await new Promise((resolve) => setImmediate(resolve));
    expect(logger.errors).toEqual(['audit sink failed: BackendDown', 'audit sink failed: BackendDown']);
  });

  it('refuses what is not a sink with a TypeError naming its place', () => {
    expect(() => combineAuditSinks(new LoggerAuditSink(), {} as AuditSink)).toThrow(
      new TypeError('CompositeAuditSink: sinks[1] is not an AuditSink'),
    );
    expect(() => new CompositeAuditSink(null as unknown as AuditSink[])).toThrow(TypeError);
  });

  it('keeps its own copy of the list', () => {
    const list: AuditSink[] = [new ListSink()];
    const sink = new CompositeAuditSink(list);
    list.push(new ListSink());
    expect(sink.sinks).toHaveLength(1);
    expect(Object.isFrozen(sink.sinks)).toBe(true);
  });
});
