import { describe, expect, it } from '@jest/globals';
import type { DataSource } from 'typeorm';
import { TypeOrmSessionStore, TypeOrmThrottleStore, TypeOrmUserStore } from '../auth/typeorm/index.js';
import { demoDatabaseImports, demoDatabaseOptions } from './demo-database.js';
import { demoAuthOptions } from './demo-options.js';

const SECRET = { AUTH_SECRET: 'demo-secret-that-is-at-least-32-bytes!!' };

describe('the demo on SQL', () => {
  it('reads AUTH_DATABASE_URL by scheme, with the migrations run at start', () => {
    expect(demoDatabaseOptions({})).toBeUndefined();
    expect(demoDatabaseImports({})).toEqual([]);
    expect(demoDatabaseOptions({ AUTH_DATABASE_URL: 'postgresql://u@db/warden' })).toMatchObject({
      type: 'postgres',
      migrationsRun: true,
      logging: false,
    });
    expect(demoDatabaseOptions({ AUTH_DATABASE_URL: 'mysql://root@db/warden' })).toMatchObject({ type: 'mysql', charset: 'utf8mb4' });
    expect(demoDatabaseOptions({ AUTH_DATABASE_URL: 'mariadb://root@db/warden' })).toMatchObject({
      type: 'mariadb',
      url: 'mysql://root@db/warden',
    });
    expect(() => demoDatabaseOptions({ AUTH_DATABASE_URL: 'sqlite:///tmp/x' })).toThrow(/must start with postgres/);
  });

  it('puts users in SQL with a DataSource, and sessions and counters with AUTH_SESSION_STORE=sql', () => {
    const dataSource = { options: { type: 'postgres' }, createQueryRunner: () => undefined, isInitialized: false } as unknown as DataSource;
    const usersOnly = demoAuthOptions({ ...SECRET }, dataSource);
    expect(usersOnly.userStore).toBeInstanceOf(TypeOrmUserStore);
    expect(usersOnly.sessionStore).toBeUndefined();
    const all = demoAuthOptions({ ...SECRET, AUTH_SESSION_STORE: 'sql' }, dataSource);
    expect(all.sessionStore).toBeInstanceOf(TypeOrmSessionStore);
    expect(all.throttleStore).toBeInstanceOf(TypeOrmThrottleStore);
    (all.sessionStore as TypeOrmSessionStore).onModuleDestroy();
    (all.throttleStore as TypeOrmThrottleStore).onModuleDestroy();
    expect(() => demoAuthOptions({ ...SECRET, AUTH_SESSION_STORE: 'sql' })).toThrow(/needs AUTH_DATABASE_URL/);
    expect(() => demoAuthOptions({ ...SECRET, AUTH_SESSION_STORE: 'mongo' })).toThrow(/"memory", "redis" or "sql"/);
  });
});
