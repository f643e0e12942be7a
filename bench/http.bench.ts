// Guarded-route throughput: unguarded route vs the docs recipe vs nest-warden on the memory
// and Redis stores. Each case runs in the same app as its unguarded baseline, cases alternate
// in rounds, and the table shows medians. Loads 127.0.0.1 only; bounded in time.
import { fileURLToPath } from 'node:url';
import { freePort, load, median, postJson, startProcess, stopProcess, type LoadResult } from './lib.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 4);
const CONNECTIONS = 50;
const appScript = fileURLToPath(new URL('./bench-app.js', import.meta.url));

interface Case {
  name: string;
  store: 'memory' | 'redis';
  path: string;
  auth: boolean;
}

const CASES: Case[] = [
  { name: 'unguarded (memory app)', store: 'memory', path: '/open', auth: false },
  { name: 'docs recipe: passport-jwt, string secret', store: 'memory', path: '/recipe', auth: true },
  { name: 'nest-warden AuthGuard, memory store', store: 'memory', path: '/guarded', auth: true },
  { name: 'unguarded (redis app)', store: 'redis', path: '/open', auth: false },
  { name: 'nest-warden AuthGuard, Redis store', store: 'redis', path: '/guarded', auth: true },
];

async function main(): Promise<void> {
  const apps: Record<string, { url: string; token: string; stop: () => Promise<void> }> = {};
  for (const store of ['memory', 'redis'] as const) {
    const port = await freePort();
    const child = await startProcess(appScript, { PORT: String(port), BENCH_STORE: store });
    const url = `http://127.0.0.1:${port}`;
    const username = `bench_${store}_${Date.now()}`;
    await postJson(`${url}/auth/register`, { username, password: 'bench password 1' });
    const login = await postJson(`${url}/auth/login`, { username, password: 'bench password 1' });
    apps[store] = { url, token: login.accessToken as string, stop: () => stopProcess(child) };
  }

  const results = new Map<string, LoadResult[]>(CASES.map((c) => [c.name, []]));
  try {
    // Warm-up, then alternate the cases round by round so drift hits all of them alike.
    for (const c of CASES) await load(apps[c.store]!.url + c.path, { connections: CONNECTIONS, seconds: 1, headers: headersFor(c, apps[c.store]!.token) });
    for (let round = 0; round < ROUNDS; round++) {
      for (const c of CASES) {
        const result = await load(apps[c.store]!.url + c.path, { connections: CONNECTIONS, seconds: SECONDS, headers: headersFor(c, apps[c.store]!.token) });
        if (result.non2xx > 0 || result.errors > 0) throw new Error(`${c.name}: ${result.non2xx} non-2xx, ${result.errors} errors`);
        results.get(c.name)!.push(result);
      }
    }
  } finally {
    for (const app of Object.values(apps)) await app.stop();
  }

  const rps = (name: string): number => median(results.get(name)!.map((r) => r.requestsPerSecond));
  const baseline = (c: Case): number => rps(c.store === 'memory' ? 'unguarded (memory app)' : 'unguarded (redis app)');
  console.log(`\nHTTP, Express, autocannon -c ${CONNECTIONS}, ${ROUNDS} rounds x ${SECONDS} s, medians\n`);
  console.log('| case | req/s | p50 ms | p99 ms | vs unguarded |');
  console.log('|---|---:|---:|---:|---:|');
  for (const c of CASES) {
    const runs = results.get(c.name)!;
    console.log(
      `| ${c.name} | ${Math.round(rps(c.name))} | ${median(runs.map((r) => r.p50Ms))} | ${median(runs.map((r) => r.p99Ms))} | ${(rps(c.name) / baseline(c)).toFixed(2)}x |`,
    );
  }
}

function headersFor(c: Case, token: string): Record<string, string> {
  return c.auth ? { authorization: `Bearer ${token}` } : {};
}

await main();
