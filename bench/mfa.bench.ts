// The second factor's cost (#18), in three parts:
// 1. TOTP verifications per second in one process: the bare library (@otplib/totp's verify with
//    the options and plugins Totp uses: node:crypto, rfc4648 base32), against nest-warden's path (Totp.matchingStep, then the replay marker
//    through MfaStore.markUsed, as TotpFactorService.totpMatches does it) on an InMemoryMfaStore
//    and on a RedisMfaStore on a private redis-server this bench starts. A valid code for the
//    current step each time, from a pool of secrets; every mark is new (a new user each time), so
//    every mark is a first mark. CALLERS concurrent callers, cases alternating in rounds, medians;
//    wall-clock rate, this process's CPU time per verification and Redis's (INFO cpu).
// 2. AuthGuard.canActivate alone, as bench/guard.bench.ts measures it (CPU time per call, made as
//    Nest makes it, 50 concurrent callers), on a handler without step-up metadata and on one with
//    @RequireMfa(), the same token (amr ['pwd', 'otp']) for both; the ratio of calls/s is taken
//    within each round, then the median.
// 3. Optional (BENCH_MFA_HTTP=off skips it): the same two routes over HTTP with autocannon, the app
//    in a process of its own (this script, run with BENCH_MFA_APP set) on core 1, autocannon on
//    core 0, as bench/http.bench.ts does.
import 'reflect-metadata';
import { Controller, Get, Module, UseGuards, type CanActivate, type ExecutionContext, type INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host.js';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Redis } from 'ioredis';
import { generateSecret } from '@otplib/core';
import { generate, verify } from '@otplib/totp';
import { fileURLToPath } from 'node:url';
import { totpCodeOf } from '../src/auth/flows/mfa/recovery-codes.js';
import { TOTP_PLUGINS } from '../src/auth/flows/mfa/totp.js';
import {
  AuditSink,
  AuthGuard,
  AuthModule,
  AuthService,
  CurrentUser,
  InMemoryMfaStore,
  type MfaStore,
  RequireMfa,
  SessionService,
  Totp,
  TOTP_DIGITS,
  TOTP_PERIOD_SECONDS,
  UserStore,
} from '../src/auth/index.js';
// The Redis stores' entry point: nestjs-warden/redis in the package.
import { RedisMfaStore } from '../src/auth/redis/index.js';
import { startTestRedis } from '../test/utils/redis-server.js';
import { freePort, load, median, pinSelf, startProcess, stopProcess, type LoadResult } from './lib.js';

class SilentAudit extends AuditSink {
  emit(): void {}
}

const SECRET = 'bench-secret-that-is-at-least-32-bytes!!';
const CALLERS = 50;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const VERIFICATIONS = Number(process.env.BENCH_VERIFICATIONS ?? 20_000);
const CALLS = Number(process.env.BENCH_CALLS ?? 200_000);
const HTTP = process.env.BENCH_MFA_HTTP !== 'off';
const HTTP_ROUNDS = Number(process.env.BENCH_HTTP_ROUNDS ?? 8);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
// TotpFactorService's lifetime of a used step's marker (USED_STEP_TTL_SECONDS there).
const USED_STEP_TTL_SECONDS = TOTP_PERIOD_SECONDS * 4;
const SECRETS = 1024;

// ---------------------------------------------------------------------------------------------
// 1. TOTP verifications per second.

interface TotpCase {
  name: string;
  /** One verification with the n-th input; true when accepted. */
  run: (n: number) => Promise<boolean>;
  /** Called before each round (a fresh store). */
  beforeRound?: () => void;
  /** The server's cumulative CPU seconds, for a case with a server (Redis). */
  serverCpuSeconds?: () => Promise<number>;
  perSecond: number[];
  cpuUs: number[];
  serverCpuUs: number[];
}

// Runs `count` verifications from CALLERS concurrent callers; each must be accepted.
async function totpRound(
  c: TotpCase,
  count: number,
  next: { n: number },
): Promise<{ perSecond: number; cpuUs: number; serverCpuUs: number }> {
  c.beforeRound?.();
  const serverBefore = (await c.serverCpuSeconds?.()) ?? 0;
  let started = 0;
  const before = process.cpuUsage();
  const startedAt = performance.now();
  await Promise.all(
    Array.from({ length: CALLERS }, async () => {
      while (started < count) {
        started++;
        if (!(await c.run(next.n++))) throw new Error(`${c.name}: a valid code was refused`);
      }
    }),
  );
  const seconds = (performance.now() - startedAt) / 1000;
  const used = process.cpuUsage(before);
  const serverCpu = ((await c.serverCpuSeconds?.()) ?? 0) - serverBefore;
  return { perSecond: count / seconds, cpuUs: (used.user + used.system) / count, serverCpuUs: (serverCpu * 1e6) / count };
}

async function totpBench(): Promise<void> {
  // One instant for the whole run, so every code stays valid however long the run takes.
  const nowMs = Date.now();
  const epoch = Math.floor(nowMs / 1000);
  const secrets = Array.from({ length: SECRETS }, () => generateSecret(TOTP_PLUGINS));
  const codes = await Promise.all(
    secrets.map((secret) =>
      generate({ ...TOTP_PLUGINS, secret, epoch, digits: TOTP_DIGITS, period: TOTP_PERIOD_SECONDS, algorithm: 'sha1' }),
    ),
  );
  const totp = new Totp();
  const redisServer = await startTestRedis({ privateServer: true });
  // The test server fsyncs its append-only file on every write (appendfsync always), which would
  // time the disk: everysec is Redis's own default for an append-only file.
  const admin = new Redis(redisServer.url);
  await admin.config('SET', 'appendfsync', 'everysec');
  const redisVersion = /redis_version:(\S+)/.exec(await admin.info('server'))?.[1];
  const redisCpuSeconds = async (): Promise<number> => {
    const info = await admin.info('cpu');
    return Number(/used_cpu_user:([\d.]+)/.exec(info)?.[1]) + Number(/used_cpu_sys:([\d.]+)/.exec(info)?.[1]);
  };
  const redis = new RedisMfaStore({ url: redisServer.url, keyPrefix: `bench-mfa-${process.pid}` });
  // A fresh in-memory store each round, so every round starts from an empty map (the store never
  // evicts: a round's marks all stay until they expire, 120 s on).
  let memory = new InMemoryMfaStore();

  // nest-warden's path, as TotpFactorService.totpMatches runs it: the mark's end read from the
  // clock on each call, as the service does.
  const wardenCase = (name: string, store: () => MfaStore, extra: Partial<TotpCase> = {}): TotpCase => ({
    name,
    perSecond: [],
    cpuUs: [],
    serverCpuUs: [],
    run: async (n) => {
      const code = codes[n % SECRETS]!;
      const step = await totp.matchingStep(secrets[n % SECRETS]!, totpCodeOf(code), nowMs);
      return step !== null && (await store().markUsed(`user-${n}`, `totp:${step}`, new Date(Date.now() + USED_STEP_TTL_SECONDS * 1000)));
    },
    ...extra,
  });
  const cases: TotpCase[] = [
    {
      name: 'bare `@otplib/totp` `verify` (SHA-1, 6 digits, 30 s, one step of drift)',
      perSecond: [],
      cpuUs: [],
      serverCpuUs: [],
      run: async (n) => {
        const result = await verify({
          ...TOTP_PLUGINS,
          secret: secrets[n % SECRETS]!,
          token: codes[n % SECRETS]!,
          epoch,
          epochTolerance: TOTP_PERIOD_SECONDS,
          digits: TOTP_DIGITS,
          period: TOTP_PERIOD_SECONDS,
          algorithm: 'sha1',
        });
        return result.valid;
      },
    },
    wardenCase('nest-warden: `Totp.matchingStep` + `markUsed`, `InMemoryMfaStore`', () => memory, {
      beforeRound: () => {
        memory = new InMemoryMfaStore();
      },
    }),
    wardenCase('nest-warden: `Totp.matchingStep` + `markUsed`, `RedisMfaStore`', () => redis, {
      serverCpuSeconds: redisCpuSeconds,
    }),
  ];
  // Inputs numbered per case from its own offset, so no (user, marker) is ever marked twice.
  const offsets = cases.map((_, i) => ({ n: i * 100_000_000 }));
  try {
    // The mark does what it is for: a second mark of the same step is refused.
    for (const store of [memory, redis]) {
      const userId = `replay-check-${process.pid}`;
      const until = new Date(Date.now() + USED_STEP_TTL_SECONDS * 1000);
      if (!(await store.markUsed(userId, 'totp:1', until)) || (await store.markUsed(userId, 'totp:1', until))) {
        throw new Error('the replay marker did not refuse a second mark');
      }
    }
    for (const [i, c] of cases.entries()) await totpRound(c, Math.ceil(VERIFICATIONS / 4), offsets[i]!);
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 ? [...cases.keys()].reverse() : [...cases.keys()];
      for (const i of order) {
        const c = cases[i]!;
        const result = await totpRound(c, VERIFICATIONS, offsets[i]!);
        c.perSecond.push(result.perSecond);
        c.cpuUs.push(result.cpuUs);
        c.serverCpuUs.push(result.serverCpuUs);
      }
    }
  } finally {
    await redis.onModuleDestroy();
    admin.disconnect();
    await redisServer.stop();
  }

  // Ratios within each round, then the median.
  const bare = cases[0]!;
  console.log(
    `\nTOTP verification, one process, ${CALLERS} concurrent callers, ${ROUNDS} rounds of ${VERIFICATIONS.toLocaleString('en-US')}, medians; ` +
      `a valid code for the current step each time, a new mark each time; private redis-server ${redisVersion} (appendfsync everysec)\n`,
  );
  console.log(
    '| case | verifications/s | vs bare | rounds, lowest to highest | CPU us each (this process) | vs bare, by CPU | Redis CPU us each |',
  );
  console.log('|---|---:|---:|---:|---:|---:|---:|');
  for (const c of cases) {
    const ratios = c.perSecond.map((rate, round) => rate / bare.perSecond[round]!);
    const cpuRatios = c.cpuUs.map((us, round) => bare.cpuUs[round]! / us);
    console.log(
      `| ${c.name} | ${Math.round(median(c.perSecond)).toLocaleString('en-US')} | ${median(ratios).toFixed(2)}x | ` +
        `${Math.min(...ratios).toFixed(2)} to ${Math.max(...ratios).toFixed(2)} | ${median(c.cpuUs).toFixed(2)} | ${median(cpuRatios).toFixed(2)}x | ` +
        `${c.serverCpuSeconds ? median(c.serverCpuUs).toFixed(2) : '-'} |`,
    );
  }
}

