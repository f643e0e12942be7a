// Where a guarded request's time goes: CPU profiles of the bench app (V8's sampling profiler,
// 100 us interval) while autocannon loads one route, for the unguarded route, the no-op guard
// (same header and @CurrentUser) and nest-warden's AuthGuard, on BENCH_ADAPTER (default fastify)
// and the memory store. Each profile covers only the measured window (started and stopped over
// IPC), and its samples are turned into microseconds per request served in that window, by
// function and by where the code lives (nest-warden, @nestjs/*, the adapter, Node, GC). The
// routes alternate over BENCH_ROUNDS (default 3) rounds of BENCH_SECONDS (default 5); medians.
// The profiles are written to BENCH_PROFILE_DIR when set (open them in Chrome's DevTools).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ChildProcess } from 'node:child_process';
import type { Profiler, Runtime } from 'node:inspector';
import { freePort, load, median, pinSelf, postJson, startProcess, stopProcess } from './lib.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const ADAPTER = process.env.BENCH_ADAPTER === 'express' ? 'express' : 'fastify';
const ROUTES = ['/open', '/noop-guard', '/guarded'] as const;
const appScript = fileURLToPath(new URL('./bench-app.js', import.meta.url));

type Route = (typeof ROUTES)[number];

/** Microseconds per request, by function and by area, from one profile. */
interface Breakdown {
  byFunction: Map<string, number>;
  byArea: Map<string, number>;
  total: number;
}

/** Where a frame's code lives. */
function areaOf(frame: Runtime.CallFrame): string {
  const url = frame.url;
  if (!url) return frame.functionName.startsWith('(') ? frame.functionName : '(native)';
  if (url.includes('/src/auth/')) return 'nest-warden';
  if (url.includes('/bench/')) return 'bench app';
  if (url.includes('/node_modules/@nestjs/')) return '@nestjs/*';
  if (url.includes('/node_modules/')) return url.split('/node_modules/').pop()!.split('/')[0]!;
  if (url.startsWith('node:')) return 'node';
  return 'other';
}

function frameName(frame: Runtime.CallFrame): string {
  const file = frame.url ? frame.url.replace(/^.*\/node_modules\//, '').replace(/^.*\/(src|bench)\//, '$1/') : '';
  return `${frame.functionName || '(anonymous)'}${file ? ` ${file}:${frame.lineNumber + 1}` : ''}`;
}

function breakdown(profile: Profiler.Profile, requests: number): Breakdown {
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfUs = new Map<number, number>();
  const deltas = profile.timeDeltas ?? [];
  // Each sample's time is the delta to the next one.
  (profile.samples ?? []).forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (deltas[i + 1] ?? 0)));
  const byFunction = new Map<string, number>();
  const byArea = new Map<string, number>();
  let total = 0;
  for (const [id, us] of selfUs) {
    const frame = nodes.get(id)!.callFrame;
    if (frame.functionName === '(idle)') continue;
    const perRequest = us / requests;
    const name = frameName(frame);
    byFunction.set(name, (byFunction.get(name) ?? 0) + perRequest);
    const area = areaOf(frame);
    byArea.set(area, (byArea.get(area) ?? 0) + perRequest);
    total += perRequest;
  }
  return { byFunction, byArea, total };
}

async function profiled(child: ChildProcess, run: () => Promise<number>): Promise<{ profile: Profiler.Profile; requests: number }> {
  const reply = (): Promise<{ profile: unknown }> => new Promise((resolve) => child.once('message', resolve as (m: unknown) => void));
  const started = reply();
  child.send({ profile: 'start' });
  await started;
  const requests = await run();
  const stopped = reply();
  child.send({ profile: 'stop' });
  return { profile: (await stopped).profile as Profiler.Profile, requests };
}

