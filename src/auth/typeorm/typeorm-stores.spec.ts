import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { DataSource } from 'typeorm';
import { createTestDatabase, startTestSqlServer, type SqlDialect, type TestSqlServer } from '../../../test/utils/sql-server.js';
import { StoreUnavailableError, UsernameTakenError } from '../auth.errors.js';
import { describeSessionStoreContract, describeThrottleStoreContract, describeUserStoreContract, FakeClock } from '../testing/index.js';
import {
  TypeOrmSessionStore,
  TypeOrmThrottleStore,
  TypeOrmUserStore,
  wardenEntities,
  wardenMigrations,
  wardenUserEntity,
  WardenSessionsMigration1764633600001,
} from './index.js';

/** A DataSource on a private database of the test server, migrated. */
async function migratedDataSource(server: TestSqlServer, extra: { entities?: unknown[]; migrations?: unknown[] } = {}) {
  const database = await createTestDatabase(server);
  const dataSource = new DataSource({
    // MariaDB reports column defaults in its own way: TypeORM's "mariadb" type knows it.
    type: server.dialect === 'postgres' ? 'postgres' : 'mariadb',
    url: database.url,
    entities: (extra.entities ?? wardenEntities) as never,
    migrations: (extra.migrations ?? wardenMigrations) as never,
    migrationsRun: true,
    logging: false,
  });
  await dataSource.initialize();
  return {
    dataSource,
    close: async () => {
      await dataSource.destroy();
      await database.drop();
    },
  };
}

