// Guarded-route throughput: unguarded route vs the docs recipe vs nest-warden on the memory
// and Redis stores. Each case runs in the same app as its unguarded baseline, cases alternate
// in rounds, and the table shows medians. Loads 127.0.0.1 only; bounded in time.
import { fileURLToPath } from 'node:url';
import { writeRatioChart } from './chart.js';
import { freePort, load, median, pinSelf, postJson, startProcess, stopProcess, type LoadResult } from './lib.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 8);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const CONNECTIONS = 50;
const appScript = fileURLToPath(new URL('./bench-app.js', import.meta.url));
// The chart goes next to RESULTS.md (from dist-bench/bench/ back to bench/); BENCH_CHART=off skips it.
const chartPath = fileURLToPath(new URL('../../bench/http-ratios.svg', import.meta.url));

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
  const ratios = (c: Case): number[] =>
    results.get(c.name)!.map((run, round) => run.requestsPerSecond / results.get(c.baseline)![round]!.requestsPerSecond);
  console.log(
    `\nHTTP (${ADAPTERS.join(', ')}), autocannon -c ${CONNECTIONS}, ${ROUNDS} rounds x ${SECONDS} s, medians; app on core 1, load on core 0\n`,
  );
  console.log('| case | req/s | p50 ms | p99 ms | vs unguarded | rounds, lowest to highest |');
  console.log('|---|---:|---:|---:|---:|---:|');
  for (const c of CASES) {
    const runs = results.get(c.name)!;
    const r = ratios(c);
    console.log(
      `| ${c.name} | ${Math.round(median(runs.map((run) => run.requestsPerSecond)))} | ${median(runs.map((run) => run.p50Ms))} | ${median(runs.map((run) => run.p99Ms))} | ${median(r).toFixed(2)}x | ${Math.min(...r).toFixed(2)} to ${Math.max(...r).toFixed(2)} |`,
    );
  }
  if (process.env.BENCH_CHART === 'off') return;
  // One row per guarded case, one bar per adapter.
  const kinds = [...new Set(CASES.filter((c) => c.baseline !== c.name).map((c) => c.name.slice(c.adapter.length + 2)))];
  writeRatioChart(chartPath, {
    title: 'Guarded route vs the unguarded route of the same app (req/s ratio)',
    subtitle: `npm run bench:http, ${new Date().toISOString().slice(0, 10)}: autocannon -c ${CONNECTIONS}, ${ROUNDS} rounds x ${SECONDS} s; bar: median, whisker: lowest to highest round`,
    rows: kinds.map((kind) => ({
      label: kind.replace(' (always true), same header and @CurrentUser', ' (same header, @CurrentUser)'),
      bars: CASES.filter((c) => c.name.slice(c.adapter.length + 2) === kind).map((c) => {
        const r = ratios(c);
        return { series: c.adapter, median: median(r), min: Math.min(...r), max: Math.max(...r) };
      }),
    })),
    marks: [
      { value: 0.9, label: 'memory goal 0.90' },
      { value: 0.85, label: 'Redis goal 0.85' },
    ],
  });
  console.log(`\nChart: ${chartPath}`);
}

function headersFor(c: Case, token: string): Record<string, string> {
  return c.auth ? { authorization: `Bearer ${token}` } : {};
}

await main();
