import type { DynamicModule } from '@nestjs/common';
import { TypeOrmModule, type TypeOrmModuleOptions } from '@nestjs/typeorm';
import { wardenEntities, wardenMigrations } from '../auth/typeorm/index.js';

/**
 * The demo's TypeORM options from `AUTH_DATABASE_URL` (`postgres://`, `postgresql://`, `mysql://`
 * or `mariadb://`), or `undefined` without it. nest-warden's migrations run at start.
 */
export function demoDatabaseOptions(env: NodeJS.ProcessEnv = process.env): TypeOrmModuleOptions | undefined {
  const url = env.AUTH_DATABASE_URL;
  if (!url) return undefined;
  const scheme = /^([a-z]+):\/\//.exec(url)?.[1];
  const common = { entities: wardenEntities, migrations: wardenMigrations, migrationsRun: true, logging: false as const };
  if (scheme === 'postgres' || scheme === 'postgresql') {
    // A database that does not answer fails requests within a second, not after the OS's TCP timeout.
    return { ...common, type: 'postgres', url, connectTimeoutMS: 1000, extra: { max: 10 } };
  }
  if (scheme === 'mysql' || scheme === 'mariadb') {
    return {
      ...common,
      type: scheme,
      url: url.replace(/^mariadb:/, 'mysql:'),
      connectTimeout: 1000,
      charset: 'utf8mb4',
      extra: { connectionLimit: 10 },
    };
  }
  throw new Error('AUTH_DATABASE_URL must start with postgres://, postgresql://, mysql:// or mariadb://');
}

/** `TypeOrmModule.forRoot` when `AUTH_DATABASE_URL` is set; nothing otherwise. */
export function demoDatabaseImports(env: NodeJS.ProcessEnv = process.env): DynamicModule[] {
  const options = demoDatabaseOptions(env);
  return options ? [TypeOrmModule.forRoot(options)] : [];
}
