import { createHash, randomUUID } from 'node:crypto';
import type { EntitySchema, Repository } from 'typeorm';
import { EmailTakenError, UsernameTakenError } from '../auth.errors.js';
import { foldEmail, foldUsername, UserStore, type NewUser, type UserRecord } from '../users/user-store.js';
import { WardenUser, type WardenUserRow } from './entities.js';
import { isUniqueViolation, SqlConnection, type TypeOrmStoreOptions } from './sql-connection.js';

// The username and email columns' lengths in the entity.
const USERNAME_COLUMN_LENGTH = 255;
const EMAIL_COLUMN_LENGTH = 320;
// What no UTF-8 column holds (a lone surrogate) or PostgreSQL refuses in text (NUL).
const UNSTORABLE = /[\0\p{Cs}]/u;

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
 * usernames exactly. Email addresses (when the entity maps them: `keepsEmail`) are unique the
 * same way, by the SHA-256 of their folded form ({@link foldEmail}). Fails closed like
 * `TypeOrmSessionStore`.
 */
export class TypeOrmUserStore extends UserStore {
  private readonly db: SqlConnection;
  private readonly entity: EntitySchema<WardenUserRow>;
  private repository: Repository<WardenUserRow> | undefined;
  private readonly hasEmail: boolean;

  constructor(options: TypeOrmUserStoreOptions) {
    super();
    this.db = new SqlConnection(TypeOrmUserStore.name, options);
    this.entity = options.entity ?? WardenUser;
    const { email, emailKey, emailVerified } = this.entity.options.columns;
    this.hasEmail = email !== undefined && emailKey !== undefined && emailVerified !== undefined;
    // Checked at start-up when the DataSource is ready by then (it is with @nestjs/typeorm).
    if (this.db.dataSource.isInitialized) this.users();
  }

  /** Whether the entity maps the email columns (`wardenUserEntity({ email: false })` does not). */
  override get keepsEmail(): boolean {
    return this.hasEmail;
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
    return row ? this.toRecord(row) : null;
  }

  async findById(userId: string): Promise<UserRecord | null> {
    const id = this.idValue(userId);
    if (id === undefined) return null;
    const repository = this.users();
    const row = await this.db.call(() => repository.findOne({ where: { id } }));
    return row && String(row.id) === userId ? this.toRecord(row) : null;
  }

  override async findByEmail(email: string): Promise<UserRecord | null> {
    if (!this.hasEmail) return super.findByEmail(email);
    // An address no column can hold is no one's: answered here, never a database error.
    if (!isStorableEmail(email)) return null;
    const repository = this.users();
    const rows = await this.db.call(() => repository.find({ where: { emailKey: emailKey(email) }, take: 2 }));
    const folded = foldEmail(email);
    const row = rows.find((candidate) => typeof candidate.email === 'string' && foldEmail(candidate.email) === folded);
    return row ? this.toRecord(row) : null;
  }

  async create(user: NewUser): Promise<UserRecord> {
    const email = user.email;
    if (email !== undefined) this.assertEmail(email);
    const repository = this.users();
    const row: WardenUserRow = { username: user.username, passwordHash: user.passwordHash } as WardenUserRow;
    if (!this.isIncrement()) row.id = randomUUID();
    if (this.hasUsernameKey()) row.usernameKey = usernameKey(user.username);
    if (this.hasEmail) {
      row.email = email ?? null;
      row.emailKey = email === undefined ? null : emailKey(email);
      row.emailVerified = false;
    }
    const violated = new UniqueKeyCatcher();
    try {
      const result = await this.db.call(() => repository.insert(row), violated.catch);
      const id = row.id ?? (result.identifiers[0] as { id?: string | number } | undefined)?.id;
      if (id === undefined || id === null) throw new Error('TypeOrmUserStore: the database returned no id for the new user');
      const record: UserRecord = { id: String(id), username: user.username, passwordHash: user.passwordHash };
      return this.hasEmail ? { ...record, email: email ?? null, emailVerified: false } : record;
    } catch (error) {
      if (violated.key === undefined) throw error;
      if (violated.is(this.indexName('emailKey'))) throw new EmailTakenError();
      if (violated.is(this.indexName('usernameKey')) || email === undefined) throw new UsernameTakenError();
      // A table made by hand, whose index names are not the entity's: whoever holds the address says which.
      throw (await this.findByEmail(email)) ? new EmailTakenError() : new UsernameTakenError();
    }
  }

