import type { Clock } from '../clock.js';

/** A clock that moves only when told to. Pass `clock.now` wherever a `Clock` is taken. */
export class FakeClock {
  private current: number;

  constructor(start: number | Date = Date.UTC(2030, 0, 1)) {
    this.current = typeof start === 'number' ? start : start.getTime();
  }

  /** The clock function to hand to stores and services. */
  readonly now: Clock = () => this.current;

  /** Moves time forward. */
  advance(seconds: number): void {
    this.current += seconds * 1000;
  }

  /** The current time as a Date. */
  date(offsetSeconds = 0): Date {
    return new Date(this.current + offsetSeconds * 1000);
  }
}
