import { createHash, randomUUID } from 'node:crypto';
import type { OnModuleDestroy } from '@nestjs/common';
import { EmailTakenError, foldEmail, foldUsername, UsernameTakenError, UserStore, type NewUser, type UserRecord } from '../auth/index.js';
import { RedisConnection } from '../auth/redis/index.js';

// All demo user keys share one hash tag, so each script's keys sit in one slot (Cluster).
// KEYS: the username's index, the user, and (with an address) the address's index.
// ARGV: id, username, password hash, address. Answers 1, or 0 (username taken), -1 (address taken).
const CREATE = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
if KEYS[3] and redis.call('EXISTS', KEYS[3]) == 1 then return -1 end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('HSET', KEYS[2], 'username', ARGV[2], 'passwordHash', ARGV[3], 'emailVerified', '0')
if KEYS[3] then
  redis.call('SET', KEYS[3], ARGV[1])
  redis.call('HSET', KEYS[2], 'email', ARGV[4])
end
return 1`;

// KEYS: the user, then the new address's index (when ARGV[3] is not ''), then the old one's (when
// ARGV[2] is not ''). ARGV: id, the address read before (or ''), the new one (or ''), '1' if verified.
// Answers 1, 0 (another user holds the new address) or 2 (the address changed since it was read:
// the old index key may be another one, so the caller reads again).
const UPDATE_EMAIL = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 1 end
if (redis.call('HGET', KEYS[1], 'email') or '') ~= ARGV[2] then return 2 end
local newKey = ARGV[3] ~= '' and KEYS[2] or false
local oldKey = ARGV[2] ~= '' and KEYS[#KEYS] or false
if newKey then
  local holder = redis.call('GET', newKey)
  if holder and holder ~= ARGV[1] then return 0 end
end
if oldKey and oldKey ~= newKey then redis.call('DEL', oldKey) end
if newKey then
  redis.call('SET', newKey, ARGV[1])
  redis.call('HSET', KEYS[1], 'email', ARGV[3], 'emailVerified', ARGV[4])
else
  redis.call('HDEL', KEYS[1], 'email')
  redis.call('HSET', KEYS[1], 'emailVerified', '0')
end
return 1`;

// Concurrent changes of one user's address make a script answer 2; a few reads settle it.
const UPDATE_ATTEMPTS = 10;

/**
 * The demo's users in Redis, so they survive restarts when the demo runs on Redis.
 * A real app keeps users in its own database and adapts it to `UserStore` the same way.
 * Keeps email addresses, unique in their folded form ({@link foldEmail}): an index key per
 * address, named by the SHA-256 of that form (no address in a key name), moved by a script.
 */
export class RedisUserStore extends UserStore implements OnModuleDestroy {
  private readonly redis: RedisConnection;

  constructor(url: string, keyPrefix = 'nest-warden-demo') {
    super();
    this.redis = new RedisConnection(
      RedisUserStore.name,
      { url, keyPrefix },
      { nwDemoCreateUser: { lua: CREATE }, nwDemoUpdateEmail: { lua: UPDATE_EMAIL } },
    );
  }

  override get keepsEmail(): boolean {
    return true;
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
    // Users created before the demo kept addresses have neither field: no address.
    const email = fields.email ?? null;
    return {
      id: userId,
      username: fields.username,
      passwordHash: fields.passwordHash,
      email,
      emailVerified: email !== null && fields.emailVerified === '1',
    };
  }

  override async findByEmail(email: string): Promise<UserRecord | null> {
    if (typeof email !== 'string') return null;
    const id = await this.redis.call(() => this.redis.client.get(this.emailKey(email)));
    const user = id === null ? null : await this.findById(id);
    // Redis stores UTF-8: a lone surrogate comes back as U+FFFD, and must not find that address.
    return user?.email != null && foldEmail(user.email) === foldEmail(email) ? user : null;
  }

  async create(user: NewUser): Promise<UserRecord> {
    const id = randomUUID();
    const keys = [this.usernameKey(user.username), this.userKey(id), ...(user.email === undefined ? [] : [this.emailKey(user.email)])];
    const created = await this.redis.run('nwDemoCreateUser', keys.length, ...keys, id, user.username, user.passwordHash, user.email ?? '');
    if (created === 0) throw new UsernameTakenError();
    if (created === -1) throw new EmailTakenError();
    return { id, username: user.username, passwordHash: user.passwordHash, email: user.email ?? null, emailVerified: false };
  }

  async updatePasswordHash(userId: string, passwordHash: string): Promise<void> {
    await this.redis.call(() => this.redis.client.hset(this.userKey(userId), 'passwordHash', passwordHash));
  }

  override async updateEmail(userId: string, email: string | null, verified: boolean): Promise<void> {
    const userKey = this.userKey(userId);
    for (let attempt = 0; attempt < UPDATE_ATTEMPTS; attempt++) {
      const old = await this.redis.call(() => this.redis.client.hget(userKey, 'email'));
      const keys = [userKey, ...(email === null ? [] : [this.emailKey(email)]), ...(old === null ? [] : [this.emailKey(old)])];
      const answer = await this.redis.run('nwDemoUpdateEmail', keys.length, ...keys, userId, old ?? '', email ?? '', verified ? '1' : '0');
      if (answer === 1) return;
      if (answer === 0) throw new EmailTakenError();
    }
    throw new Error(`RedisUserStore: the address of user ${userId} kept changing during ${UPDATE_ATTEMPTS} attempts`);
  }

  override ping(): Promise<boolean> {
    return this.redis.ping();
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

  private emailKey(email: string): string {
    return `${this.redis.prefix}:{users}:email:${createHash('sha256').update(foldEmail(email)).digest('hex')}`;
  }
}
