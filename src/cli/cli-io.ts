import { text } from 'node:stream/consumers';

/** What a command reads and writes: the process's own streams in main.ts, buffers in the specs. */
export interface CliIo {
  /** The directory relative paths are taken from. */
  readonly cwd: string;
  /** Whether standard input is a terminal (a hash is then typed or pasted, not piped). */
  readonly stdinIsTerminal: boolean;
  /** Writes to standard output: results only, what a script reads. */
  write(text: string): void;
  /** Writes to standard error: what went where, hints and errors. */
  writeError(text: string): void;
  /** All of standard input, as UTF-8. */
  readStdin(): Promise<string>;
}

/** One command of the CLI: its `--help` text and what it does. */
export interface Command {
  readonly usage: string;
  /** Runs with the arguments after the command's words; resolves to the exit code. */
  run(args: string[], io: CliIo): Promise<number>;
}

/** The process's working directory and streams. */
export function processIo(): CliIo {
  return {
    cwd: process.cwd(),
    stdinIsTerminal: process.stdin.isTTY === true,
    write: (output) => void process.stdout.write(output),
    writeError: (output) => void process.stderr.write(output),
    readStdin: () => text(process.stdin),
  };
}
