import { createHash, randomUUID } from 'node:crypto';
import type { EntitySchema, Repository } from 'typeorm';
import { UsernameTakenError } from '../auth.errors.js';
import { foldUsername, UserStore, type NewUser, type UserRecord } from '../users/user-store.js';
import { WardenUser, type WardenUserRow } from './entities.js';
import { isUniqueViolation, SqlConnection, type TypeOrmStoreOptions } from './sql-connection.js';

// The username column's length in the entity.
const USERNAME_COLUMN_LENGTH = 255;

/** Options of {@link TypeOrmUserStore}. */
export interface TypeOrmUserStoreOptions extends TypeOrmStoreOptions {
  /** The user entity: {@link WardenUser} (default), or `wardenUserEntity(...)` over your own table. */
  entity?: EntitySchema<WardenUserRow>;
}

/**
 * A {@link UserStore} in SQL through TypeORM: `warden_users` ({@link WardenUser}), or your own
 * users table mapped with `wardenUserEntity`. A new username that differs from a taken one only
 * in case is refused by a unique index on the SHA-256 of its folded form ({@link foldUsername}),
 * so two instances registering the same name at once cannot both succeed; logins compare
 * usernames exactly. Fails closed like `TypeOrmSessionStore`.
 */
export class TypeOrmUserStore extends UserStore {
  private readonly db: SqlConnection;
  private readonly entity: EntitySchema<WardenUserRow>;
  private repository: Repository<WardenUserRow> | undefined;

  constructor(options: TypeOrmUserStoreOptions) {
    super();
    this.db = new SqlConnection(TypeOrmUserStore.name, options);
    this.entity = options.entity ?? WardenUser;
    // Checked at start-up when the DataSource is ready by then (it is with @nestjs/typeorm).
    if (this.db.dataSource.isInitialized) this.users();
  }

  async findByUsername(username: string): Promise<UserRecord | null> {
    // A name no column can hold (a NUL, a lone surrogate, longer than the column) is no user's:
    // answered here, never a database error.
    if (typeof username !== 'string' || username.length > USERNAME_COLUMN_LENGTH || /[\0\p{Cs}]/u.test(username)) {
      return null;
    }
    const repository = this.users();
    const where = this.hasUsernameKey() ? { usernameKey: usernameKey(username) } : { username };
    const rows = await this.db.call(() => repository.find({ where, take: 2 }));
    // Compared exactly here: the key is case-folded, and a column's collation may be too.
    const row = rows.find((candidate) => candidate.username === username);
    return row ? toRecord(row) : null;
  }

  async findById(userId: string): Promise<UserRecord | null> {
    const id = this.idValue(userId);
    if (id === undefined) return null;
    const repository = this.users();
    const row = await this.db.call(() => repository.findOne({ where: { id } }));
    return row && String(row.id) === userId ? toRecord(row) : null;
  }

  async create(user: NewUser): Promise<UserRecord> {
    const repository = this.users();
    const row: WardenUserRow = { username: user.username, passwordHash: user.passwordHash } as WardenUserRow;
    if (!this.isIncrement()) row.id = randomUUID();
    if (this.hasUsernameKey()) row.usernameKey = usernameKey(user.username);
    try {
      const result = await this.db.call(() => repository.insert(row), isUniqueViolation);
      const id = row.id ?? (result.identifiers[0] as { id?: string | number } | undefined)?.id;
      if (id === undefined || id === null) throw new Error('TypeOrmUserStore: the database returned no id for the new user');
      return { id: String(id), username: user.username, passwordHash: user.passwordHash };
    } catch (error) {
      if (isUniqueViolation(error)) throw new UsernameTakenError();
      throw error;
    }
  }

  async updatePasswordHash(userId: string, passwordHash: string): Promise<void> {
    const id = this.idValue(userId);
    if (id === undefined) return;
    const repository = this.users();
    await this.db.call(() => repository.update({ id }, { passwordHash }));
  }

  // The repository once the DataSource is initialised (it may not be when the store is made).
  private users(): Repository<WardenUserRow> {
    if (this.repository) return this.repository;
    if (this.db.dataSource.isInitialized && !this.db.dataSource.hasMetadata(this.entity)) {
      throw new TypeError(`TypeOrmUserStore: the entity "${this.entity.options.name}" is not in the DataSource's entities`);
    }
    this.repository = this.db.dataSource.getRepository(this.entity);
    return this.repository;
  }

  private isIncrement(): boolean {
    return this.entity.options.columns.id?.generated === 'increment';
  }

  private hasUsernameKey(): boolean {
    return this.entity.options.columns.usernameKey !== undefined;
  }

  // An id the column can hold, or undefined: an integer column must never see "abc" (a 500).
  private idValue(userId: string): string | number | undefined {
    if (typeof userId !== 'string') return undefined;
    if (!this.isIncrement()) return userId.length > 0 && userId.length <= 36 ? userId : undefined;
    return /^[1-9][0-9]{0,14}$/.test(userId) ? Number(userId) : undefined;
  }
}

function usernameKey(username: string): string {
  return createHash('sha256').update(foldUsername(username)).digest('hex');
}

function toRecord(row: WardenUserRow): UserRecord {
  return { id: String(row.id), username: row.username, passwordHash: row.passwordHash };
}
