import { readFileSync } from 'node:fs';
import { wantsHelp } from './args.js';
import { CliError, EXIT_FAILURE, EXIT_OK, EXIT_USAGE, UsageError } from './cli-errors.js';
import type { CliIo, Command } from './cli-io.js';

interface CommandEntry {
  readonly group: string;
  readonly name: string;
  readonly summary: string;
  /** Loaded when run, so `keys` never loads argon2 and `hash` never loads key code. */
  load(): Promise<Command>;
}

const COMMANDS: readonly CommandEntry[] = [
  {
    group: 'keys',
    name: 'generate',
    summary: 'make a signing key pair as PEM files and print its JWKS entry',
    load: async () => (await import('./keys-generate.command.js')).keysGenerate,
  },
  {
    group: 'keys',
    name: 'rotate',
    summary: 'print the keys option that rotates to a new key, step by step',
    load: async () => (await import('./keys-rotate.command.js')).keysRotate,
  },
  {
    group: 'hash',
    name: 'check',
    summary: 'tell which hasher and parameters a stored password hash uses, and if it is rehashed',
    load: async () => (await import('./hash-check.command.js')).hashCheck,
  },
];

function usage(group?: string): string {
  const entries = COMMANDS.filter((entry) => group === undefined || entry.group === group);
  const width = Math.max(...entries.map((entry) => `${entry.group} ${entry.name}`.length));
  return [
    `Usage: nestjs-warden ${group === undefined ? '<command>' : `${group} <command>`} [options]`,
    '',
    group
      ? `The ${group} commands of nest-warden (nestjs-warden):`
      : 'Keys and password hashes for nest-warden (nestjs-warden), the NestJS authentication module.',
    '',
    'Commands:',
    ...entries.map((entry) => `  ${`${entry.group} ${entry.name}`.padEnd(width)}  ${entry.summary}`),
    '',
    'Options:',
    "  -h, --help     help; after a command, that command's help",
    ...(group ? [] : ['  -V, --version  the version of nestjs-warden']),
    '',
    `Run "nestjs-warden ${group === undefined ? '<command>' : `${group} <command>`} --help" for its options. Exit codes: 0 done,`,
    '1 refused or failed (the message says why), 2 a mistake in the command line.',
    '',
  ].join('\n');
}

function version(): string {
  const manifest = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return manifest.version;
}

/** Runs the CLI on its arguments (`process.argv.slice(2)`); resolves to the exit code. */
export async function run(argv: readonly string[], io: CliIo): Promise<number> {
  try {
    return await dispatch(argv, io);
  } catch (error) {
    if (error instanceof UsageError) {
      const help = error.command === undefined ? 'nestjs-warden --help' : `nestjs-warden ${error.command} --help`;
      io.writeError(`nestjs-warden: ${error.message}\nRun "${help}" for usage.\n`);
      return EXIT_USAGE;
    }
    if (error instanceof CliError) {
      io.writeError(`nestjs-warden: ${error.message}\n`);
      return EXIT_FAILURE;
    }
    io.writeError(`nestjs-warden: unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    return EXIT_FAILURE;
  }
}

async function dispatch(argv: readonly string[], io: CliIo): Promise<number> {
  const [group, name, ...args] = argv;
  if (group === undefined) {
    io.writeError(usage());
    return EXIT_USAGE;
  }
  if (group === '--help' || group === '-h' || group === 'help') {
    io.write(usage());
    return EXIT_OK;
  }
  if (group === '--version' || group === '-V') {
    io.write(`${version()}\n`);
    return EXIT_OK;
  }
  if (!COMMANDS.some((entry) => entry.group === group)) {
    throw new UsageError(group.startsWith('-') ? `unknown option "${group}"` : `unknown command "${group}"`);
  }
  if (name === undefined || name === '--help' || name === '-h') {
    if (name !== undefined) {
      io.write(usage(group));
      return EXIT_OK;
    }
    io.writeError(usage(group));
    return EXIT_USAGE;
  }
  const entry = COMMANDS.find((candidate) => candidate.group === group && candidate.name === name);
  if (!entry) throw new UsageError(`unknown command "${group} ${name}"`, group);
  const command = await entry.load();
  if (wantsHelp(args)) {
    io.write(command.usage);
    return EXIT_OK;
  }
  return command.run(args, io);
}
