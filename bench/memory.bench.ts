// Memory per session in InMemorySessionStore: 1M live sessions, then expiry and a sweep.
// Run with --expose-gc (npm run bench does).
import { randomBytes, randomUUID } from 'node:crypto';
import { InMemorySessionStore } from '../src/auth/index.js';
import { FakeClock } from '../src/auth/testing/fake-clock.js';
import { issueRefreshToken } from '../src/auth/tokens/refresh-token.js';
import { heapAfterGc } from './lib.js';

const COUNT = Number(process.env.BENCH_SESSIONS ?? 1_000_000);

async function main(): Promise<void> {
  const clock = new FakeClock();
  const store = new InMemorySessionStore({ clock: clock.now, sweepIntervalSeconds: 0 });
  // What a login really stores: user ids and names come from the user store (one string per
  // user, three sessions per user here), agents and addresses from request headers.
  const users = Array.from({ length: Math.ceil(COUNT / 3) }, () => ({ id: randomUUID(), name: `user_${randomBytes(4).toString('hex')}` }));
  const agents = Array.from({ length: 50 }, (_, i) => `Mozilla/5.0 (X11; Linux x86_64) Chrome/${100 + i}.0 Safari/537.36`);
  const baseline = heapAfterGc();
  for (let i = 0; i < COUNT; i++) {
    const user = users[i % users.length]!;
    const id = store.generateSessionId(user.id);
    await store.create({
      id,
      userId: user.id,
      username: user.name,
      createdAt: clock.date(),
      lastSeenAt: clock.date(),
      expiresAt: clock.date(3600),
      idleTimeoutSeconds: 1800,
      refreshTokenHash: issueRefreshToken(id).hash,
      userAgent: agents[i % agents.length]!,
      ip: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
    });
  }
  const full = heapAfterGc();
  clock.advance(3601);
  const swept = store.sweep();
  const after = heapAfterGc();
  const perSession = (full - baseline) / COUNT;
  console.log(`\nInMemorySessionStore, ${COUNT.toLocaleString('en-US')} live sessions (3 per user)\n`);
  console.log('| measure | value |');
  console.log('|---|---:|');
  console.log(`| heap per live session | ${perSession.toFixed(0)} bytes |`);
  console.log(`| heap for all sessions | ${((full - baseline) / 2 ** 20).toFixed(0)} MiB |`);
  console.log(`| swept after expiry | ${swept.toLocaleString('en-US')} |`);
  console.log(`| heap left after the sweep, vs before the sessions | ${((after - baseline) / 2 ** 20).toFixed(1)} MiB |`);
  console.log(`| sessions still held | ${store.size} |`);
  // Keeps the user and agent strings alive to the end, so every measurement counts them alike.
  if (users.length + agents.length === 0) console.log('');
}

await main();
