import { createHash } from 'node:crypto';
import { PasskeyStore, type Passkey, type PasskeyUse } from '../flows/passkeys/passkey-store.js';
import { isUniqueViolation, SqlConnection, toNumber, type SqlTransaction, type TypeOrmStoreOptions } from './sql-connection.js';

/** Options of {@link TypeOrmPasskeyStore}: those of every TypeORM store. */
export type TypeOrmPasskeyStoreOptions = TypeOrmStoreOptions;

const PASSKEYS = 'warden_passkeys';
const COLUMNS = 'id, user_id, credential_id, public_key, counter, transports, device_type, backed_up, name, created_at, last_used_at';
// The columns' lengths (an id is 22 characters; the longest credential id WebAuthn allows, 1,023
// bytes, is 1,364 in base64url, and the contract allows two more).
const MAX_ID = 22;
const MAX_USER_ID = 512;
const MAX_CREDENTIAL_ID = 1366;
const MAX_TRANSPORTS = 255;
const MAX_NAME = 64;
// What no UTF-8 column holds (a lone surrogate) or PostgreSQL refuses in text (NUL).
const UNSTORABLE = /[\0\p{Cs}]/u;

type Row = Record<string, unknown>;

/**
 * A {@link PasskeyStore} in SQL (PostgreSQL, MySQL, MariaDB) through TypeORM, in the table
 * `warden_passkeys` ({@link WardenPasskey}), so every instance sees the passkeys registered through
 * the others, across restarts.
 *
 * A credential id can be 1,364 characters, too long for a unique index on MariaDB and MySQL: the
 * unique key is `credential_key`, the SHA-256 (hex) of the credential id, beside the id itself.
 * Each write is one statement, judged by the database, never by a read made before it:
 * - `create` is one INSERT: the primary key (`id`) and the unique `credential_key` refuse a
 *   passkey registered before, to any account, so of concurrent registrations of one credential
 *   exactly one is stored and the others answer `false`;
 * - `recordUse` is one `UPDATE ... WHERE credential_key = ? AND counter = ?`, the compare and set
 *   of the counter: of concurrent uses of one counter the first to lock the row changes it, the
 *   others then find the counter moved and change nothing (the rows it matched answer);
 * - `rename` (an UPDATE, then the row read back in the same transaction) and `remove` (a DELETE)
 *   change only a row of the account they are given.
 *
 * User ids and ids are compared byte for byte on MySQL and MariaDB too (the migration makes the
 * columns binary; the statements compare as bytes as well, for a hand-made table). A user id is a
 * non-empty string (else `TypeError`); one no row can hold (over 512 characters, a NUL, a lone
 * surrogate) has no passkeys, and `create` throws `TypeError` for it, as for any value no column
 * can hold.
 *
 * Fails closed like `TypeOrmSessionStore`: `StoreUnavailableError` within `operationTimeoutMs`,
 * and `ping` answers `false`.
 *
 * @example
 * ```ts
 * passkeysFlow({ store: new TypeOrmPasskeyStore({ dataSource }) })
 * ```
 */
export class TypeOrmPasskeyStore extends PasskeyStore {
  private readonly db: SqlConnection;
  private readonly statements: ReturnType<typeof statementsFor>;

  constructor(options: TypeOrmPasskeyStoreOptions) {
    super();
    this.db = new SqlConnection(TypeOrmPasskeyStore.name, options);
    this.statements = statementsFor(this.db);
  }

  async create(passkey: Passkey): Promise<boolean> {
    const transports = checkPasskey(passkey);
    try {
      await this.db.write(
        this.statements.insert,
        [
          credentialKeyOf(passkey.credentialId),
          passkey.id,
          passkey.userId,
          passkey.credentialId,
          passkey.publicKey,
          passkey.counter,
          transports,
          passkey.deviceType,
          passkey.backedUp,
          passkey.name,
          passkey.createdAt,
          passkey.lastUsedAt,
        ],
        isUniqueViolation,
      );
      return true;
    } catch (error) {
      // The id or the credential is registered already (or another registration of it committed first).
      if (isUniqueViolation(error)) return false;
      throw error;
    }
  }

