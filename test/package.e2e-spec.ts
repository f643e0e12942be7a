import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ensureBuilt } from './utils/demo-process.js';
import { freePort } from './utils/redis-server.js';
import { startTestSmtpServer } from './utils/smtp-server.js';

const npm = (args: string[], cwd: string): string =>
  execFileSync('npm', args, {
    cwd,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, npm_config_audit: 'false', npm_config_fund: 'false' },
  });

// A minimal host app in plain JavaScript (decorators applied as functions), written once as an
// ES module for NestJS 12 and once as CommonJS for NestJS 11. It prints which nest-warden build
// and which @nestjs/core it loaded, then 'ready'.
const hostApp = (format: 'module' | 'commonjs'): string => {
  const load =
    format === 'module'
      ? `import 'reflect-metadata';
import { createRequire } from 'node:module';
import { Controller, Get, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AuthModule, CurrentUser, Public } from 'nestjs-warden';
const loaded = { warden: import.meta.resolve('nestjs-warden'), core: createRequire(import.meta.url)('@nestjs/core/package.json').version };`
      : `require('reflect-metadata');
const { Controller, Get, Module } = require('@nestjs/common');
const { NestFactory } = require('@nestjs/core');
const { AuthModule, CurrentUser, Public } = require('nestjs-warden');
const loaded = { warden: require.resolve('nestjs-warden'), core: require('@nestjs/core/package.json').version };`;
  const start = `const app = await NestFactory.create(AppModule, { logger: ['error'] });
await app.listen(Number(process.env.PORT), '127.0.0.1');
console.log(JSON.stringify(loaded));
console.log('ready');`;
  return `${load}

class NotesController {
  open() { return { open: true }; }
  mine(userId) { return { owner: userId }; }
}
Public()(NotesController.prototype, 'open', Object.getOwnPropertyDescriptor(NotesController.prototype, 'open'));
Get('open')(NotesController.prototype, 'open', Object.getOwnPropertyDescriptor(NotesController.prototype, 'open'));
Get('mine')(NotesController.prototype, 'mine', Object.getOwnPropertyDescriptor(NotesController.prototype, 'mine'));
CurrentUser('userId')(NotesController.prototype, 'mine', 0);
Controller()(NotesController);

class AppModule {}
Module({ imports: [AuthModule.forRoot({ secret: process.env.AUTH_SECRET, globalGuard: true })], controllers: [NotesController] })(AppModule);

${format === 'module' ? start : `(async () => {\n${start}\n})();`}
`;
};

const HOSTS = [
  { host: 'a NestJS 12 ES-module app', format: 'module', nest: '^12', build: '/dist/auth/index.js', core: /^12\./ },
  { host: 'a NestJS 11 CommonJS app', format: 'commonjs', nest: '^11', build: '/dist/cjs/index.js', core: /^11\./ },
] as const;

// A CommonJS host's own Jest suite, with the jest.config.js the README gives for it.
const HOST_SPEC = `
require('reflect-metadata');
const { Test } = require('@nestjs/testing');
const { AuthModule, AuthService } = require('nestjs-warden');

test('AuthService logs a registered user in', async () => {
  const moduleRef = await Test.createTestingModule({ imports: [AuthModule.forRoot('packaged-secret-that-is-32-bytes-long!!')] }).compile();
  const auth = moduleRef.get(AuthService);
  await auth.register('packaged', 'violet lantern orbit');
  expect(await auth.login('packaged', 'violet lantern orbit')).toMatchObject({ tokenType: 'Bearer' });
  expect(await auth.login('packaged', 'wrong password here')).toBeNull();
  await moduleRef.close();
});
`;

