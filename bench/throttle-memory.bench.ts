// Memory of the login throttle under a flood of distinct usernames: 1M login attempts, each
// with a username never seen before, counted by LoginDefence on the default
// InMemoryThrottleStore. Two floods: from one client IP (refused once the IP is over its
// limit, so no username counter is opened) and from a new IP per attempt (every attempt
// admitted; the store's maxCounters bound holds). Password hashing is not run: the throttle
// decides before it. Run with --expose-gc (npm run bench does).
import { Logger } from '@nestjs/common';
import { resolveAuthConfig } from '../src/auth/auth.config.js';
import { TooManyAttemptsError } from '../src/auth/auth.errors.js';
import { InMemoryThrottleStore } from '../src/auth/index.js';
import { FakeClock } from '../src/auth/testing/fake-clock.js';
import { LoginDefence } from '../src/auth/throttle/login-defence.js';
import { heapAfterGc } from './lib.js';

const COUNT = Number(process.env.BENCH_USERNAMES ?? 1_000_000);
const SAMPLES = 5;

async function flood(name: string, ipOf: (i: number) => string): Promise<void> {
  const clock = new FakeClock();
  const throttleStore = new InMemoryThrottleStore({ clock: clock.now });
  const defence = new LoginDefence(
    resolveAuthConfig({ secret: 'bench-secret-of-at-least-thirty-two-bytes', clock: clock.now }),
    throttleStore,
  );
  const baseline = heapAfterGc();
  const rows: string[] = [];
  let refused = 0;
  for (let i = 1; i <= COUNT; i++) {
    try {
      const admission = await defence.admitLogin(`flood-user-${i}`, { ip: ipOf(i) }, undefined, () => Promise.resolve(null));
      await admission.reservation.failed();
    } catch (error) {
      if (!(error instanceof TooManyAttemptsError)) throw error;
      refused++;
    }
    if (i % (COUNT / SAMPLES) === 0) {
      const heap = heapAfterGc();
      rows.push(
        `| ${name} | ${i.toLocaleString('en-US')} | ${refused.toLocaleString('en-US')} | ${throttleStore.size.toLocaleString('en-US')} | ${((heap - baseline) / 2 ** 20).toFixed(1)} MiB |`,
      );
    }
  }
  console.log(rows.join('\n'));
  throttleStore.onModuleDestroy();
}

async function main(): Promise<void> {
  Logger.overrideLogger(false);
  console.log(
    `\nLogin throttle under a flood of ${COUNT.toLocaleString('en-US')} distinct usernames (InMemoryThrottleStore, default limits)\n`,
  );
  console.log('| flood | attempts | refused 429 | counters held | heap growth |');
  console.log('|---|---:|---:|---:|---:|');
  await flood('one client IP', () => '198.51.100.7');
  await flood('a new IP per attempt', (i) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);
}

await main();
