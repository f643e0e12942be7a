// Micro-benchmark of AuthGuard alone: CPU time per canActivate call, made as Nest makes it (a
// fresh request and ExecutionContextHost per call, the result awaited), by 50 concurrent
// callers, in one process with no HTTP. CPU time (process.cpuUsage), unlike req/s, hardly moves
// with other load on the machine, so it shows what a change to the guard's path is worth. Cases
// alternate in rounds; medians. The Redis case counts only this process's CPU, not Redis's.
import 'reflect-metadata';
import { Module, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host.js';
import { AuditSink, AuthGuard, AuthModule, AuthService, type AuthModuleOptions } from '../src/auth/index.js';
// The Redis stores' entry point: nestjs-warden/redis in the package.
import { RedisSessionStore } from '../src/auth/redis/index.js';
import { median } from './lib.js';

class SilentAudit extends AuditSink {
  emit(): void {}
}

const SECRET = 'bench-secret-that-is-at-least-32-bytes!!';
const CALLERS = 50;
const CALLS = Number(process.env.BENCH_CALLS ?? 200_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);

class BenchController {
  handler(): void {}
}

interface Case {
  name: string;
  guard: CanActivate;
  header: string;
  calls: number;
  close: () => Promise<void>;
  cpuNs: number[];
}

async function guardCase(name: string, options: AuthModuleOptions, calls: number): Promise<Case> {
  @Module({ imports: [AuthModule.forRoot({ ...options, secret: SECRET, audit: new SilentAudit(), loginThrottle: false })] })
  class GuardBenchModule {}
  const app = await NestFactory.createApplicationContext(GuardBenchModule, { logger: ['error'] });
  const auth = app.get(AuthService);
  const username = `guard_bench_${Date.now()}`;
  await auth.register(username, 'bench password 1');
  const login = (await auth.login(username, 'bench password 1'))!;
  return { name, guard: app.get(AuthGuard), header: `Bearer ${login.accessToken}`, calls, close: () => app.close(), cpuNs: [] };
}

// Awaits like Nest's GuardsConsumer, which awaits an async function returning the guard's answer.
async function settle(answer: ReturnType<CanActivate['canActivate']>): Promise<unknown> {
  return answer;
}

async function callOnce(c: Case): Promise<void> {
  // Fastify's shape: headers, and the Node request underneath with its raw header lines.
  const request = {
    headers: { host: '127.0.0.1', authorization: c.header },
    raw: { rawHeaders: ['Host', '127.0.0.1', 'Authorization', c.header] },
  };
  const context: ExecutionContext = new ExecutionContextHost([request, {}, undefined], BenchController, BenchController.prototype.handler);
  if ((await settle(c.guard.canActivate(context))) !== true) throw new Error(`${c.name}: refused`);
}

async function cpuPerCall(c: Case, calls: number): Promise<number> {
  const before = process.cpuUsage();
  await Promise.all(
    Array.from({ length: CALLERS }, async () => {
      for (let i = 0; i < calls / CALLERS; i++) await callOnce(c);
    }),
  );
  const used = process.cpuUsage(before);
  return ((used.user + used.system) * 1000) / calls;
}

async function main(): Promise<void> {
  const cases: Case[] = [
    {
      name: 'no-op guard (always true): the harness alone',
      guard: { canActivate: () => true },
      header: 'Bearer a.b.c',
      calls: CALLS,
      close: async () => undefined,
      cpuNs: [],
    },
    await guardCase('AuthGuard, memory store, token seen before', {}, CALLS),
    await guardCase(
      'AuthGuard, Redis store, token seen before',
      {
        sessionStore: new RedisSessionStore({
          url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
          keyPrefix: `bench-guard-${process.pid}`,
        }),
      },
      Math.ceil(CALLS / 4),
    ),
  ];
  try {
    for (const c of cases) await cpuPerCall(c, Math.ceil(c.calls / 4));
    for (let round = 0; round < ROUNDS; round++) {
      for (const c of round % 2 ? [...cases].reverse() : cases) c.cpuNs.push(await cpuPerCall(c, c.calls));
    }
  } finally {
    for (const c of cases) await c.close();
  }
  const harness = median(cases[0]!.cpuNs);
  console.log(
    `\nAuthGuard.canActivate, one process, ${CALLERS} concurrent callers, ${ROUNDS} rounds, medians (CPU time of this process)\n`,
  );
  console.log('| case | CPU us per call | minus the harness |');
  console.log('|---|---:|---:|');
  for (const c of cases) {
    const ns = median(c.cpuNs);
    console.log(`| ${c.name} | ${(ns / 1000).toFixed(2)} | ${((ns - harness) / 1000).toFixed(2)} |`);
  }
}

await main();