// And its TypeScript: the CommonJS declarations, found through `exports` (nodenext, as the
// NestJS 11 starter) and through `types`/`typesVersions` (node10), without skipLibCheck: the
// shipped declarations must compile against NestJS 11's types.
const HOST_TYPES = `
import { Module } from '@nestjs/common';
import { AuthModule, AuthService, type AuthUser } from 'nestjs-warden';
import { WsAuthGuard } from 'nestjs-warden/websockets';

@Module({ imports: [AuthModule.forRoot('packaged-secret-that-is-32-bytes-long!!')] })
export class AppModule {}
export const login = (auth: AuthService): Promise<unknown> => auth.login('packaged', 'violet lantern orbit');
export const guard: typeof WsAuthGuard = WsAuthGuard;
export type Caller = AuthUser['userId'];
`;

// Redis is an optional integration on its own entry point: the root entry must load without
// ioredis, and nestjs-warden/redis must load it and extend the root's store classes (one copy).
// ioredis is CommonJS, so an ES-module host loading it leaves it in require.cache too; the
// check after the redis entry proves the probe would see it.
const redisProbe = (format: 'module' | 'commonjs'): string => {
  const load =
    format === 'module'
      ? `import 'reflect-metadata';
import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
const loadRoot = () => import('nestjs-warden');
const loadRedis = () => import('nestjs-warden/redis');
const resolved = () => import.meta.resolve('nestjs-warden/redis');`
      : `require('reflect-metadata');
const loadRoot = async () => require('nestjs-warden');
const loadRedis = async () => require('nestjs-warden/redis');
const resolved = () => require.resolve('nestjs-warden/redis');`;
  const probe = `const { sep } = require('node:path');
const ioredisLoaded = () => Object.keys(require.cache).some((path) => path.includes(sep + 'node_modules' + sep + 'ioredis' + sep));
const root = await loadRoot();
const ioredisAfterRoot = ioredisLoaded();
const redis = await loadRedis();
console.log(JSON.stringify({
  ioredisAfterRoot,
  ioredisAfterRedis: ioredisLoaded(),
  resolved: resolved(),
  rootRedisExports: ['RedisConnection', 'RedisSessionStore', 'RedisThrottleStore', 'SCRIPT_ERROR_MARKER'].filter((name) => name in root),
  exports: {
    RedisConnection: typeof redis.RedisConnection,
    RedisSessionStore: typeof redis.RedisSessionStore,
    RedisThrottleStore: typeof redis.RedisThrottleStore,
    SCRIPT_ERROR_MARKER: typeof redis.SCRIPT_ERROR_MARKER,
  },
  sameSessionStore: redis.RedisSessionStore.prototype instanceof root.SessionStore,
  sameThrottleStore: redis.RedisThrottleStore.prototype instanceof root.ThrottleStore,
}));`;
  return format === 'module' ? `${load}\n${probe}\n` : `${load}\n(async () => {\n${probe}\n})();\n`;
};

// TypeORM is another optional integration: nestjs-warden/typeorm loads typeorm and extends the
// root's store classes; the root entry does not load typeorm.
const typeormProbe = (format: 'module' | 'commonjs'): string => {
  const load =
    format === 'module'
      ? `import 'reflect-metadata';
import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
const loadRoot = () => import('nestjs-warden');
const loadTypeorm = () => import('nestjs-warden/typeorm');
const resolved = () => import.meta.resolve('nestjs-warden/typeorm');`
      : `require('reflect-metadata');
const loadRoot = async () => require('nestjs-warden');
const loadTypeorm = async () => require('nestjs-warden/typeorm');
const resolved = () => require.resolve('nestjs-warden/typeorm');`;
  const probe = `const { sep } = require('node:path');
const typeormLoaded = () => Object.keys(require.cache).some((path) => path.includes(sep + 'node_modules' + sep + 'typeorm' + sep));
const root = await loadRoot();
const typeormAfterRoot = typeormLoaded();
const sql = await loadTypeorm();
const { DataSource } = require('typeorm');
const dataSource = new DataSource({ type: 'postgres', url: 'postgres://127.0.0.1:1/none', entities: sql.wardenEntities, migrations: sql.wardenMigrations });
console.log(JSON.stringify({
  typeormAfterRoot,
  typeormAfterEntry: typeormLoaded(),
  resolved: resolved(),
  sameSessionStore: new sql.TypeOrmSessionStore({ dataSource, sweepIntervalSeconds: 0 }) instanceof root.SessionStore,
  sameThrottleStore: new sql.TypeOrmThrottleStore({ dataSource, sweepIntervalSeconds: 0 }) instanceof root.ThrottleStore,
  sameUserStore: new sql.TypeOrmUserStore({ dataSource }) instanceof root.UserStore,
  sameMfaStore: new sql.TypeOrmMfaStore({ dataSource }) instanceof root.MfaStore,
  samePasskeyStore: new sql.TypeOrmPasskeyStore({ dataSource }) instanceof root.PasskeyStore,
  migrations: sql.wardenMigrations.length,
}));`;
  return format === 'module' ? `${load}\n${probe}\n` : `${load}\n(async () => {\n${probe}\n})();\n`;
};

