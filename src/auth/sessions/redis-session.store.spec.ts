import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { startTestRedis, type TestRedis } from '../../../test/utils/redis-server.js';
import { AuditSink } from '../audit/audit-sink.js';
import { StoreUnavailableError } from '../auth.errors.js';
import { createAuthService } from '../auth.service.js';
import { describeSessionStoreContract, FakeClock } from '../testing/index.js';
import { RedisSessionStore } from './redis-session.store.js';

let redis: TestRedis;

class SilentAudit extends AuditSink {
  emit(): void {}
}

beforeAll(async () => {
  redis = await startTestRedis();
});

afterAll(async () => {
  await redis?.stop();
});

// Each test gets its own key prefix, so runs on a shared REDIS_URL never meet.
const prefix = (): string => `nw-test-${randomBytes(4).toString('hex')}`;

describeSessionStoreContract(
  'RedisSessionStore',
  ({ clock }) => new RedisSessionStore({ url: redis.url, keyPrefix: prefix(), clock: clock.now }),
  { teardown: (store) => (store as RedisSessionStore).onModuleDestroy() },
);

describe('RedisSessionStore specifics', () => {
  it('never lets a liveness record outlive its session hash (evicted): logout, touch and listing remove it', async () => {
    const keyPrefix = prefix();
    const store = new RedisSessionStore({ url: redis.url, keyPrefix });
    const inspector = new Redis(redis.url);
    const evictHash = async (id: string): Promise<void> => {
      const [hashKey] = (await inspector.keys(`${keyPrefix}:*`)).filter((key) => key.includes(':s:') && key.endsWith(id));
      expect(hashKey).toBeDefined();
      await inspector.del(hashKey!);
    };
    const open = async (userId: string): Promise<string> => {
      const id = store.generateSessionId(userId);
      const now = Date.now();
      await store.create({
        id,
        userId,
        username: 'e',
        createdAt: new Date(now),
        lastSeenAt: new Date(now),
        expiresAt: new Date(now + 3_600_000),
      });
      return id;
    };
    try {
      const byLogout = await open('evicted-a');
      await evictHash(byLogout);
      expect(await store.delete(byLogout)).toBe(false);
      expect(await store.checkLive(byLogout, 'evicted-a')).toBeNull();

      const byTouch = await open('evicted-b');
      await evictHash(byTouch);
      expect(await store.touch(byTouch, new Date())).toBe(false);
      expect(await store.checkLive(byTouch, 'evicted-b')).toBeNull();

      const byLogoutAll = await open('evicted-c');
      await evictHash(byLogoutAll);
      expect(await store.listForUser('evicted-c')).toEqual([]);
      await store.deleteAllForUser('evicted-c');
      expect(await store.checkLive(byLogoutAll, 'evicted-c')).toBeNull();
    } finally {
      inspector.disconnect();
      await store.onModuleDestroy();
    }
  });

  it('leaves no key behind: session and index keys carry TTLs and go when the user logs out', async () => {
    const keyPrefix = prefix();
    const clock = new FakeClock(Date.now());
    const store = new RedisSessionStore({ url: redis.url, keyPrefix, clock: clock.now });
    const inspector = new Redis(redis.url);
    try {
      const userId = 'ttl-user';
      const id = store.generateSessionId(userId);
      await store.create({
        id,
        userId,
        username: 'ttl',
        createdAt: clock.date(),
        lastSeenAt: clock.date(),
        expiresAt: clock.date(3600),
        idleTimeoutSeconds: 600,
      });
      const keys = await inspector.keys(`${keyPrefix}:*`);
      // The session hash, its liveness record and the user's index.
      expect(keys).toHaveLength(3);
      for (const key of keys) {
        const ttl = await inspector.pttl(key);
        expect(ttl).toBeGreaterThan(0);
        expect(ttl).toBeLessThanOrEqual(3_600_000);
      }
      // The session key and its record live until the idle end, not the absolute one.
      const sessionKey = keys.find((key) => key.includes(':s:'))!;
      const recordKey = keys.find((key) => key.includes(':l:'))!;
      expect(await inspector.pttl(sessionKey)).toBeLessThanOrEqual(600_000);
      // Read in one script, where Redis's clock stands still: the record ends with its session.
      const [sessionTtl, recordTtl] = (await inspector.eval(
        "return {redis.call('PTTL', KEYS[1]), redis.call('PTTL', KEYS[2])}",
        2,
        sessionKey,
        recordKey,
      )) as number[];
      expect(recordTtl).toBe(sessionTtl);
      // Both keys share one hash tag (one Cluster slot), which also starts the session id.
      const tags = keys.map((key) => /\{([^}]+)\}/.exec(key)?.[1]);
      expect(new Set(tags).size).toBe(1);
      expect(id.startsWith(tags[0]!)).toBe(true);
      await store.deleteAllForUser(userId);
      expect(await inspector.keys(`${keyPrefix}:*`)).toEqual([]);
    } finally {
      inspector.disconnect();
      await store.onModuleDestroy();
    }
  });

  it('shares sessions between two store instances (two app instances)', async () => {
    const keyPrefix = prefix();
    const a = new RedisSessionStore({ url: redis.url, keyPrefix });
    const b = new RedisSessionStore({ url: redis.url, keyPrefix });
    try {
      const id = a.generateSessionId('shared-user');
      const now = Date.now();
      await a.create({
        id,
        userId: 'shared-user',
        username: 's',
        createdAt: new Date(now),
        lastSeenAt: new Date(now),
        expiresAt: new Date(now + 60_000),
      });
      expect((await b.get(id))?.userId).toBe('shared-user');
      expect(await b.checkLive(id, 'shared-user')).toEqual({ username: 's', lastSeenAtMs: now });
      expect(await a.checkLive(id, 'shared-user')).not.toBeNull();
      expect(await b.delete(id)).toBe(true);
      expect(await a.get(id)).toBeNull();
      // A logout through one instance is seen by the other on its very next check.
      expect(await a.checkLive(id, 'shared-user')).toBeNull();
      const second = a.generateSessionId('shared-user');
      await a.create({
        id: second,
        userId: 'shared-user',
        username: 's',
        createdAt: new Date(now),
        lastSeenAt: new Date(now),
        expiresAt: new Date(now + 60_000),
      });
      expect(await a.checkLive(second, 'shared-user')).not.toBeNull();
      await b.deleteAllForUser('shared-user');
      expect(await a.checkLive(second, 'shared-user')).toBeNull();
    } finally {
      await a.onModuleDestroy();
      await b.onModuleDestroy();
    }
  });

  it('ends a reused session in the rotate script as delete does: hash, liveness record and index entry', async () => {
    const keyPrefix = prefix();
    const clock = new FakeClock(Date.now());
    const store = new RedisSessionStore({ url: redis.url, keyPrefix, clock: clock.now });
    const inspector = new Redis(redis.url);
    try {
      const userId = 'reuse-user';
      const open = async (): Promise<string> => {
        const id = store.generateSessionId(userId);
        await store.create({
          id,
          userId,
          username: 'r',
          createdAt: clock.date(),
          lastSeenAt: clock.date(),
          expiresAt: clock.date(3600),
          refreshTokenHash: 'parent',
        });
        return id;
      };
      const [reusedId, otherId] = [await open(), await open()];
      await store.rotateRefreshToken(reusedId, 'parent', 'child', clock.date(), 10);
      // What the store sends, as the server sees it (commands run by scripts come from 'lua').
      const sent: string[] = [];
      const monitor = await inspector.monitor();
      monitor.on('monitor', (_time: string, args: string[], source: string) => {
        if (source !== 'lua') sent.push(args[0]!.toLowerCase());
      });
      try {
        expect((await store.rotateRefreshToken(reusedId, 'parent', 'child', clock.date(11), 10)).status).toBe('reused');
        for (let waited = 0; sent.length < 2 && waited < 2000; waited += 10) await new Promise((resolve) => setTimeout(resolve, 10));
      } finally {
        monitor.disconnect();
      }
      // One script decides and writes: the read before it only names the user index, which the
      // script declares in KEYS (a Cluster requirement) and checks against the session's user.
      expect(sent).toEqual(['hget', 'evalsha']);
      const keys = await inspector.keys(`${keyPrefix}:*`);
      expect(keys.filter((key) => key.endsWith(reusedId))).toEqual([]);
      const [indexKey] = keys.filter((key) => key.includes(':u:'));
      expect(await inspector.zrange(indexKey!, '0', '-1')).toEqual([otherId]);
      expect(await store.checkLive(otherId, userId)).not.toBeNull();
    } finally {
      inspector.disconnect();
      await store.onModuleDestroy();
    }
  });

  it('two store instances (two app instances) racing refreshes of one token: with grace one child, without it one winner and the session ended', async () => {
    const keyPrefix = prefix();
    const clock = new FakeClock(Date.now());
    const stores = [0, 1].map(() => new RedisSessionStore({ url: redis.url, keyPrefix, clock: clock.now })) as [
      RedisSessionStore,
      RedisSessionStore,
    ];
    const inspector = new Redis(redis.url);
    try {
      for (const graceSeconds of [10, 0]) {
        const userId = `race-${graceSeconds}`;
        const id = stores[0].generateSessionId(userId);
        await stores[0].create({
          id,
          userId,
          username: 'r',
          createdAt: clock.date(),
          lastSeenAt: clock.date(),
          expiresAt: clock.date(3600),
          refreshTokenHash: 'tab',
        });
        const results = await Promise.all(
          Array.from({ length: 10 }, (_, i) => stores[i % 2]!.rotateRefreshToken(id, 'tab', 'tab-child', clock.date(), graceSeconds)),
        );
        const count = (status: string): number => results.filter((result) => result.status === status).length;
        if (graceSeconds > 0) {
          expect(count('rotated')).toBe(10);
          expect(results.filter((result) => result.status === 'rotated' && !result.grace)).toHaveLength(1);
          for (const store of stores) expect((await store.get(id))?.refreshTokenHash).toBe('tab-child');
          expect(await stores[1].checkLive(id, userId)).not.toBeNull();
        } else {
          expect([count('rotated'), count('reused'), count('invalid')]).toEqual([1, 1, 8]);
          for (const store of stores) expect(await store.get(id)).toBeNull();
          expect(await stores[1].checkLive(id, userId)).toBeNull();
          expect(await stores[0].listForUser(userId)).toEqual([]);
          expect((await inspector.keys(`${keyPrefix}:*`)).filter((key) => key.includes(id) || key.endsWith(userId))).toEqual([]);
        }
      }
    } finally {
      inspector.disconnect();
      await Promise.all(stores.map((store) => store.onModuleDestroy()));
    }
  });

  it('fails closed and fast when Redis is unreachable, and reports it on ping', async () => {
    const store = new RedisSessionStore({ url: 'redis://127.0.0.1:1', commandTimeoutMs: 200 });
    try {
      const started = Date.now();
      await expect(store.get('abcdefghijklmnopqrstuvwxyz')).rejects.toBeInstanceOf(StoreUnavailableError);
      await expect(store.checkLive('abcdefghijklmnopqrstuvwxyz', 'u')).rejects.toBeInstanceOf(StoreUnavailableError);
      expect(Date.now() - started).toBeLessThan(5000);
      expect(await store.ping()).toBe(false);
    } finally {
      await store.onModuleDestroy();
    }
  });

  it('checks its options', () => {
    expect(() => new RedisSessionStore({})).toThrow(TypeError);
    expect(() => new RedisSessionStore({ url: redis.url, keyPrefix: 'bad prefix!' })).toThrow(/keyPrefix/);
    expect(() => new RedisSessionStore({ url: redis.url, commandTimeoutMs: 0 })).toThrow(/commandTimeoutMs/);
    const prefixed = new Redis(redis.url, { keyPrefix: 'x:', lazyConnect: true });
    expect(() => new RedisSessionStore({ client: prefixed })).toThrow(/keyPrefix/);
    prefixed.disconnect();
  });
});