// ---------------------------------------------------------------------------------------------
// 2. AuthGuard.canActivate with and without @RequireMfa().

class StepUpController {
  plain(): void {}

  @RequireMfa()
  secure(): void {}
}

interface GuardCase {
  name: string;
  guard: CanActivate;
  handler: () => void;
  cpuNs: number[];
}

// Awaits like Nest's GuardsConsumer, which awaits an async function returning the guard's answer.
async function settle(answer: ReturnType<CanActivate['canActivate']>): Promise<unknown> {
  return answer;
}

async function callOnce(c: GuardCase, header: string): Promise<void> {
  // Fastify's shape: headers, and the Node request underneath with its raw header lines.
  const request = {
    headers: { host: '127.0.0.1', authorization: header },
    raw: { rawHeaders: ['Host', '127.0.0.1', 'Authorization', header] },
  };
  const context: ExecutionContext = new ExecutionContextHost([request, {}, undefined], StepUpController, c.handler);
  if ((await settle(c.guard.canActivate(context))) !== true) throw new Error(`${c.name}: refused`);
}

async function cpuPerCall(c: GuardCase, header: string, calls: number): Promise<number> {
  const before = process.cpuUsage();
  await Promise.all(
    Array.from({ length: CALLERS }, async () => {
      for (let i = 0; i < calls / CALLERS; i++) await callOnce(c, header);
    }),
  );
  const used = process.cpuUsage(before);
  return ((used.user + used.system) * 1000) / calls;
}

