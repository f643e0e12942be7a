import { spawn, spawnSync, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { freePort } from './redis-server.js';

export type SqlDialect = 'postgres' | 'mysql';

/** A SQL server for tests: the one in POSTGRES_URL / MYSQL_URL / DATABASE_URL, or a private one this process started. */
export interface TestSqlServer {
  dialect: SqlDialect;
  /** Admin URL of the server (postgres://postgres@127.0.0.1:PORT/postgres or mysql://root@127.0.0.1:PORT). */
  url: string;
  /** True when this process started the server (so it may stop and start it). */
  private: boolean;
  /** Stops a private server (fast shutdown; committed data stays on disk). Throws for an external one. */
  kill(): Promise<void>;
  /** Starts a stopped private server again, same port, same data dir, resolves when it accepts connections. */
  restart(): Promise<void>;
  /** Freezes a private server (SIGSTOP to it and its child processes): connections stay open, nothing answers. */
  pause(): Promise<void>;
  /** Thaws a paused private server (SIGCONT). */
  resume(): Promise<void>;
  /** Stops a private server and removes its directory; no-op for an external one. */
  stop(): Promise<void>;
}

const LOOPBACK = '127.0.0.1';
const PG_START_TIMEOUT_MS = 20_000;
const MYSQL_START_TIMEOUT_MS = 30_000;
/** After the shutdown signal, how long a server may take to exit before it is SIGKILLed. */
const SHUTDOWN_TIMEOUT_MS = 30_000;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function ciNote(): string {
  return process.env.CI === 'true' ? ' CI=true: a missing server is a failure.' : '';
}

function missing(dialect: SqlDialect): Error {
  return new Error(
    dialect === 'postgres'
      ? `These tests need PostgreSQL: set POSTGRES_URL, or install postgresql (apt-get install postgresql).${ciNote()}`
      : `These tests need MariaDB: set MYSQL_URL, or install mariadb-server (apt-get install mariadb-server).${ciNote()}`,
  );
}

/** POSTGRES_URL / MYSQL_URL, else DATABASE_URL when its scheme is the dialect's. */
function externalUrl(dialect: SqlDialect): string | undefined {
  const own = dialect === 'postgres' ? process.env.POSTGRES_URL : process.env.MYSQL_URL;
  if (own) return own;
  const shared = process.env.DATABASE_URL;
  if (!shared) return undefined;
  const schemes = dialect === 'postgres' ? ['postgres:', 'postgresql:'] : ['mysql:', 'mariadb:'];
  const scheme = /^[a-z][a-z0-9+.-]*:/i.exec(shared)?.[0].toLowerCase();
  return scheme && schemes.includes(scheme) ? shared : undefined;
}

function runs(command: string, args: string[]): { ok: boolean; output: string } {
  const result = spawnSync(command, args, { encoding: 'utf8' });
  return { ok: !result.error && result.status === 0, output: `${result.stdout ?? ''}${result.stderr ?? ''}` };
}

function tail(file: string, lines = 30): string {
  return existsSync(file) ? readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n') : '(no log)';
}

const running = (child: ChildProcess | undefined): child is ChildProcess =>
  child !== undefined && child.exitCode === null && child.signalCode === null;

/** Every server and setup process this process started that has not exited yet. */
const children = new Set<ChildProcess>();
let exitHookInstalled = false;

/** Spawns with stdout and stderr appended to `logFile`; SIGKILLed if this process exits first. */
function spawnLogged(command: string, args: string[], logFile: string, options: SpawnOptions): ChildProcess {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', () => children.forEach((child) => child.kill('SIGKILL')));
  }
  const fd = openSync(logFile, 'a');
  try {
    const child = spawn(command, args, { ...options, stdio: ['ignore', fd, fd] });
    children.add(child);
    child.once('exit', () => children.delete(child));
    child.once('error', () => children.delete(child));
    return child;
  } finally {
    closeSync(fd);
  }
}

