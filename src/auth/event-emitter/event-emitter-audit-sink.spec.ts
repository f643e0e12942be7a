import { afterEach, describe, expect, it } from '@jest/globals';
import { ConsoleLogger, Logger, type LoggerService } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import type { AuthAuditEvent } from '../audit/audit-sink.js';
import { authEventName, EventEmitterAuditSink, type AuthEvent } from './index.js';

class CapturingLogger implements LoggerService {
  readonly errors: Array<{ message: unknown; context: unknown }> = [];
  log(): void {}
  warn(): void {}
  // Nest's Logger.error passes (message, stack, context): the context comes last.
  error(message: unknown, ...rest: unknown[]): void {
    this.errors.push({ message, context: rest.at(-1) });
  }
}

class ListenerBug extends Error {
  override name = 'ListenerBug';
}

const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('EventEmitterAuditSink', () => {
  afterEach(() => {
    Logger.overrideLogger(new ConsoleLogger());
  });

  const at = new Date('2026-12-02T06:00:00.000Z');
  const failed = (): AuthAuditEvent => ({ name: 'login.failed', at: new Date(at), reason: 'AUTH_INVALID_CREDENTIALS', ip: '203.0.113.9' });

  it('emits each event as auth.<name> with a frozen copy of it', () => {
    const emitter = new EventEmitter2();
    const seen: AuthEvent[] = [];
    emitter.on('auth.login.failed', (event: AuthEvent) => seen.push(event));
    emitter.on('auth.login.succeeded', () => seen.push({ name: 'logout', at }));
    const event = failed();
    new EventEmitterAuditSink(emitter).emit(event);
    expect(seen).toEqual([event]);
    expect(seen[0]).not.toBe(event);
    expect(Object.isFrozen(seen[0])).toBe(true);
    // The time is a copy too: a listener's setTime cannot move the original's.
    expect(seen[0]!.at).not.toBe(event.at);
    seen[0]!.at.setTime(0);
    expect(event.at.toISOString()).toBe(at.toISOString());
  });

  it("reaches wildcard listeners (auth.**) when the emitter's wildcard mode is on", () => {
    const emitter = new EventEmitter2({ wildcard: true });
    const names: string[] = [];
    emitter.on('auth.**', (event: AuthEvent) => names.push(event.name));
    const sink = new EventEmitterAuditSink(emitter);
    sink.emit({ name: 'login.mfa_required', at, userId: 'u1' });
    sink.emit({ name: 'mfa.recovery_codes.replaced', at, userId: 'u1' });
    expect(names).toEqual(['login.mfa_required', 'mfa.recovery_codes.replaced']);
  });

  it('never throws for a throwing listener: logs the error name, not its message, and the original is untouched', () => {
    const logger = new CapturingLogger();
    Logger.overrideLogger(logger);
    const emitter = new EventEmitter2();
    emitter.on('auth.login.failed', (event: AuthAuditEvent) => {
      event.reason = 'changed'; // a frozen copy: a TypeError in strict code
    });
    const event = failed();
    expect(() => new EventEmitterAuditSink(emitter).emit(event)).not.toThrow();
    expect(event.reason).toBe('AUTH_INVALID_CREDENTIALS');
    expect(logger.errors).toEqual([{ message: 'audit listener failed: TypeError', context: 'AuthAudit' }]);
  });

  it('catches a rejecting listener, so no rejection is left unhandled', async () => {
    const logger = new CapturingLogger();
    Logger.overrideLogger(logger);
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const emitter = new EventEmitter2();
      // The point of the test: a listener whose promise rejects, which emit() would leave unhandled.
      // eslint-disable-next-line @typescript-eslint/no-misused-promises
      emitter.on('auth.login.failed', async () => {
        throw new ListenerBug('secret=hunter2');
      });
      new EventEmitterAuditSink(emitter).emit(failed());
      await settle();
      await settle();
      expect(unhandled).toEqual([]);
      expect(logger.errors).toEqual([{ message: 'audit listener failed: ListenerBug', context: 'AuthAudit' }]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('emits nothing and logs nothing with no listeners', () => {
    const logger = new CapturingLogger();
    Logger.overrideLogger(logger);
    expect(() => new EventEmitterAuditSink(new EventEmitter2()).emit(failed())).not.toThrow();
    expect(logger.errors).toEqual([]);
  });

  it('names events auth.<name>', () => {
    expect(authEventName('refresh.reused')).toBe('auth.refresh.reused');
  });
});