// SMTP is another optional integration: nestjs-warden/smtp loads nodemailer, its SmtpMailer is
// the root's Mailer (one copy, so emailFlow accepts it), and a message sent through the root's
// MailQueue reaches the test SMTP server at SMTP_URL (after one temporary refusal, retried).
const smtpProbe = (format: 'module' | 'commonjs'): string => {
  const load =
    format === 'module'
      ? `import 'reflect-metadata';
const loadRoot = () => import('nestjs-warden');
const loadSmtp = () => import('nestjs-warden/smtp');
const resolved = () => import.meta.resolve('nestjs-warden/smtp');`
      : `require('reflect-metadata');
const loadRoot = async () => require('nestjs-warden');
const loadSmtp = async () => require('nestjs-warden/smtp');
const resolved = () => require.resolve('nestjs-warden/smtp');`;
  const probe = `const root = await loadRoot();
const smtp = await loadSmtp();
const mailer = new smtp.SmtpMailer({ url: process.env.SMTP_URL, from: 'Packaged <no-reply@example.com>' });
const queue = new root.MailQueue(mailer, { retryDelayMs: 20 });
let outcome = 'none';
queue.enqueue(
  { to: 'packaged-${format}@example.com', subject: 'Packaged ${format}', text: 'plain body', html: '<p>html body</p>' },
  { sent: () => (outcome = 'sent'), failed: (error) => (outcome = 'failed: ' + error.name) },
);
const drained = await queue.drain(10000);
mailer.onApplicationShutdown();
let badUrl = '';
try {
  new smtp.SmtpMailer({ url: 'http://user:secret-password@example.com', from: 'no-reply@example.com' });
} catch (error) {
  badUrl = error.constructor.name + ': ' + error.message;
}
console.log(JSON.stringify({
  resolved: resolved(),
  exports: { SmtpMailer: typeof smtp.SmtpMailer, SmtpMailerError: typeof smtp.SmtpMailerError },
  rootSmtpExports: ['SmtpMailer', 'SmtpMailerError'].filter((name) => name in root),
  sameMailer: mailer instanceof root.Mailer,
  drained,
  outcome,
  badUrl,
}));`;
  return format === 'module' ? `${load}\n${probe}\n` : `${load}\n(async () => {\n${probe}\n})();\n`;
};

// The root entry, in a host without nodemailer: it loads; nestjs-warden/smtp fails for want of nodemailer.
const withoutNodemailerProbe = (format: 'module' | 'commonjs'): string => {
  const load =
    format === 'module'
      ? `const loadRoot = () => import('nestjs-warden');\nconst loadSmtp = () => import('nestjs-warden/smtp');`
      : `const loadRoot = async () => require('nestjs-warden');\nconst loadSmtp = async () => require('nestjs-warden/smtp');`;
  const probe = `const root = await loadRoot();
let smtpError = '';
try {
  await loadSmtp();
} catch (error) {
  smtpError = String(error.code) + ' ' + String(error.message).split('\\n')[0];
}
console.log(JSON.stringify({ rootLoaded: typeof root.AuthModule === 'function', smtpError }));`;
  return format === 'module'
    ? `import 'reflect-metadata';\n${load}\n${probe}\n`
    : `require('reflect-metadata');\n${load}\n(async () => {\n${probe}\n})();\n`;
};

