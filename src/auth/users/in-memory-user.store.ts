import { randomUUID } from 'node:crypto';
import { UsernameTakenError } from '../auth.errors.js';
import { foldUsername, UserStore, type NewUser, type UserRecord } from './user-store.js';

/**
 * The default {@link UserStore}: users in a `Map`, lost on restart. Good for the demo,
 * tests and scripts; production apps pass their own store. Logins compare usernames exactly;
 * a new username that differs from a taken one only in case is refused ({@link foldUsername}).
 */
export class InMemoryUserStore extends UserStore {
  private readonly byId = new Map<string, UserRecord>();
  /** User id by folded username. */
  private readonly idByFolded = new Map<string, string>();

  async findByUsername(username: string): Promise<UserRecord | null> {
    const id = this.idByFolded.get(foldUsername(username));
    const record = id === undefined ? undefined : this.byId.get(id);
    return record && record.username === username ? { ...record } : null;
  }

  async findById(userId: string): Promise<UserRecord | null> {
    return this.copy(userId);
  }

  async create(user: NewUser): Promise<UserRecord> {
    const folded = foldUsername(user.username);
    if (this.idByFolded.has(folded)) throw new UsernameTakenError();
    const record: UserRecord = { id: randomUUID(), username: user.username, passwordHash: user.passwordHash };
    this.byId.set(record.id, record);
    this.idByFolded.set(folded, record.id);
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
