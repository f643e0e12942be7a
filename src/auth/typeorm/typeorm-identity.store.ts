import { createHash } from 'node:crypto';
import { IdentityStore, type LinkedIdentity } from '../flows/oidc/identity-store.js';
import { isUniqueViolation, SqlConnection, toNumber, type TypeOrmStoreOptions } from './sql-connection.js';

/** Options of {@link TypeOrmIdentityStore}: those of every TypeORM store. */
export type TypeOrmIdentityStoreOptions = TypeOrmStoreOptions;

/** What a login changes on a link: the address the provider gave, when, and maybe the sealed tokens. */
type IdentityUse = Parameters<IdentityStore['recordUse']>[2];

const IDENTITIES = 'warden_identities';
const COLUMNS = 'id, user_id, provider, subject, email, email_verified, created_at, last_used_at, provider_tokens';
// The columns' lengths.
const MAX_ID = 22;
const MAX_USER_ID = 512;
const MAX_SUBJECT = 255;
const MAX_EMAIL = 320;
// Sealed provider tokens, in UTF-16 code units: at most 49,152 bytes of UTF-8, within a MySQL TEXT.
const MAX_PROVIDER_TOKENS = 16_384;
// A provider's id, as the flow's options allow it (so `provider:subject` reads one way only).
const PROVIDER = /^[a-z0-9_-]{1,64}$/;
// What no UTF-8 column holds (a lone surrogate) or PostgreSQL refuses in text (NUL).
const UNSTORABLE = /[\0\p{Cs}]/u;

type Row = Record<string, unknown>;

/**
 * An {@link IdentityStore} in SQL (PostgreSQL, MySQL, MariaDB) through TypeORM, in the table
 * `warden_identities` ({@link WardenIdentity}), so every instance sees the identities linked
 * through the others, across restarts.
 *
 * The unique key is `identity_key`, the SHA-256 (hex) of `provider:subject` (a provider holds no
 * `:`), beside the provider and the subject themselves: a subject is compared exactly, byte for
 * byte, whatever the column's collation would say of case, Unicode forms or trailing spaces.
 * Each write is one statement, judged by the database, never by a read made before it:
 * - `create` is one INSERT: the primary key (`id`) and the unique `identity_key` refuse an
 *   identity linked before, to any account, so of concurrent links of one identity exactly one is
 *   stored and the others answer `false`;
 * - `recordUse` is one `UPDATE ... WHERE identity_key = ?` (the rows it matched answer), which
 *   sets `provider_tokens` too when the use carries them; `setProviderTokens` is one such UPDATE
 *   of `provider_tokens` alone;
 * - `remove` (a DELETE) removes only a row of the account it is given.
 *
 * User ids and ids are compared byte for byte on MySQL and MariaDB too (the migration makes the
 * columns binary; the statements compare as bytes as well, for a hand-made table). A user id is a
 * non-empty string (else `TypeError`); one no row can hold (over 512 characters, a NUL, a lone
 * surrogate) has no links, and `create` throws `TypeError` for it, as for any value no column
 * can hold (a provider that is not 1 to 64 characters of `[a-z0-9_-]`, a subject over 255
 * characters, an address over 320, sealed tokens over 16,384 characters). The sealed tokens are
 * kept as given in the nullable text column `provider_tokens`, never read or compared.
 *
 * Fails closed like `TypeOrmSessionStore`: `StoreUnavailableError` within `operationTimeoutMs`,
 * and `ping` answers `false`.
 *
 * @example
 * ```ts
 * const identities = new TypeOrmIdentityStore({ dataSource });
 * ```
 */
export class TypeOrmIdentityStore extends IdentityStore {
  private readonly db: SqlConnection;
  private readonly statements: ReturnType<typeof statementsFor>;

  constructor(options: TypeOrmIdentityStoreOptions) {
    super();
    this.db = new SqlConnection(TypeOrmIdentityStore.name, options);
    this.statements = statementsFor(this.db);
  }