describe.each<SqlDialect>(['postgres', 'mysql'])('TypeORM stores on %s', (dialect) => {
  let server: TestSqlServer;
  let db: Awaited<ReturnType<typeof migratedDataSource>>;

  beforeAll(async () => {
    server = await startTestSqlServer(dialect);
    db = await migratedDataSource(server);
  }, 120_000);

  afterAll(async () => {
    await db?.close();
    await server?.stop();
  });

  const sessions = (clock: FakeClock) => new TypeOrmSessionStore({ dataSource: db.dataSource, clock: clock.now, sweepIntervalSeconds: 0 });

  describeSessionStoreContract('TypeOrmSessionStore', ({ clock }) => sessions(clock));
  describeThrottleStoreContract(
    'TypeOrmThrottleStore',
    ({ clock }) => new TypeOrmThrottleStore({ dataSource: db.dataSource, clock: clock.now, sweepIntervalSeconds: 0 }),
  );
  describeUserStoreContract('TypeOrmUserStore', () => new TypeOrmUserStore({ dataSource: db.dataSource }));

  it('ships migrations that create exactly the schema of the entities', async () => {
    // What TypeORM would still change to match the entities: nothing.
    const pending = await db.dataSource.driver.createSchemaBuilder().log();
    expect(pending.upQueries.map((query) => query.query)).toEqual([]);
    expect(await db.dataSource.showMigrations()).toBe(false);
  });

  it('sweeps expired sessions and ended counters in bounded batches, and never a live one', async () => {
    const own = await migratedDataSource(server);
    const clock = new FakeClock();
    const store = new TypeOrmSessionStore({ dataSource: own.dataSource, clock: clock.now, sweepIntervalSeconds: 0 });
    const userId = `sweep-${dialect}`;
    for (let i = 0; i < 30; i++) {
      await store.create({
        id: store.generateSessionId(userId),
        userId,
        username: 'sweep',
        createdAt: clock.date(),
        lastSeenAt: clock.date(),
        expiresAt: clock.date(i < 20 ? 10 : 3600),
      });
    }
    clock.advance(10);
    const limited = new TypeOrmSessionStore({ dataSource: own.dataSource, clock: clock.now, sweepIntervalSeconds: 0, sweepMaxRows: 1 });
    // One batch at most: all 20 expired rows fit in it.
    expect(await limited.sweep()).toBe(20);
    expect(await store.sweep()).toBe(0);
    expect(await store.listForUser(userId)).toHaveLength(10);

    const throttle = new TypeOrmThrottleStore({ dataSource: own.dataSource, clock: clock.now, sweepIntervalSeconds: 0 });
    await throttle.hit('ends', 5);
    await throttle.hit('lives', 60);
    clock.advance(5);
    expect(await throttle.sweep()).toBe(1);
    expect(await throttle.peek('ends')).toEqual({ count: 0, resetInSeconds: 0 });
    expect((await throttle.peek('lives')).count).toBe(1);
    await own.close();
  });

  it('maps the user entity onto a host table with its own column names and database-made ids', async () => {
    const HostUser = wardenUserEntity({
      tableName: 'host_accounts',
      idType: 'increment',
      columns: { id: 'account_id', username: 'login', passwordHash: 'secret_hash', usernameKey: 'login_key', createdAt: 'joined_at' },
    });
    const hosted = await migratedDataSource(server, { entities: [HostUser], migrations: [] });
    try {
      await hosted.dataSource.synchronize();
      const store = new TypeOrmUserStore({ dataSource: hosted.dataSource, entity: HostUser });
      const alice = await store.create({ username: 'alice', passwordHash: 'h1' });
      const bob = await store.create({ username: 'bob', passwordHash: 'h2' });
      expect(alice.id).toMatch(/^[1-9][0-9]*$/);
      expect(Number(bob.id)).toBeGreaterThan(Number(alice.id));
      expect(await store.findById(alice.id)).toEqual(alice);
      expect(await store.findById('abc')).toBeNull();
      await expect(store.create({ username: 'ALICE', passwordHash: 'h3' })).rejects.toBeInstanceOf(UsernameTakenError);
      const [row] = (await hosted.dataSource.query('SELECT login, secret_hash FROM host_accounts WHERE account_id = 1')) as Array<{
        login: string;
        secret_hash: string;
      }>;
      expect(row).toEqual({ login: 'alice', secret_hash: 'h1' });
      // Without a key column, names are looked up as they are: what no column can hold is no one's.
      const ByName = wardenUserEntity({
        tableName: 'host_accounts',
        columns: { id: 'account_id', username: 'login', passwordHash: 'secret_hash', createdAt: 'joined_at' },
        idType: 'increment',
        usernameKey: false,
      });
      const byName = await migratedDataSource(server, { entities: [ByName], migrations: [] });
      try {
        const plain = new TypeOrmUserStore({ dataSource: byName.dataSource, entity: ByName });
        for (const username of ['ali\u0000ce', 'x'.repeat(256), 'lone \ud800']) expect(await plain.findByUsername(username)).toBeNull();
      } finally {
        await byName.close();
      }
    } finally {
      await hosted.close();
    }
  });

  it('keeps the migrations of sessions usable without the users table (a host that maps its own)', async () => {
    const own = await migratedDataSource(server, { migrations: [WardenSessionsMigration1764633600001] });
    try {
      const tables = await own.dataSource.createQueryRunner().getTables(['warden_sessions', 'warden_throttle_counters', 'warden_users']);
      expect(tables.map((table) => table.name.split('.').pop()).sort()).toEqual(['warden_sessions', 'warden_throttle_counters']);
    } finally {
      await own.close();
    }
  });

  it('answers StoreUnavailableError within operationTimeoutMs while the database hangs, and serves again once it answers', async () => {
    // A private server of its own, frozen (SIGSTOP): connections stay open and nothing answers.
    const frozen = await startTestSqlServer(dialect, { privateServer: true });
    const hung = await migratedDataSource(frozen);
    try {
      const clock = new FakeClock(Date.now());
      const store = new TypeOrmSessionStore({
        dataSource: hung.dataSource,
        operationTimeoutMs: 300,
        clock: clock.now,
        sweepIntervalSeconds: 0,
      });
      const session = {
        id: store.generateSessionId('frozen-user'),
        userId: 'frozen-user',
        username: 'frozen',
        createdAt: clock.date(),
        lastSeenAt: clock.date(),
        expiresAt: clock.date(3600),
        refreshTokenHash: 'h'.repeat(43),
      };
      await store.create(session);
      await frozen.pause();
      let started = Date.now();
      await expect(Promise.resolve(store.checkLive(session.id, session.userId))).rejects.toBeInstanceOf(StoreUnavailableError);
      await expect(store.rotateRefreshToken(session.id, session.refreshTokenHash, 'n'.repeat(43), clock.date())).rejects.toBeInstanceOf(
        StoreUnavailableError,
      );
      // Bounded: both within a few timeouts, not the TCP timeout of the OS.
      expect(Date.now() - started).toBeLessThan(3000);
      await frozen.resume();
      started = Date.now();
      let live = null;
      while (live === null && Date.now() - started < 10_000) {
        live = await Promise.resolve(store.checkLive(session.id, session.userId)).catch(() => null);
      }
      expect(live).toEqual({ username: 'frozen', lastSeenAtMs: session.lastSeenAt.getTime() });
      // The rotation that timed out committed or not; either way the session is whole.
      const stored = await store.get(session.id);
      expect(stored?.refreshTokenHash === session.refreshTokenHash || stored?.refreshTokenHash === 'n'.repeat(43)).toBe(true);
    } finally {
      await frozen.resume().catch(() => undefined);
      await hung.close().catch(() => undefined);
      await frozen.stop();
    }
  }, 60_000);

  it('while another connection holds a session row locked: the rotation answers 503 and never commits later, other sessions are served', async () => {
    const clock = new FakeClock(Date.now());
    const store = new TypeOrmSessionStore({
      dataSource: db.dataSource,
      operationTimeoutMs: 1000,
      clock: clock.now,
      sweepIntervalSeconds: 0,
    });
    const open = async (userId: string) => {
      const session = {
        id: store.generateSessionId(userId),
        userId,
        username: 'locked',
        createdAt: clock.date(),
        lastSeenAt: clock.date(),
        expiresAt: clock.date(3600),
        refreshTokenHash: 'p'.repeat(43),
      };
      await store.create(session);
      return session;
    };
    const locked = await open('locked-user');
    const other = await open('other-user');
    // Another instance, stuck inside a transaction that holds the row.
    const holder = db.dataSource.createQueryRunner();
    await holder.startTransaction();
    await holder.query(
      server.dialect === 'postgres'
        ? 'SELECT id FROM warden_sessions WHERE id = $1 FOR UPDATE'
        : 'SELECT id FROM warden_sessions WHERE id = ? FOR UPDATE',
      [locked.id],
    );
    try {
      // More rotations than the pool has connections: the database gives each up, so none stays parked.
      const rotations = await Promise.allSettled(
        Array.from({ length: 12 }, () => store.rotateRefreshToken(locked.id, locked.refreshTokenHash, 'c'.repeat(43), clock.date(), 10)),
      );
      for (const rotation of rotations) {
        expect(rotation.status).toBe('rejected');
        expect(rotation.status === 'rejected' && rotation.reason).toBeInstanceOf(StoreUnavailableError);
      }
      expect(await Promise.resolve(store.checkLive(other.id, other.userId))).toEqual({
        username: 'locked',
        lastSeenAtMs: other.lastSeenAt.getTime(),
      });
    } finally {
      await holder.rollbackTransaction();
      await holder.release();
    }
    // Nothing committed after the 503s: the client's token is still the current one.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect((await store.get(locked.id))?.refreshTokenHash).toBe(locked.refreshTokenHash);
    expect((await store.rotateRefreshToken(locked.id, locked.refreshTokenHash, 'c'.repeat(43), clock.date(), 10)).status).toBe('rotated');
  }, 60_000);

  it('keeps no statement, parameter or quoted value on the error of a duplicate session id', async () => {
    const store = new TypeOrmSessionStore({ dataSource: db.dataSource, sweepIntervalSeconds: 0 });
    const session = {
      id: store.generateSessionId('dup-user'),
      userId: 'dup-user',
      username: 'dup',
      createdAt: new Date(),
      lastSeenAt: new Date(),
      expiresAt: new Date(Date.now() + 60_000),
      refreshTokenHash: 'secret-refresh-hash-'.padEnd(43, 'x'),
    };
    await store.create(session);
    const failure = await store.create(session).then(
      () => undefined,
      (error: unknown) => error as Error & { cause?: unknown },
    );
    expect(failure?.message).toBe('TypeOrmSessionStore: duplicate session id');
    // Everything on the cause, its driver error included, as a host's error reporter would see it.
    const seen = inspect(failure?.cause, { depth: 6, showHidden: true });
    expect(seen).not.toContain('secret-refresh-hash');
    expect(seen).not.toContain(session.id);
  });

  it('answers StoreUnavailableError, not the driver error, when the DataSource is gone', async () => {
    const gone = await migratedDataSource(server);
    const store = new TypeOrmSessionStore({ dataSource: gone.dataSource, sweepIntervalSeconds: 0 });
    const users = new TypeOrmUserStore({ dataSource: gone.dataSource });
    await gone.close();
    await expect(store.get('abcdefghijklmnopqrstuv')).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(Promise.resolve(store.checkLive('abcdefghijklmnopqrstuv', 'u'))).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(users.findByUsername('alice')).rejects.toBeInstanceOf(StoreUnavailableError);
    expect(await store.ping()).toBe(false);
  });
});

describe('TypeORM store options', () => {
  it('refuses a DataSource of another database and out-of-range options', () => {
    const sqlite = { options: { type: 'better-sqlite3' }, createQueryRunner: () => undefined } as unknown as DataSource;
    expect(() => new TypeOrmSessionStore({ dataSource: sqlite })).toThrow(/PostgreSQL, MySQL and MariaDB/);
    expect(() => new TypeOrmUserStore({ dataSource: {} as DataSource })).toThrow(/TypeORM DataSource/);
    const postgres = new DataSource({ type: 'postgres', url: 'postgres://127.0.0.1:1/none' });
    expect(() => new TypeOrmThrottleStore({ dataSource: postgres, operationTimeoutMs: 5 })).toThrow(/operationTimeoutMs/);
    expect(() => new TypeOrmSessionStore({ dataSource: postgres, sweepIntervalSeconds: -1 })).toThrow(/sweepIntervalSeconds/);
  });
});
