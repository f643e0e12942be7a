import { Table, TableColumn, TableIndex, type MigrationInterface, type QueryRunner, type TableColumnOptions } from 'typeorm';

// On MySQL and MariaDB, ids, hashes and names compare byte for byte (the server's default
// collation would match "Alice" to "alice" and ignore trailing spaces); utf8mb4 keeps emoji.
function text(queryRunner: QueryRunner, column: TableColumnOptions): TableColumnOptions {
  const type = queryRunner.connection.options.type;
  return type === 'mysql' || type === 'mariadb' ? { ...column, charset: 'utf8mb4', collation: 'utf8mb4_bin' } : column;
}

function createdAtColumn(queryRunner: QueryRunner): TableColumnOptions {
  const type = queryRunner.connection.options.type;
  return type === 'postgres'
    ? { name: 'created_at', type: 'timestamp', default: 'now()' }
    : { name: 'created_at', type: 'datetime', precision: 6, default: 'CURRENT_TIMESTAMP(6)' };
}

/**
 * Creates `warden_users` (the entity {@link WardenUser}). Leave it out when nest-warden maps your
 * own users table (`wardenUserEntity`). PostgreSQL, MySQL and MariaDB.
 */
export class WardenUsersMigration1764633600000 implements MigrationInterface {
  name = 'WardenUsersMigration1764633600000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.createTable(
      new Table({
        name: 'warden_users',
        columns: [
          text(queryRunner, { name: 'id', type: 'varchar', length: '36', isPrimary: true }),
          text(queryRunner, { name: 'username', type: 'varchar', length: '255' }),
          text(queryRunner, { name: 'username_key', type: 'varchar', length: '64' }),
          text(queryRunner, { name: 'password_hash', type: 'varchar', length: '255' }),
          createdAtColumn(queryRunner),
        ],
        indices: [new TableIndex({ name: 'UQ_warden_users_username_key', columnNames: ['username_key'], isUnique: true })],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('warden_users');
  }
}

/**
 * Creates `warden_sessions` and `warden_throttle_counters` (the entities {@link WardenSession}
 * and {@link WardenThrottleCounter}). PostgreSQL, MySQL and MariaDB.
 */
export class WardenSessionsMigration1764633600001 implements MigrationInterface {
  name = 'WardenSessionsMigration1764633600001';

