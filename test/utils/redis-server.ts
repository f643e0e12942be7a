import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A Redis for tests: the one in REDIS_URL, or a private redis-server this process started. */
export interface TestRedis {
  url: string;
  /** True when this process started the server (so it may kill and restart it). */
  private: boolean;
  /** SIGKILLs a private server. Its append-only file keeps the data. */
  kill(): Promise<void>;
  /** Starts a killed private server again, on the same port, with its data. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/** A free TCP port on 127.0.0.1. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

function hasRedisServer(): boolean {
  return spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;
}

/**
 * Finds or starts Redis. Never skips: without REDIS_URL and without a redis-server binary it
 * throws, so a suite that needs Redis fails loudly (in CI and elsewhere).
 * `privateServer: true` always starts a private one (for tests that kill it).
 */
export async function startTestRedis(options: { privateServer?: boolean } = {}): Promise<TestRedis> {
  const external = process.env.REDIS_URL;
  if (external && !options.privateServer) {
    const noop = async (): Promise<void> => {
      throw new Error('cannot kill or restart the Redis given in REDIS_URL');
    };
    return { url: external, private: false, kill: noop, restart: noop, stop: async () => undefined };
  }
  if (!hasRedisServer()) {
    throw new Error(
      'These tests need Redis: set REDIS_URL, or install redis-server (apt-get install redis-server). ' +
        (process.env.CI === 'true' ? 'CI=true: a missing Redis is a failure.' : ''),
    );
  }
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'nest-warden-redis-'));
  let child: ChildProcess | undefined;

  const start = async (): Promise<void> => {
    child = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'yes', '--appendfsync', 'always'],
      { stdio: 'ignore' },
    );
    await waitForPort(port, 5000);
  };
  await start();

  return {
    url: `redis://127.0.0.1:${port}`,
    private: true,
    kill: async () => {
      const exited = new Promise((resolve) => child?.once('exit', resolve));
      child?.kill('SIGKILL');
      await exited;
    },
    restart: start,
    stop: async () => {
      if (child && child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child?.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const { connect } = await import('node:net');
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.end();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`redis-server did not start on port ${port}`);
}
