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
// value: what one busy hashing thread does to this machine, with no login code at all.
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

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const RATE = 300;
const GET_SECONDS = 8;
const LOGIN_SECONDS = 4;

/** A ratio's median over the rounds, with its spread and each round's value. */
function spread(values: number[]): string {
  return `${median(values).toFixed(2)}x (${Math.min(...values).toFixed(2)} to ${Math.max(...values).toFixed(2)}; rounds ${values.map((v) => v.toFixed(2)).join(', ')})`;
}

// A flood of POST /auth/login from autocannon in a process of its own, for GET_SECONDS + 2 s,
// started 1 s before the measured GETs.
function loginFlood(url: string, username: string, password: string): () => Promise<{ ok: number; non2xx: number }> {
  const flood = loadInOwnProcess(`${url}/auth/login`, {
    connections: 32,
    seconds: GET_SECONDS + 2,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password }),
  });
  flood.catch(() => undefined); // awaited by the caller; a failure must not go unhandled meanwhile
  return () => flood;
}

async function main(): Promise<void> {
  const lines: string[] = [];
  // Three configurations, each in an app of its own, each measured over ROUNDS rounds whose
  // ratios are taken within the round:
  //  - maxConcurrentHashes 1 and 2, login throttle off, so a flood reaches argon2id: logins/s
  //    against bare argon2id with as many threads, measured in the same round; and (1 only) the
  //    guarded GETs' p99 during a 32-connection flood of right-password logins against their p99
  //    while one bare argon2id thread runs in another process (the machine's floor: the hashing
  //    is the same work, without nest-warden).
  //  - the login throttle on (the default), one account flooded with wrong passwords: once its
  //    budget is spent, every attempt is answered 429 without hashing. The GETs' p99 during that
  //    flood against their p99 during a 32-connection flood of GET /open on the same app.
  const configs = [
    { maxHashes: 1, throttle: 'off' },
    { maxHashes: 2, throttle: 'off' },
    { maxHashes: 1, throttle: 'on' },
  ] as const;
  for (const { maxHashes, throttle } of configs) {
    const port = await freePort();
    const child = await startProcess(appScript, {
      PORT: String(port),
      BENCH_STORE: 'memory',
      BENCH_MAX_HASHES: String(maxHashes),
      BENCH_LOGIN_THROTTLE: throttle,
    });
    const url = `http://127.0.0.1:${port}`;
    try {
      const username = `bench_login_${Date.now()}`;
      await postJson(`${url}/auth/register`, { username, password: PASSWORD });
      // The GETs run as another user: the floods' logins would evict the flooded user's oldest
      // sessions (maxSessionsPerUser), and, with the throttle on, its budget is spent on purpose.
      const reader = `${username}_reader`;
      await postJson(`${url}/auth/register`, { username: reader, password: PASSWORD });
      const token = (await postJson(`${url}/auth/login`, { username: reader, password: PASSWORD })).accessToken as string;
      const getAtRate = async (): Promise<PacedResult> => {
        const result = await paced(`${url}/guarded`, { rate: RATE, seconds: GET_SECONDS, headers: { authorization: `Bearer ${token}` } });
        if (result.failed > 0) throw new Error(`${result.failed} guarded GETs failed`);
        return result;
      };
      await getAtRate(); // warm-up
      const calm: number[] = [];
      const loginsVsBare: number[] = [];
      const loginRates: number[] = [];
      const bareRates: number[] = [];
      const p99VsFloor: number[] = [];
      const p99VsOpenFlood: number[] = [];
      const floodRates: Array<{ ok: number; refused: number }> = [];
      for (let round = 0; round < ROUNDS; round++) {
        calm.push((await getAtRate()).p99Ms);
        if (throttle === 'off') {
          const bare = await bareArgon2(maxHashes, LOGIN_SECONDS);
          const logins = await loginLoad(url, 8, LOGIN_SECONDS, username);
          if (logins.non2xx > 0) throw new Error(`${logins.non2xx} logins failed`);
          bareRates.push(bare);
          loginRates.push(logins.rps);
          loginsVsBare.push(logins.rps / bare);
        }
        if (throttle === 'off' && maxHashes === 1) {
          const stop = startBareHashing(0);
          await new Promise((resolve) => setTimeout(resolve, 500));
          const floor = (await getAtRate()).p99Ms;
          await stop();
          const flood = loginFlood(url, username, PASSWORD);
          await new Promise((resolve) => setTimeout(resolve, 1000));
          const during = (await getAtRate()).p99Ms;
          const flooded = await flood();
          floodRates.push({ ok: flooded.ok / (GET_SECONDS + 2), refused: flooded.non2xx / (GET_SECONDS + 2) });
          p99VsFloor.push(during / floor);
        }
        if (throttle === 'on') {
          const open = loadInOwnProcess(`${url}/open`, { connections: 32, seconds: GET_SECONDS + 2 });
          open.catch(() => undefined);
          await new Promise((resolve) => setTimeout(resolve, 1000));
          const duringOpen = (await getAtRate()).p99Ms;
          await open;
          // Wrong passwords: the account's budget is spent within the first attempts, then 429s.
          const flood = loginFlood(url, username, 'wrong password 1');
          await new Promise((resolve) => setTimeout(resolve, 1000));
          const duringRefusals = (await getAtRate()).p99Ms;
          const flooded = await flood();
          floodRates.push({ ok: flooded.ok / (GET_SECONDS + 2), refused: flooded.non2xx / (GET_SECONDS + 2) });
          p99VsOpenFlood.push(duringRefusals / duringOpen);
        }
      }
      const name = `maxConcurrentHashes ${maxHashes}, login throttle ${throttle}`;
      lines.push(`\n**${name}** (guarded GET at ${RATE}/s, calm p99 ${median(calm).toFixed(2)} ms)`);
      if (loginsVsBare.length) {
        lines.push(
          `- logins/s (8 connections) ${median(loginRates).toFixed(1)} against bare argon2id with ${maxHashes} thread(s) ${median(bareRates).toFixed(1)}/s: ${spread(loginsVsBare)}; target >= 0.90x`,
        );
      }
      if (p99VsFloor.length) {
        lines.push(
          `- guarded-GET p99 during a 32-connection login flood (${median(floodRates.map((r) => r.ok)).toFixed(0)} logins/s) against one bare argon2id thread in another process: ${spread(p99VsFloor)}; target <= 1.20x`,
        );
      }
      if (p99VsOpenFlood.length) {
        lines.push(
          `- guarded-GET p99 during a 32-connection flood of wrong passwords at one account (${median(floodRates.map((r) => r.refused)).toFixed(0)}/s answered 429, ${median(floodRates.map((r) => r.ok)).toFixed(0)}/s 2xx) against a 32-connection flood of GET /open: ${spread(p99VsOpenFlood)}; target <= 1.50x`,
        );
      }
    } finally {
      await stopProcess(child);
    }
  }
  console.log(`\nLogins: argon2id m=19456 KiB, t=2, p=1; ${ROUNDS} rounds, ratios within each round, medians with their spread`);
  for (const line of lines) console.log(line);
}

await main();
