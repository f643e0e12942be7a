// SQL stores: import from 'nestjs-warden/typeorm' (needs the optional peer dependency typeorm, and pg or mysql2).
export {
  WardenIdentity,
  WardenMfaFactor,
  WardenMfaMarker,
  WardenMfaRecoveryCode,
  WardenOneTimeToken,
  WardenPasskey,
  WardenSession,
  WardenThrottleCounter,
  WardenUser,
  wardenEntities,
  wardenUserEntity,
} from './entities.js';
export type {
  WardenIdentityRow,
  WardenMfaFactorRow,
  WardenMfaMarkerRow,
  WardenMfaRecoveryCodeRow,
  WardenOneTimeTokenRow,
  WardenPasskeyRow,
  WardenSessionRow,
  WardenThrottleRow,
  WardenUserRow,
  WardenUserTableOptions,
} from './entities.js';
export {
  WardenIdentitiesMigration1765324800000,
  WardenMfaMigration1765152000000,
  WardenOneTimeTokensMigration1764979200000,
  WardenPasskeysMigration1765238400000,
  WardenSessionsMigration1764633600001,
  WardenUserEmailsMigration1764979200001,
  WardenUsersMigration1764633600000,
  wardenMigrations,
} from './migrations.js';
export type { SqlDialect, TypeOrmStoreOptions } from './sql-connection.js';
export type { SweepOptions } from './sql-sweeper.js';
export { TypeOrmIdentityStore } from './typeorm-identity.store.js';
export type { TypeOrmIdentityStoreOptions } from './typeorm-identity.store.js';
export { TypeOrmMfaStore } from './typeorm-mfa.store.js';
export type { TypeOrmMfaStoreOptions } from './typeorm-mfa.store.js';
export { TypeOrmOneTimeTokenStore } from './typeorm-one-time-token.store.js';
export type { TypeOrmOneTimeTokenStoreOptions } from './typeorm-one-time-token.store.js';
export { TypeOrmPasskeyStore } from './typeorm-passkey.store.js';
export type { TypeOrmPasskeyStoreOptions } from './typeorm-passkey.store.js';
export { TypeOrmSessionStore } from './typeorm-session.store.js';
export type { TypeOrmSessionStoreOptions } from './typeorm-session.store.js';
export { TypeOrmThrottleStore } from './typeorm-throttle.store.js';
export type { TypeOrmThrottleStoreOptions } from './typeorm-throttle.store.js';
export { TypeOrmUserStore } from './typeorm-user.store.js';
export type { TypeOrmUserStoreOptions } from './typeorm-user.store.js';
