import { EntitySchema } from 'typeorm';

/** A row of the users table, as the entity maps it. */
export interface WardenUserRow {
  id: string | number;
  username: string;
  /** SHA-256 (hex) of the folded username: the case-insensitive uniqueness key. */
  usernameKey?: string;
  passwordHash: string;
  /** The email address as given (NFC), or `null`. */
  email?: string | null;
  /** SHA-256 (hex) of the folded address (`foldEmail`): the case-insensitive uniqueness key. */
  emailKey?: string | null;
  emailVerified?: boolean;
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
  /** The session's `amr` values, space separated (a value holds no whitespace), or `null` when it has none. */
  amr: string | null;
  /** The last full authentication (epoch ms), or `null` for a session stored without one. */
  authTime: string | number | null;
}

/** A row of `warden_throttle_counters`. */
export interface WardenThrottleRow {
  /** SHA-256 (hex) of the counter's key: keys hold usernames and addresses, the table does not. */
  keyHash: string;
  count: number;
  windowEndsAt: string | number;
}

/** A row of `warden_one_time_tokens`. */
export interface WardenOneTimeTokenRow {
  /** SHA-256 (hex) of the token: the token itself is never stored. */
  tokenHash: string;
  purpose: string;
  userId: string;
  subject: string;
  expiresAt: string | number;
}

/** A row of `warden_mfa_factors`: one an account, from its first pending TOTP setup until TOTP is turned off. */
export interface WardenMfaFactorRow {
  userId: string;
  /** The sealed secret of the factor while TOTP is on, else `null`. */
  secret: string | null;
  /** When TOTP was turned on (epoch ms), `null` while it is off. */
  enabledAt: string | number | null;
  /** The sealed secret of a setup waiting for its first code, or `null`. */
  pendingSecret: string | null;
  /** The end of the pending setup (epoch ms), or `null`. */
  pendingExpiresAt: string | number | null;
}

/** A row of `warden_mfa_recovery_codes`: one unused recovery code of an account with TOTP on. */
export interface WardenMfaRecoveryCodeRow {
  userId: string;
  /** The code's digest, as the flow made it: the code itself is never stored. */
  digest: string;
}

/** A row of `warden_mfa_markers`: a code or challenge an account used, refused again until `expiresAt`. */
export interface WardenMfaMarkerRow {
  userId: string;
  /** What was used (`totp:<time step>`, `login:<challenge>`): at most 64 characters. */
  marker: string;
  expiresAt: string | number;
}

/** A row of `warden_passkeys`: one registered passkey (WebAuthn credential) of an account. */
export interface WardenPasskeyRow {
  /** nest-warden's id for it (22 base64url characters). */
  id: string;
  userId: string;
  /** SHA-256 (hex) of the credential id: the unique key (a credential id is too long for one on MySQL and MariaDB). */
  credentialKey: string;
  /** The authenticator's credential id, base64url. */
  credentialId: string;
  /** The COSE public key, base64url. */
  publicKey: string;
  counter: string | number;
  /** The transports the browser reported, space separated (empty for none). */
  transports: string;
  /** `singleDevice` or `multiDevice`. */
  deviceType: string;
  backedUp: boolean;
  name: string;
  createdAt: string | number;
  lastUsedAt: string | number | null;
}

/** A row of `warden_identities`: one external identity (OpenID Connect provider and subject) linked to an account. */
export interface WardenIdentityRow {
  /** nest-warden's id for the link (22 base64url characters). */
  id: string;
  userId: string;
  /** The provider's id in the flow's options: 1 to 64 characters of `[a-z0-9_-]`. */
  provider: string;
  /** The provider's subject for the user (`sub`), at most 255 characters. */
  subject: string;
  /** SHA-256 (hex) of `provider:subject` (UTF-8): the unique key, compared as bytes on every dialect. */
  identityKey: string;
  /** The address the provider gave at the last login, or `null`. */
  email: string | null;
  emailVerified: boolean;
  createdAt: string | number;
  lastUsedAt: string | number | null;
  /** The provider's tokens as the OIDC flow sealed them (opaque, at most 16,384 characters; never a plain token), or `null`. */
  providerTokens: string | null;
}