/** A user with a session signed in with password and TOTP, and its access token. */
async function mfaToken(app: INestApplicationContext): Promise<{ token: string; pwdOnly: string }> {
  const username = `mfa_bench_${Date.now()}`;
  await app.get(AuthService).register(username, 'bench password 1');
  const user = (await app.get(UserStore).findByUsername(username))!;
  const sessions = app.get(SessionService);
  const withOtp = await sessions.open(user, {}, ['pwd', 'otp']);
  const withPassword = await sessions.open(user, {}, ['pwd']);
  return {
    token: (await sessions.tokensFor(withOtp.session, withOtp.refreshToken)).accessToken,
    pwdOnly: (await sessions.tokensFor(withPassword.session, withPassword.refreshToken)).accessToken,
  };
}

async function guardBench(): Promise<void> {
  @Module({ imports: [AuthModule.forRoot({ secret: SECRET, audit: new SilentAudit(), loginThrottle: false })] })
  class GuardBenchModule {}
  const app = await NestFactory.createApplicationContext(GuardBenchModule, { logger: ['error'] });
  const { token, pwdOnly } = await mfaToken(app);
  const header = `Bearer ${token}`;
  const guard = app.get(AuthGuard);
  const cases: GuardCase[] = [
    {
      name: 'no-op guard (always true): the harness alone',
      guard: { canActivate: () => true },
      handler: StepUpController.prototype.plain,
      cpuNs: [],
    },
    { name: 'AuthGuard, memory store, no step-up metadata', guard, handler: StepUpController.prototype.plain, cpuNs: [] },
    { name: 'AuthGuard, memory store, `@RequireMfa()`', guard, handler: StepUpController.prototype.secure, cpuNs: [] },
  ];
  try {
    // The rule is checked: the same route refuses a session signed in with a password only.
    const refused = await callOnce(cases[2]!, `Bearer ${pwdOnly}`).then(
      () => false,
      (error: unknown) => (error as { getStatus?: () => number }).getStatus?.() === 403,
    );
    if (!refused) throw new Error('@RequireMfa() let a password-only session through');
    for (const c of cases) await cpuPerCall(c, header, Math.ceil(CALLS / 4));
    for (let round = 0; round < ROUNDS; round++) {
      for (const c of round % 2 ? [...cases].reverse() : cases) c.cpuNs.push(await cpuPerCall(c, header, CALLS));
    }
  } finally {
    await app.close();
  }
  const harness = median(cases[0]!.cpuNs);
  // calls/s with @RequireMfa() against without: CPU per call without / with, within each round.
  const ratios = cases[2]!.cpuNs.map((ns, round) => cases[1]!.cpuNs[round]! / ns);
  const lessHarness = cases[2]!.cpuNs.map(
    (ns, round) => (cases[1]!.cpuNs[round]! - cases[0]!.cpuNs[round]!) / (ns - cases[0]!.cpuNs[round]!),
  );
  console.log(
    `\nAuthGuard.canActivate, one process, ${CALLERS} concurrent callers, ${ROUNDS} rounds of ${CALLS.toLocaleString('en-US')} calls, medians (CPU time of this process); token amr ['pwd', 'otp']\n`,
  );
  console.log('| case | CPU us per call | minus the harness |');
  console.log('|---|---:|---:|');
  for (const c of cases) {
    const ns = median(c.cpuNs);
    console.log(`| ${c.name} | ${(ns / 1000).toFixed(3)} | ${((ns - harness) / 1000).toFixed(3)} |`);
  }
  console.log(
    `\ncalls/s with \`@RequireMfa()\` / without: ${median(ratios).toFixed(3)}x (rounds ${Math.min(...ratios).toFixed(3)} to ${Math.max(...ratios).toFixed(3)}); ` +
      `the guard's own work only (harness taken off): ${median(lessHarness).toFixed(3)}x (rounds ${Math.min(...lessHarness).toFixed(3)} to ${Math.max(...lessHarness).toFixed(3)})`,
  );
}

