import { randomUUID } from 'node:crypto';
import { EmailTakenError, UsernameTakenError } from '../auth.errors.js';
import { foldEmail, foldUsername, UserStore, type NewUser, type UserRecord } from './user-store.js';

/**
 * The default {@link UserStore}: users in a `Map`, lost on restart. Good for the demo,
 * tests and scripts; production apps pass their own store. Logins compare usernames exactly;
 * a new username that differs from a taken one only in case is refused ({@link foldUsername}).
 * Keeps email addresses, unique in their folded form ({@link foldEmail}).
 */
export class InMemoryUserStore extends UserStore {
  private readonly byId = new Map<string, UserRecord>();
  /** User id by folded username. */
  private readonly idByFolded = new Map<string, string>();
  /** User id by folded email address. */
  private readonly idByEmail = new Map<string, string>();

  override get keepsEmail(): boolean {
    return true;
  }

  async findByUsername(username: string): Promise<UserRecord | null> {
    const id = this.idByFolded.get(foldUsername(username));
    const record = id === undefined ? undefined : this.byId.get(id);
    return record && record.username === username ? { ...record } : null;
  }

  async findById(userId: string): Promise<UserRecord | null> {
    return this.copy(userId);
  }

  override async findByEmail(email: string): Promise<UserRecord | null> {
    if (typeof email !== 'string') return null;
    const id = this.idByEmail.get(foldEmail(email));
    return id === undefined ? null : this.copy(id);
  }

  async create(user: NewUser): Promise<UserRecord> {
    const folded = foldUsername(user.username);
    if (this.idByFolded.has(folded)) throw new UsernameTakenError();
    const emailKey = user.email === undefined ? undefined : foldEmail(user.email);
    if (emailKey !== undefined && this.idByEmail.has(emailKey)) throw new EmailTakenError();
    const record: UserRecord = {
      id: randomUUID(),
      username: user.username,
      passwordHash: user.passwordHash,
      email: user.email ?? null,
      emailVerified: false,
    };
    this.byId.set(record.id, record);
    this.idByFolded.set(folded, record.id);
    if (emailKey !== undefined) this.idByEmail.set(emailKey, record.id);
    return { ...record };
  }

  async updatePasswordHash(userId: string, passwordHash: string): Promise<void> {
    const record = this.byId.get(userId);
    if (record) record.passwordHash = passwordHash;
  }

  override async updateEmail(userId: string, email: string | null, verified: boolean): Promise<void> {
    const record = this.byId.get(userId);
    if (!record) return;
    const key = email === null ? null : foldEmail(email);
    if (key !== null) {
      const holder = this.idByEmail.get(key);
      if (holder !== undefined && holder !== userId) throw new EmailTakenError();
    }
    if (record.email != null) this.idByEmail.delete(foldEmail(record.email));
    if (key !== null) this.idByEmail.set(key, userId);
    record.email = email;
    record.emailVerified = email !== null && verified;
  }

  private copy(userId: string): UserRecord | null {
    const record = this.byId.get(userId);
    return record ? { ...record } : null;
  }
}