async function main(): Promise<void> {
  pinSelf(0);
  const port = await freePort();
  const child = await startProcess(appScript, { PORT: String(port), BENCH_STORE: 'memory', BENCH_ADAPTER: ADAPTER }, 1);
  const url = `http://127.0.0.1:${port}`;
  const results = new Map<Route, Breakdown[]>(ROUTES.map((route) => [route, []]));
  try {
    const username = `profile_${Date.now()}`;
    await postJson(`${url}/auth/register`, { username, password: 'bench password 1' });
    const { accessToken } = await postJson(`${url}/auth/login`, { username, password: 'bench password 1' });
    const headers = (route: Route): Record<string, string> => (route === '/open' ? {} : { authorization: `Bearer ${String(accessToken)}` });
    for (const route of ROUTES) await load(url + route, { connections: 50, seconds: 2, headers: headers(route) });
    for (let round = 0; round < ROUNDS; round++) {
      for (const route of round % 2 ? [...ROUTES].reverse() : ROUTES) {
        await load(url + route, { connections: 50, seconds: 1, headers: headers(route) });
        const { profile, requests } = await profiled(child, async () => {
          const result = await load(url + route, { connections: 50, seconds: SECONDS, headers: headers(route) });
          if (result.non2xx || result.errors) throw new Error(`${route}: ${result.non2xx} non-2xx, ${result.errors} errors`);
          return Math.round(result.requestsPerSecond * SECONDS);
        });
        if (process.env.BENCH_PROFILE_DIR) {
          writeFileSync(
            join(process.env.BENCH_PROFILE_DIR, `${ADAPTER}${route.replace('/', '-')}-${round}.cpuprofile`),
            JSON.stringify(profile),
          );
        }
        results.get(route)!.push(breakdown(profile, requests));
      }
    }
  } finally {
    await stopProcess(child);
  }

  const med = (route: Route, pick: (b: Breakdown) => number): number => median(results.get(route)!.map(pick));
  const areas = [...new Set(ROUTES.flatMap((route) => results.get(route)!.flatMap((b) => [...b.byArea.keys()])))];
  areas.sort((a, b) => med('/guarded', (x) => x.byArea.get(b) ?? 0) - med('/guarded', (x) => x.byArea.get(a) ?? 0));
  const us = (n: number): string => n.toFixed(2);
  console.log(`\nCPU profile of the ${ADAPTER} bench app, memory store, ${ROUNDS} rounds x ${SECONDS} s, medians, us per request\n`);
  console.log(`| where | ${ROUTES.join(' | ')} | guarded - no-op |`);
  console.log(`|---|${ROUTES.map(() => '---:').join('|')}|---:|`);
  for (const area of areas) {
    const cells = ROUTES.map((route) => med(route, (b) => b.byArea.get(area) ?? 0));
    if (Math.max(...cells) < 0.05) continue;
    console.log(`| ${area} | ${cells.map(us).join(' | ')} | ${us(cells[2]! - cells[1]!)} |`);
  }
  const totals = ROUTES.map((route) => med(route, (b) => b.total));
  console.log(`| **all (not idle)** | ${totals.map(us).join(' | ')} | ${us(totals[2]! - totals[1]!)} |`);

  // The functions whose self time grows most from the no-op guard to AuthGuard, and nest-warden's own.
  const names = [
    ...new Set(['/noop-guard', '/guarded'].flatMap((route) => results.get(route as Route)!.flatMap((b) => [...b.byFunction.keys()]))),
  ];
  const delta = (name: string): number =>
    med('/guarded', (b) => b.byFunction.get(name) ?? 0) - med('/noop-guard', (b) => b.byFunction.get(name) ?? 0);
  const top = names
    .filter((name) => Math.abs(delta(name)) >= 0.05 || name.includes('src/auth/'))
    .sort((a, b) => delta(b) - delta(a))
    .slice(0, 25);
  console.log('\n| function (self time) | /noop-guard | /guarded | difference |');
  console.log('|---|---:|---:|---:|');
  for (const name of top) {
    console.log(
      `| ${name.replace(/\|/g, '\\|')} | ${us(med('/noop-guard', (b) => b.byFunction.get(name) ?? 0))} | ${us(med('/guarded', (b) => b.byFunction.get(name) ?? 0))} | ${us(delta(name))} |`,
    );
  }
}

await main();
