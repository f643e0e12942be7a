import { EntitySchema } from 'typeorm';

/** A row of the users table, as the entity maps it. */
export interface WardenUserRow {
  id: string | number;
  username: string;
  /** SHA-256 (hex) of the folded username: the case-insensitive uniqueness key. */
  usernameKey?: string;
  passwordHash: string;
  createdAt?: Date;
}

/** A row of `warden_sessions`. Times are epoch milliseconds (BIGINT), exact on every dialect. */
export interface WardenSessionRow {
  id: string;
  userId: string;
  username: string;
  createdAt: string | number;
  lastSeenAt: string | number;
  expiresAt: string | number;
  idleTimeoutMs: number | null;
  /** `min(expiresAt, lastSeenAt + idleTimeoutMs)`: a session is live while `endsAt > now`. */
  endsAt: string | number;
  refreshTokenHash: string | null;
  /** The last rotated-away refresh-token hashes, oldest first, space separated. */
  previousHashes: string | null;
  rotatedAt: string | number | null;
  userAgent: string | null;
  ip: string | null;
}

/** A row of `warden_throttle_counters`. */
export interface WardenThrottleRow {
  /** SHA-256 (hex) of the counter's key: keys hold usernames and addresses, the table does not. */
  keyHash: string;
  count: number;
  windowEndsAt: string | number;
}

/** The table nest-warden's user entity maps, when it is the host's own. */
export interface WardenUserTableOptions {
  /** Default `"warden_users"`. */
  tableName?: string;
  /** Column names, by field. Defaults: `id`, `username`, `username_key`, `password_hash`, `created_at`. */
  columns?: { id?: string; username?: string; usernameKey?: string; passwordHash?: string; createdAt?: string };
  /**
   * `"uuid"` (default): nest-warden makes each id (`randomUUID`), a 36-character string column.
   * `"increment"`: the database does (an auto-increment integer column); ids travel as strings.
   */
  idType?: 'uuid' | 'increment';
  /**
   * `false`: the table has no username-key column. Usernames are then found by exact match and
   * kept unique by the table's own unique index on the username column. Default `true`.
   */
  usernameKey?: boolean;
  /** `false`: the table has no creation-time column. Default `true`. */
  createdAt?: boolean;
}

/**
 * The user entity over `options.tableName`: the default one is {@link WardenUser}. Map it onto an
 * existing users table by naming its columns; pass the same entity to `TypeOrmUserStore`.
 *
 * @example
 * ```ts
 * const AppUser = wardenUserEntity({ tableName: 'app_users', columns: { username: 'login', passwordHash: 'pwd' } });
 * ```
 */
export function wardenUserEntity(options: WardenUserTableOptions = {}): EntitySchema<WardenUserRow> {
  const columns = options.columns ?? {};
  const increment = (options.idType ?? 'uuid') === 'increment';
  const table = options.tableName ?? 'warden_users';
  return new EntitySchema<WardenUserRow>({
    name: options.tableName === undefined ? 'WardenUser' : `WardenUser:${table}`,
    tableName: table,
    columns: {
      id: increment
        ? { name: columns.id ?? 'id', type: 'int', primary: true, generated: 'increment' }
        : { name: columns.id ?? 'id', type: 'varchar', length: 36, primary: true },
      username: { name: columns.username ?? 'username', type: 'varchar', length: 255 },
      ...(options.usernameKey === false
        ? {}
        : { usernameKey: { name: columns.usernameKey ?? 'username_key', type: 'varchar' as const, length: 64 } }),
      passwordHash: { name: columns.passwordHash ?? 'password_hash', type: 'varchar', length: 255 },
      ...(options.createdAt === false ? {} : { createdAt: { name: columns.createdAt ?? 'created_at', type: Date, createDate: true } }),
    },
    indices: options.usernameKey === false ? [] : [{ name: `UQ_${table}_username_key`, columns: ['usernameKey'], unique: true }],
  });
}

/** nest-warden's users table, `warden_users` (its migration: `WardenUsersMigration1764633600000`). */
export const WardenUser = wardenUserEntity();

/** nest-warden's sessions table, `warden_sessions` (its migration: `WardenSessionsMigration1764633600001`). */
export const WardenSession = new EntitySchema<WardenSessionRow>({
  name: 'WardenSession',
  tableName: 'warden_sessions',
  columns: {
    id: { type: 'varchar', length: 64, primary: true },
    userId: { name: 'user_id', type: 'varchar', length: 512 },
    username: { type: 'varchar', length: 512 },
    createdAt: { name: 'created_at', type: 'bigint' },
    lastSeenAt: { name: 'last_seen_at', type: 'bigint' },
    expiresAt: { name: 'expires_at', type: 'bigint' },
    idleTimeoutMs: { name: 'idle_timeout_ms', type: 'bigint', nullable: true },
    endsAt: { name: 'ends_at', type: 'bigint' },
    refreshTokenHash: { name: 'refresh_token_hash', type: 'varchar', length: 64, nullable: true },
    previousHashes: { name: 'previous_hashes', type: 'varchar', length: 1024, nullable: true },
    rotatedAt: { name: 'rotated_at', type: 'bigint', nullable: true },
    userAgent: { name: 'user_agent', type: 'text', nullable: true },
    ip: { type: 'varchar', length: 255, nullable: true },
  },
  indices: [
    { name: 'IDX_warden_sessions_user', columns: ['userId', 'createdAt'] },
    { name: 'IDX_warden_sessions_ends', columns: ['endsAt'] },
  ],
});

/** nest-warden's login-throttle counters, `warden_throttle_counters` (in `WardenSessionsMigration1764633600001`). */
export const WardenThrottleCounter = new EntitySchema<WardenThrottleRow>({
  name: 'WardenThrottleCounter',
  tableName: 'warden_throttle_counters',
  columns: {
    keyHash: { name: 'key_hash', type: 'varchar', length: 64, primary: true },
    count: { type: 'int' },
    windowEndsAt: { name: 'window_ends_at', type: 'bigint' },
  },
  indices: [{ name: 'IDX_warden_throttle_ends', columns: ['windowEndsAt'] }],
});

/** Every entity of nest-warden's own tables: add them to the DataSource's `entities`. */
export const wardenEntities = [WardenUser, WardenSession, WardenThrottleCounter];
