import { randomUUID } from 'node:crypto';
import type { OnModuleDestroy } from '@nestjs/common';
import { foldUsername, UsernameTakenError, UserStore, type NewUser, type UserRecord } from '../auth/index.js';
import { RedisConnection } from '../auth/redis/index.js';

// All demo user keys share one hash tag, so the create script's two keys sit in one slot.
const CREATE = `
if redis.call('SET', KEYS[1], ARGV[1], 'NX') == false then return 0 end
redis.call('HSET', KEYS[2], 'username', ARGV[2], 'passwordHash', ARGV[3])
return 1`;

/**
 * The demo's users in Redis, so they survive restarts when the demo runs on Redis.
 * A real app keeps users in its own database and adapts it to `UserStore` the same way.
 */
export class RedisUserStore extends UserStore implements OnModuleDestroy {
  private readonly redis: RedisConnection;

  constructor(url: string, keyPrefix = 'nest-warden-demo') {
    super();
    this.redis = new RedisConnection(RedisUserStore.name, { url, keyPrefix }, { nwDemoCreateUser: { numberOfKeys: 2, lua: CREATE } });
  }

  async findByUsername(username: string): Promise<UserRecord | null> {
    const id = await this.redis.call(() => this.redis.client.get(this.usernameKey(username)));
    const user = id === null ? null : await this.findById(id);
    // Unique by folded name, compared exactly.
    return user && user.username === username ? user : null;
  }

  async findById(userId: string): Promise<UserRecord | null> {
    const fields = await this.redis.call(() => this.redis.client.hgetall(this.userKey(userId)));
    if (fields.username === undefined || fields.passwordHash === undefined) return null;
    return { id: userId, username: fields.username, passwordHash: fields.passwordHash };
  }

  async create(user: NewUser): Promise<UserRecord> {
    const id = randomUUID();
    const created = await this.redis.run(
      'nwDemoCreateUser',
      this.usernameKey(user.username),
      this.userKey(id),
      id,
      user.username,
      user.passwordHash,
    );
    if (created !== 1) throw new UsernameTakenError();
    return { id, username: user.username, passwordHash: user.passwordHash };
  }

  async updatePasswordHash(userId: string, passwordHash: string): Promise<void> {
    await this.redis.call(() => this.redis.client.hset(this.userKey(userId), 'passwordHash', passwordHash));
  }

  async onModuleDestroy(): Promise<void> {
    await this.redis.close();
  }

  private usernameKey(username: string): string {
    return `${this.redis.prefix}:{users}:folded:${foldUsername(username)}`;
  }

  private userKey(userId: string): string {
    return `${this.redis.prefix}:{users}:id:${userId}`;
  }
}
