// Login throughput against bare argon2id at the same parameters, and what a login flood does
// to the latency of guarded GETs served at a fixed rate. Loads 127.0.0.1 only; bounded in time.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as argon2 from '@node-rs/argon2';
import autocannon from 'autocannon';
import { freePort, loadInOwnProcess, median, paced, postJson, startProcess, stopProcess, type PacedResult } from './lib.js';

const appScript = fileURLToPath(new URL('./bench-app.js', import.meta.url));
const PASSWORD = 'bench password 1';
// argon2id (2 in @node-rs/argon2's enum) at the OWASP minimum, nest-warden's default.
const OWASP = { algorithm: 2, memoryCost: 19456, timeCost: 2, parallelism: 1 } as const;

// Bare argon2id verifications per second: one at a time on this thread (what nest-warden's
// hashing threads each run), or `concurrency` at once through @node-rs/argon2's async API.
async function bareArgon2(concurrency: number, seconds: number): Promise<number> {
  const hash = argon2.hashSync(PASSWORD, OWASP);
  let done = 0;
  const deadline = Date.now() + seconds * 1000;
  if (concurrency === 1) {
    for (; Date.now() < deadline; done++) argon2.verifySync(hash, PASSWORD);
    return done / seconds;
  }
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (Date.now() < deadline) {
        await argon2.verify(hash, PASSWORD);
        done++;
      }
    }),
  );
  return done / seconds;
}

// Bare argon2id verifications one at a time, forever, in a process of its own at the given nice
// value (19: the lowest CPU priority): what one busy hashing thread does to this machine, with
// no login code at all.
function startBareHashing(nice: number): () => Promise<void> {
  const argon2Path = fileURLToPath(import.meta.resolve('@node-rs/argon2'));
  const code = `require('node:os').setPriority(${nice}); const a = require(${JSON.stringify(argon2Path)});
const h = a.hashSync('x', ${JSON.stringify(OWASP)}); for (;;) a.verifySync(h, 'x');`;
  const child = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'ignore', 'inherit'] });
  return async () => {
    // A child that already ended (setPriority refused, say) would make the measurement meaningless.
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(`bare argon2id process ended early (${child.exitCode ?? child.signalCode})`);
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill();
    await exited;
  };
}

async function loginLoad(url: string, connections: number, seconds: number, username: string): Promise<{ rps: number; non2xx: number }> {
  const result = await autocannon({
    url: `${url}/auth/login`,
    method: 'POST',
    connections,
    duration: seconds,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password: PASSWORD }),
  });
  return { rps: result.requests.average, non2xx: result.non2xx };
}

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);
const RATE = 300;
const GET_SECONDS = 8;

function ratio(value: number, calm: number): string {
  return `${(value / calm).toFixed(2)}x`;
}