  async create(identity: LinkedIdentity): Promise<boolean> {
    checkIdentity(identity);
    try {
      await this.db.write(
        this.statements.insert,
        [
          identityKeyOf(identity.provider, identity.subject),
          identity.id,
          identity.userId,
          identity.provider,
          identity.subject,
          identity.email,
          identity.emailVerified,
          identity.createdAt,
          identity.lastUsedAt,
          // A link made without the field keeps no tokens.
          identity.providerTokens ?? null,
        ],
        isUniqueViolation,
      );
      return true;
    } catch (error) {
      // The id or the identity is linked already (or another link of it committed first).
      if (isUniqueViolation(error)) return false;
      throw error;
    }
  }

  async find(provider: string, subject: string): Promise<LinkedIdentity | null> {
    if (!isProvider(provider) || !isStorable(subject, MAX_SUBJECT)) return null;
    const { rows } = await this.db.run(this.statements.byIdentity, [identityKeyOf(provider, subject)]);
    const row = rows.find((candidate) => candidate.provider === provider && candidate.subject === subject);
    return row ? toIdentity(row) : null;
  }

  async listByUser(userId: string): Promise<LinkedIdentity[]> {
    if (!holdsAccount(userId)) return [];
    const { rows } = await this.db.run(this.statements.byUser, [userId, userId]);
    // Compared here too: a case-insensitive collation must not answer another account's rows.
    return rows.filter((row) => row.user_id === userId).map(toIdentity);
  }

  async recordUse(provider: string, subject: string, use: IdentityUse): Promise<boolean> {
    checkUse(use);
    if (!isProvider(provider) || !isStorable(subject, MAX_SUBJECT)) return false;
    const key = identityKeyOf(provider, subject);
    // Left out: the tokens stay as they are.
    const { affected } =
      use.providerTokens === undefined
        ? await this.db.write(this.statements.use, [use.email, use.emailVerified, use.usedAt, key])
        : await this.db.write(this.statements.useWithTokens, [use.email, use.emailVerified, use.usedAt, use.providerTokens, key]);
    return affected > 0;
  }

  async setProviderTokens(provider: string, subject: string, providerTokens: string | null): Promise<boolean> {
    if (!isProviderTokens(providerTokens)) fail(PROVIDER_TOKENS);
    if (!isProvider(provider) || !isStorable(subject, MAX_SUBJECT)) return false;
    const { affected } = await this.db.write(this.statements.tokens, [providerTokens, identityKeyOf(provider, subject)]);
    return affected > 0;
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
    insert: db.sql(`INSERT INTO ${IDENTITIES} (identity_key, ${COLUMNS}) VALUES (${'?, '.repeat(9)}?)`),
    byIdentity: db.sql(`SELECT ${COLUMNS} FROM ${IDENTITIES} WHERE identity_key = ?`),
    byUser: db.sql(`SELECT ${COLUMNS} FROM ${IDENTITIES} WHERE ${same('user_id')} ORDER BY created_at, id`),
    // The rows it matched (MySQL counts them with FOUND_ROWS, which the store requires): a use
    // that changes nothing (the same login twice in a millisecond) still answers it is linked.
    use: db.sql(`UPDATE ${IDENTITIES} SET email = ?, email_verified = ?, last_used_at = ? WHERE identity_key = ?`),
    useWithTokens: db.sql(
      `UPDATE ${IDENTITIES} SET email = ?, email_verified = ?, last_used_at = ?, provider_tokens = ? WHERE identity_key = ?`,
    ),
    tokens: db.sql(`UPDATE ${IDENTITIES} SET provider_tokens = ? WHERE identity_key = ?`),
    remove: db.sql(`DELETE FROM ${IDENTITIES} WHERE ${same('user_id')} AND ${same('id')}`),
  };
}

