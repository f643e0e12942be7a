import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ensureBuilt } from './utils/demo-process.js';
import { freePort } from './utils/redis-server.js';

const npm = (args: string[], cwd: string): string =>
  execFileSync('npm', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, npm_config_audit: 'false', npm_config_fund: 'false' } });

// A minimal host app in plain ESM JavaScript: decorators applied as functions.
const HOST_APP = `
import 'reflect-metadata';
import { Controller, Get, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AuthModule, CurrentUser, Public } from 'nest-warden';

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

const app = await NestFactory.create(AppModule, { logger: ['error'] });
await app.listen(Number(process.env.PORT), '127.0.0.1');
console.log('ready');
`;

describe('the published package', () => {
  let work: string;
  let tarball: string;

  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'nest-warden-pack-'));
    // npm test has built dist/ already; --ignore-scripts skips prepack's rebuild, which would
    // rewrite dist/ under the scale-out specs running their demo processes in parallel.
    ensureBuilt();
    npm(['pack', '--ignore-scripts', '--pack-destination', work], resolve('.'));
    tarball = join(work, readdirSync(work).find((name) => name.endsWith('.tgz'))!);
  }, 120_000);

  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('holds the compiled library with commented .d.ts files, and no tests, demo or sources', () => {
    const files = execFileSync('tar', ['-tzf', tarball], { encoding: 'utf8' }).split('\n').filter(Boolean);
    expect(files).toContain('package/dist/auth/index.js');
    expect(files).toContain('package/dist/auth/index.d.ts');
    expect(files).toContain('package/dist/auth/testing/index.js');
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

  it('installs into a fresh Nest app and boots with AuthModule.forRoot(secret)', async () => {
    const app = join(work, 'host');
    execFileSync('mkdir', ['-p', app]);
    writeFileSync(
      join(app, 'package.json'),
      JSON.stringify({
        name: 'host',
        private: true,
        type: 'module',
        // npm 11 runs no install script unless allowed; argon2 needs its own to build when its
        // prebuilt binary does not load (the README says so too).
        allowScripts: { argon2: true },
        dependencies: {
          'nest-warden': `file:${tarball}`,
          '@nestjs/common': '^12',
          '@nestjs/core': '^12',
          '@nestjs/platform-express': '^12',
          '@nestjs/passport': '^12',
          'reflect-metadata': '^0.2',
          rxjs: '^7',
        },
      }),
    );
    writeFileSync(join(app, 'main.js'), HOST_APP);
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
  }, 240_000);
});