  async findByCredentialId(credentialId: string): Promise<Passkey | null> {
    if (!isStorable(credentialId, MAX_CREDENTIAL_ID)) return null;
    const { rows } = await this.db.run(this.statements.byCredential, [credentialKeyOf(credentialId)]);
    const row = rows.find((candidate) => candidate.credential_id === credentialId);
    return row ? toPasskey(row) : null;
  }

  async listByUser(userId: string): Promise<Passkey[]> {
    if (!holdsAccount(userId)) return [];
    const { rows } = await this.db.run(this.statements.byUser, [userId, userId]);
    // Compared here too: a case-insensitive collation must not answer another account's rows.
    return rows.filter((row) => row.user_id === userId).map(toPasskey);
  }

  async recordUse(credentialId: string, expectedCounter: number, use: PasskeyUse): Promise<boolean> {
    checkUse(use);
    if (!isStorable(credentialId, MAX_CREDENTIAL_ID) || !isCounter(expectedCounter)) return false;
    const { affected } = await this.db.write(this.statements.use, [
      use.counter,
      use.backedUp,
      use.usedAt,
      credentialKeyOf(credentialId),
      expectedCounter,
    ]);
    return affected > 0;
  }

  async rename(userId: string, id: string, name: string): Promise<Passkey | null> {
    checkName(name);
    if (!holdsAccount(userId) || !isStorable(id, MAX_ID)) return null;
    return this.db.transaction(async (tx: SqlTransaction) => {
      const { affected } = await tx.query(this.statements.rename, [name, userId, userId, id, id]);
      if (affected === 0) return null;
      const { rows } = await tx.query(this.statements.one, [userId, userId, id, id]);
      const row = rows.find((candidate) => candidate.user_id === userId && candidate.id === id);
      return row ? toPasskey(row) : null;
    });
  }

  async remove(userId: string, id: string): Promise<boolean> {
    if (!holdsAccount(userId) || !isStorable(id, MAX_ID)) return false;
    const { affected } = await this.db.write(this.statements.remove, [userId, userId, id, id]);
    return affected > 0;
  }

  override ping(): Promise<boolean> {
    return this.db.ping();
  }
}

// On MySQL and MariaDB user ids and ids also compare as bytes, whatever the columns' collation
// (the migration makes them binary; a hand-made table may not). The same parameters on PostgreSQL.
function statementsFor(db: SqlConnection) {
  const same = (column: string): string =>
    db.dialect === 'mysql' ? `${column} = ? AND CAST(${column} AS BINARY) = CAST(? AS BINARY)` : `${column} = ? AND ${column} = ?`;
  return {
    insert: db.sql(`INSERT INTO ${PASSKEYS} (credential_key, ${COLUMNS}) VALUES (${'?, '.repeat(11)}?)`),
    byCredential: db.sql(`SELECT ${COLUMNS} FROM ${PASSKEYS} WHERE credential_key = ?`),
    byUser: db.sql(`SELECT ${COLUMNS} FROM ${PASSKEYS} WHERE ${same('user_id')} ORDER BY created_at, id`),
    one: db.sql(`SELECT ${COLUMNS} FROM ${PASSKEYS} WHERE ${same('user_id')} AND ${same('id')}`),
    // The compare and set: the rows it matched (MySQL counts them with FOUND_ROWS, which the store requires).
    use: db.sql(`UPDATE ${PASSKEYS} SET counter = ?, backed_up = ?, last_used_at = ? WHERE credential_key = ? AND counter = ?`),
    rename: db.sql(`UPDATE ${PASSKEYS} SET name = ? WHERE ${same('user_id')} AND ${same('id')}`),
    remove: db.sql(`DELETE FROM ${PASSKEYS} WHERE ${same('user_id')} AND ${same('id')}`),
  };
}

