/**
 * The current time in milliseconds since the epoch. Stores and the service take one so
 * tests can move time without fake timers.
 */
export type Clock = () => number;

/** The wall clock. */
export const systemClock: Clock = () => Date.now();
