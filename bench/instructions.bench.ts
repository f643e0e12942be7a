// Instructions per request, counted by valgrind (callgrind) in the bench app while autocannon
// loads one route at a time: the unguarded route, the no-op guard (same header and @CurrentUser)
// and nest-warden's AuthGuard on the memory store, on each adapter. Counts, unlike req/s or CPU
// time, do not move with other load on the machine: on the 2-core VM one route's rounds agree
// within 1% but for an occasional round inflated by the JIT or a full GC, which the median
// leaves out, where req/s ratios swing by tens of percent from round to round. So this shows
// what the guard adds even where timing cannot. They leave out the kernel (the socket's read and write, the same for every
// route) and cache misses. Needs valgrind (Debian's package) and takes about 10 minutes: node
// runs some 50x slower under it. Each count is the difference between two dumps around a run of
// BENCH_REQUESTS (default 3000) requests after a warm-up; BENCH_ROUNDS (default 3), medians.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { freePort, median, postJson, startProcess, stopProcess } from './lib.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 3000);
// Requests per route before anything is counted: under valgrind the JIT takes long to settle.
const WARM_UP = Number(process.env.BENCH_WARM_UP ?? 4 * REQUESTS);
const ADAPTERS = (process.env.BENCH_ADAPTERS ?? 'fastify,express').split(',') as ('express' | 'fastify')[];
const ROUTES = [
  { path: '/open', name: 'unguarded' },
  { path: '/noop-guard', name: 'no-op guard, same header and @CurrentUser' },
  { path: '/guarded', name: 'nest-warden AuthGuard, memory store' },
] as const;
const appScript = fileURLToPath(new URL('./bench-app.js', import.meta.url));

async function requests(url: string, amount: number, headers: Record<string, string>): Promise<void> {
  const result = await autocannon({ url, connections: 10, amount, headers });
  if (result.non2xx || result.errors || result.timeouts) throw new Error(`${url}: ${result.non2xx} non-2xx, ${result.errors} errors`);
}

// Asks callgrind to write its counts so far (and zero them); answers the total instructions written.
function dump(pid: number, dir: string): number {
  const before = new Set(readdirSync(dir));
  const result = spawnSync('callgrind_control', ['--dump', String(pid)], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`callgrind_control failed: ${result.stderr}`);
  const file = readdirSync(dir).find((name) => !before.has(name));
  if (!file) throw new Error('callgrind wrote no dump');
  const totals = /^totals:\s+(\d+)/m.exec(readFileSync(join(dir, file), 'utf8'));
  rmSync(join(dir, file));
  if (!totals) throw new Error(`no totals in ${file}`);
  return Number(totals[1]);
}

async function main(): Promise<void> {
  if (spawnSync('valgrind', ['--version']).status !== 0) throw new Error('valgrind is not installed (apt-get install valgrind)');
  console.log(`\nInstructions per request under callgrind (user space), ${ROUNDS} rounds x ${REQUESTS} requests, medians\n`);
  console.log('| case | instructions per request | more than unguarded | unguarded / case | rounds |');
  console.log('|---|---:|---:|---:|---|');
  for (const adapter of ADAPTERS) {
    const dir = mkdtempSync(join(tmpdir(), 'nest-warden-callgrind-'));
    const port = await freePort();
    const child = await startProcess(appScript, { PORT: String(port), BENCH_STORE: 'memory', BENCH_ADAPTER: adapter }, undefined, {
      wrapper: ['valgrind', '--tool=callgrind', '--quiet', `--callgrind-out-file=${join(dir, 'callgrind.out')}`],
      startTimeoutMs: 300_000,
    });
    const counts = new Map<string, number[]>(ROUTES.map((route) => [route.path, []]));
    try {
      const url = `http://127.0.0.1:${port}`;
      const username = `instructions_${adapter}_${Date.now()}`;
      await postJson(`${url}/auth/register`, { username, password: 'bench password 1' });
      const { accessToken } = await postJson(`${url}/auth/login`, { username, password: 'bench password 1' });
      const headers = (path: string): Record<string, string> =>
        path === '/open' ? {} : { authorization: `Bearer ${String(accessToken)}` };
      // Warm-up: the JIT settles on each route before anything is counted.
      for (const route of ROUTES) await requests(url + route.path, WARM_UP, headers(route.path));
      for (let round = 0; round < ROUNDS; round++) {
        for (const route of round % 2 ? [...ROUTES].reverse() : ROUTES) {
          dump(child.pid!, dir);
          await requests(url + route.path, REQUESTS, headers(route.path));
          counts.get(route.path)!.push(dump(child.pid!, dir) / REQUESTS);
        }
      }
    } finally {
      await stopProcess(child);
      rmSync(dir, { recursive: true, force: true });
    }
    const open = median(counts.get('/open')!);
    for (const route of ROUTES) {
      const count = median(counts.get(route.path)!);
      console.log(
        `| ${adapter}: ${route.name} | ${Math.round(count).toLocaleString('en-US')} | ${Math.round(count - open).toLocaleString('en-US')} | ${(open / count).toFixed(3)} | ${counts
          .get(route.path)!
          .map((n) => Math.round(n / 1000) + 'k')
          .join(', ')} |`,
      );
    }
  }
}

await main();
