// Login throughput against bare argon2id at the same parameters, and what a login flood does
// to the latency of guarded GETs served at a fixed rate. Loads 127.0.0.1 only; bounded in time.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as argon2 from 'argon2';
import autocannon from 'autocannon';
import { freePort, load, median, postJson, startProcess, stopProcess } from './lib.js';

const appScript = fileURLToPath(new URL('./bench-app.js', import.meta.url));
const PASSWORD = 'bench password 1';
const OWASP = { type: argon2.argon2id, memoryCost: 19456, timeCost: 2, parallelism: 1 } as const;

async function bareArgon2(concurrency: number, seconds: number): Promise<number> {
  const hash = await argon2.hash(PASSWORD, OWASP);
  let done = 0;
  const deadline = Date.now() + seconds * 1000;
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

// Bare argon2id verifications one at a time, forever, in a process of its own: what one busy
// hashing thread does to this machine, with no login code at all.
function startBareHashing(): () => void {
  const argon2Path = fileURLToPath(import.meta.resolve('argon2'));
  const code = `const a = require(${JSON.stringify(argon2Path)});
(async () => { const h = await a.hash('x', { type: a.argon2id, memoryCost: 19456, timeCost: 2, parallelism: 1 }); for (;;) await a.verify(h, 'x'); })();`;
  const child = spawn(process.execPath, ['-e', code], { stdio: 'ignore' });
  return () => child.kill();
}

async function loginLoad(url: string, connections: number, seconds: number, username: string): Promise<{ rps: number; okPerSecond: number; non2xx: number }> {
  const result = await autocannon({
    url: `${url}/auth/login`,
    method: 'POST',
    connections,
    duration: seconds,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password: PASSWORD }),
  });
  return { rps: result.requests.average, okPerSecond: result['2xx'] / seconds, non2xx: result.non2xx };
}

async function main(): Promise<void> {
  const bareOne = await bareArgon2(1, 5);
  const bareTwo = await bareArgon2(2, 5);

  const rows: string[] = [];
  let floor = '';
  // The flood is 32 connections logging one account in with its right password. With the login
  // throttle on (the default), attempts in flight count against the account until they
  // succeed, so most of the flood is answered 429 without hashing: the last row. The first two
  // turn the throttle off so the flood reaches argon2id, which is what the hashing bound is for.
  const configs = [
    { maxHashes: '1', throttle: 'off' },
    { maxHashes: '2', throttle: 'off' },
    { maxHashes: '1', throttle: 'on' },
  ];
  for (const { maxHashes, throttle } of configs) {
    const port = await freePort();
    const child = await startProcess(appScript, { PORT: String(port), BENCH_STORE: 'memory', BENCH_MAX_HASHES: maxHashes, BENCH_LOGIN_THROTTLE: throttle });
    const url = `http://127.0.0.1:${port}`;
    try {
      const username = `bench_login_${Date.now()}`;
      await postJson(`${url}/auth/register`, { username, password: PASSWORD });
      const token = (await postJson(`${url}/auth/login`, { username, password: PASSWORD })).accessToken as string;

      const logins = await loginLoad(url, 8, 8, username);
      if (logins.non2xx > 0) throw new Error(`${logins.non2xx} logins failed`);

      const getAtRate = (): Promise<Awaited<ReturnType<typeof load>>> =>
        load(`${url}/guarded`, { connections: 10, seconds: 6, rate: 300, headers: { authorization: `Bearer ${token}` } });
      await getAtRate(); // warm-up
      // Calm and flood alternate five times; the medians of their p50/p99 are reported.
      const calmRuns = [];
      const floodRuns = [];
      const floodRates: Array<{ ok: number; refused: number }> = [];
      const bareRuns = [];
      for (let pair = 0; pair < 5; pair++) {
        calmRuns.push(await getAtRate());
        if (maxHashes === '1' && throttle === 'off') {
          const stopHashing = startBareHashing();
          await new Promise((resolve) => setTimeout(resolve, 500));
          bareRuns.push(await getAtRate());
          stopHashing();
        }
        const flood = loginLoad(url, 32, 7, username);
        await new Promise((resolve) => setTimeout(resolve, 500));
        floodRuns.push(await getAtRate());
        const flooded = await flood;
        floodRates.push({ ok: flooded.okPerSecond, refused: flooded.rps - flooded.okPerSecond });
      }
      const calm = { p50Ms: median(calmRuns.map((r) => r.p50Ms)), p99Ms: median(calmRuns.map((r) => r.p99Ms)) };
      const during = { p50Ms: median(floodRuns.map((r) => r.p50Ms)), p99Ms: median(floodRuns.map((r) => r.p99Ms)) };
      if (bareRuns.length > 0) {
        const bareP99 = median(bareRuns.map((r) => r.p99Ms));
        floor =
          `With one thread of bare argon2id running in another process (no login code at all), the same GETs had a p99 of ${bareP99} ms: ` +
          `${(bareP99 / Math.max(calm.p99Ms, 1)).toFixed(2)}x calm, against ${(during.p99Ms / Math.max(calm.p99Ms, 1)).toFixed(2)}x during the login flood with one hashing thread.`;
      }
      const floodOk = median(floodRates.map((rate) => rate.ok));
      const floodRefused = median(floodRates.map((rate) => rate.refused));
      rows.push(
        `| ${maxHashes} | ${throttle} | ${logins.rps.toFixed(1)}/s | ${(logins.rps / bareOne).toFixed(2)}x | ${(logins.rps / bareTwo).toFixed(2)}x | ` +
          `${calm.p50Ms} / ${calm.p99Ms} ms | ${during.p50Ms} / ${during.p99Ms} ms (${floodOk.toFixed(0)} logins/s, ${floodRefused.toFixed(0)}/s refused) | ` +
          `${(during.p99Ms / Math.max(calm.p99Ms, 1)).toFixed(2)}x |`,
      );
    } finally {
      await stopProcess(child);
    }
  }

  console.log('\nLogins: argon2id m=19456 KiB, t=2, p=1, on this machine\n');
  console.log(`bare argon2id verify: ${bareOne.toFixed(1)}/s one at a time (one core), ${bareTwo.toFixed(1)}/s two at a time (both cores)\n`);
  console.log('| maxConcurrentHashes | login throttle | POST /auth/login, 8 conns | vs bare, 1 at a time | vs bare, 2 at a time | guarded GET at 300/s, calm p50 / p99 (median of 5) | same during a 32-connection login flood (median of 5) | p99 flood / calm |');
  console.log('|---:|---|---:|---:|---:|---:|---:|---:|');
  for (const row of rows) console.log(row);
  if (floor) console.log(`\n${floor}`);
}

await main();
