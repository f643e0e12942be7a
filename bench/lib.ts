import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { Agent, request } from 'node:http';
import { fileURLToPath } from 'node:url';
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
export async function startProcess(
  script: string,
  env: Record<string, string>,
  cpu?: number,
  /** `wrapper`: a command that runs node (valgrind, say); `startTimeoutMs`: default 20 s. */
  options: { wrapper?: string[]; startTimeoutMs?: number } = {},
): Promise<ChildProcess> {
  const node = [...(options.wrapper ?? []), process.execPath];
  const command = cpu !== undefined && HAS_TASKSET ? ['taskset', '-c', String(cpu), ...node] : node;
  const child = spawn(command[0]!, [...command.slice(1), script], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${script} did not start`)), options.startTimeoutMs ?? 20_000);
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
export async function load(
  url: string,
  options: { connections: number; seconds: number; headers?: Record<string, string>; rate?: number },
): Promise<LoadResult> {
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

/** Latency percentiles of requests sent at a fixed rate, in milliseconds to the microsecond. */
export interface PacedResult {
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  failed: number;
}

/**
 * GETs one URL at an even, fixed rate for a bounded time, over up to 32 keep-alive connections,
 * open loop: a request is sent when it is due whether or not earlier ones have been answered.
 * Its latency runs from the moment it is handed to the HTTP client (waiting for a free
 * connection included) until its reply has been read; how late this process's own timer fired
 * is not counted, so a client delayed by the load on the machine does not add to the server's
 * figures. autocannon's own rate option is not used here because it sends each connection's
 * share of a second as one burst at the start of the second: its latencies would be those of
 * the burst, in whole milliseconds.
 */
export async function paced(
  url: string,
  options: { rate: number; seconds: number; headers?: Record<string, string> },
): Promise<PacedResult> {
  if (!url.startsWith('http://127.0.0.1:')) throw new Error('benchmarks only load 127.0.0.1');
  const agent = new Agent({ keepAlive: true, maxSockets: 32 });
  const latencies: number[] = [];
  let failed = 0;
  const replies: Array<Promise<void>> = [];
  const count = Math.round(options.rate * options.seconds);
  const start = performance.now();
  for (let i = 0; i < count; i++) {
    const wait = start + (i * 1000) / options.rate - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    const sentAt = performance.now();
    replies.push(
      new Promise<void>((resolve) => {
        const req = request(url, { agent, headers: options.headers ?? {} }, (res) => {
          res.resume();
          let ended = false;
          res.once('end', () => {
            ended = true;
            if (res.statusCode === 200) latencies.push(performance.now() - sentAt);
            else failed++;
            resolve();
          });
          // A reply cut off before its end counts as failed instead of hanging the run.
          res.once('close', () => {
            if (ended) return;
            failed++;
            resolve();
          });
        });
        req.once('error', () => {
          failed++;
          resolve();
        });
        req.end();
      }),
    );
  }
  await Promise.all(replies);
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const at = (q: number): number =>
    Math.round((latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? Number.NaN) * 1000) / 1000;
  return { p50Ms: at(0.5), p99Ms: at(0.99), maxMs: at(1), failed };
}

/**
 * Runs autocannon in a process of its own (its CLI, JSON out), so a flood's client does not share
 * an event loop with the client measuring latency, as an attacker's would not.
 */
export async function loadInOwnProcess(
  url: string,
  options: { connections: number; seconds: number; method?: string; headers?: Record<string, string>; body?: string },
): Promise<{ requestsPerSecond: number; ok: number; non2xx: number; errors: number }> {
  if (!url.startsWith('http://127.0.0.1:')) throw new Error('benchmarks only load 127.0.0.1');
  const cli = fileURLToPath(new URL('autocannon.js', import.meta.resolve('autocannon/package.json')));
  const args = [cli, '--json', '-c', String(options.connections), '-d', String(options.seconds), '-m', options.method ?? 'GET'];
  for (const [name, value] of Object.entries(options.headers ?? {})) args.push('-H', `${name}=${value}`);
  if (options.body !== undefined) args.push('-b', options.body);
  const child = spawn(process.execPath, [...args, url], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
  // 'close', not 'exit': the output may still be arriving when the process exits.
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  if (code !== 0 || !out.trim()) throw new Error(`autocannon exited with ${code}: ${err.trim()}`);
  const result = JSON.parse(out) as { requests: { average: number }; '2xx': number; non2xx: number; errors: number; timeouts: number };
  return { requestsPerSecond: result.requests.average, ok: result['2xx'], non2xx: result.non2xx, errors: result.errors + result.timeouts };
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

/** The heap in use after two full collections; needs `node --expose-gc`. */
export function heapAfterGc(): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run with node --expose-gc');
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}