/** The table nest-warden's user entity maps, when it is the host's own. */
export interface WardenUserTableOptions {
  /** Default `"warden_users"`. */
  tableName?: string;
  /**
   * Column names, by field. Defaults: `id`, `username`, `username_key`, `password_hash`, `email`,
   * `email_key`, `email_verified`, `created_at`.
   */
  columns?: {
    id?: string;
    username?: string;
    usernameKey?: string;
    passwordHash?: string;
    email?: string;
    emailKey?: string;
    emailVerified?: string;
    createdAt?: string;
  };
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
  /**
   * `false`: the table keeps no email addresses (no email, email-key and verified columns), and
   * the store's `keepsEmail` is `false`. Default `true`: a varchar(320) address, a varchar(64)
   * key (SHA-256 hex of the folded address) under a unique index, and a boolean verified flag.
   */
  email?: boolean;
  /** `false`: the table has no creation-time column. Default `true`. */
  createdAt?: boolean;
}

/**
 * The user entity over `options.tableName`: the default one is {@link WardenUser}. Map it onto an
 * existing users table by naming its columns (`email: false` for a table without the email
 * columns); pass the same entity to `TypeOrmUserStore`.
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
      ...(options.email === false
        ? {}
        : {
            email: { name: columns.email ?? 'email', type: 'varchar' as const, length: 320, nullable: true },
            emailKey: { name: columns.emailKey ?? 'email_key', type: 'varchar' as const, length: 64, nullable: true },
            emailVerified: { name: columns.emailVerified ?? 'email_verified', type: 'boolean' as const, default: false },
          }),
      ...(options.createdAt === false ? {} : { createdAt: { name: columns.createdAt ?? 'created_at', type: Date, createDate: true } }),
    },
    indices: [
      ...(options.usernameKey === false ? [] : [{ name: `UQ_${table}_username_key`, columns: ['usernameKey'], unique: true }]),
      ...(options.email === false ? [] : [{ name: `UQ_${table}_email_key`, columns: ['emailKey'], unique: true }]),
    ],
  });
}

/** nest-warden's users table, `warden_users` (its migrations: `WardenUsersMigration1764633600000`, then `WardenUserEmailsMigration1764979200001`). */
export const WardenUser = wardenUserEntity();

/**
 * nest-warden's sessions table, `warden_sessions` (its migrations: `WardenSessionsMigration1764633600001`,
 * then `WardenMfaMigration1765152000000` for `amr` and `auth_time`).
 */
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
    amr: { type: 'varchar', length: 128, nullable: true },
    authTime: { name: 'auth_time', type: 'bigint', nullable: true },
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

/** nest-warden's single-use tokens (email verification, password reset), `warden_one_time_tokens` (in `WardenOneTimeTokensMigration1764979200000`). */
export const WardenOneTimeToken = new EntitySchema<WardenOneTimeTokenRow>({
  name: 'WardenOneTimeToken',
  tableName: 'warden_one_time_tokens',
  columns: {
    tokenHash: { name: 'token_hash', type: 'varchar', length: 64, primary: true },
    purpose: { type: 'varchar', length: 64 },
    userId: { name: 'user_id', type: 'varchar', length: 512 },
    subject: { type: 'varchar', length: 1024 },
    expiresAt: { name: 'expires_at', type: 'bigint' },
  },
  indices: [
    { name: 'IDX_warden_one_time_tokens_user', columns: ['userId', 'purpose'] },
    { name: 'IDX_warden_one_time_tokens_expires', columns: ['expiresAt'] },
  ],
});

/** nest-warden's TOTP factors and pending setups, `warden_mfa_factors` (in `WardenMfaMigration1765152000000`). */
export const WardenMfaFactor = new EntitySchema<WardenMfaFactorRow>({
  name: 'WardenMfaFactor',
  tableName: 'warden_mfa_factors',
  columns: {
    userId: { name: 'user_id', type: 'varchar', length: 512, primary: true },
    secret: { type: 'varchar', length: 512, nullable: true },
    enabledAt: { name: 'enabled_at', type: 'bigint', nullable: true },
    pendingSecret: { name: 'pending_secret', type: 'varchar', length: 512, nullable: true },
    pendingExpiresAt: { name: 'pending_expires_at', type: 'bigint', nullable: true },
  },
});

