// Redis memory per live session of RedisSessionStore: sessions created as a login creates them
// (refresh-token hash, idle timeout, user agent, address; three per user), on a private
// redis-server, measured as the used_memory delta (INFO memory) over the count.
// BENCH_REDIS_SESSIONS (default 200000) sets the count; the figure is per session, so a count of
// 1M is this one times five, which the bench says when it extrapolates.
import { randomBytes, randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { RedisSessionStore } from '../src/auth/redis/index.js';
import { FakeClock } from '../src/auth/testing/fake-clock.js';
import { issueRefreshToken } from '../src/auth/tokens/refresh-token.js';
import { startTestRedis } from '../test/utils/redis-server.js';

const COUNT = Number(process.env.BENCH_REDIS_SESSIONS ?? 200_000);
const CONCURRENCY = 64;

async function usedMemory(client: Redis): Promise<number> {
  const info = await client.info('memory');
  return Number(/used_memory:(\d+)/.exec(info)?.[1]);
}

async function main(): Promise<void> {
  const redis = await startTestRedis({ privateServer: true });
  const client = new Redis(redis.url);
  const clock = new FakeClock();
  const store = new RedisSessionStore({ client, clock: clock.now });
  const users = Array.from({ length: Math.ceil(COUNT / 3) }, () => ({ id: randomUUID(), name: `user_${randomBytes(4).toString('hex')}` }));
  const agents = Array.from({ length: 50 }, (_, i) => `Mozilla/5.0 (X11; Linux x86_64) Chrome/${100 + i}.0 Safari/537.36`);
  try {
    const baseline = await usedMemory(client);
    let next = 0;
    const worker = async (): Promise<void> => {
      for (let i = next++; i < COUNT; i = next++) {
        const user = users[i % users.length]!;
        const id = store.generateSessionId(user.id);
        await store.create({
          id,
          userId: user.id,
          username: user.name,
          createdAt: clock.date(),
          lastSeenAt: clock.date(),
          expiresAt: clock.date(43_200),
          idleTimeoutSeconds: 1800,
          refreshTokenHash: issueRefreshToken(id).hash,
          userAgent: agents[i % agents.length]!,
          ip: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
        });
      }
    };
    const started = performance.now();
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    const seconds = (performance.now() - started) / 1000;
    const full = await usedMemory(client);
    const perSession = (full - baseline) / COUNT;
    const keys = await client.dbsize();
    console.log(
      `\nRedisSessionStore on redis-server ${(await client.info('server')).match(/redis_version:(\S+)/)?.[1]}, ${COUNT.toLocaleString('en-US')} live sessions (3 per user)\n`,
    );
    console.log('| measure | value |');
    console.log('|---|---:|');
    console.log(`| used_memory per live session | ${perSession.toFixed(0)} bytes |`);
    console.log(`| keys per session | ${(keys / COUNT).toFixed(2)} (hash, liveness record; one index per user) |`);
    console.log(`| used_memory for all sessions | ${((full - baseline) / 2 ** 20).toFixed(1)} MiB |`);
    console.log(`| for 1M sessions (linear from this count) | ${((perSession * 1_000_000) / 2 ** 20).toFixed(0)} MiB |`);
    console.log(`| logins' session writes | ${(COUNT / seconds).toFixed(0)}/s (one script each, ${CONCURRENCY} at once) |`);
    // Where the bytes go: MEMORY USAGE of one session's keys (a sample), per kind.
    const sample = await client.scan('0', 'COUNT', 3000);
    const byKind = new Map<string, number[]>();
    for (const key of sample[1]) {
      const kind = key.includes('}:s:')
        ? 'session hash'
        : key.includes('}:l:')
          ? 'liveness record'
          : key.includes('}:u:')
            ? 'user index (per user)'
            : 'other';
      const bytes = Number(await client.memory('USAGE', key));
      byKind.set(kind, [...(byKind.get(kind) ?? []), bytes]);
    }
    console.log('\n| key kind | MEMORY USAGE, median bytes |');
    console.log('|---|---:|');
    for (const [kind, sizes] of [...byKind].sort()) {
      const sorted = sizes.sort((a, b) => a - b);
      console.log(`| ${kind} | ${sorted[Math.floor(sorted.length / 2)]} |`);
    }
  } finally {
    await store.onModuleDestroy();
    client.disconnect();
    await redis.stop();
  }
}

await main();
