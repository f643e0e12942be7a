import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { startTestRedis, type TestRedis } from '../../test/utils/redis-server.js';
import { describeUserStoreContract } from '../auth/testing/index.js';
import { RedisUserStore } from './redis-user.store.js';

// Each store gets its own key prefix, so runs on a shared REDIS_URL never meet.
const prefix = (): string => `nw-demo-users-${randomBytes(4).toString('hex')}`;
const HASH = '$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaA';

let redis: TestRedis;

beforeAll(async () => {
  redis = await startTestRedis();
});

afterAll(async () => {
  await redis?.stop();
});

describeUserStoreContract('RedisUserStore (demo)', () => new RedisUserStore(redis.url, prefix()), {
  teardown: (store) => (store as RedisUserStore).onModuleDestroy(),
});

describe('RedisUserStore keys', () => {
  let store: RedisUserStore;
  let inspector: Redis;
  let keyPrefix: string;

  beforeAll(() => {
    keyPrefix = prefix();
    store = new RedisUserStore(redis.url, keyPrefix);
    inspector = new Redis(redis.url);
  });

  afterAll(async () => {
    await store?.onModuleDestroy();
    inspector?.disconnect();
  });

  it('keeps every key under the {users} hash tag, names no address, and moves the index key on a change', async () => {
    const user = await store.create({ username: 'keys-alice', passwordHash: HASH, email: 'Alice@Example.com' });
    const keys = async (): Promise<string[]> => (await inspector.keys(`${keyPrefix}:*`)).sort();
    const before = await keys();
    // The username's index, the user, the address's index.
    expect(before).toHaveLength(3);
    for (const key of before) expect(key.startsWith(`${keyPrefix}:{users}:`)).toBe(true);
    expect(before.some((key) => key.toLowerCase().includes('alice@example.com'))).toBe(false);
    await store.updateEmail(user.id, 'bob@example.com', true);
    const after = await keys();
    expect(after).toHaveLength(3);
    const moved = after.find((key) => key.includes(':email:'))!;
    expect(before).not.toContain(moved);
    expect(await inspector.get(moved)).toBe(user.id);
    await store.updateEmail(user.id, null, false);
    expect((await keys()).some((key) => key.includes(':email:'))).toBe(false);
  });

  it('reads a user stored before the demo kept addresses as one without an address', async () => {
    const id = `legacy-${randomBytes(4).toString('hex')}`;
    await inspector.hset(`${keyPrefix}:{users}:id:${id}`, 'username', 'legacy', 'passwordHash', HASH);
    expect(await store.findById(id)).toEqual({ id, username: 'legacy', passwordHash: HASH, email: null, emailVerified: false });
    await store.updateEmail(id, 'legacy@example.com', false);
    expect(await store.findByEmail('LEGACY@example.com')).toMatchObject({ id, email: 'legacy@example.com', emailVerified: false });
  });

  it('gives no address to a user that does not exist', async () => {
    await store.updateEmail('no-such-user', 'ghost@example.com', true);
    expect(await store.findByEmail('ghost@example.com')).toBeNull();
    expect(await inspector.exists(`${keyPrefix}:{users}:id:no-such-user`)).toBe(0);
  });
});