  async up(queryRunner: QueryRunner): Promise<void> {
    const ms = (name: string, nullable = false): TableColumnOptions => ({ name, type: 'bigint', isNullable: nullable });
    await queryRunner.createTable(
      new Table({
        name: 'warden_sessions',
        columns: [
          text(queryRunner, { name: 'id', type: 'varchar', length: '64', isPrimary: true }),
          text(queryRunner, { name: 'user_id', type: 'varchar', length: '512' }),
          text(queryRunner, { name: 'username', type: 'varchar', length: '512' }),
          ms('created_at'),
          ms('last_seen_at'),
          ms('expires_at'),
          ms('idle_timeout_ms', true),
          ms('ends_at'),
          text(queryRunner, { name: 'refresh_token_hash', type: 'varchar', length: '64', isNullable: true }),
          text(queryRunner, { name: 'previous_hashes', type: 'varchar', length: '1024', isNullable: true }),
          ms('rotated_at', true),
          text(queryRunner, { name: 'user_agent', type: 'text', isNullable: true }),
          text(queryRunner, { name: 'ip', type: 'varchar', length: '255', isNullable: true }),
        ],
        indices: [
          new TableIndex({ name: 'IDX_warden_sessions_user', columnNames: ['user_id', 'created_at'] }),
          new TableIndex({ name: 'IDX_warden_sessions_ends', columnNames: ['ends_at'] }),
        ],
      }),
    );
    await queryRunner.createTable(
      new Table({
        name: 'warden_throttle_counters',
        columns: [
          text(queryRunner, { name: 'key_hash', type: 'varchar', length: '64', isPrimary: true }),
          { name: 'count', type: 'int' },
          ms('window_ends_at'),
        ],
        indices: [new TableIndex({ name: 'IDX_warden_throttle_ends', columnNames: ['window_ends_at'] })],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('warden_throttle_counters');
    await queryRunner.dropTable('warden_sessions');
  }
}

/**
 * Creates `warden_one_time_tokens` (the entity {@link WardenOneTimeToken}): the single-use tokens of
 * email verification and password reset. Independent of the users table. PostgreSQL, MySQL and
 * MariaDB.
 */
export class WardenOneTimeTokensMigration1764979200000 implements MigrationInterface {
  name = 'WardenOneTimeTokensMigration1764979200000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.createTable(
      new Table({
        name: 'warden_one_time_tokens',
        columns: [
          text(queryRunner, { name: 'token_hash', type: 'varchar', length: '64', isPrimary: true }),
          text(queryRunner, { name: 'purpose', type: 'varchar', length: '64' }),
          text(queryRunner, { name: 'user_id', type: 'varchar', length: '512' }),
          text(queryRunner, { name: 'subject', type: 'varchar', length: '1024' }),
          { name: 'expires_at', type: 'bigint' },
        ],
        indices: [
          // 2,304 bytes in utf8mb4 (4 a character): within InnoDB's 3,072 for an index (row format DYNAMIC, the default).
          new TableIndex({ name: 'IDX_warden_one_time_tokens_user', columnNames: ['user_id', 'purpose'] }),
          new TableIndex({ name: 'IDX_warden_one_time_tokens_expires', columnNames: ['expires_at'] }),
        ],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('warden_one_time_tokens');
  }
}

/**
 * Adds email addresses to `warden_users`: `email` (nullable), `email_key` (SHA-256 of the folded
 * address, nullable, unique) and `email_verified` (default false). Leave it out with the users
 * migration when nest-warden maps your own users table. PostgreSQL, MySQL and MariaDB.
 */
export class WardenUserEmailsMigration1764979200001 implements MigrationInterface {
  name = 'WardenUserEmailsMigration1764979200001';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.addColumns('warden_users', [
      new TableColumn(text(queryRunner, { name: 'email', type: 'varchar', length: '320', isNullable: true })),
      new TableColumn(text(queryRunner, { name: 'email_key', type: 'varchar', length: '64', isNullable: true })),
      new TableColumn({ name: 'email_verified', type: 'boolean', isNullable: false, default: false }),
    ]);
    // Unique with NULLs allowed many times, on every dialect: users without an address never clash.
    await queryRunner.createIndex(
      'warden_users',
      new TableIndex({ name: 'UQ_warden_users_email_key', columnNames: ['email_key'], isUnique: true }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropIndex('warden_users', 'UQ_warden_users_email_key');
    await queryRunner.dropColumns('warden_users', ['email_verified', 'email_key', 'email']);
  }
}

/**
 * Second factors: creates `warden_mfa_factors`, `warden_mfa_recovery_codes` and
 * `warden_mfa_markers` (the entities {@link WardenMfaFactor}, {@link WardenMfaRecoveryCode} and
 * {@link WardenMfaMarker}), and adds to `warden_sessions` how
 * each session was authenticated: `amr` (its values, space separated, nullable) and `auth_time`
 * (epoch ms, nullable). Sessions made before it keep both `NULL`, read as a password login at
 * their creation. Independent of the users table. PostgreSQL, MySQL and MariaDB.
 */
export class WardenMfaMigration1765152000000 implements MigrationInterface {
  name = 'WardenMfaMigration1765152000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const ms = (name: string): TableColumnOptions => ({ name, type: 'bigint', isNullable: true });
    await queryRunner.addColumns('warden_sessions', [
      new TableColumn(text(queryRunner, { name: 'amr', type: 'varchar', length: '128', isNullable: true })),
      new TableColumn(ms('auth_time')),
    ]);
    await queryRunner.createTable(
      new Table({
        name: 'warden_mfa_factors',
        columns: [
          text(queryRunner, { name: 'user_id', type: 'varchar', length: '512', isPrimary: true }),
          text(queryRunner, { name: 'secret', type: 'varchar', length: '512', isNullable: true }),
          ms('enabled_at'),
          text(queryRunner, { name: 'pending_secret', type: 'varchar', length: '512', isNullable: true }),
          ms('pending_expires_at'),
        ],
      }),
    );
    await queryRunner.createTable(
      new Table({
        name: 'warden_mfa_recovery_codes',
        // The primary key (2,560 bytes in utf8mb4) also serves the lookups by user alone.
        columns: [
          text(queryRunner, { name: 'user_id', type: 'varchar', length: '512', isPrimary: true }),
          text(queryRunner, { name: 'digest', type: 'varchar', length: '128', isPrimary: true }),
        ],
      }),
    );
    await queryRunner.createTable(
      new Table({
        name: 'warden_mfa_markers',
        columns: [
          text(queryRunner, { name: 'user_id', type: 'varchar', length: '512', isPrimary: true }),
          text(queryRunner, { name: 'marker', type: 'varchar', length: '64', isPrimary: true }),
          { name: 'expires_at', type: 'bigint' },
        ],
        indices: [new TableIndex({ name: 'IDX_warden_mfa_markers_expires', columnNames: ['expires_at'] })],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('warden_mfa_markers');
    await queryRunner.dropTable('warden_mfa_recovery_codes');
    await queryRunner.dropTable('warden_mfa_factors');
    await queryRunner.dropColumns('warden_sessions', ['auth_time', 'amr']);
  }
}

/**
 * Passkeys: creates `warden_passkeys` (the entity {@link WardenPasskey}), one row per registered
 * WebAuthn credential: its `id` (22 characters, the primary key), `user_id` (indexed with
 * `created_at`, the account's list in order), `credential_key` (SHA-256 hex of the credential id,
 * unique: the credential id, up to 1,364 characters, is too long for a unique index on MySQL and
 * MariaDB), `credential_id` and `public_key` (text), `counter`, `transports` (space separated),
 * `device_type`, `backed_up`, `name` (up to 64 characters), `created_at` and `last_used_at`
 * (epoch ms, nullable). Independent of the users table. PostgreSQL, MySQL and MariaDB.
 */
export class WardenPasskeysMigration1765238400000 implements MigrationInterface {
  name = 'WardenPasskeysMigration1765238400000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const ms = (name: string, nullable = false): TableColumnOptions => ({ name, type: 'bigint', isNullable: nullable });
    await queryRunner.createTable(
      new Table({
        name: 'warden_passkeys',
        columns: [
          text(queryRunner, { name: 'id', type: 'varchar', length: '22', isPrimary: true }),
          text(queryRunner, { name: 'user_id', type: 'varchar', length: '512' }),
          text(queryRunner, { name: 'credential_key', type: 'varchar', length: '64' }),
          text(queryRunner, { name: 'credential_id', type: 'text' }),
          text(queryRunner, { name: 'public_key', type: 'text' }),
          { name: 'counter', type: 'bigint' },
          text(queryRunner, { name: 'transports', type: 'varchar', length: '255' }),
          text(queryRunner, { name: 'device_type', type: 'varchar', length: '16' }),
          { name: 'backed_up', type: 'boolean' },
          text(queryRunner, { name: 'name', type: 'varchar', length: '64' }),
          ms('created_at'),
          ms('last_used_at', true),
        ],
        indices: [
          new TableIndex({ name: 'UQ_warden_passkeys_credential_key', columnNames: ['credential_key'], isUnique: true }),
          // 2,056 bytes in utf8mb4: within InnoDB's 3,072 for an index.
          new TableIndex({ name: 'IDX_warden_passkeys_user', columnNames: ['user_id', 'created_at'] }),
        ],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('warden_passkeys');
  }
}

/**
 * Identity links of the OpenID Connect flow: creates `warden_identities` (the entity
 * {@link WardenIdentity}), one row per external identity linked to an account: its `id`
 * (22 characters, the primary key), `user_id` (indexed with `created_at`, the account's list in
 * order), `provider` (up to 64 characters) and `subject` (up to 255), `identity_key` (SHA-256 hex
 * of `provider:subject`, unique: one identity is linked to one account, and the subject is
 * compared exactly, whatever the collation), `email` (up to 320 characters, nullable),
 * `email_verified`, `created_at` and `last_used_at` (epoch ms, nullable), and `provider_tokens`
 * (text, nullable: the provider's tokens as the flow sealed them, up to 16,384 characters).
 * Independent of the users table. PostgreSQL, MySQL and MariaDB.
 */
export class WardenIdentitiesMigration1765324800000 implements MigrationInterface {
  name = 'WardenIdentitiesMigration1765324800000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const ms = (name: string, nullable = false): TableColumnOptions => ({ name, type: 'bigint', isNullable: nullable });
    await queryRunner.createTable(
      new Table({
        name: 'warden_identities',
        columns: [
          text(queryRunner, { name: 'id', type: 'varchar', length: '22', isPrimary: true }),
          text(queryRunner, { name: 'user_id', type: 'varchar', length: '512' }),
          text(queryRunner, { name: 'provider', type: 'varchar', length: '64' }),
          text(queryRunner, { name: 'subject', type: 'varchar', length: '255' }),
          text(queryRunner, { name: 'identity_key', type: 'varchar', length: '64' }),
          text(queryRunner, { name: 'email', type: 'varchar', length: '320', isNullable: true }),
          { name: 'email_verified', type: 'boolean' },
          ms('created_at'),
          ms('last_used_at', true),
          // At most 16,384 UTF-16 code units: at most 49,152 bytes of UTF-8, within a MySQL TEXT.
          text(queryRunner, { name: 'provider_tokens', type: 'text', isNullable: true }),
        ],
        indices: [
          new TableIndex({ name: 'UQ_warden_identities_identity_key', columnNames: ['identity_key'], isUnique: true }),
          // 2,056 bytes in utf8mb4: within InnoDB's 3,072 for an index.
          new TableIndex({ name: 'IDX_warden_identities_user', columnNames: ['user_id', 'created_at'] }),
        ],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('warden_identities');
  }
}

/** nest-warden's migrations, in order: add them to the DataSource's `migrations` (or run them in your pipeline). */
export const wardenMigrations = [
  WardenUsersMigration1764633600000,
  WardenSessionsMigration1764633600001,
  WardenOneTimeTokensMigration1764979200000,
  WardenUserEmailsMigration1764979200001,
  WardenMfaMigration1765152000000,
  WardenPasskeysMigration1765238400000,
  WardenIdentitiesMigration1765324800000,
];