// ---------------------------------------------------------------------------------------------
// 3. The same over HTTP (optional).

// The tokens of the app's own user, made in its process's session store at start-up.
let appTokens: { token: string; pwdOnly: string } | undefined;

@Controller()
class HttpStepUpController {
  // The bench's own, unguarded: the tokens the load is sent with.
  @Get('bench-token')
  benchToken(): { token: string; pwdOnly: string } {
    return appTokens!;
  }

  @Get('plain')
  @UseGuards(AuthGuard)
  plain(@CurrentUser('userId') userId: string): { ok: true; userId: string } {
    return { ok: true, userId };
  }

  @Get('secure')
  @UseGuards(AuthGuard)
  @RequireMfa()
  secure(@CurrentUser('userId') userId: string): { ok: true; userId: string } {
    return { ok: true, userId };
  }
}

@Module({
  imports: [AuthModule.forRoot({ secret: SECRET, audit: new SilentAudit(), loginThrottle: false })],
  controllers: [HttpStepUpController],
})
class HttpStepUpModule {}

async function serveApp(): Promise<void> {
  const adapter = process.env.BENCH_ADAPTER === 'express' ? undefined : new FastifyAdapter();
  const app = adapter
    ? await NestFactory.create(HttpStepUpModule, adapter, { logger: ['error'] })
    : await NestFactory.create(HttpStepUpModule, { logger: ['error'] });
  appTokens = await mfaToken(app);
  await app.listen(Number(process.env.PORT), '127.0.0.1');
  process.send?.('ready');
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => void app.close().then(() => process.exit(0)));
}

