import { describeUserStoreContract } from '../testing/index.js';
import { InMemoryUserStore } from './in-memory-user.store.js';
import { UserStore, type NewUser, type UserRecord } from './user-store.js';

describeUserStoreContract('InMemoryUserStore', () => new InMemoryUserStore());

/** A store of a host that keeps no addresses: the UserStore defaults for the email methods. */
class NamesOnlyUserStore extends UserStore {
  private readonly users = new InMemoryUserStore();

  async findByUsername(username: string): Promise<UserRecord | null> {
    return namesOnly(await this.users.findByUsername(username));
  }

  async findById(userId: string): Promise<UserRecord | null> {
    return namesOnly(await this.users.findById(userId));
  }

  async create(user: NewUser): Promise<UserRecord> {
    return namesOnly(await this.users.create({ username: user.username, passwordHash: user.passwordHash }))!;
  }

  updatePasswordHash(userId: string, passwordHash: string): Promise<void> {
    return this.users.updatePasswordHash(userId, passwordHash);
  }
}

function namesOnly(record: UserRecord | null): UserRecord | null {
  return record && { id: record.id, username: record.username, passwordHash: record.passwordHash };
}

describeUserStoreContract('a UserStore that keeps no email addresses', () => new NamesOnlyUserStore(), { keepsEmail: false });