/** nest-warden's recovery-code digests, `warden_mfa_recovery_codes` (in `WardenMfaMigration1765152000000`). */
export const WardenMfaRecoveryCode = new EntitySchema<WardenMfaRecoveryCodeRow>({
  name: 'WardenMfaRecoveryCode',
  tableName: 'warden_mfa_recovery_codes',
  columns: {
    userId: { name: 'user_id', type: 'varchar', length: 512, primary: true },
    digest: { type: 'varchar', length: 128, primary: true },
  },
});

/** nest-warden's used-code marks, `warden_mfa_markers` (in `WardenMfaMigration1765152000000`). */
export const WardenMfaMarker = new EntitySchema<WardenMfaMarkerRow>({
  name: 'WardenMfaMarker',
  tableName: 'warden_mfa_markers',
  columns: {
    userId: { name: 'user_id', type: 'varchar', length: 512, primary: true },
    marker: { type: 'varchar', length: 64, primary: true },
    expiresAt: { name: 'expires_at', type: 'bigint' },
  },
  indices: [{ name: 'IDX_warden_mfa_markers_expires', columns: ['expiresAt'] }],
});

/** nest-warden's passkeys, `warden_passkeys` (in `WardenPasskeysMigration1765238400000`). */
export const WardenPasskey = new EntitySchema<WardenPasskeyRow>({
  name: 'WardenPasskey',
  tableName: 'warden_passkeys',
  columns: {
    id: { type: 'varchar', length: 22, primary: true },
    userId: { name: 'user_id', type: 'varchar', length: 512 },
    credentialKey: { name: 'credential_key', type: 'varchar', length: 64 },
    credentialId: { name: 'credential_id', type: 'text' },
    publicKey: { name: 'public_key', type: 'text' },
    counter: { type: 'bigint' },
    transports: { type: 'varchar', length: 255 },
    deviceType: { name: 'device_type', type: 'varchar', length: 16 },
    backedUp: { name: 'backed_up', type: 'boolean' },
    name: { type: 'varchar', length: 64 },
    createdAt: { name: 'created_at', type: 'bigint' },
    lastUsedAt: { name: 'last_used_at', type: 'bigint', nullable: true },
  },
  indices: [
    { name: 'UQ_warden_passkeys_credential_key', columns: ['credentialKey'], unique: true },
    { name: 'IDX_warden_passkeys_user', columns: ['userId', 'createdAt'] },
  ],
});

/** nest-warden's links of accounts to external identities, `warden_identities` (in `WardenIdentitiesMigration1765324800000`). */
export const WardenIdentity = new EntitySchema<WardenIdentityRow>({
  name: 'WardenIdentity',
  tableName: 'warden_identities',
  columns: {
    id: { type: 'varchar', length: 22, primary: true },
    userId: { name: 'user_id', type: 'varchar', length: 512 },
    provider: { type: 'varchar', length: 64 },
    subject: { type: 'varchar', length: 255 },
    identityKey: { name: 'identity_key', type: 'varchar', length: 64 },
    email: { type: 'varchar', length: 320, nullable: true },
    emailVerified: { name: 'email_verified', type: 'boolean' },
    createdAt: { name: 'created_at', type: 'bigint' },
    lastUsedAt: { name: 'last_used_at', type: 'bigint', nullable: true },
    providerTokens: { name: 'provider_tokens', type: 'text', nullable: true },
  },
  indices: [
    { name: 'UQ_warden_identities_identity_key', columns: ['identityKey'], unique: true },
    { name: 'IDX_warden_identities_user', columns: ['userId', 'createdAt'] },
  ],
});

/** Every entity of nest-warden's own tables: add them to the DataSource's `entities`. */
export const wardenEntities = [
  WardenUser,
  WardenSession,
  WardenThrottleCounter,
  WardenOneTimeToken,
  WardenMfaFactor,
  WardenMfaRecoveryCode,
  WardenMfaMarker,
  WardenPasskey,
  WardenIdentity,
];
