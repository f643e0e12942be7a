import { UsageError } from './cli-errors.js';

/** Runs a `parseArgs` call, turning its refusals (unknown option, missing value) into usage errors. */
export function parseCommandLine<T>(command: string, parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS_')) throw new UsageError((error as Error).message, command);
    throw error;
  }
}

/** The value of an option the command cannot run without. */
export function required(command: string, flag: string, value: string | undefined): string {
  if (value === undefined || value === '') throw new UsageError(`${flag} is required`, command);
  return value;
}

/** The value of an option that takes one of a few words. */
export function oneOf<T extends string>(command: string, flag: string, value: string | undefined, choices: readonly T[]): T {
  const given = required(command, flag, value);
  const choice = choices.find((candidate) => candidate === given);
  if (choice === undefined) throw new UsageError(`${flag} must be one of ${choices.join(', ')} (got "${given}")`, command);
  return choice;
}

/** The value of an option that takes a whole number from `min` up. */
export function integerFrom(command: string, flag: string, value: string, min: number): number {
  const number = /^\d{1,10}$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(number) || number < min)
    throw new UsageError(`${flag} must be a whole number of at least ${min} (got "${value}")`, command);
  return number;
}

/** Whether the arguments ask for help (`--help` or `-h` before any `--`). */
export function wantsHelp(args: readonly string[]): boolean {
  const end = args.indexOf('--');
  return (end === -1 ? args : args.slice(0, end)).some((arg) => arg === '--help' || arg === '-h');
}