  async updatePasswordHash(userId: string, passwordHash: string): Promise<void> {
    const id = this.idValue(userId);
    if (id === undefined) return;
    const repository = this.users();
    await this.db.call(() => repository.update({ id }, { passwordHash }));
  }

  override async updateEmail(userId: string, email: string | null, verified: boolean): Promise<void> {
    if (!this.hasEmail) return super.updateEmail(userId, email, verified);
    if (email !== null) this.assertEmail(email);
    const id = this.idValue(userId);
    if (id === undefined) return;
    const repository = this.users();
    const changes = { email, emailKey: email === null ? null : emailKey(email), emailVerified: email !== null && verified === true };
    const violated = new UniqueKeyCatcher();
    try {
      await this.db.call(() => repository.update({ id }, changes), violated.catch);
    } catch (error) {
      // Only the address changes here: whatever unique index it hit, the address is taken.
      if (violated.key !== undefined) throw new EmailTakenError();
      throw error;
    }
  }

  // The repository once the DataSource is initialised (it may not be when the store is made).
  override ping(): Promise<boolean> {
    return this.db.ping();
  }

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

  // An address the email column cannot hold is the caller's mistake (the DTO allows 254 characters).
  private assertEmail(email: string): void {
    if (!this.hasEmail) throw new TypeError('TypeOrmUserStore: the user entity maps no email columns (keepsEmail is false)');
    if (!isStorableEmail(email)) {
      throw new TypeError(
        `TypeOrmUserStore: an email address is a string of 1-${EMAIL_COLUMN_LENGTH} characters without NUL or lone surrogates`,
      );
    }
  }

  // The name of the entity's unique index on one field, as the database reports a violation of it.
  private indexName(field: 'usernameKey' | 'emailKey'): string | undefined {
    const index = this.entity.options.indices?.find((candidate) => Array.isArray(candidate.columns) && candidate.columns.join() === field);
    return index?.name;
  }

  private toRecord(row: WardenUserRow): UserRecord {
    const record: UserRecord = { id: String(row.id), username: row.username, passwordHash: row.passwordHash };
    // MySQL hands booleans back as 0 and 1.
    return this.hasEmail ? { ...record, email: row.email ?? null, emailVerified: Boolean(row.emailVerified) } : record;
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

function emailKey(email: string): string {
  return createHash('sha256').update(foldEmail(email)).digest('hex');
}

function isStorableEmail(email: unknown): email is string {
  if (typeof email !== 'string' || email.length === 0 || UNSTORABLE.test(email)) return false;
  // The column counts characters; a string's length counts UTF-16 units, two for an emoji.
  return email.length <= EMAIL_COLUMN_LENGTH || [...email].length <= EMAIL_COLUMN_LENGTH;
}

/**
 * The `passThrough` of a statement that may hit a unique index: it keeps the index's name (never
 * the duplicate value) from the driver's error, which the connection replaces with a clean one.
 */
class UniqueKeyCatcher {
  /** The violated index or constraint as the driver names it; `''` when it does not. */
  key: string | undefined;

  readonly catch = (error: unknown): boolean => {
    if (!isUniqueViolation(error)) return false;
    this.key = uniqueKeyName(error);
    return true;
  };

  is(name: string | undefined): boolean {
    // MySQL 8 says `table.index`, MariaDB and PostgreSQL the index alone.
    return name !== undefined && this.key !== undefined && (this.key === name || this.key.endsWith(`.${name}`));
  }
}

// PostgreSQL names the constraint on the error; MySQL and MariaDB only at the end of the message
// ("Duplicate entry '...' for key 'name'"), after the quoted value, which is not kept.
function uniqueKeyName(error: unknown): string {
  const driverError = ((error as { driverError?: unknown }).driverError ?? error) as {
    constraint?: unknown;
    sqlMessage?: unknown;
    message?: unknown;
  };
  if (typeof driverError.constraint === 'string') return driverError.constraint;
  const message = typeof driverError.sqlMessage === 'string' ? driverError.sqlMessage : String(driverError.message ?? '');
  return /for key '([^']*)'$/.exec(message)?.[1] ?? '';
}
