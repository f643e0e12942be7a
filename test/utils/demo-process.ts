import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync } from 'node:fs';
import { freePort } from './redis-server.js';

/** A demo app (`node dist/main.js`) running in its own process. */
export interface DemoProcess {
  url: string;
  port: number;
  stop(): Promise<void>;
  /** Stops and starts it again on the same port and environment. */
  restart(): Promise<void>;
  output(): string;
}

/** How to run a demo process: its port (default a free one), and node options before `dist/main.js`. */
export interface DemoProcessOptions {
  port?: number;
  nodeArgs?: string[];
}

/** Builds dist/ once if it is missing (npm test builds it first; a bare jest run may not have). */
export function ensureBuilt(): void {
  if (!existsSync('dist/main.js')) {
    execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
  }
  // The demo's web page (npm run build:web): tsc copies no HTML, CSS or JavaScript.
  if (!existsSync('dist/demo/web/index.html')) cpSync('src/demo/web', 'dist/demo/web', { recursive: true });
}

/** Starts the demo app with the given environment and waits for /health to answer. */
export async function startDemo(env: Record<string, string>, options: DemoProcessOptions = {}): Promise<DemoProcess> {
  const port = options.port ?? (await freePort());
  const url = `http://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;
  let log = '';

  const start = async (): Promise<void> => {
    child = spawn(process.execPath, [...(options.nodeArgs ?? []), 'dist/main.js'], {
      env: { PATH: process.env.PATH ?? '', ...env, PORT: String(port) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.on('data', (chunk: Buffer) => (log += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (log += chunk.toString()));
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`demo exited early:\n${log}`);
      const up = await fetch(`${url}/health`).then(
        (response) => response.ok,
        () => false,
      );
      if (up) return;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`demo did not start:\n${log}`);
  };

  const stop = async (): Promise<void> => {
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child?.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  };

  await start();
  return {
    url,
    port,
    stop,
    restart: async () => {
      await stop();
      await start();
    },
    output: () => log,
  };
}

/** A demo's reply: status, parsed JSON body, and how long it took. */
export interface Reply {
  status: number;
  body: Record<string, unknown>;
  ms: number;
}

/** One JSON request to a demo process (10 s at most). */
export async function call(base: string, method: string, path: string, options: { token?: string; body?: unknown } = {}): Promise<Reply> {
  const started = Date.now();
  const headers: Record<string, string> = {};
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(`${base}${path}`, {
    method,
    headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await response.text();
  return { status: response.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {}, ms: Date.now() - started };
}
