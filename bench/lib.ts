import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import autocannon from 'autocannon';

/** One autocannon run's figures. */
export interface LoadResult {
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  non2xx: number;
  errors: number;
}

/** Pins this process to one core when taskset exists (Linux). */
export function pinSelf(cpu: number): void {
  if (HAS_TASKSET) spawnSync('taskset', ['-p', '-c', String(cpu), String(process.pid)], { stdio: 'ignore' });
}

export { freePort } from '../test/utils/redis-server.js';

const HAS_TASKSET = spawnSync('taskset', ['-V'], { stdio: 'ignore' }).status === 0;

/**
 * Starts a compiled bench script and waits for it to say 'ready'. With `cpu`, the process is
 * pinned to that core (taskset), so the server and the load generator do not trade cores.
 */
export async function startProcess(script: string, env: Record<string, string>, cpu?: number): Promise<ChildProcess> {
  const command = cpu !== undefined && HAS_TASKSET ? ['taskset', '-c', String(cpu), process.execPath] : [process.execPath];
  const child = spawn(command[0]!, [...command.slice(1), script], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${script} did not start`)), 20_000);
    child.once('message', () => {
      clearTimeout(timer);
      resolve();
    });
    child.once('exit', (code) => reject(new Error(`${script} exited with ${code}`)));
  });
  return child;
}

export async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

/** Loads one URL on 127.0.0.1 for a bounded time. */
export async function load(url: string, options: { connections: number; seconds: number; headers?: Record<string, string>; rate?: number }): Promise<LoadResult> {
  if (!url.startsWith('http://127.0.0.1:')) throw new Error('benchmarks only load 127.0.0.1');
  const result = await autocannon({
    url,
    connections: options.connections,
    duration: options.seconds,
    headers: options.headers ?? {},
    ...(options.rate ? { overallRate: options.rate } : {}),
  });
  return {
    requestsPerSecond: result.requests.average,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
  };
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** POSTs JSON and returns the parsed reply. */
export async function postJson(url: string, body: unknown): Promise<Record<string, unknown>> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const text = await response.text();
  if (!response.ok) throw new Error(`${url}: ${response.status} ${text}`);
  return text ? (JSON.parse(text) as Record<string, unknown>) : {};
}