async function main(): Promise<void> {
  const bareOne = await bareArgon2(1, 5);
  const bareTwo = await bareArgon2(2, 5);

  const rows: string[] = [];
  const notes: string[] = [];
  // The flood is 32 connections logging one account in with its right password, from autocannon
  // in a process of its own. With the login throttle on (the default), attempts in flight count
  // against the account until they succeed, so most of the flood is answered 429 without
  // hashing: the last row. The first two turn the throttle off so the flood reaches argon2id,
  // which is what the hashing bound is for.
  const configs = [
    { maxHashes: '1', throttle: 'off' },
    { maxHashes: '2', throttle: 'off' },
    { maxHashes: '1', throttle: 'on' },
  ];
  for (const { maxHashes, throttle } of configs) {
    const port = await freePort();
    const child = await startProcess(appScript, {
      PORT: String(port),
      BENCH_STORE: 'memory',
      BENCH_MAX_HASHES: maxHashes,
      BENCH_LOGIN_THROTTLE: throttle,
    });
    const url = `http://127.0.0.1:${port}`;
    try {
      const username = `bench_login_${Date.now()}`;
      await postJson(`${url}/auth/register`, { username, password: PASSWORD });
      const token = (await postJson(`${url}/auth/login`, { username, password: PASSWORD })).accessToken as string;

      const logins = await loginLoad(url, 8, 8, username);
      if (logins.non2xx > 0) throw new Error(`${logins.non2xx} logins failed`);

      const getAtRate = async (): Promise<PacedResult> => {
        const result = await paced(`${url}/guarded`, { rate: RATE, seconds: GET_SECONDS, headers: { authorization: `Bearer ${token}` } });
        if (result.failed > 0) throw new Error(`${result.failed} guarded GETs failed`);
        return result;
      };
      await getAtRate(); // warm-up
      // Calm and flood alternate; the medians of their p50/p99 are reported.
      const calmRuns: PacedResult[] = [];
      const floodRuns: PacedResult[] = [];
      const floodRates: Array<{ ok: number; refused: number }> = [];
      // What else is measured against calm in this configuration, each under the same GETs:
      // the floor set by the machine (a bare hashing thread elsewhere) for the first, an HTTP
      // flood of a route without auth for the throttled one, whose flood is all HTTP.
      const others: Array<{ name: string; start: () => Promise<() => Promise<unknown>>; runs: PacedResult[] }> = [];
      if (maxHashes === '1' && throttle === 'off') {
        for (const nice of [0, 19]) {
          others.push({
            name: `one bare argon2id thread in another process${nice ? ', at the lowest CPU priority (nice 19)' : ''}`,
            start: async () => {
              const stop = startBareHashing(nice);
              await new Promise((resolve) => setTimeout(resolve, 500));
              return stop;
            },
            runs: [],
          });
        }
      }
      if (throttle === 'on') {
        others.push({
          name: 'a 32-connection flood of GET /open (no auth at all) instead of the login flood',
          start: async () => {
            const flood = loadInOwnProcess(`${url}/open`, { connections: 32, seconds: GET_SECONDS + 2 });
            flood.catch(() => undefined); // awaited below; a failure must not go unhandled meanwhile
            await new Promise((resolve) => setTimeout(resolve, 1000));
            return () => flood;
          },
          runs: [],
        });
      }
      for (let round = 0; round < ROUNDS; round++) {
        calmRuns.push(await getAtRate());
        for (const other of others) {
          const stop = await other.start();
          other.runs.push(await getAtRate());
          await stop();
        }
        const floodSeconds = GET_SECONDS + 2;
        const flood = loadInOwnProcess(`${url}/auth/login`, {
          connections: 32,
          seconds: floodSeconds,
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ username, password: PASSWORD }),
        });
        flood.catch(() => undefined); // awaited below; a failure must not go unhandled meanwhile
        await new Promise((resolve) => setTimeout(resolve, 1000));
        floodRuns.push(await getAtRate());
        const flooded = await flood;
        floodRates.push({ ok: flooded.ok / floodSeconds, refused: flooded.non2xx / floodSeconds });
      }
      const calm = { p50Ms: median(calmRuns.map((r) => r.p50Ms)), p99Ms: median(calmRuns.map((r) => r.p99Ms)) };
      const during = { p50Ms: median(floodRuns.map((r) => r.p50Ms)), p99Ms: median(floodRuns.map((r) => r.p99Ms)) };
      for (const other of others) {
        const p99 = median(other.runs.map((r) => r.p99Ms));
        notes.push(
          `maxConcurrentHashes ${maxHashes}, throttle ${throttle}: during ${other.name}, the same GETs had a p99 of ${p99.toFixed(2)} ms, ` +
            `${ratio(p99, calm.p99Ms)} calm (rounds: ${other.runs.map((run, i) => ratio(run.p99Ms, calmRuns[i]!.p99Ms)).join(', ')}).`,
        );
      }
      const floodOk = median(floodRates.map((rate) => rate.ok));
      const floodRefused = median(floodRates.map((rate) => rate.refused));
      const perRound = floodRuns.map((run, i) => ratio(run.p99Ms, calmRuns[i]!.p99Ms)).join(', ');
      rows.push(
        `| ${maxHashes} | ${throttle} | ${logins.rps.toFixed(1)}/s | ${(logins.rps / bareOne).toFixed(2)}x | ${(logins.rps / bareTwo).toFixed(2)}x | ` +
          `${calm.p50Ms.toFixed(2)} / ${calm.p99Ms.toFixed(2)} ms | ${during.p50Ms.toFixed(2)} / ${during.p99Ms.toFixed(2)} ms (${floodOk.toFixed(0)} logins/s, ${floodRefused.toFixed(0)}/s refused) | ` +
          `${ratio(during.p99Ms, calm.p99Ms)} (rounds: ${perRound}) |`,
      );
    } finally {
      await stopProcess(child);
    }
  }

  console.log('\nLogins: argon2id m=19456 KiB, t=2, p=1, on this machine\n');
  console.log(
    `bare argon2id verify: ${bareOne.toFixed(1)}/s one at a time (one core), ${bareTwo.toFixed(1)}/s two at a time (both cores)\n`,
  );
  console.log(
    `| maxConcurrentHashes | login throttle | POST /auth/login, 8 conns | vs bare, 1 at a time | vs bare, 2 at a time | guarded GET at ${RATE}/s, calm p50 / p99 (median of ${ROUNDS}) | same during a 32-connection login flood (median of ${ROUNDS}) | p99 flood / calm |`,
  );
  console.log('|---:|---|---:|---:|---:|---:|---:|---|');
  for (const row of rows) console.log(row);
  for (const note of notes) console.log(`\n${note}`);
}

await main();