/** Runs a setup command (initdb, mariadb-install-db) to its end; throws with the log's tail if it fails. */
async function runLogged(command: string, args: string[], logFile: string, options: SpawnOptions): Promise<void> {
  const child = spawnLogged(command, args, logFile, options);
  const result = await new Promise<{ code: number | null; signal: NodeJS.Signals | null; error?: Error }>((resolve) => {
    child.once('error', (error) => resolve({ code: null, signal: null, error }));
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  if (result.code !== 0) {
    const how = result.error ? result.error.message : result.signal ? `signal ${result.signal}` : `exit code ${result.code}`;
    throw new Error(`${command} ${args.join(' ')} failed (${how}):\n${tail(logFile)}`);
  }
}

async function signalAndWait(child: ChildProcess | undefined, signal: NodeJS.Signals): Promise<void> {
  if (!running(child)) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill(signal);
  const late = setTimeout(() => child.kill('SIGKILL'), SHUTDOWN_TIMEOUT_MS);
  await exited;
  clearTimeout(late);
}

/**
 * A detached shell that outlives this process, for the directory of a private server: the exit hook
 * of spawnLogged SIGKILLs the children, but a SIGKILLed jest worker runs no hook and a dead one
 * removes no directory. Once this process is gone it SIGKILLs the server named in `pidFile` (only
 * if that pid's command line still names `dir`, so a reused pid is left alone) and removes `dir`
 * (twice: an orphaned initdb may still be writing to it). stop() kills the watchdog.
 */
function watchdog(dir: string, pidFile: string): ChildProcess {
  const script = [
    'while kill -0 "$1" 2>/dev/null; do sleep 1; done',
    'pid=$(head -n 1 "$3" 2>/dev/null)',
    'if [ -n "$pid" ] && grep -qF "$2" "/proc/$pid/cmdline" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null; sleep 1; fi',
    'rm -rf "$2"; sleep 2; rm -rf "$2"',
  ].join('\n');
  const child = spawn('sh', ['-c', script, 'sql-server-watchdog', String(process.pid), dir, pidFile], {
    detached: true,
    stdio: 'ignore',
  });
  child.on('error', () => undefined);
  child.unref();
  return child;
}

// ---------------------------------------------------------------------------------------------
// Binaries

interface PostgresBinaries {
  postgres: string;
  initdb: string;
}

function findPostgres(): PostgresBinaries | undefined {
  const root = '/usr/lib/postgresql';
  if (existsSync(root)) {
    const versions = readdirSync(root)
      .filter((name) => /^\d+(\.\d+)?$/.test(name))
      .sort((a, b) => Number(b) - Number(a));
    for (const version of versions) {
      const bin = join(root, version, 'bin');
      const found = { postgres: join(bin, 'postgres'), initdb: join(bin, 'initdb') };
      if (existsSync(found.postgres) && existsSync(found.initdb)) return found;
    }
  }
  if (runs('postgres', ['--version']).ok && runs('initdb', ['--version']).ok) return { postgres: 'postgres', initdb: 'initdb' };
  return undefined;
}

interface MariaDbBinaries {
  server: string;
  installDb: string;
}

function findMariaDb(): MariaDbBinaries | undefined {
  const first = (candidates: string[]): string | undefined =>
    candidates.find((command) => (command.startsWith('/') ? existsSync(command) : runs(command, ['--version']).ok));
  const server = first(['mariadbd', '/usr/sbin/mariadbd', 'mysqld', '/usr/sbin/mysqld']);
  const installDb = first(['mariadb-install-db', '/usr/bin/mariadb-install-db', 'mysql_install_db', '/usr/bin/mysql_install_db']);
  return server && installDb ? { server, installDb } : undefined;
}

/** uid and gid of the `postgres` OS user, to run PostgreSQL (which refuses root) when we are root. */
function postgresUser(): { uid: number; gid: number } {
  const uid = runs('id', ['-u', 'postgres']);
  const gid = runs('id', ['-g', 'postgres']);
  if (!uid.ok || !gid.ok) {
    throw new Error(
      'These tests run as root, and PostgreSQL refuses to run as root, but there is no `postgres` OS user to run it as ' +
        `(apt-get install postgresql creates one; or set POSTGRES_URL).${ciNote()}`,
    );
  }
  return { uid: Number(uid.output.trim()), gid: Number(gid.output.trim()) };
}

// ---------------------------------------------------------------------------------------------
// Servers

interface ServerSpec {
  dialect: SqlDialect;
  url: string;
  dir: string;
  logFile: string;
  /** The watchdog() of `dir`, killed by stop(). */
  guard: ChildProcess;
  command: string;
  args: string[];
  options: SpawnOptions;
  /** Sent by kill(): PostgreSQL's fast shutdown is SIGINT, MariaDB's clean shutdown SIGTERM. */
  stopSignal: NodeJS.Signals;
  startTimeoutMs: number;
  /** Resolves when `url` takes a connection, rejects when it does not (yet). */
  probe(url: string): Promise<void>;
}

async function probePostgres(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('SELECT 1');
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function probeMysql(url: string): Promise<void> {
  const connection = await mysql.createConnection({ uri: url, connectTimeout: 1000 });
  try {
    await connection.query('SELECT 1');
  } finally {
    await connection.end().catch(() => undefined);
  }
}

/** Sends `signal` to a server process and to its children (PostgreSQL's backends). */
function signalTree(child: ChildProcess | undefined, signal: NodeJS.Signals): void {
  if (!running(child) || child.pid === undefined) throw new Error('the server is not running');
  const children = spawnSync('pgrep', ['-P', String(child.pid)], { encoding: 'utf8' }).stdout ?? '';
  const pids = [child.pid, ...children.split('\n').filter(Boolean).map(Number)];
  // Parent first on stop (no new backends), last on continue.
  for (const pid of signal === 'SIGCONT' ? pids.reverse() : pids) {
    try {
      process.kill(pid, signal);
    } catch {
      // a backend that has just exited
    }
  }
}

/** Starts the server of `spec` (its data dir already initialised) and returns it; removes `spec.dir` if it fails to start. */
async function privateServer(spec: ServerSpec): Promise<TestSqlServer> {
  let child: ChildProcess | undefined;
  let removed = false;
  const name = spec.dialect === 'postgres' ? 'postgres' : 'mariadbd';

  const start = async (): Promise<void> => {
    if (removed) throw new Error(`the private ${name} in ${spec.dir} was stopped and removed`);
    if (running(child)) throw new Error(`the private ${name} on ${spec.url} is still running: kill() it before restart()`);
    const started = spawnLogged(spec.command, spec.args, spec.logFile, spec.options);
    let spawnError: Error | undefined;
    started.on('error', (error) => (spawnError = error));
    child = started;
    const deadline = Date.now() + spec.startTimeoutMs;
    let lastError: unknown;
    for (;;) {
      if (spawnError || !running(started)) {
        const how = spawnError ? spawnError.message : `exit code ${started.exitCode}, signal ${started.signalCode}`;
        throw new Error(`${name} exited at start (${how}):\n${tail(spec.logFile)}`);
      }
      try {
        await spec.probe(spec.url);
        return;
      } catch (error) {
        lastError = error;
      }
      if (Date.now() >= deadline) {
        await signalAndWait(started, 'SIGKILL');
        const reason = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
        throw new Error(
          `${name} did not accept connections on ${spec.url} within ${spec.startTimeoutMs} ms${reason}:\n${tail(spec.logFile)}`,
        );
      }
      await sleep(50);
    }
  };

  const stop = async (): Promise<void> => {
    if (removed) return;
    await signalAndWait(child, spec.stopSignal);
    removed = true;
    if (running(spec.guard)) spec.guard.kill('SIGKILL');
    rmSync(spec.dir, { recursive: true, force: true });
  };

  try {
    await start();
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    dialect: spec.dialect,
    url: spec.url,
    private: true,
    kill: () => signalAndWait(child, spec.stopSignal),
    restart: start,
    pause: async () => signalTree(child, 'SIGSTOP'),
    resume: async () => signalTree(child, 'SIGCONT'),
    stop,
  };
}

async function startPostgres(): Promise<TestSqlServer> {
  const binaries = findPostgres();
  if (!binaries) throw missing('postgres');
  const asUser = process.getuid?.() === 0 ? postgresUser() : undefined;
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'nest-warden-postgres-'));
  const data = join(dir, 'data');
  const guard = watchdog(dir, join(data, 'postmaster.pid'));
  try {
    if (asUser) chownSync(dir, asUser.uid, asUser.gid);
    const logFile = join(dir, 'postgres.log');
    // cwd: the postgres user may not be able to read the test's working directory.
    const options: SpawnOptions = { cwd: dir, ...(asUser ?? {}) };
    const noSync = runs(binaries.initdb, ['--help']).output.includes('--no-sync') ? ['--no-sync'] : [];
    // A fixed locale, not the environment's: the same collation and lower()/upper() everywhere.
    const locale = /^C\.utf-?8$/im.test(runs('locale', ['-a']).output) ? 'C.UTF-8' : 'C';
    await runLogged(
      binaries.initdb,
      ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', `--locale=${locale}`, ...noSync],
      logFile,
      options,
    );
    return await privateServer({
      dialect: 'postgres',
      url: `postgres://postgres@${LOOPBACK}:${port}/postgres`,
      dir,
      logFile,
      guard,
      command: binaries.postgres,
      args: [
        '-D',
        data,
        '-p',
        String(port),
        '-k',
        dir,
        '-c',
        `listen_addresses=${LOOPBACK}`,
        '-c',
        'fsync=off',
        '-c',
        'synchronous_commit=off',
        '-c',
        'full_page_writes=off',
        '-c',
        'max_connections=200',
      ],
      options,
      stopSignal: 'SIGINT',
      startTimeoutMs: PG_START_TIMEOUT_MS,
      probe: probePostgres,
    });
  } catch (error) {
    guard.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    if (asUser && error instanceof Error && /permission denied/i.test(error.message)) {
      error.message += `\n(PostgreSQL runs as the postgres OS user here: it must be able to reach ${tmpdir()}; set TMPDIR to a directory it can.)`;
    }
    throw error;
  }
}

async function startMariaDb(): Promise<TestSqlServer> {
  const binaries = findMariaDb();
  if (!binaries) throw missing('mysql');
  // mariadbd runs as root only when told to, and refuses --user when it is not root.
  const asRoot = process.getuid?.() === 0 ? ['--user=root'] : [];
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'nest-warden-mariadb-'));
  const pidFile = join(dir, 'pid');
  const guard = watchdog(dir, pidFile);
  try {
    const data = join(dir, 'data');
    const logFile = join(dir, 'mariadb.log');
    // Its own tmpdir: parallel mariadb-install-db runs sharing /tmp clash on their temporary tables
    // ("Unknown table 'mysql.tmp_user_sys'").
    const tmp = join(dir, 'tmp');
    mkdirSync(tmp);
    const options: SpawnOptions = { cwd: dir };
    // `normal` makes passwordless root@localhost, root@127.0.0.1 and root@::1 accounts.
    await runLogged(
      binaries.installDb,
      ['--no-defaults', `--datadir=${data}`, `--tmpdir=${tmp}`, '--auth-root-authentication-method=normal', '--skip-test-db', ...asRoot],
      logFile,
      options,
    );
    return await privateServer({
      dialect: 'mysql',
      url: `mysql://root@${LOOPBACK}:${port}`,
      dir,
      logFile,
      guard,
      command: binaries.server,
      args: [
        '--no-defaults',
        `--datadir=${data}`,
        `--tmpdir=${tmp}`,
        `--port=${port}`,
        `--bind-address=${LOOPBACK}`,
        `--socket=${join(dir, 'sock')}`,
        `--pid-file=${pidFile}`,
        ...asRoot,
        // root@127.0.0.1 exists, so the grant tables stay on (CREATE USER and GRANT work) without reverse DNS.
        '--skip-name-resolve',
        '--innodb-flush-log-at-trx-commit=2',
        '--skip-log-bin',
        '--max-connections=200',
      ],
      options,
      stopSignal: 'SIGTERM',
      startTimeoutMs: MYSQL_START_TIMEOUT_MS,
      probe: probeMysql,
    });
  } catch (error) {
    guard.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}

