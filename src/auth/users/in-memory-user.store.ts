import { randomUUID } from 'node:crypto';
import { UsernameTakenError } from '../auth.errors.js';
import { UserStore, type NewUser, type UserRecord } from './user-store.js';

/**
 * The default {@link UserStore}: users in a `Map`, lost on restart. Good for the demo,
 * tests and scripts; production apps pass their own store.
 */
export class InMemoryUserStore extends UserStore {
  private readonly byId = new Map<string, UserRecord>();
  private readonly idByUsername = new Map<string, string>();

  async findByUsername(username: string): Promise<UserRecord | null> {
    const id = this.idByUsername.get(username);
    return id === undefined ? null : this.copy(id);
  }

  async findById(userId: string): Promise<UserRecord | null> {
    return this.copy(userId);
  }

  async create(user: NewUser): Promise<UserRecord> {
    if (this.idByUsername.has(user.username)) throw new UsernameTakenError();
    const record: UserRecord = { id: randomUUID(), username: user.username, passwordHash: user.passwordHash };
    this.byId.set(record.id, record);
    this.idByUsername.set(record.username, record.id);
    return { ...record };
  }

  async updatePasswordHash(userId: string, passwordHash: string): Promise<void> {
    const record = this.byId.get(userId);
    if (record) record.passwordHash = passwordHash;
  }

  private copy(userId: string): UserRecord | null {
    const record = this.byId.get(userId);
    return record ? { ...record } : null;
  }
}