async function httpBench(): Promise<void> {
  const adapters = (process.env.BENCH_ADAPTERS ?? 'fastify').split(',');
  pinSelf(0);
  console.log(
    `\nHTTP, autocannon -c 50, ${HTTP_ROUNDS} rounds x ${SECONDS} s after an unmeasured second each, medians; app on core 1, load on core 0\n`,
  );
  console.log('| adapter | route | req/s | p99 ms | `@RequireMfa()` vs without | rounds, lowest to highest |');
  console.log('|---|---|---:|---:|---:|---:|');
  for (const adapter of adapters) {
    const port = await freePort();
    const child = await startProcess(fileURLToPath(import.meta.url), { BENCH_MFA_APP: '1', PORT: String(port), BENCH_ADAPTER: adapter }, 1);
    const url = `http://127.0.0.1:${port}`;
    const runs: Record<'plain' | 'secure', LoadResult[]> = { plain: [], secure: [] };
    try {
      const { token, pwdOnly } = (await (await fetch(`${url}/bench-token`)).json()) as { token: string; pwdOnly: string };
      const refused = await fetch(`${url}/secure`, { headers: { authorization: `Bearer ${pwdOnly}` } });
      if (refused.status !== 403) throw new Error(`@RequireMfa() answered ${refused.status} to a password-only session`);
      const headers = { authorization: `Bearer ${token}` };
      for (const path of ['plain', 'secure'] as const) await load(`${url}/${path}`, { connections: 50, seconds: 1, headers });
      for (let round = 0; round < HTTP_ROUNDS; round++) {
        for (const path of round % 2 ? (['secure', 'plain'] as const) : (['plain', 'secure'] as const)) {
          await load(`${url}/${path}`, { connections: 50, seconds: 1, headers });
          const result = await load(`${url}/${path}`, { connections: 50, seconds: SECONDS, headers });
          if (result.non2xx > 0 || result.errors > 0) throw new Error(`${path}: ${result.non2xx} non-2xx, ${result.errors} errors`);
          runs[path].push(result);
        }
      }
    } finally {
      await stopProcess(child);
    }
    const ratios = runs.secure.map((run, round) => run.requestsPerSecond / runs.plain[round]!.requestsPerSecond);
    for (const path of ['plain', 'secure'] as const) {
      const rps = Math.round(median(runs[path].map((run) => run.requestsPerSecond)));
      const p99 = median(runs[path].map((run) => run.p99Ms));
      const ratio = path === 'secure' ? `${median(ratios).toFixed(2)}x` : '1.00x';
      const spread = path === 'secure' ? `${Math.min(...ratios).toFixed(2)} to ${Math.max(...ratios).toFixed(2)}` : '';
      console.log(`| ${adapter} | AuthGuard${path === 'secure' ? ' + `@RequireMfa()`' : ''} | ${rps} | ${p99} | ${ratio} | ${spread} |`);
    }
  }
}

if (process.env.BENCH_MFA_APP) {
  await serveApp();
} else {
  await totpBench();
  await guardBench();
  if (HTTP) await httpBench();
}