// The smtp entry's CommonJS declarations, through `exports` and through `typesVersions`.
const HOST_SMTP_TYPES = `
import { MailQueue } from 'nestjs-warden';
import { SmtpMailer, SmtpMailerError, type SmtpMailerOptions } from 'nestjs-warden/smtp';

const options: SmtpMailerOptions = { url: 'smtps://user:password@smtp.example.com:465', from: 'Example <no-reply@example.com>' };
export const mailer = new SmtpMailer(options);
export const pooled = new SmtpMailer({
  transport: { host: 'smtp.example.com', port: 587, pool: true, maxConnections: 2, auth: { user: 'user', pass: 'password' } },
  from: 'no-reply@example.com',
});
export const queue = new MailQueue(mailer, { retryDelayMs: 500 });
export const temporary = (error: unknown): boolean => error instanceof SmtpMailerError && (error.responseCode ?? 0) >= 400 && (error.responseCode ?? 0) < 500;
`;

// Runs a script of the host without blocking this process (the test SMTP server runs in it).
function runHostScript(
  app: string,
  script: string,
  env: Record<string, string> = {},
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(process.execPath, [script], {
      cwd: app,
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', reject);
    child.once('close', (status) => resolveRun({ status, stdout, stderr }));
  });
}

const HOST_TYPEORM_TYPES = `
import { AuthModule } from 'nestjs-warden';
import { TypeOrmSessionStore, TypeOrmUserStore, wardenUserEntity, type TypeOrmSessionStoreOptions } from 'nestjs-warden/typeorm';
import { DataSource } from 'typeorm';

declare const dataSource: DataSource;
const options: TypeOrmSessionStoreOptions = { dataSource, operationTimeoutMs: 1000 };
export const withSql = () =>
  AuthModule.forRoot({
    secret: 'packaged-secret-that-is-32-bytes-long!!',
    sessionStore: new TypeOrmSessionStore(options),
    userStore: new TypeOrmUserStore({ dataSource, entity: wardenUserEntity({ tableName: 'accounts' }) }),
  });
`;

// The redis entry's CommonJS declarations, through `exports` and through `typesVersions`.
const HOST_REDIS_TYPES = `
import { AuthModule } from 'nestjs-warden';
import { RedisSessionStore, RedisThrottleStore, type RedisSessionStoreOptions } from 'nestjs-warden/redis';

const options: RedisSessionStoreOptions = { url: 'redis://127.0.0.1:6379', keyPrefix: 'host' };
export const withRedis = () =>
  AuthModule.forRoot({ secret: 'packaged-secret-that-is-32-bytes-long!!', sessionStore: new RedisSessionStore(options), throttleStore: new RedisThrottleStore({ url: options.url }) });
`;

function readmeJestConfig(): string {
  const readme = readFileSync(resolve('README.md'), 'utf8');
  const block = /```js\n\s*\/\/ jest\.config\.js of a CommonJS app[^\n]*\n([\s\S]*?)```/.exec(readme);
  if (!block) throw new Error('README.md has no jest.config.js block for CommonJS apps');
  return block[1]!.replace(/^ {2}/gm, '');
}

