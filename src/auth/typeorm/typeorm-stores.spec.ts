import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { DataSource } from 'typeorm';
import { createTestDatabase, startTestSqlServer, type SqlDialect, type TestSqlServer } from '../../../test/utils/sql-server.js';
import { createHash, randomBytes } from 'node:crypto';
import { EmailTakenError, StoreUnavailableError, UsernameTakenError } from '../auth.errors.js';
import {
  describeIdentityStoreContract,
  describeMfaStoreContract,
  describeOneTimeTokenStoreContract,
  describePasskeyStoreContract,
  describeSessionStoreContract,
  describeThrottleStoreContract,
  describeUserStoreContract,
  FakeClock,
} from '../testing/index.js';
import {
  TypeOrmIdentityStore,
  TypeOrmMfaStore,
  TypeOrmOneTimeTokenStore,
  TypeOrmPasskeyStore,
  TypeOrmSessionStore,
  TypeOrmThrottleStore,
  TypeOrmUserStore,
  wardenEntities,
  wardenMigrations,
  wardenUserEntity,
  WardenMfaMigration1765152000000,
  WardenSessionsMigration1764633600001,
  WardenUsersMigration1764633600000,
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
  describeOneTimeTokenStoreContract(
    'TypeOrmOneTimeTokenStore',
    ({ clock }) => new TypeOrmOneTimeTokenStore({ dataSource: db.dataSource, clock: clock.now, sweepIntervalSeconds: 0 }),
  );
  describeMfaStoreContract('TypeOrmMfaStore', ({ clock }) => new TypeOrmMfaStore({ dataSource: db.dataSource, clock: clock.now }));
  describePasskeyStoreContract('TypeOrmPasskeyStore', () => new TypeOrmPasskeyStore({ dataSource: db.dataSource }));
  describeIdentityStoreContract('TypeOrmIdentityStore', () => new TypeOrmIdentityStore({ dataSource: db.dataSource }));

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

    const tokens = new TypeOrmOneTimeTokenStore({ dataSource: own.dataSource, clock: clock.now, sweepIntervalSeconds: 0 });
    const token = (seconds: number) => ({
      hash: createHash('sha256').update(randomBytes(32)).digest('hex'),
      purpose: 'email-verification',
      userId: 'sweep-user',
      subject: 'sweep@example.com',
      expiresAt: clock.now() + seconds * 1000,
    });
    const [ending, living] = [token(5), token(60)];
    for (const saved of [ending, living, token(5), token(1)]) await tokens.save(saved, { replace: false });
    clock.advance(5);
    expect(await tokens.sweep()).toBe(3);
    const [{ count }] = (await own.dataSource.query('SELECT COUNT(*) AS count FROM warden_one_time_tokens')) as [{ count: unknown }];
    expect(Number(count)).toBe(1);
    expect(await tokens.take(ending.hash, ['email-verification'])).toBeNull();
    expect(await tokens.take(living.hash, ['email-verification'])).toEqual(living);

    // Used marks, whose table has a two-column key: only the expired ones go, in bounded batches.
    const marks = new TypeOrmMfaStore({ dataSource: own.dataSource, clock: clock.now, sweepIntervalSeconds: 0 });
    for (let i = 0; i < 12; i++) expect(await marks.markUsed(`sweep-${i % 3}`, `totp:${i}`, clock.date(i < 9 ? 30 : 120))).toBe(true);
    clock.advance(30);
    const limitedMarks = new TypeOrmMfaStore({ dataSource: own.dataSource, clock: clock.now, sweepIntervalSeconds: 0, sweepMaxRows: 1 });
    expect(await limitedMarks.sweep()).toBe(9);
    expect(await marks.sweep()).toBe(0);
    const [{ remaining }] = (await own.dataSource.query('SELECT COUNT(*) AS remaining FROM warden_mfa_markers')) as [
      { remaining: unknown },
    ];
    expect(Number(remaining)).toBe(3);
    expect(await marks.markUsed('sweep-0', 'totp:0', clock.date(120))).toBe(true);
    expect(await marks.markUsed('sweep-0', 'totp:9', clock.date(120))).toBe(false);
    await own.close();
  });

  it('keeps the later of two tokens saved under one hash, and refuses tokens no column can hold', async () => {
    const tokens = new TypeOrmOneTimeTokenStore({ dataSource: db.dataSource, sweepIntervalSeconds: 0 });
    const hash = createHash('sha256').update(randomBytes(32)).digest('hex');
    const first = { hash, purpose: 'email-change', userId: 'resaved', subject: 'old@example.com', expiresAt: Date.now() + 60_000 };
    const second = { ...first, purpose: 'email-verification', subject: 'new@example.com' };
    await tokens.save(first, { replace: false });
    await tokens.save(second, { replace: true });
    expect(await tokens.take(hash, ['email-change', 'email-verification'])).toEqual(second);
    for (const fields of [{ hash: 'A'.repeat(64) }, { userId: 'nul\u0000' }, { subject: 'lone \ud800' }, { purpose: 'p'.repeat(65) }]) {
      await expect(tokens.save({ ...first, ...fields }, { replace: false })).rejects.toBeInstanceOf(TypeError);
    }
    // What a link or a caller may hand over that no row can hold is no token, never a database error.
    for (const malformed of ['', 'x'.repeat(10_000), `${hash.slice(1)}\u0000`])
      expect(await tokens.take(malformed, ['email-change'])).toBeNull();
    expect(await tokens.take(hash, ['nul\u0000', 'lone \ud800'])).toBeNull();
    await tokens.revokeAll('nul\u0000', 'email-change');
  });

  it('maps the user entity onto a host table with its own column names and database-made ids', async () => {
    const HostUser = wardenUserEntity({
      tableName: 'host_accounts',
      idType: 'increment',
      columns: {
        id: 'account_id',
        username: 'login',
        passwordHash: 'secret_hash',
        usernameKey: 'login_key',
        email: 'mail',
        emailKey: 'mail_key',
        emailVerified: 'mail_confirmed',
        createdAt: 'joined_at',
      },
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
      // Its email columns, and which of the two unique keys a clash hit, told apart by index name.
      expect(store.keepsEmail).toBe(true);
      const carol = await store.create({ username: 'carol', passwordHash: 'h4', email: 'Carol@Example.com' });
      expect(await store.findByEmail('carol@example.COM')).toEqual({ ...carol, email: 'Carol@Example.com', emailVerified: false });
      await store.updateEmail(alice.id, 'alice@example.com', true);
      expect(await store.findById(alice.id)).toMatchObject({ email: 'alice@example.com', emailVerified: true });
      await expect(store.create({ username: 'dave', passwordHash: 'h5', email: 'CAROL@example.com' })).rejects.toBeInstanceOf(
        EmailTakenError,
      );
      await expect(store.create({ username: 'Carol', passwordHash: 'h5', email: 'dave@example.com' })).rejects.toBeInstanceOf(
        UsernameTakenError,
      );
      await expect(store.updateEmail(bob.id, 'ALICE@example.com', false)).rejects.toBeInstanceOf(EmailTakenError);
      await expect(store.create({ username: 'erin', passwordHash: 'h6', email: 'x'.repeat(321) })).rejects.toBeInstanceOf(TypeError);
      const [mail] = (await hosted.dataSource.query(
        `SELECT mail, mail_key, mail_confirmed FROM host_accounts WHERE account_id = ${Number(carol.id)}`,
      )) as Array<{ mail: string; mail_key: string; mail_confirmed: unknown }>;
      expect(mail).toEqual({
        mail: 'Carol@Example.com',
        mail_key: createHash('sha256').update('carol@example.com').digest('hex'),
        mail_confirmed: dialect === 'postgres' ? false : 0,
      });
      // A table made by hand names its indexes its own way: a clash is still told apart.
      await hosted.dataSource.query(
        dialect === 'postgres'
          ? 'ALTER INDEX "UQ_host_accounts_email_key" RENAME TO host_mail_unique'
          : 'ALTER TABLE host_accounts RENAME INDEX UQ_host_accounts_email_key TO host_mail_unique',
      );
      await expect(store.create({ username: 'frank', passwordHash: 'h7', email: 'carol@EXAMPLE.com' })).rejects.toBeInstanceOf(
        EmailTakenError,
      );
      await expect(store.create({ username: 'CAROL', passwordHash: 'h7', email: 'frank@example.com' })).rejects.toBeInstanceOf(
        UsernameTakenError,
      );
      // Without a key column, names are looked up as they are: what no column can hold is no one's.
      const ByName = wardenUserEntity({
        tableName: 'host_accounts',
        columns: { id: 'account_id', username: 'login', passwordHash: 'secret_hash', createdAt: 'joined_at' },
        idType: 'increment',
        usernameKey: false,
        email: false,
      });
      const byName = await migratedDataSource(server, { entities: [ByName], migrations: [] });
      try {
        const plain = new TypeOrmUserStore({ dataSource: byName.dataSource, entity: ByName });
        for (const username of ['ali\u0000ce', 'x'.repeat(256), 'lone \ud800']) expect(await plain.findByUsername(username)).toBeNull();
        // Without the email columns the store keeps no addresses, and says so.
        expect(plain.keepsEmail).toBe(false);
        await expect(plain.findByEmail('alice@example.com')).rejects.toBeInstanceOf(TypeError);
        await expect(plain.updateEmail('1', 'alice@example.com', true)).rejects.toBeInstanceOf(TypeError);
        await expect(plain.create({ username: 'gina', passwordHash: 'h8', email: 'gina@example.com' })).rejects.toBeInstanceOf(TypeError);
      } finally {
        await byName.close();
      }
    } finally {
      await hosted.close();
    }
  });

  it('keeps the migrations of sessions and one-time tokens usable without the users table (a host that maps its own)', async () => {
    const own = await migratedDataSource(server, {
      migrations: wardenMigrations.filter((migration) => !migration.name.startsWith('WardenUser')),
    });
    try {
      const tables = await own.dataSource
        .createQueryRunner()
        .getTables([
          'warden_sessions',
          'warden_throttle_counters',
          'warden_one_time_tokens',
          'warden_mfa_factors',
          'warden_mfa_recovery_codes',
          'warden_mfa_markers',
          'warden_passkeys',
          'warden_identities',
          'warden_users',
        ]);
      expect(tables.map((table) => table.name.split('.').pop()).sort()).toEqual([
        'warden_identities',
        'warden_mfa_factors',
        'warden_mfa_markers',
        'warden_mfa_recovery_codes',
        'warden_one_time_tokens',
        'warden_passkeys',
        'warden_sessions',
        'warden_throttle_counters',
      ]);
    } finally {
      await own.close();
    }
  });

  it('adds the email columns to a users table made by the first migration, its users kept without an address', async () => {
    const database = await createTestDatabase(server);
    const open = (migrations: unknown[]) =>
      new DataSource({
        type: dialect === 'postgres' ? 'postgres' : 'mariadb',
        url: database.url,
        entities: wardenEntities as never,
        migrations: migrations as never,
        migrationsRun: true,
        logging: false,
      }).initialize();
    try {
      // The users table as deployed before email addresses, with a user in it.
      const before = await open([WardenUsersMigration1764633600000, WardenSessionsMigration1764633600001]);
      await before.query(
        dialect === 'postgres'
          ? "INSERT INTO warden_users (id, username, username_key, password_hash) VALUES ('00000000-0000-4000-8000-000000000001', 'old', $1, 'h')"
          : "INSERT INTO warden_users (id, username, username_key, password_hash) VALUES ('00000000-0000-4000-8000-000000000001', 'old', ?, 'h')",
        [createHash('sha256').update('old').digest('hex')],
      );
      await before.destroy();
      const after = await open(wardenMigrations);
      try {
        expect(await after.showMigrations()).toBe(false);
        const store = new TypeOrmUserStore({ dataSource: after });
        expect(await store.findByUsername('old')).toEqual({
          id: '00000000-0000-4000-8000-000000000001',
          username: 'old',
          passwordHash: 'h',
          email: null,
          emailVerified: false,
        });
        await store.updateEmail('00000000-0000-4000-8000-000000000001', 'old@example.com', true);
        expect(await store.findByEmail('OLD@example.com')).toMatchObject({ username: 'old', emailVerified: true });
      } finally {
        await after.destroy();
      }
    } finally {
      await database.drop();
    }
  });

  it('adds the session columns and the MFA tables to a schema made by the earlier migrations, and takes them away again', async () => {
    const database = await createTestDatabase(server);
    const open = (migrations: unknown[]) =>
      new DataSource({
        type: dialect === 'postgres' ? 'postgres' : 'mariadb',
        url: database.url,
        entities: wardenEntities as never,
        migrations: migrations as never,
        migrationsRun: true,
        logging: false,
      }).initialize();
    const columns = async (source: DataSource) =>
      ((await source.createQueryRunner().getTable('warden_sessions'))?.columns ?? []).map((column) => column.name);
    const tables = async (source: DataSource) =>
      (await source.createQueryRunner().getTables(['warden_mfa_factors', 'warden_mfa_recovery_codes', 'warden_mfa_markers'])).length;
    try {
      // The sessions table as deployed before second factors, with a session in it.
      const before = await open(wardenMigrations.filter((migration) => migration !== WardenMfaMigration1765152000000));
      const clock = new FakeClock(Date.now());
      const id = 'old-session-0123456789';
      const insert =
        'INSERT INTO warden_sessions (id, user_id, username, created_at, last_seen_at, expires_at, idle_timeout_ms, ends_at) VALUES ';
      await before.query(
        dialect === 'postgres' ? `${insert} ($1, $2, $3, $4, $4, $5, NULL, $5)` : `${insert} (?, ?, ?, ?, ?, ?, NULL, ?)`,
        dialect === 'postgres'
          ? [id, 'old-user', 'old', clock.now(), clock.now() + 3_600_000]
          : [id, 'old-user', 'old', clock.now(), clock.now(), clock.now() + 3_600_000, clock.now() + 3_600_000],
      );
      expect(await columns(before)).not.toContain('amr');
      expect(await tables(before)).toBe(0);
      await before.destroy();

      const after = await open(wardenMigrations);
      try {
        expect(await after.showMigrations()).toBe(false);
        expect(await columns(after)).toEqual(expect.arrayContaining(['amr', 'auth_time']));
        expect(await tables(after)).toBe(3);
        const store = new TypeOrmSessionStore({ dataSource: after, clock: clock.now, sweepIntervalSeconds: 0 });
        // Stored before factors: neither field, so a password login at its creation.
        const old = await store.get(id);
        expect(old).toEqual({
          id,
          userId: 'old-user',
          username: 'old',
          createdAt: clock.date(),
          lastSeenAt: clock.date(),
          expiresAt: clock.date(3600),
        });
        expect(await store.recordAuthentication(id, 'old-user', ['pwd', 'otp'], clock.date(1))).toEqual({
          ...old,
          amr: ['pwd', 'otp'],
          authTime: clock.date(1),
        });
        const mfa = new TypeOrmMfaStore({ dataSource: after, clock: clock.now });
        await mfa.savePendingTotp('old-user', { secret: 'sealed', expiresAt: clock.date(600) });
        expect(await mfa.enableTotp('old-user', 'sealed', ['d1', 'd2'], clock.date())).toBe(true);
        expect(await mfa.markUsed('old-user', 'totp:1', clock.date(60))).toBe(true);

        // down(): both tables and both columns go; the session stays.
        await after.undoLastMigration();
        expect(await columns(after)).not.toContain('amr');
        expect(await columns(after)).not.toContain('auth_time');
        expect(await tables(after)).toBe(0);
        const [{ count }] = (await after.query('SELECT COUNT(*) AS count FROM warden_sessions')) as [{ count: unknown }];
        expect(Number(count)).toBe(1);
        await after.runMigrations();
        expect(await after.showMigrations()).toBe(false);
        expect(await store.get(id)).toEqual(old);
      } finally {
        await after.destroy();
      }
    } finally {
      await database.drop();
    }
  });

  it('keeps amr as its values joined by a space, and refuses values the column cannot tell apart', async () => {
    const clock = new FakeClock(Date.now());
    const store = new TypeOrmSessionStore({ dataSource: db.dataSource, clock: clock.now, sweepIntervalSeconds: 0 });
    const session = (amr?: string[]) => ({
      id: store.generateSessionId('amr-user'),
      userId: 'amr-user',
      username: 'amr',
      createdAt: clock.date(),
      lastSeenAt: clock.date(),
      expiresAt: clock.date(3600),
      ...(amr === undefined ? {} : { amr, authTime: clock.date() }),
    });
    const stored = session(['pwd', 'otp']);
    await store.create(stored);
    const [row] = (await db.dataSource.query(
      dialect === 'postgres'
        ? 'SELECT amr, auth_time FROM warden_sessions WHERE id = $1'
        : 'SELECT amr, auth_time FROM warden_sessions WHERE id = ?',
      [stored.id],
    )) as Array<{ amr: unknown; auth_time: unknown }>;
    expect(row?.amr).toBe('pwd otp');
    expect(Number(row?.auth_time)).toBe(clock.now());
    // An empty list is kept as one, not as no list.
    const none = session([]);
    await store.create(none);
    expect((await store.get(none.id))?.amr).toEqual([]);
    for (const amr of [['p w'], ['pwd', ''], ['tab\there'], ['x'.repeat(129)], Array.from({ length: 33 }, () => 'otp'), ['nul\u0000']]) {
      await expect(store.create(session(amr))).rejects.toBeInstanceOf(TypeError);
      await expect(store.recordAuthentication(stored.id, 'amr-user', amr, clock.date())).rejects.toBeInstanceOf(TypeError);
    }
    await expect(store.recordAuthentication(stored.id, 'amr-user', ['pwd'], new Date(NaN))).rejects.toBeInstanceOf(TypeError);
    // The longest list the column holds; nothing refused above changed the session.
    const longest = ['x'.repeat(60), 'y'.repeat(67)];
    expect(await store.get(stored.id)).toEqual(stored);
    expect((await store.recordAuthentication(stored.id, 'amr-user', longest, clock.date(2)))?.amr).toEqual(longest);
    // Owners compare byte for byte, as everywhere in the store.
    expect(await store.recordAuthentication(stored.id, 'AMR-USER', ['pwd'], clock.date())).toBeNull();
    expect(await store.recordAuthentication('not a session id', 'amr-user', ['pwd'], clock.date())).toBeNull();
  });

  it('keeps the second factors of accounts apart byte for byte, and answers ids, secrets and digests no row can hold', async () => {
    const clock = new FakeClock(Date.now());
    const mfa = new TypeOrmMfaStore({ dataSource: db.dataSource, clock: clock.now });
    const userId = `Case-${randomBytes(4).toString('hex')}`;
    const secret = `v1.k1.${randomBytes(12).toString('base64url')}Ab`;
    const digest = `Digest-${randomBytes(8).toString('base64url')}`;
    await mfa.savePendingTotp(userId, { secret, expiresAt: clock.date(600) });
    expect(await mfa.enableTotp(userId.toUpperCase(), secret, [digest], clock.date())).toBe(false);
    expect(await mfa.enableTotp(userId, secret.toLowerCase(), [digest], clock.date())).toBe(false);
    expect(await mfa.enableTotp(userId, secret, [digest, digest], clock.date())).toBe(true);
    expect((await mfa.find(userId)).recoveryCodesLeft).toBe(1);
    expect(await mfa.find(userId.toLowerCase())).toEqual({ totp: null, pendingTotp: null, recoveryCodesLeft: 0 });
    expect(await mfa.useRecoveryCode(userId.toLowerCase(), digest)).toBe(false);
    expect(await mfa.useRecoveryCode(userId, digest.toLowerCase())).toBe(false);
    expect(await mfa.resealTotp(userId, secret.toLowerCase(), 'next')).toBe(false);
    expect(await mfa.replaceRecoveryCodes(userId.toLowerCase(), ['other'])).toBe(false);
    expect(await mfa.disableTotp(userId.toLowerCase())).toBe(false);
    expect(await mfa.useRecoveryCode(userId, digest)).toBe(true);

    // What no row holds is no account's: answered, never a database error.
    for (const unstorable of ['x'.repeat(513), 'nul\u0000', 'lone \ud800']) {
      expect(await mfa.find(unstorable)).toEqual({ totp: null, pendingTotp: null, recoveryCodesLeft: 0 });
      expect(await mfa.enableTotp(unstorable, secret, [], clock.date())).toBe(false);
      expect(await mfa.useRecoveryCode(unstorable, digest)).toBe(false);
      expect(await mfa.useRecoveryCode(userId, unstorable)).toBe(false);
      expect(await mfa.resealTotp(userId, unstorable, 'next')).toBe(false);
      expect(await mfa.disableTotp(unstorable)).toBe(false);
      await expect(mfa.savePendingTotp(unstorable, { secret, expiresAt: clock.date(600) })).rejects.toBeInstanceOf(TypeError);
      // A mark no row can keep must never be answered as kept.
      await expect(mfa.markUsed(unstorable, 'totp:1', clock.date(60))).rejects.toBeInstanceOf(TypeError);
    }
    for (const marker of ['nul\u0000', 'lone \ud800', '']) {
      await expect(mfa.markUsed(userId, marker, clock.date(60))).rejects.toBeInstanceOf(TypeError);
    }
    await expect(mfa.markUsed(userId, 'totp:1', new Date(NaN))).rejects.toBeInstanceOf(TypeError);
    // Marks are told apart byte for byte (challenges are base64url), and per account.
    expect(await mfa.markUsed(userId, 'login:AbC', clock.date(60))).toBe(true);
    expect(await mfa.markUsed(userId, 'login:abc', clock.date(60))).toBe(true);
    expect(await mfa.markUsed(userId.toLowerCase(), 'login:AbC', clock.date(60))).toBe(true);
    expect(await mfa.markUsed(userId, 'login:AbC', clock.date(60))).toBe(false);
    for (const value of ['nul\u0000', 'lone \ud800', '']) {
      await expect(mfa.savePendingTotp(userId, { secret: value, expiresAt: clock.date(600) })).rejects.toBeInstanceOf(TypeError);
      await expect(mfa.resealTotp(userId, secret, value)).rejects.toBeInstanceOf(TypeError);
      await expect(mfa.replaceRecoveryCodes(userId, [value])).rejects.toBeInstanceOf(TypeError);
    }
    await expect(mfa.find('')).rejects.toBeInstanceOf(TypeError);
    await expect(mfa.savePendingTotp(userId, { secret, expiresAt: new Date(NaN) })).rejects.toBeInstanceOf(TypeError);
    await expect(mfa.enableTotp(userId, secret, [], new Date(NaN))).rejects.toBeInstanceOf(TypeError);
    expect(await mfa.find(userId)).toEqual({ totp: { secret, enabledAt: clock.date() }, pendingTotp: null, recoveryCodesLeft: 0 });
  });

  it('uses no recovery code of an account whose factor is not on, even one left in the table', async () => {
    const clock = new FakeClock(Date.now());
    const mfa = new TypeOrmMfaStore({ dataSource: db.dataSource, clock: clock.now });
    const [none, pending] = [`orphan-${randomBytes(4).toString('hex')}`, `orphan-${randomBytes(4).toString('hex')}`];
    await mfa.savePendingTotp(pending, { secret: 'sealed', expiresAt: clock.date(600) });
    for (const userId of [none, pending]) {
      // A row no store method writes while TOTP is off (a restore, a hand-made change).
      await db.dataSource.query(
        dialect === 'postgres'
          ? 'INSERT INTO warden_mfa_recovery_codes (user_id, digest) VALUES ($1, $2)'
          : 'INSERT INTO warden_mfa_recovery_codes (user_id, digest) VALUES (?, ?)',
        [userId, 'left-over'],
      );
      expect(await mfa.useRecoveryCode(userId, 'left-over')).toBe(false);
      expect((await mfa.find(userId)).recoveryCodesLeft).toBe(0);
    }
    // Turning TOTP on replaces whatever was there.
    expect(await mfa.enableTotp(pending, 'sealed', ['fresh'], clock.date())).toBe(true);
    expect(await mfa.useRecoveryCode(pending, 'left-over')).toBe(false);
    expect(await mfa.useRecoveryCode(pending, 'fresh')).toBe(true);
    await db.dataSource.query(
      dialect === 'postgres'
        ? 'DELETE FROM warden_mfa_recovery_codes WHERE user_id = $1'
        : 'DELETE FROM warden_mfa_recovery_codes WHERE user_id = ?',
      [none],
    );
  });

  // Only MySQL and MariaDB let a table's collation ignore case: registered there alone.
  if (dialect === 'mysql')
    it('compares sealed secrets and digests as bytes in a hand-made table whose collation ignores case', async () => {
      const own = await migratedDataSource(server);
      try {
        await own.dataSource.query(
          'ALTER TABLE warden_mfa_factors MODIFY secret varchar(512) CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci NULL, ' +
            'MODIFY pending_secret varchar(512) CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci NULL',
        );
        await own.dataSource.query(
          'ALTER TABLE warden_mfa_recovery_codes MODIFY digest varchar(128) CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci NOT NULL',
        );
        const clock = new FakeClock(Date.now());
        const mfa = new TypeOrmMfaStore({ dataSource: own.dataSource, clock: clock.now });
        await mfa.savePendingTotp('ci-user', { secret: 'Sealed-Secret', expiresAt: clock.date(600) });
        expect(await mfa.enableTotp('ci-user', 'sealed-secret', ['Digest'], clock.date())).toBe(false);
        expect(await mfa.enableTotp('ci-user', 'Sealed-Secret', ['Digest'], clock.date())).toBe(true);
        expect(await mfa.useRecoveryCode('ci-user', 'digest')).toBe(false);
        expect(await mfa.resealTotp('ci-user', 'SEALED-SECRET', 'next')).toBe(false);
        expect(await mfa.useRecoveryCode('ci-user', 'Digest')).toBe(true);
        expect(await mfa.resealTotp('ci-user', 'Sealed-Secret', 'next')).toBe(true);
      } finally {
        await own.close();
      }
    });

  it('lets exactly one of many concurrent marks through once the earlier mark has expired', async () => {
    const clock = new FakeClock(Date.now());
    const mfa = new TypeOrmMfaStore({ dataSource: db.dataSource, clock: clock.now, sweepIntervalSeconds: 0 });
    const userId = `remark-${randomBytes(4).toString('hex')}`;
    for (let round = 0; round < 5; round++) {
      const results = await Promise.all(Array.from({ length: 8 }, () => mfa.markUsed(userId, 'totp:7', clock.date(30))));
      expect(results.filter(Boolean)).toHaveLength(1);
      clock.advance(30);
    }
  });

  it('judges a pending setup expired on its own clock too, whatever enabledAt says', async () => {
    const clock = new FakeClock(Date.now());
    const mfa = new TypeOrmMfaStore({ dataSource: db.dataSource, clock: clock.now });
    const userId = `late-${randomBytes(4).toString('hex')}`;
    await mfa.savePendingTotp(userId, { secret: 'sealed', expiresAt: clock.date(60) });
    clock.advance(60);
    expect((await mfa.find(userId)).pendingTotp).toBeNull();
    expect(await mfa.enableTotp(userId, 'sealed', [], clock.date(-30))).toBe(false);
  });

  it('never leaves recovery codes without an enabled factor, whatever runs concurrently', async () => {
    const clock = new FakeClock(Date.now());
    const mfa = new TypeOrmMfaStore({ dataSource: db.dataSource, clock: clock.now });
    const codes = (n: number) => Array.from({ length: n }, () => randomBytes(16).toString('base64url'));
    for (let round = 0; round < 10; round++) {
      const userId = `race-${randomBytes(4).toString('hex')}`;
      const first = codes(5);
      await mfa.savePendingTotp(userId, { secret: 'sealed-1', expiresAt: clock.date(600) });
      await mfa.enableTotp(userId, 'sealed-1', first, clock.date());
      await mfa.savePendingTotp(userId, { secret: 'sealed-2', expiresAt: clock.date(600) });
      const [disabled] = await Promise.all([
        mfa.disableTotp(userId),
        mfa.replaceRecoveryCodes(userId, codes(8)),
        mfa.useRecoveryCode(userId, first[0]!),
        mfa.enableTotp(userId, 'sealed-2', codes(3), clock.date()),
        mfa.savePendingTotp(userId, { secret: 'sealed-3', expiresAt: clock.date(600) }),
        mfa.enableTotp(userId, 'sealed-3', codes(4), clock.date()),
      ]);
      // Nothing else turns the factor off: the disable always finds it on.
      expect(disabled).toBe(true);
      const state = await mfa.find(userId);
      const [{ count }] = (await db.dataSource.query(
        dialect === 'postgres'
          ? 'SELECT COUNT(*) AS count FROM warden_mfa_recovery_codes WHERE user_id = $1'
          : 'SELECT COUNT(*) AS count FROM warden_mfa_recovery_codes WHERE user_id = ?',
        [userId],
      )) as [{ count: unknown }];
      // Off: no code left behind. On again (the third setup, confirmed after the disable): its 4
      // codes, or the 8 that replaced them; never a code of the first factor.
      if (state.totp === null) expect(Number(count)).toBe(0);
      else expect([4, 8]).toContain(Number(count));
      await mfa.disableTotp(userId);
    }
  });

  it('keeps passkeys under the digest of their credential id, names in any text, and refuses what no column holds', async () => {
    const passkeys = new TypeOrmPasskeyStore({ dataSource: db.dataSource });
    expect(await passkeys.ping()).toBe(true);
    const userId = `pk-${randomBytes(4).toString('hex')}`;
    const stored = {
      id: randomBytes(16).toString('base64url'),
      userId,
      credentialId: randomBytes(32).toString('base64url'),
      publicKey: randomBytes(77).toString('base64url'),
      counter: 1,
      transports: [],
      deviceType: 'singleDevice' as const,
      backedUp: false,
      name: 'Clé 🔑',
      createdAt: Date.now(),
      lastUsedAt: null,
    };
    expect(await passkeys.create(stored)).toBe(true);
    expect(await passkeys.listByUser(userId)).toEqual([stored]);
    const [row] = (await db.dataSource.query(
      dialect === 'postgres'
        ? 'SELECT credential_key, transports FROM warden_passkeys WHERE id = $1'
        : 'SELECT credential_key, transports FROM warden_passkeys WHERE id = ?',
      [stored.id],
    )) as Array<{ credential_key: string; transports: string }>;
    expect(row).toEqual({ credential_key: createHash('sha256').update(stored.credentialId).digest('hex'), transports: '' });
    // Ids and credential ids differ in case alone: told apart.
    const upper = {
      ...stored,
      id: stored.id.toUpperCase(),
      credentialId: stored.credentialId.toUpperCase(),
      createdAt: stored.createdAt + 1,
    };
    expect(await passkeys.create(upper)).toBe(true);
    expect(await passkeys.rename(userId, stored.id.toLowerCase(), 'Nope')).toBeNull();
    expect((await passkeys.listByUser(userId)).map((one) => one.id)).toEqual([stored.id, upper.id]);
    expect(await passkeys.listByUser(userId.toUpperCase())).toEqual([]);
    for (const fields of [
      { userId: 'nul\u0000' },
      { userId: 'u'.repeat(513) },
      { id: 'i'.repeat(23) },
      { credentialId: 'c'.repeat(1367) },
      { name: 'lone \ud800' },
      { name: 'n'.repeat(65) },
      { transports: ['has space'] },
      { counter: -1 },
    ]) {
      await expect(passkeys.create({ ...stored, id: randomBytes(16).toString('base64url'), ...fields })).rejects.toBeInstanceOf(TypeError);
    }
    await expect(passkeys.rename(userId, stored.id, 'n'.repeat(65))).rejects.toBeInstanceOf(TypeError);
    await expect(passkeys.listByUser('')).rejects.toBeInstanceOf(TypeError);
    // What a caller may hand over that no row can hold is no passkey, never a database error.
    for (const malformed of ['', 'x'.repeat(10_000), 'nul\u0000']) expect(await passkeys.findByCredentialId(malformed)).toBeNull();
    expect(await passkeys.listByUser('lone \ud800')).toEqual([]);
    expect(await passkeys.remove(userId, 'x'.repeat(100))).toBe(false);
    expect(await passkeys.recordUse(stored.credentialId, -1, { counter: 2, backedUp: true, usedAt: 1 })).toBe(false);
  });

  it('keeps identities under the digest of provider:subject, subjects in any text, and refuses what no column holds', async () => {
    const identities = new TypeOrmIdentityStore({ dataSource: db.dataSource });
    expect(await identities.ping()).toBe(true);
    const userId = `oi-${randomBytes(4).toString('hex')}`;
    const stored = {
      id: `Id${randomBytes(15).toString('base64url')}`,
      userId,
      provider: 'corp_sso-2',
      subject: `Sujet ${randomBytes(4).toString('hex')} 🔑`,
      email: 'Zoë@Example.com',
      emailVerified: false,
      createdAt: Date.now(),
      lastUsedAt: null,
      providerTokens: null as string | null,
    };
    expect(await identities.create(stored)).toBe(true);
    expect(await identities.listByUser(userId)).toEqual([stored]);
    const [row] = (await db.dataSource.query(
      dialect === 'postgres'
        ? 'SELECT identity_key, email_verified FROM warden_identities WHERE id = $1'
        : 'SELECT identity_key, email_verified FROM warden_identities WHERE id = ?',
      [stored.id],
    )) as Array<{ identity_key: string; email_verified: unknown }>;
    expect(row?.identity_key).toBe(createHash('sha256').update(`${stored.provider}:${stored.subject}`).digest('hex'));
    expect([false, 0]).toContain(row?.email_verified);
    // Subjects and ids that differ in case alone, or in a trailing space: told apart.
    const upper = {
      ...stored,
      id: `iD${randomBytes(15).toString('base64url')}`,
      subject: stored.subject.toUpperCase(),
      createdAt: stored.createdAt + 1,
    };
    const spaced = { ...stored, id: randomBytes(16).toString('base64url'), subject: `${stored.subject} `, createdAt: stored.createdAt + 2 };
    expect(await identities.create(upper)).toBe(true);
    expect(await identities.create(spaced)).toBe(true);
    expect(await identities.find(stored.provider, stored.subject)).toEqual(stored);
    expect(await identities.find(stored.provider, spaced.subject)).toEqual(spaced);
    expect(await identities.remove(userId, stored.id.toLowerCase())).toBe(false);
    expect((await identities.listByUser(userId)).map((one) => one.id)).toEqual([stored.id, upper.id, spaced.id]);
    expect(await identities.listByUser(userId.toUpperCase())).toEqual([]);
    // The same login twice in one millisecond changes nothing, and still finds the link.
    const use = { email: null, emailVerified: false, usedAt: 5 };
    expect(await identities.recordUse(stored.provider, stored.subject, use)).toBe(true);
    expect(await identities.recordUse(stored.provider, stored.subject, use)).toBe(true);
    // Sealed tokens in the text column as given, the empty string apart from none.
    const sealed = `v1.${randomBytes(8).toString('base64url')}.🔑\u00e9`;
    expect(await identities.setProviderTokens(stored.provider, stored.subject, sealed)).toBe(true);
    const [tokensRow] = (await db.dataSource.query(
      dialect === 'postgres'
        ? 'SELECT provider_tokens FROM warden_identities WHERE id = $1'
        : 'SELECT provider_tokens FROM warden_identities WHERE id = ?',
      [stored.id],
    )) as Array<{ provider_tokens: unknown }>;
    expect(tokensRow?.provider_tokens).toBe(sealed);
    expect(await identities.recordUse(stored.provider, stored.subject, { ...use, providerTokens: '' })).toBe(true);
    expect((await identities.find(stored.provider, stored.subject))?.providerTokens).toBe('');
    expect(await identities.setProviderTokens(stored.provider, stored.subject, null)).toBe(true);
    expect(await identities.find(stored.provider, stored.subject)).toEqual({ ...stored, email: null, lastUsedAt: 5 });
    for (const fields of [
      { userId: 'nul\u0000' },
      { userId: 'u'.repeat(513) },
      { id: 'i'.repeat(23) },
      { provider: 'Corp' },
      { provider: 'p'.repeat(65) },
      { provider: 'a:b' },
      { subject: '' },
      { subject: 's'.repeat(256) },
      { subject: 'lone \ud800' },
      { email: 'e'.repeat(321) },
      { email: '' },
      { emailVerified: 1 as never },
      { createdAt: 1.5 },
      { providerTokens: 't'.repeat(16_385) },
      { providerTokens: 'nul\u0000' },
      { providerTokens: 'lone \ud800' },
      { providerTokens: 1 as never },
    ]) {
      await expect(
        identities.create({ ...stored, id: randomBytes(16).toString('base64url'), subject: 'fresh', ...fields }),
      ).rejects.toBeInstanceOf(TypeError);
    }
    await expect(identities.recordUse(stored.provider, stored.subject, { ...use, email: 'e'.repeat(321) })).rejects.toBeInstanceOf(
      TypeError,
    );
    await expect(identities.recordUse(stored.provider, stored.subject, { ...use, usedAt: Number.NaN })).rejects.toBeInstanceOf(TypeError);
    for (const providerTokens of ['t'.repeat(16_385), 'nul\u0000', 'lone \ud800', 1 as never, undefined as never]) {
      if (providerTokens !== undefined) {
        await expect(identities.recordUse(stored.provider, stored.subject, { ...use, providerTokens })).rejects.toBeInstanceOf(TypeError);
      }
      await expect(identities.setProviderTokens(stored.provider, stored.subject, providerTokens)).rejects.toBeInstanceOf(TypeError);
    }
    expect(await identities.find(stored.provider, stored.subject)).toEqual({ ...stored, email: null, lastUsedAt: 5 });
    await expect(identities.listByUser('')).rejects.toBeInstanceOf(TypeError);
    // What a caller may hand over that no row can hold is no identity, never a database error.
    for (const malformed of ['', 'x'.repeat(10_000), 'nul\u0000', 'lone \ud800']) {
      expect(await identities.find(stored.provider, malformed)).toBeNull();
      expect(await identities.recordUse(stored.provider, malformed, use)).toBe(false);
      expect(await identities.setProviderTokens(stored.provider, malformed, 'v1.x')).toBe(false);
    }
    expect(await identities.find('Not a provider', stored.subject)).toBeNull();
    expect(await identities.listByUser('lone \ud800')).toEqual([]);
    expect(await identities.remove(userId, 'x'.repeat(100))).toBe(false);
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
    await expect(users.findByEmail('alice@example.com')).rejects.toBeInstanceOf(StoreUnavailableError);
    const tokens = new TypeOrmOneTimeTokenStore({ dataSource: gone.dataSource, sweepIntervalSeconds: 0 });
    await expect(tokens.take('0'.repeat(64), ['password-reset'])).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(tokens.revokeAll('someone', 'password-reset')).rejects.toBeInstanceOf(StoreUnavailableError);
    expect(await store.ping()).toBe(false);
    const mfa = new TypeOrmMfaStore({ dataSource: gone.dataSource });
    await expect(mfa.find('someone')).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(mfa.useRecoveryCode('someone', 'digest')).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(mfa.enableTotp('someone', 'sealed', ['digest'], new Date())).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(mfa.markUsed('someone', 'totp:1', new Date(Date.now() + 60_000))).rejects.toBeInstanceOf(StoreUnavailableError);
    expect(await mfa.ping()).toBe(false);
    const passkeys = new TypeOrmPasskeyStore({ dataSource: gone.dataSource });
    await expect(passkeys.findByCredentialId('credential')).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(passkeys.listByUser('someone')).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(passkeys.recordUse('credential', 0, { counter: 1, backedUp: true, usedAt: 1 })).rejects.toBeInstanceOf(
      StoreUnavailableError,
    );
    await expect(passkeys.remove('someone', 'abcdefghijklmnopqrstuv')).rejects.toBeInstanceOf(StoreUnavailableError);
    expect(await passkeys.ping()).toBe(false);
    const identities = new TypeOrmIdentityStore({ dataSource: gone.dataSource });
    const link = {
      id: 'abcdefghijklmnopqrstuv',
      userId: 'someone',
      provider: 'google',
      subject: 'sub',
      email: null,
      emailVerified: false,
      createdAt: 1,
      lastUsedAt: null,
      providerTokens: null,
    };
    await expect(identities.create(link)).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(identities.find('google', 'sub')).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(identities.listByUser('someone')).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(identities.recordUse('google', 'sub', { email: null, emailVerified: false, usedAt: 1 })).rejects.toBeInstanceOf(
      StoreUnavailableError,
    );
    await expect(identities.setProviderTokens('google', 'sub', null)).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(identities.remove('someone', 'abcdefghijklmnopqrstuv')).rejects.toBeInstanceOf(StoreUnavailableError);
    expect(await identities.ping()).toBe(false);
    await expect(store.recordAuthentication('abcdefghijklmnopqrstuv', 'u', ['pwd'], new Date())).rejects.toBeInstanceOf(
      StoreUnavailableError,
    );
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
    expect(() => new TypeOrmMfaStore({ dataSource: sqlite })).toThrow(/PostgreSQL, MySQL and MariaDB/);
    expect(() => new TypeOrmMfaStore({ dataSource: postgres, operationTimeoutMs: 5 })).toThrow(/operationTimeoutMs/);
    expect(() => new TypeOrmPasskeyStore({ dataSource: sqlite })).toThrow(/PostgreSQL, MySQL and MariaDB/);
    expect(() => new TypeOrmPasskeyStore({ dataSource: postgres, operationTimeoutMs: 5 })).toThrow(/operationTimeoutMs/);
    expect(() => new TypeOrmIdentityStore({ dataSource: sqlite })).toThrow(/PostgreSQL, MySQL and MariaDB/);
    expect(() => new TypeOrmIdentityStore({ dataSource: postgres, operationTimeoutMs: 5 })).toThrow(/operationTimeoutMs/);
  });
});
