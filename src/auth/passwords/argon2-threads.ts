import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
// Loaded here too, though only the threads use it: a platform with no prebuilt binary fails when
// the app starts rather than at the first login, and bundlers and file tracers see the dependency.
import '@node-rs/argon2';

/** What one hashing thread is asked to do: argon2 options as `@node-rs/argon2` takes them. */
export type Argon2Job =
  | { op: 'hash'; password: string; options: Argon2JobOptions }
  | { op: 'verify'; hash: string; password: string; options: Pick<Argon2JobOptions, 'secret'> };

export interface Argon2JobOptions {
  algorithm: 2; // argon2id in @node-rs/argon2's enum
  memoryCost: number;
  timeCost: number;
  parallelism: number;
  secret?: Uint8Array;
}

/** A worker is ended after this long without work; the next job starts a new one. */
const IDLE_MS = 60_000;

/**
 * A hashing thread failed (could not start, crashed, or was closed): not an answer about the
 * password. argon2's own errors, such as a malformed hash, are plain `Error`s.
 */
export class Argon2ThreadError extends Error {
  override readonly name = 'Argon2ThreadError';
}

// The thread's code. With lowPriority it first lowers its own scheduling priority (Linux: nice
// is per thread, so the event loop's thread keeps its own). It runs argon2 synchronously: the
// whole hash runs on this thread, not on libuv's shared pool, so its priority is the one set here.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
if (workerData.lowPriority && process.platform === 'linux') {
  try {
    const tid = Number(require('node:fs').readlinkSync('/proc/thread-self').split('/').pop());
    require('node:os').setPriority(tid, 19);
  } catch {}
}
const argon2 = require(workerData.argon2);
parentPort.on('message', (job) => {
  try {
    const result = job.op === 'hash' ? argon2.hashSync(job.password, job.options) : argon2.verifySync(job.hash, job.password, job.options);
    parentPort.postMessage({ result });
  } catch (error) {
    parentPort.postMessage({ error: error instanceof Error ? error.message : String(error) });
  }
});
`;

interface Thread {
  worker: Worker;
  job?: { resolve: (value: string | boolean) => void; reject: (error: Error) => void };
  idleTimer?: NodeJS.Timeout;
}

/**
 * Dedicated threads for argon2, at most `size` at once; further jobs wait in arrival order.
 * With `lowPriority` (Linux), each thread runs at nice 19, so under CPU contention the event loop
 * and the rest of the process are scheduled first and a login flood takes only the CPU left
 * over. Idle threads do not keep the process alive and end after a minute.
 */
export class Argon2Threads {
  private static readonly sharedSets = new Map<string, Argon2Threads>();

  /** The process's one set with these settings, shared by every hasher that asks for it. */
  static shared(size: number, lowPriority: boolean): Argon2Threads {
    const key = `${size}:${lowPriority}`;
    let threads = Argon2Threads.sharedSets.get(key);
    if (!threads) {
      threads = new Argon2Threads(size, lowPriority);
      Argon2Threads.sharedSets.set(key, threads);
    }
    return threads;
  }

  private readonly threads = new Set<Thread>();
  private readonly waiting: Array<{ job: Argon2Job; resolve: (value: string | boolean) => void; reject: (error: Error) => void }> = [];

  constructor(
    readonly size: number,
    readonly lowPriority: boolean,
  ) {
    if (!Number.isInteger(size) || size < 1) throw new TypeError('Argon2Threads: size must be an integer >= 1');
  }

  run(job: Argon2Job): Promise<string | boolean> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ job, resolve, reject });
      this.dispatch();
    });
  }

  /** Ends every thread; jobs in flight or waiting are rejected. A later job starts new threads. */
  async close(): Promise<void> {
    for (const waiter of this.waiting.splice(0)) waiter.reject(new Argon2ThreadError('Argon2Threads closed'));
    await Promise.all([...this.threads].map((thread) => this.end(thread, new Argon2ThreadError('Argon2Threads closed'))));
  }

  private dispatch(): void {
    while (this.waiting.length > 0) {
      let thread = [...this.threads].find((candidate) => !candidate.job);
      if (!thread) {
        if (this.threads.size >= this.size) return;
        try {
          thread = this.start();
        } catch (error) {
          const message = error instanceof Error ? error.message : String(error);
          for (const waiter of this.waiting.splice(0)) waiter.reject(new Argon2ThreadError(`cannot start an argon2 thread: ${message}`));
          return;
        }
      }
      const { job, resolve, reject } = this.waiting.shift()!;
      clearTimeout(thread.idleTimer);
      thread.job = { resolve, reject };
      thread.worker.ref();
      thread.worker.postMessage(job);
    }
  }

  private start(): Thread {
    // No inherited execArgv: with --input-type=module the eval'd source would be read as ESM
    // (no require), and preloads (--require, --import: APM agents, TS loaders) have no business
    // in a thread that only hashes.
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      execArgv: [],
      workerData: { argon2: argon2Path(), lowPriority: this.lowPriority },
    });
    const thread: Thread = { worker };
    this.threads.add(thread);
    worker.on('message', (reply: { result?: string | boolean; error?: string }) => {
      const job = thread.job;
      thread.job = undefined;
      worker.unref();
      thread.idleTimer = setTimeout(() => void this.end(thread), IDLE_MS).unref();
      if (reply.error !== undefined) job?.reject(new Error(reply.error));
      else job?.resolve(reply.result!);
      this.dispatch();
    });
    const fail = (error: Error): void => {
      if (!this.threads.delete(thread)) return;
      clearTimeout(thread.idleTimer);
      thread.job?.reject(new Argon2ThreadError(`argon2 thread failed: ${error.message}`));
      thread.job = undefined;
      this.dispatch();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`exited with code ${code}`)));
    return thread;
  }

  private async end(thread: Thread, error?: Error): Promise<void> {
    if (!this.threads.delete(thread)) return;
    clearTimeout(thread.idleTimer);
    if (thread.job && error) thread.job.reject(error);
    thread.job = undefined;
    await thread.worker.terminate();
  }
}

let resolvedArgon2: string | undefined;

// The worker's code is evaluated, not loaded from a file, so it cannot resolve packages itself:
// it gets the path of @node-rs/argon2 as resolved from this module's own file, which works from
// the ESM build, the CommonJS build and the TypeScript sources alike.
function argon2Path(): string {
  resolvedArgon2 ??= createRequire(moduleFile()).resolve('@node-rs/argon2');
  return resolvedArgon2;
}

// This module's file (a path or a file: URL), read from V8's structured stack trace: neither
// `import.meta.url` nor `__filename` exists in both builds.
function moduleFile(): string {
  const { prepareStackTrace, stackTraceLimit } = Error;
  try {
    Error.stackTraceLimit = 1;
    Error.prepareStackTrace = (_error, sites) => sites;
    const sites = new Error().stack as unknown as NodeJS.CallSite[];
    const file = sites[0]?.getFileName();
    if (!file) throw new Error('Argon2Threads: cannot tell which file this module was loaded from');
    return file;
  } finally {
    Error.prepareStackTrace = prepareStackTrace;
    Error.stackTraceLimit = stackTraceLimit;
  }
}