// The unique key of an identity: SHA-256 (hex) of the UTF-8 of `provider:subject` (a storable
// subject has no lone surrogate; a provider has no ':', so the pair reads one way only).
function identityKeyOf(provider: string, subject: string): string {
  return createHash('sha256').update(`${provider}:${subject}`, 'utf8').digest('hex');
}

function toIdentity(row: Row): LinkedIdentity {
  return {
    id: String(row.id),
    userId: String(row.user_id),
    provider: String(row.provider),
    subject: String(row.subject),
    email: row.email === null || row.email === undefined ? null : String(row.email),
    // PostgreSQL answers a boolean, MySQL and MariaDB 0 or 1.
    emailVerified: row.email_verified === true || Number(row.email_verified) === 1,
    createdAt: toNumber(row.created_at),
    lastUsedAt: row.last_used_at === null || row.last_used_at === undefined ? null : toNumber(row.last_used_at),
    providerTokens: row.provider_tokens === null || row.provider_tokens === undefined ? null : String(row.provider_tokens),
  };
}

function isStorable(value: unknown, maxLength: number): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= maxLength && !UNSTORABLE.test(value);
}

function isProvider(value: unknown): value is string {
  return typeof value === 'string' && PROVIDER.test(value);
}

function isEmail(value: unknown): value is string | null {
  return value === null || isStorable(value, MAX_EMAIL);
}

// Null, or what the text column holds as given (the empty string too).
function isProviderTokens(value: unknown): value is string | null {
  return value === null || (typeof value === 'string' && value.length <= MAX_PROVIDER_TOKENS && !UNSTORABLE.test(value));
}

const PROVIDER_TOKENS = '"providerTokens" must be null or at most 16384 characters, without NUL or lone surrogates';

function fail(what: string): never {
  throw new TypeError(`TypeOrmIdentityStore: ${what}`);
}

// Whether a row can hold this user id; throws for what is no user id at all.
function holdsAccount(userId: unknown): userId is string {
  if (typeof userId !== 'string' || userId.length === 0) throw new TypeError('TypeOrmIdentityStore: userId must be a non-empty string');
  return isStorable(userId, MAX_USER_ID);
}

function checkIdentity(identity: LinkedIdentity): void {
  if (typeof identity !== 'object' || identity === null) fail('an identity is an object');
  if (!holdsAccount(identity.userId)) fail('a user id is at most 512 characters, without NUL or lone surrogates');
  if (!isStorable(identity.id, MAX_ID)) fail('an id is 1 to 22 characters, without NUL or lone surrogates');
  if (!isProvider(identity.provider)) fail('a provider is 1 to 64 characters of a-z 0-9 _ -');
  if (!isStorable(identity.subject, MAX_SUBJECT)) fail('a subject is 1 to 255 characters, without NUL or lone surrogates');
  if (!isEmail(identity.email)) fail('an email is null or 1 to 320 characters, without NUL or lone surrogates');
  if (typeof identity.emailVerified !== 'boolean') fail('"emailVerified" must be a boolean');
  if (!Number.isSafeInteger(identity.createdAt)) fail('"createdAt" must be epoch milliseconds');
  if (identity.lastUsedAt !== null && !Number.isSafeInteger(identity.lastUsedAt)) fail('"lastUsedAt" must be epoch milliseconds or null');
  if (identity.providerTokens !== undefined && !isProviderTokens(identity.providerTokens)) fail(PROVIDER_TOKENS);
}

function checkUse(use: IdentityUse): void {
  if (
    typeof use !== 'object' ||
    use === null ||
    !isEmail(use.email) ||
    typeof use.emailVerified !== 'boolean' ||
    !Number.isSafeInteger(use.usedAt) ||
    (use.providerTokens !== undefined && !isProviderTokens(use.providerTokens))
  ) {
    fail(
      'a use is { email: null or 1 to 320 characters, emailVerified: a boolean, usedAt: epoch ms, providerTokens?: null or at most 16384 characters }',
    );
  }
}
