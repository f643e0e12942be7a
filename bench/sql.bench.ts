// The SQL stores (nestjs-warden/typeorm), on Express: guarded-route throughput on the SQL session
// store against the unguarded route of the same app, and login throughput with users (and
// sessions) in PostgreSQL against in memory. Private PostgreSQL and MariaDB servers (or
// POSTGRES_URL / MYSQL_URL), cases alternating in rounds, medians. Loads 127.0.0.1 only.
import { fileURLToPath } from 'node:url';
import { createTestDatabase, startTestSqlServer, type TestSqlServer } from '../test/utils/sql-server.js';
import { freePort, load, loadInOwnProcess, median, pinSelf, postJson, startProcess, stopProcess, type LoadResult } from './lib.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const LOGIN_SECONDS = Number(process.env.BENCH_LOGIN_SECONDS ?? 4);
const CONNECTIONS = 50;
const PASSWORD = 'bench password 1';
const appScript = fileURLToPath(new URL('./bench-app.js', import.meta.url));

interface App {
  name: string;
  url: string;
  token: string;
  username: string;
  stop: () => Promise<void>;
}

async function startApp(name: string, env: Record<string, string>): Promise<App> {
  const port = await freePort();
  // The login throttle off: the login measurement logs one user in many times.
  const child = await startProcess(appScript, { PORT: String(port), BENCH_ADAPTER: 'express', BENCH_LOGIN_THROTTLE: 'off', ...env }, 1, {
    startTimeoutMs: 60_000,
  });
  const url = `http://127.0.0.1:${port}`;
  // Two users: the login load logs one in over and over (its oldest sessions end past
  // maxSessionsPerUser); the GETs run as the other.
  const username = `bench_sql_${Date.now()}`;
  const reader = `${username}_reader`;
  for (const name of [username, reader]) await postJson(`${url}/auth/register`, { username: name, password: PASSWORD });
  const login = await postJson(`${url}/auth/login`, { username: reader, password: PASSWORD });
  return { name, url, username, token: login.accessToken as string, stop: () => stopProcess(child) };
}

async function main(): Promise<void> {
  pinSelf(0);
  const servers: TestSqlServer[] = [];
  const apps: App[] = [];
  try {
    const postgres = await startTestSqlServer('postgres');
    servers.push(postgres);
    const mariadb = await startTestSqlServer('mysql');
    servers.push(mariadb);
    apps.push(await startApp('memory', { BENCH_STORE: 'memory' }));
    apps.push(await startApp('PostgreSQL', { BENCH_STORE: 'sql', BENCH_DATABASE_URL: (await createTestDatabase(postgres)).url }));
    apps.push(await startApp('MariaDB', { BENCH_STORE: 'sql', BENCH_DATABASE_URL: (await createTestDatabase(mariadb)).url }));

    const open = new Map<string, LoadResult[]>(apps.map((app) => [app.name, []]));
    const guarded = new Map<string, LoadResult[]>(apps.map((app) => [app.name, []]));
    const logins = new Map<string, number[]>(apps.map((app) => [app.name, []]));
    const run = async (app: App, path: string, into: Map<string, LoadResult[]>): Promise<void> => {
      const headers: Record<string, string> = path === '/guarded' ? { authorization: `Bearer ${app.token}` } : {};
      // An unmeasured second first: an app that sat idle serves its first second slower.
      await load(app.url + path, { connections: CONNECTIONS, seconds: 1, headers });
      const result = await load(app.url + path, { connections: CONNECTIONS, seconds: SECONDS, headers });
      if (result.non2xx > 0 || result.errors > 0) throw new Error(`${app.name} ${path}: ${result.non2xx} non-2xx, ${result.errors} errors`);
      into.get(app.name)!.push(result);
    };
    for (let round = 0; round < ROUNDS; round++) {
      for (const app of apps) {
        await run(app, '/open', open);
        await run(app, '/guarded', guarded);
        // Logins: argon2id decides; as many connections as hashing threads would be busy.
        const login = await loadInOwnProcess(`${app.url}/auth/login`, {
          connections: 8,
          seconds: LOGIN_SECONDS,
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ username: app.username, password: PASSWORD }),
        });
        if (login.non2xx > 0 || login.errors > 0) throw new Error(`${app.name} login: ${login.non2xx} non-2xx, ${login.errors} errors`);
        logins.get(app.name)!.push(login.requestsPerSecond);
      }
    }

    console.log(
      `\nSQL stores, Express, autocannon -c ${CONNECTIONS}, ${ROUNDS} rounds x ${SECONDS} s (logins: -c 8, ${LOGIN_SECONDS} s), medians; app on core 1, load on core 0\n`,
    );
    console.log(
      '| app (users and sessions in) | unguarded req/s | AuthGuard req/s | AuthGuard p99 ms | AuthGuard vs unguarded | rounds | logins/s | logins vs memory |',
    );
    console.log('|---|---:|---:|---:|---:|---:|---:|---:|');
    const memoryLogins = logins.get('memory')!;
    for (const app of apps) {
      const ratios = guarded.get(app.name)!.map((result, i) => result.requestsPerSecond / open.get(app.name)![i]!.requestsPerSecond);
      const loginRatios = logins.get(app.name)!.map((value, i) => value / memoryLogins[i]!);
      console.log(
        `| ${app.name} | ${Math.round(median(open.get(app.name)!.map((r) => r.requestsPerSecond)))} | ${Math.round(median(guarded.get(app.name)!.map((r) => r.requestsPerSecond)))} | ${median(guarded.get(app.name)!.map((r) => r.p99Ms))} | ${median(ratios).toFixed(2)}x | ${Math.min(...ratios).toFixed(2)} to ${Math.max(...ratios).toFixed(2)} | ${Math.round(median(logins.get(app.name)!))} | ${median(loginRatios).toFixed(2)}x |`,
      );
    }
  } finally {
    for (const app of apps) await app.stop();
    for (const server of servers) await server.stop();
  }
}

await main();