/**
 * Finds or starts a PostgreSQL (`postgres`) or MariaDB (`mysql`) server. Never skips: without a
 * URL in the environment and without the server binaries it throws, so a suite that needs SQL
 * fails loudly (in CI and elsewhere). `privateServer: true` always starts a private one (for tests
 * that kill and restart it).
 */
export async function startTestSqlServer(dialect: SqlDialect, options: { privateServer?: boolean } = {}): Promise<TestSqlServer> {
  const external = externalUrl(dialect);
  if (external && !options.privateServer) {
    const refuse = async (): Promise<void> => {
      throw new Error(
        `cannot kill or restart the ${dialect} server given in the environment (${dialect === 'postgres' ? 'POSTGRES_URL' : 'MYSQL_URL'}/DATABASE_URL)`,
      );
    };
    return {
      dialect,
      url: external,
      private: false,
      kill: refuse,
      restart: refuse,
      pause: refuse,
      resume: refuse,
      stop: async () => undefined,
    };
  }
  return dialect === 'postgres' ? startPostgres() : startMariaDb();
}

function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

async function onPostgres<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function onMysql<T>(url: string, fn: (connection: mysql.Connection) => Promise<T>): Promise<T> {
  const connection = await mysql.createConnection({ uri: url, connectTimeout: 5000 });
  try {
    return await fn(connection);
  } finally {
    await connection.end().catch(() => undefined);
  }
}

/** A fresh private database on the server (CREATE DATABASE nw_test_<random hex>), its URL, and drop(). */
export async function createTestDatabase(server: TestSqlServer): Promise<{ name: string; url: string; drop(): Promise<void> }> {
  const name = `nw_test_${randomBytes(4).toString('hex')}`;
  if (server.dialect === 'postgres') {
    await onPostgres(server.url, (client) => client.query(`CREATE DATABASE ${name}`));
    return {
      name,
      url: withDatabase(server.url, name),
      drop: () =>
        onPostgres(server.url, async (client) => {
          try {
            // WITH (FORCE) ends the sessions still connected to it (PostgreSQL 13 and later).
            await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
          } catch (error) {
            // 42601 syntax_error: a server before 13.
            if ((error as { code?: string }).code !== '42601') throw error;
            await client.query(`DROP DATABASE IF EXISTS ${name}`);
          }
        }),
    };
  }
  await onMysql(server.url, (connection) => connection.query(`CREATE DATABASE ${name} CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`));
  return {
    name,
    url: withDatabase(server.url, name),
    drop: () => onMysql(server.url, async (connection) => void (await connection.query(`DROP DATABASE IF EXISTS ${name}`))),
  };
}
