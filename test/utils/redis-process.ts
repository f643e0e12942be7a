import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { join } from 'node:path';
import { Redis } from 'ioredis';

/** Where a test Redis listens. */
export interface HostPort {
  host: string;
  port: number;
}

export const LOOPBACK = '127.0.0.1';

function runs(command: string, args: string[]): { ok: boolean; output: string } {
  const result = spawnSync(command, args, { encoding: 'utf8' });
  return { ok: !result.error, output: `${result.stdout ?? ''}${result.stderr ?? ''}` };
}

/**
 * Throws unless redis-server (and, for a Cluster, a redis-cli with `--cluster`) is installed.
 * Never a skip: under CI=true the message says a missing binary fails the run.
 */
export function requireRedisBinaries({ cli = false }: { cli?: boolean } = {}): void {
  const ciNote = process.env.CI === 'true' ? ' CI=true: a missing Redis binary is a failure.' : '';
  if (!runs('redis-server', ['--version']).ok) {
    throw new Error(`These tests need redis-server (apt-get install redis-server).${ciNote}`);
  }
  if (!cli) return;
  const help = runs('redis-cli', ['--cluster', 'help']);
  if (!help.ok) throw new Error(`These tests need redis-cli (apt-get install redis-tools).${ciNote}`);
  // redis-cli before 5 has no cluster manager (it was redis-trib.rb then).
  if (!/reshard/.test(help.output)) throw new Error(`This redis-cli has no --cluster support (Redis 5 or later needed).${ciNote}`);
}

async function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, LOOPBACK, () => server.close(() => resolve(true)));
  });
}

/**
 * `count` distinct free loopback ports. With `busOffset` (a Cluster's 10000), each port's bus
 * port (port + busOffset) is free too and clashes with no other chosen port.
 */
export async function freePorts(count: number, { busOffset = 0 } = {}): Promise<number[]> {
  const taken = new Set<number>();
  const chosen: number[] = [];
  for (let tries = 0; chosen.length < count; tries++) {
    if (tries > 200) throw new Error(`could not find ${count} free ports on ${LOOPBACK}`);
    const port = await new Promise<number>((resolve, reject) => {
      const server = createServer();
      server.once('error', reject);
      server.listen(0, LOOPBACK, () => {
        const address = server.address();
        server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
      });
    });
    const bus = port + busOffset;
    if (taken.has(port) || (busOffset && (bus > 65535 || taken.has(bus) || !(await portIsFree(bus))))) continue;
    taken.add(port);
    if (busOffset) taken.add(bus);
    chosen.push(port);
  }
  return chosen;
}

/** One redis-server (or sentinel) process of a test topology, which can be killed and started again. */
export class RedisProcess {
  private child: ChildProcess | undefined;
  readonly logFile: string;

  /** `args` come after the optional config file; `--port`, `--bind`, `--dir` and `--logfile` are added. */
  constructor(
    readonly port: number,
    readonly dir: string,
    private readonly args: string[],
    private readonly configFile?: string,
  ) {
    mkdirSync(dir, { recursive: true });
    this.logFile = join(dir, 'redis.log');
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  async start(timeoutMs = 5000): Promise<void> {
    if (this.running) return;
    const base = ['--port', String(this.port), '--bind', LOOPBACK, '--dir', this.dir, '--logfile', this.logFile];
    const child = spawn('redis-server', [...(this.configFile ? [this.configFile] : []), ...base, ...this.args], { stdio: 'ignore' });
    this.child = child;
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (!this.running) throw new Error(`redis-server on port ${this.port} exited at start:\n${this.logTail()}`);
      if (await accepts(this.port)) return;
      await sleep(25);
    }
    throw new Error(`redis-server did not start on port ${this.port} within ${timeoutMs} ms:\n${this.logTail()}`);
  }

  /** SIGKILL: no shutdown, no final save; as a crash. */
  async kill(): Promise<void> {
    await this.signal('SIGKILL');
  }

  /** SIGTERM, then SIGKILL if it has not exited within 3 s. */
  async stop(): Promise<void> {
    if (!this.running) return;
    const exited = this.signal('SIGTERM');
    const late = setTimeout(() => this.child?.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(late);
  }

  /** For a process exit hook: no waiting. */
  killNow(): void {
    if (this.running) this.child?.kill('SIGKILL');
  }

  logTail(lines = 20): string {
    return existsSync(this.logFile) ? readFileSync(this.logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n') : '(no log)';
  }

  private async signal(signal: NodeJS.Signals): Promise<void> {
    const child = this.child;
    if (!child || !this.running) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill(signal);
    await exited;
  }
}

/** SIGKILLs every process still running if the test process exits without stopping them. */
export function killOnExit(processes: RedisProcess[]): () => void {
  const hook = (): void => processes.forEach((p) => p.killNow());
  process.once('exit', hook);
  return () => process.removeListener('exit', hook);
}

async function accepts(port: number): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const socket = connect(port, LOOPBACK);
    socket.once('connect', () => {
      socket.end();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `check` until it returns a value other than undefined/false, or throws at the deadline with `what`. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined | false>, timeoutMs: number, everyMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() >= deadline) {
      const reason = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${reason}`);
    }
    await sleep(everyMs);
  }
}

/**
 * Runs `fn` on a short-lived, non-cluster connection to one node, for admin commands: no
 * reconnects and no offline queue, so a dead node fails fast instead of hanging.
 */
export async function onNode<T>(port: number, fn: (redis: Redis) => Promise<T>): Promise<T> {
  const redis = new Redis({
    host: LOOPBACK,
    port,
    lazyConnect: true,
    connectTimeout: 1000,
    commandTimeout: 5000,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    return await fn(redis);
  } finally {
    redis.disconnect();
  }
}

/** `INFO` (or `CLUSTER INFO`) text as a map of its `field:value` lines. */
export function parseInfo(text: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon > 0 && !line.startsWith('#')) fields.set(line.slice(0, colon), line.slice(colon + 1).trim());
  }
  return fields;
}