describe('the published package', () => {
  let work: string;
  let tarball: string;

  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'nest-warden-pack-'));
    // npm test has built dist/ already; --ignore-scripts skips prepack's rebuild, which would
    // rewrite dist/ under the scale-out specs running their demo processes in parallel.
    ensureBuilt();
    npm(['pack', '--ignore-scripts', '--pack-destination', work], resolve('.'));
    tarball = join(
      work,
      readdirSync(work).find((name) => name.endsWith('.tgz'))!,
    );
  }, 120_000);

  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('holds the compiled library with commented .d.ts files, and no tests, demo or sources', () => {
    const files = execFileSync('tar', ['-tzf', tarball], { encoding: 'utf8' }).split('\n').filter(Boolean);
    expect(files).toContain('package/dist/auth/index.js');
    expect(files).toContain('package/dist/auth/index.d.ts');
    expect(files).toContain('package/dist/auth/testing/index.js');
    expect(files).toContain('package/dist/cjs/index.js');
    expect(files).toContain('package/dist/cjs/index.d.ts');
    expect(files).toContain('package/dist/cjs/package.json');
    expect(files).toContain('package/dist/auth/redis/index.js');
    expect(files).toContain('package/dist/auth/redis/index.d.ts');
    expect(files).toContain('package/dist/cjs/redis/index.js');
    expect(files).toContain('package/dist/cjs/redis/index.d.ts');
    expect(files).toContain('package/dist/auth/typeorm/index.js');
    expect(files).toContain('package/dist/cjs/typeorm/index.d.ts');
    expect(files).toContain('package/dist/auth/smtp/index.js');
    expect(files).toContain('package/dist/auth/smtp/index.d.ts');
    expect(files).toContain('package/dist/cjs/smtp/index.js');
    expect(files).toContain('package/dist/cjs/smtp/index.d.ts');
    expect(files).toContain('package/README.md');
    expect(files).toContain('package/SECURITY.md');
    for (const file of files) {
      expect(file).not.toMatch(/^package\/(src|test|bench|\.ci)\//);
      expect(file).not.toMatch(/\.spec\.|e2e-spec|dist\/main\.|dist\/app\.module|dist\/demo\//);
    }
    const declarations = execFileSync('tar', ['-xzOf', tarball, 'package/dist/auth/auth.service.d.ts'], { encoding: 'utf8' });
    expect(declarations).toContain('/**');
    expect(declarations).toContain('createAuthService');
  });

  it.each(HOSTS)(
    'installs into $host and boots with AuthModule.forRoot(secret) (a CommonJS host also runs its own Jest suite and tsc); nestjs-warden/redis, nestjs-warden/typeorm and nestjs-warden/smtp load, the root entry without ioredis, typeorm or nodemailer',
    async ({ format, nest, build, core }) => {
      const app = join(work, format);
      execFileSync('mkdir', ['-p', app]);
      writeFileSync(
        join(app, 'package.json'),
        JSON.stringify({
          name: 'host',
          private: true,
          type: format,
          dependencies: {
            'nestjs-warden': `file:${tarball}`,
            '@nestjs/common': nest,
            '@nestjs/core': nest,
            '@nestjs/platform-express': nest,
            '@nestjs/passport': nest,
            'reflect-metadata': '^0.2',
            rxjs: '^7',
            // The optional peers, installed as a host using the Redis and SQL stores does.
            ioredis: '^6',
            typeorm: '^1',
            pg: '^8',
            nodemailer: '^10',
          },
          // typeorm 1 names ioredis 5 as an optional peer; a host on ioredis 6 overrides it (docs/sql.md).
          overrides: { typeorm: { ioredis: '$ioredis' } },
          // ioredis 6.1's declarations import redis-errors without its types; the CommonJS host
          // type-checks libraries (no skipLibCheck), so it adds them, as docs/stores.md says.
          devDependencies:
            format === 'commonjs'
              ? { '@nestjs/testing': nest, jest: '^30', 'ts-jest': '^29', typescript: '~5.9', '@types/redis-errors': '^1.2' }
              : {},
        }),
      );
      writeFileSync(join(app, 'main.js'), hostApp(format));
      writeFileSync(join(app, 'redis-entry.js'), redisProbe(format));
      writeFileSync(join(app, 'typeorm-entry.js'), typeormProbe(format));
      writeFileSync(join(app, 'smtp-entry.js'), smtpProbe(format));
      writeFileSync(join(app, 'without-nodemailer.js'), withoutNodemailerProbe(format));
      if (format === 'commonjs') {
        writeFileSync(join(app, 'jest.config.js'), readmeJestConfig());
        writeFileSync(join(app, 'auth.test.js'), HOST_SPEC);
        writeFileSync(join(app, 'types.ts'), HOST_TYPES);
        writeFileSync(join(app, 'redis-types.ts'), HOST_REDIS_TYPES);
        writeFileSync(join(app, 'typeorm-types.ts'), HOST_TYPEORM_TYPES);
        writeFileSync(join(app, 'smtp-types.ts'), HOST_SMTP_TYPES);
      }
      npm(['install', '--no-audit', '--no-fund'], app);

      const port = await freePort();
      const child = spawn(process.execPath, ['main.js'], {
        cwd: app,
        env: { PATH: process.env.PATH ?? '', PORT: String(port), AUTH_SECRET: 'packaged-secret-that-is-32-bytes-long!!' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
      try {
        const deadline = Date.now() + 30_000;
        while (!output.includes('ready')) {
          if (child.exitCode !== null || Date.now() > deadline) throw new Error(`host app did not start:\n${output}`);
          await new Promise((r) => setTimeout(r, 100));
        }
        const loaded = JSON.parse(output.split('\n').find((line) => line.startsWith('{'))!) as { warden: string; core: string };
        expect(loaded.warden).toContain(build);
        expect(loaded.core).toMatch(core);
        const base = `http://127.0.0.1:${port}`;
        const post = (path: string, body: unknown) =>
          fetch(base + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
        expect((await fetch(`${base}/open`)).status).toBe(200);
        expect((await fetch(`${base}/mine`)).status).toBe(401);
        const registered = await post('/auth/register', { username: 'packaged', password: 'violet lantern orbit' });
        expect(registered.status).toBe(201);
        const { userId } = (await registered.json()) as { userId: string };
        const login = await post('/auth/login', { username: 'packaged', password: 'violet lantern orbit' });
        const { accessToken } = (await login.json()) as { accessToken: string };
        const mine = await fetch(`${base}/mine`, { headers: { authorization: `Bearer ${accessToken}` } });
        expect(await mine.json()).toEqual({ owner: userId });
      } finally {
        child.kill('SIGTERM');
      }
      const typecheck = (resolution: string[], file = 'types.ts') =>
        spawnSync(
          process.execPath,
          [
            'node_modules/typescript/bin/tsc',
            '--noEmit',
            '--strict',
            '--experimentalDecorators',
            '--target',
            'es2022',
            ...resolution,
            file,
          ],
          { cwd: app, encoding: 'utf8' },
        );
      if (format === 'commonjs') {
        // Throws, with Jest's output, unless the host's suite passes.
        const run = spawnSync(process.execPath, ['node_modules/jest/bin/jest.js', '--ci'], { cwd: app, encoding: 'utf8' });
        expect({ status: run.status, output: run.stderr }).toMatchObject({ status: 0, output: expect.stringContaining('1 passed') });
        for (const resolution of [
          ['--module', 'nodenext'],
          ['--module', 'commonjs', '--moduleResolution', 'node10'],
        ]) {
          const checked = typecheck(resolution);
          expect({ resolution, status: checked.status, output: checked.stdout }).toEqual({ resolution, status: 0, output: '' });
        }
      }

      // The redis entry point, checked last: a failure here leaves the results above readable.
      const probe = spawnSync(process.execPath, ['redis-entry.js'], { cwd: app, encoding: 'utf8' });
      if (probe.status !== 0) throw new Error(`redis-entry.js exited with ${probe.status}:\n${probe.stderr}`);
      const entry = JSON.parse(probe.stdout) as { resolved: string } & Record<string, unknown>;
      expect(entry.resolved).toContain(build.replace('/index.js', '/redis/index.js'));
      expect(entry).toMatchObject({
        ioredisAfterRedis: true,
        exports: {
          RedisConnection: 'function',
          RedisSessionStore: 'function',
          RedisThrottleStore: 'function',
          SCRIPT_ERROR_MARKER: 'string',
        },
        sameSessionStore: true,
        sameThrottleStore: true,
        rootRedisExports: [],
      });
      // The root entry must not load ioredis: it is an optional peer, absent from hosts without Redis.
      expect(entry.ioredisAfterRoot).toBe(false);
      if (format === 'commonjs') {
        for (const resolution of [
          ['--module', 'nodenext'],
          ['--module', 'commonjs', '--moduleResolution', 'node10'],
        ]) {
          const checked = typecheck(resolution, 'redis-types.ts');
          expect({ resolution, status: checked.status, output: checked.stdout }).toEqual({ resolution, status: 0, output: '' });
        }
      }

      const sqlProbe = spawnSync(process.execPath, ['typeorm-entry.js'], { cwd: app, encoding: 'utf8' });
      if (sqlProbe.status !== 0) throw new Error(`typeorm-entry.js exited with ${sqlProbe.status}:\n${sqlProbe.stderr}`);
      const sqlEntry = JSON.parse(sqlProbe.stdout) as { resolved: string } & Record<string, unknown>;
      expect(sqlEntry.resolved).toContain(build.replace('/index.js', '/typeorm/index.js'));
      expect(sqlEntry).toMatchObject({
        typeormAfterRoot: false,
        typeormAfterEntry: true,
        sameSessionStore: true,
        sameThrottleStore: true,
        sameUserStore: true,
        sameMfaStore: true,
        samePasskeyStore: true,
        migrations: 7,
      });
      if (format === 'commonjs') {
        for (const resolution of [
          ['--module', 'nodenext'],
          ['--module', 'commonjs', '--moduleResolution', 'node10'],
        ]) {
          const checked = typecheck(resolution, 'typeorm-types.ts');
          expect({ resolution, status: checked.status, output: checked.stdout }).toEqual({ resolution, status: 0, output: '' });
        }
      }

      const smtpServer = await startTestSmtpServer();
      try {
        smtpServer.failNext(1, 451);
        const mailProbe = await runHostScript(app, 'smtp-entry.js', { SMTP_URL: smtpServer.url });
        if (mailProbe.status !== 0) throw new Error(`smtp-entry.js exited with ${mailProbe.status}:\n${mailProbe.stderr}`);
        const mailEntry = JSON.parse(mailProbe.stdout) as { resolved: string } & Record<string, unknown>;
        expect(mailEntry.resolved).toContain(build.replace('/index.js', '/smtp/index.js'));
        expect(mailEntry).toMatchObject({
          exports: { SmtpMailer: 'function', SmtpMailerError: 'function' },
          rootSmtpExports: [],
          sameMailer: true,
          drained: true,
          outcome: 'sent',
          badUrl: 'TypeError: SmtpMailer: "url" must be an smtp:// or smtps:// URL with a host',
        });
        expect(smtpServer.messages).toMatchObject([
          {
            to: [`packaged-${format}@example.com`],
            from: '"Packaged" <no-reply@example.com>',
            subject: `Packaged ${format}`,
            text: 'plain body',
            html: '<p>html body</p>',
          },
        ]);
      } finally {
        await smtpServer.close();
      }
      if (format === 'commonjs') {
        for (const resolution of [
          ['--module', 'nodenext'],
          // nodemailer's own declarations default-import Node's modules: with module commonjs they
          // need esModuleInterop (the NestJS starter sets it), whether or not nest-warden is used.
          ['--module', 'commonjs', '--moduleResolution', 'node10', '--esModuleInterop'],
        ]) {
          const checked = typecheck(resolution, 'smtp-types.ts');
          expect({ resolution, status: checked.status, output: checked.stdout }).toEqual({ resolution, status: 0, output: '' });
        }
      }
      // nodemailer is an optional peer: with it gone (as in a host that sends no mail), the root entry still loads.
      const installed = join(app, 'node_modules', 'nodemailer');
      const hidden = join(app, 'node_modules', '.nodemailer-hidden');
      renameSync(installed, hidden);
      try {
        const bare = await runHostScript(app, 'without-nodemailer.js');
        if (bare.status !== 0) throw new Error(`without-nodemailer.js exited with ${bare.status}:\n${bare.stderr}`);
        const result = JSON.parse(bare.stdout) as { rootLoaded: boolean; smtpError: string };
        expect(result.rootLoaded).toBe(true);
        expect(result.smtpError).toMatch(/MODULE_NOT_FOUND.*nodemailer/);
      } finally {
        renameSync(hidden, installed);
      }
    },
    300_000,
  );

  it('wires a fresh `nest new` app with `nest add nestjs-warden`: forRootAsync on ConfigService, the global guard, AUTH_SECRET in .env', async () => {
    // The generator and CLI of this repo's devDependencies, as a new user's `npx @nestjs/cli new` would run them.
    const nest = resolve('node_modules/@nestjs/cli/bin/nest.js');
    execFileSync(process.execPath, [nest, 'new', 'fresh', '--skip-install', '--skip-git', '--package-manager', 'npm'], {
      cwd: work,
      stdio: 'ignore',
    });
    const app = join(work, 'fresh');
    npm(['install', '--no-audit', '--no-fund', tarball], app);
    const add = () =>
      execFileSync(process.execPath, ['node_modules/@nestjs/cli/bin/nest.js', 'add', 'nestjs-warden', '--skip-install'], {
        cwd: app,
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, npm_config_audit: 'false', npm_config_fund: 'false' },
      });
    add();
    const module = readFileSync(join(app, 'src/app.module.ts'), 'utf8');
    expect(module).toContain("import { AuthModule } from 'nestjs-warden';");
    expect(module).toContain("import { ConfigModule, ConfigService } from '@nestjs/config';");
    expect(module).toMatch(/ConfigModule\.forRoot\(\{ isGlobal: true \}\),\s*AuthModule\.forRootAsync\(\{/);
    expect(module).toContain("config.getOrThrow<string>('AUTH_SECRET')");
    expect(module).toContain('globalGuard: true');
    const env = readFileSync(join(app, '.env'), 'utf8');
    expect(env).toMatch(/^AUTH_SECRET=[A-Za-z0-9_-]{43}\n$/);
    expect(readFileSync(join(app, '.env.example'), 'utf8')).toMatch(/^AUTH_SECRET= /);
    expect(
      (JSON.parse(readFileSync(join(app, 'package.json'), 'utf8')) as { dependencies: Record<string, string> }).dependencies,
    ).toHaveProperty('@nestjs/config');
    // Run again, it changes nothing.
    add();
    expect(readFileSync(join(app, 'src/app.module.ts'), 'utf8')).toBe(module);
    expect(readFileSync(join(app, '.env'), 'utf8')).toBe(env);

    // The app builds with its own `nest build`, and starts guarded, reading AUTH_SECRET from .env.
    npm(['run', 'build'], app);
    const port = await freePort();
    const child = spawn(process.execPath, ['dist/main.js'], {
      cwd: app,
      env: { PATH: process.env.PATH ?? '', PORT: String(port) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    try {
      const base = `http://127.0.0.1:${port}`;
      const deadline = Date.now() + 30_000;
      for (;;) {
        if (child.exitCode !== null || Date.now() > deadline) throw new Error(`the fresh app did not start:\n${output}`);
        const answer = await fetch(base).catch(() => null);
        if (answer) {
          // The generated AppController, now behind the global guard.
          expect(answer.status).toBe(401);
          break;
        }
        await new Promise((r) => setTimeout(r, 200));
      }
      const post = (path: string, body: unknown) =>
        fetch(base + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      expect((await post('/auth/register', { username: 'fresh', password: 'violet lantern orbit' })).status).toBe(201);
      const { accessToken } = (await (await post('/auth/login', { username: 'fresh', password: 'violet lantern orbit' })).json()) as {
        accessToken: string;
      };
      const hello = await fetch(base, { headers: { authorization: `Bearer ${accessToken}` } });
      expect({ status: hello.status, body: await hello.text() }).toEqual({ status: 200, body: 'Hello World!' });
    } finally {
      child.kill('SIGTERM');
    }
  }, 300_000);
});