// The unique key of a credential id: SHA-256 (hex) of its UTF-8 (a storable id has no lone surrogate).
function credentialKeyOf(credentialId: string): string {
  return createHash('sha256').update(credentialId, 'utf8').digest('hex');
}

function toPasskey(row: Row): Passkey {
  const transports = String(row.transports ?? '');
  return {
    id: String(row.id),
    userId: String(row.user_id),
    credentialId: String(row.credential_id),
    publicKey: String(row.public_key),
    counter: toNumber(row.counter),
    transports: transports === '' ? [] : transports.split(' '),
    deviceType: row.device_type as Passkey['deviceType'],
    // PostgreSQL answers a boolean, MySQL and MariaDB 0 or 1.
    backedUp: row.backed_up === true || Number(row.backed_up) === 1,
    name: String(row.name),
    createdAt: toNumber(row.created_at),
    lastUsedAt: row.last_used_at === null || row.last_used_at === undefined ? null : toNumber(row.last_used_at),
  };
}

function isStorable(value: unknown, maxLength: number): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= maxLength && !UNSTORABLE.test(value);
}

function isCounter(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 0;
}

// Whether a row can hold this user id; throws for what is no user id at all.
function holdsAccount(userId: unknown): userId is string {
  if (typeof userId !== 'string' || userId.length === 0) throw new TypeError('TypeOrmPasskeyStore: userId must be a non-empty string');
  return isStorable(userId, MAX_USER_ID);
}

function checkName(name: unknown): void {
  if (!isStorable(name, MAX_NAME)) {
    throw new TypeError('TypeOrmPasskeyStore: a name is 1 to 64 characters, without NUL or lone surrogates');
  }
}

// Checks what a row must hold; answers the transports as the column keeps them (space separated).
function checkPasskey(passkey: Passkey): string {
  const fail = (what: string): never => {
    throw new TypeError(`TypeOrmPasskeyStore: ${what}`);
  };
  if (typeof passkey !== 'object' || passkey === null) fail('a passkey is an object');
  if (!holdsAccount(passkey.userId)) fail('a user id is at most 512 characters, without NUL or lone surrogates');
  if (!isStorable(passkey.id, MAX_ID)) fail('an id is 1 to 22 characters, without NUL or lone surrogates');
  if (!isStorable(passkey.credentialId, MAX_CREDENTIAL_ID)) fail('a credential id is 1 to 1366 characters, without NUL or lone surrogates');
  if (!isStorable(passkey.publicKey, Number.MAX_SAFE_INTEGER)) fail('a public key is a non-empty string, without NUL or lone surrogates');
  checkName(passkey.name);
  if (!isCounter(passkey.counter)) fail('"counter" must be a non-negative integer');
  if (
    !Array.isArray(passkey.transports) ||
    !passkey.transports.every((transport) => typeof transport === 'string' && /^[\x21-\x7e]+$/.test(transport))
  ) {
    fail('"transports" must be an array of non-empty strings of printable ASCII without spaces');
  }
  const transports = passkey.transports.join(' ');
  if (transports.length > MAX_TRANSPORTS) fail('the transports are at most 255 characters, joined');
  if (passkey.deviceType !== 'singleDevice' && passkey.deviceType !== 'multiDevice') fail('"deviceType" is singleDevice or multiDevice');
  if (typeof passkey.backedUp !== 'boolean') fail('"backedUp" must be a boolean');
  if (!Number.isSafeInteger(passkey.createdAt)) fail('"createdAt" must be epoch milliseconds');
  if (passkey.lastUsedAt !== null && !Number.isSafeInteger(passkey.lastUsedAt)) fail('"lastUsedAt" must be epoch milliseconds or null');
  return transports;
}

function checkUse(use: PasskeyUse): void {
  if (
    typeof use !== 'object' ||
    use === null ||
    !isCounter(use.counter) ||
    typeof use.backedUp !== 'boolean' ||
    !Number.isSafeInteger(use.usedAt)
  ) {
    throw new TypeError('TypeOrmPasskeyStore: a use is { counter: a non-negative integer, backedUp: a boolean, usedAt: epoch ms }');
  }
}