describe('RedisSessionStore with AuthService', () => {
  it('never lets maxSessionsPerUser evict the session a login has just opened (same-millisecond logins)', async () => {
    const clock = new FakeClock(Date.now());
    const sessionStore = new RedisSessionStore({ url: redis.url, keyPrefix: prefix(), clock: clock.now });
    const auth = createAuthService('redis-limit-secret-that-is-32-bytes-long', {
      clock: clock.now,
      sessionStore,
      maxSessionsPerUser: 1,
      loginThrottle: false,
      audit: new SilentAudit(),
    });
    try {
      await auth.register('limited', 'violet lantern orbit');
      for (let i = 0; i < 8; i++) {
        const result = await auth.login('limited', 'violet lantern orbit');
        expect(await auth.isAuthenticated(result!.accessToken)).toBe(true);
      }
      expect(await auth.listSessions((await auth.login('limited', 'violet lantern orbit'))!.userId)).toHaveLength(1);
    } finally {
      await sessionStore.onModuleDestroy();
    }
  });

  it('two instances refreshing one token at once: with the grace window all land on one token; without it the session ends', async () => {
    const keyPrefix = prefix();
    const stores = [new RedisSessionStore({ url: redis.url, keyPrefix }), new RedisSessionStore({ url: redis.url, keyPrefix })];
    const options = { loginThrottle: false as const, audit: new SilentAudit() };
    const secret = 'redis-grace-secret-that-is-32-bytes-long';
    try {
      for (const [graceSeconds, expectAllOk] of [
        [10, true],
        [0, false],
      ] as const) {
        const [a, b] = stores.map((sessionStore) =>
          createAuthService(secret, { ...options, sessionStore, refreshReuseGraceSeconds: graceSeconds }),
        ) as [ReturnType<typeof createAuthService>, ReturnType<typeof createAuthService>];
        const username = `tabs-${graceSeconds}`;
        // Register and log in on A; refreshing needs only the shared session store.
        const tokens = await (async () => {
          await a.register(username, 'violet lantern orbit');
          return (await a.login(username, 'violet lantern orbit'))!;
        })();
        const outcomes = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).rotateRefreshToken(tokens.refreshToken)));
        if (expectAllOk) {
          expect(outcomes.every((outcome) => outcome.ok)).toBe(true);
          expect(new Set(outcomes.map((outcome) => outcome.ok && outcome.tokens.refreshToken)).size).toBe(1);
          expect(await b.isAuthenticated(outcomes[0]!.ok ? outcomes[0]!.tokens.accessToken : '')).toBe(true);
        } else {
          expect(outcomes.filter((outcome) => outcome.ok)).toHaveLength(1);
          expect(outcomes.some((outcome) => !outcome.ok && outcome.code === 'AUTH_REFRESH_TOKEN_REUSED')).toBe(true);
          expect(await stores[1]!.get(tokens.sessionId)).toBeNull();
        }
      }
    } finally {
      await Promise.all(stores.map((store) => store.onModuleDestroy()));
    }
  });

  it('refuses a session id that does not carry the user tag', async () => {
    const store = new RedisSessionStore({ url: redis.url, keyPrefix: prefix() });
    try {
      const now = new Date();
      await expect(
        store.create({
          id: 'x'.repeat(30),
          userId: 'u',
          username: 'u',
          createdAt: now,
          lastSeenAt: now,
          expiresAt: new Date(now.getTime() + 60_000),
        }),
      ).rejects.toThrow(TypeError);
    } finally {
      await store.onModuleDestroy();
    }
  });
});
