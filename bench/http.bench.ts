// Guarded-route throughput: unguarded route vs the docs recipe vs nest-warden on the memory
// and Redis stores. Each case runs in the same app as its unguarded baseline, cases alternate
// in rounds, and the table shows medians. Loads 127.0.0.1 only; bounded in time.
import { fileURLToPath } from 'node:url';
import { freePort, load, median, pinSelf, postJson, startProcess, stopProcess, type LoadResult } from './lib.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 6);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const CONNECTIONS = 50;
const appScript = fileURLToPath(new URL('./bench-app.js', import.meta.url));

type Adapter = 'express' | 'fastify';
type Store = 'memory' | 'redis';

interface Case {
  name: string;
  adapter: Adapter;
  store: Store;
  path: string;
  auth: boolean;
  /** The unguarded case of the same app, the baseline of the ratio. */
  baseline: string;
}

const ADAPTERS: Adapter[] = (process.env.BENCH_ADAPTERS ?? 'express,fastify').split(',') as Adapter[];

const CASES: Case[] = ADAPTERS.flatMap((adapter) => {
  const memoryBase = `${adapter}: unguarded (memory app)`;
  const redisBase = `${adapter}: unguarded (redis app)`;
  return [
    { name: memoryBase, adapter, store: 'memory' as const, path: '/open', auth: false, baseline: memoryBase },
    {
      name: `${adapter}: no-op guard (always true), same header and @CurrentUser`,
      adapter,
      store: 'memory' as const,
      path: '/noop-guard',
      auth: true,
      baseline: memoryBase,
    },
    {
      name: `${adapter}: docs recipe, passport-jwt, string secret`,
      adapter,
      store: 'memory' as const,
      path: '/recipe',
      auth: true,
      baseline: memoryBase,
    },
    {
      name: `${adapter}: nest-warden AuthGuard, memory store`,
      adapter,
      store: 'memory' as const,
      path: '/guarded',
      auth: true,
      baseline: memoryBase,
    },
    { name: redisBase, adapter, store: 'redis' as const, path: '/open', auth: false, baseline: redisBase },
    {
      name: `${adapter}: nest-warden AuthGuard, Redis store`,
      adapter,
      store: 'redis' as const,
      path: '/guarded',
      auth: true,
      baseline: redisBase,
    },
  ];
});

async function main(): Promise<void> {
  // Load generator on core 0, apps on core 1: on a 2-core machine this keeps them from
  // trading cores and makes rounds comparable.
  pinSelf(0);
  const apps: Record<string, { url: string; token: string; stop: () => Promise<void> }> = {};
  const appOf = (c: Case): { url: string; token: string } => apps[`${c.adapter}/${c.store}`]!;
  for (const adapter of ADAPTERS) {
    for (const store of ['memory', 'redis'] as const) {
      const port = await freePort();
      const child = await startProcess(appScript, { PORT: String(port), BENCH_STORE: store, BENCH_ADAPTER: adapter }, 1);
      const url = `http://127.0.0.1:${port}`;
      const username = `bench_${adapter}_${store}_${Date.now()}`;
      await postJson(`${url}/auth/register`, { username, password: 'bench password 1' });
      const login = await postJson(`${url}/auth/login`, { username, password: 'bench password 1' });
      apps[`${adapter}/${store}`] = { url, token: login.accessToken as string, stop: () => stopProcess(child) };
    }
  }

  const results = new Map<string, LoadResult[]>(CASES.map((c) => [c.name, []]));
  try {
    // Warm-up, then alternate the cases round by round so drift hits all of them alike.
    for (const c of CASES)
      await load(appOf(c).url + c.path, { connections: CONNECTIONS, seconds: 1, headers: headersFor(c, appOf(c).token) });
    for (let round = 0; round < ROUNDS; round++) {
      for (const c of CASES) {
        // An app that has sat idle while the other apps were loaded serves its first second
        // slower (about 10% on Express): every measured run follows an unmeasured second.
        await load(appOf(c).url + c.path, { connections: CONNECTIONS, seconds: 1, headers: headersFor(c, appOf(c).token) });
        const result = await load(appOf(c).url + c.path, {
          connections: CONNECTIONS,
          seconds: SECONDS,
          headers: headersFor(c, appOf(c).token),
        });
        if (result.non2xx > 0 || result.errors > 0) throw new Error(`${c.name}: ${result.non2xx} non-2xx, ${result.errors} errors`);
        results.get(c.name)!.push(result);
      }
    }
  } finally {
    for (const app of Object.values(apps)) await app.stop();
  }

  // Ratios are taken within each round (against that round's unguarded run of the same app),
  // then the median across rounds: drift in machine speed cancels out.
  const ratio = (c: Case): number =>
    median(results.get(c.name)!.map((run, round) => run.requestsPerSecond / results.get(c.baseline)![round]!.requestsPerSecond));
  console.log(
    `\nHTTP (${ADAPTERS.join(', ')}), autocannon -c ${CONNECTIONS}, ${ROUNDS} rounds x ${SECONDS} s, medians; app on core 1, load on core 0\n`,
  );
  console.log('| case | req/s | p50 ms | p99 ms | vs unguarded |');
  console.log('|---|---:|---:|---:|---:|');
  for (const c of CASES) {
    const runs = results.get(c.name)!;
    console.log(
      `| ${c.name} | ${Math.round(median(runs.map((r) => r.requestsPerSecond)))} | ${median(runs.map((r) => r.p50Ms))} | ${median(runs.map((r) => r.p99Ms))} | ${ratio(c).toFixed(2)}x |`,
    );
  }
}

function headersFor(c: Case, token: string): Record<string, string> {
  return c.auth ? { authorization: `Bearer ${token}` } : {};
}

await main();
