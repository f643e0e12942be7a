import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { run } from './cli.js';
import type { CliIo } from './cli-io.js';

const work = mkdtempSync(join(tmpdir(), 'nest-warden-cli-spec-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

async function cli(args: string[], stdin = ''): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = {
    cwd: work,
    stdinIsTerminal: false,
    write: (text) => void (stdout += text),
    writeError: (text) => void (stderr += text),
    readStdin: () => Promise.resolve(stdin),
  };
  const code = await run(args, io);
  return { code, stdout, stderr };
}

describe('the CLI command line', () => {
  it('prints the commands with --help, and on stderr with exit code 2 when run bare', async () => {
    const help = await cli(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/keys generate[\s\S]*keys rotate[\s\S]*hash check/);
    const bare = await cli([]);
    expect(bare.code).toBe(2);
    expect(bare.stdout).toBe('');
    expect(bare.stderr).toContain('Usage: nestjs-warden <command>');
  });

  it("prints the package's version", async () => {
    const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    expect(await cli(['--version'])).toEqual({ code: 0, stdout: `${version}\n`, stderr: '' });
  });

  it.each([
    [['keys', 'generate', '--help'], 'Usage: nestjs-warden keys generate'],
    [['keys', 'rotate', '-h'], 'Usage: nestjs-warden keys rotate'],
    [['hash', 'check', '--help'], 'Usage: nestjs-warden hash check'],
    // --help wins over anything else on the line.
    [['keys', 'generate', '--alg', 'nope', '--help'], 'Usage: nestjs-warden keys generate'],
    [['keys', '--help'], 'Usage: nestjs-warden keys <command>'],
  ])('%j prints its usage', async (args, heading) => {
    const { code, stdout } = await cli(args);
    expect(code).toBe(0);
    expect(stdout.startsWith(heading)).toBe(true);
  });

  it.each([
    [['frobnicate'], 'unknown command "frobnicate"', 'nestjs-warden --help'],
    [['--frobnicate'], 'unknown option "--frobnicate"', 'nestjs-warden --help'],
    [['keys', 'destroy'], 'unknown command "keys destroy"', 'nestjs-warden keys --help'],
    [['keys', 'generate', '--kid', 'k1'], '--alg is required', 'nestjs-warden keys generate --help'],
    [
      ['keys', 'generate', '--alg', 'HS256', '--kid', 'k1'],
      '--alg must be one of EdDSA, ES256, RS256 (got "HS256")',
      'nestjs-warden keys generate --help',
    ],
    [['keys', 'generate', '--alg', 'EdDSA'], '--kid is required', 'nestjs-warden keys generate --help'],
    [['keys', 'generate', '--alg', 'EdDSA', '--kid', '../k1'], '--kid must be 1-64 characters', 'nestjs-warden keys generate --help'],
    [
      ['keys', 'generate', '--alg', 'EdDSA', '--kid', 'k1', '--bits', '4096'],
      '--bits is for RS256 keys only',
      'nestjs-warden keys generate --help',
    ],
    [
      ['keys', 'generate', '--alg', 'RS256', '--kid', 'k1', '--bits', '1024'],
      '--bits must be one of 2048, 3072, 4096',
      'nestjs-warden keys generate --help',
    ],
    [['keys', 'generate', '--alg', 'EdDSA', '--kid', 'k1', '--colour'], "Unknown option '--colour'", 'nestjs-warden keys generate --help'],
    [['keys', 'generate', '--alg', 'EdDSA', '--kid'], "Option '--kid <value>' argument missing", 'nestjs-warden keys generate --help'],
    [['keys', 'generate', '--alg', 'EdDSA', '--kid', 'k1', 'extra'], "Unexpected argument 'extra'", 'nestjs-warden keys generate --help'],
    [['keys', 'rotate', '--next', 'k2'], '--current is required', 'nestjs-warden keys rotate --help'],
    [['keys', 'rotate', '--current', 'k1'], '--next is required', 'nestjs-warden keys rotate --help'],
    [
      ['keys', 'rotate', '--current', 'k1', '--next', 'k2', '--stage', 'retire'],
      '--stage must be one of publish, switch',
      'nestjs-warden keys rotate --help',
    ],
    [['keys', 'rotate', '--current', 'k1', '--next', 'k2', '--json'], '--json holds the private key', 'nestjs-warden keys rotate --help'],
    [['hash', 'check'], 'give a hash, or - to read it from standard input', 'nestjs-warden hash check --help'],
    [['hash', 'check', 'a', 'b'], 'give one hash at a time', 'nestjs-warden hash check --help'],
    [['hash', 'check', '-', '--time-cost', 'two'], '--time-cost must be a whole number of at least 1', 'nestjs-warden hash check --help'],
    [
      ['hash', 'check', '-', '--memory-cost-kib', '0'],
      '--memory-cost-kib must be a whole number of at least 1',
      'nestjs-warden hash check --help',
    ],
  ])('%j is a usage error: exit code 2, the reason and where help is', async (args, reason, help) => {
    const { code, stdout, stderr } = await cli(args);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toContain(`nestjs-warden: ${reason}`);
    expect(stderr).toContain(`Run "${help}" for usage.`);
  });

  it('takes the hash from standard input with -, one line only', async () => {
    const hash = 'a'.repeat(64);
    const piped = await cli(['hash', 'check', '-', '--json'], `${hash}\n`);
    expect(piped.code).toBe(0);
    expect(JSON.parse(piped.stdout)).toMatchObject({ hasher: 'legacy-sha256', rehash: true });
    expect((await cli(['hash', 'check', '-'], '\n')).stderr).toContain('no hash on standard input');
    const two = await cli(['hash', 'check', '-'], `${hash}\n${hash}\n`);
    expect(two.code).toBe(2);
    expect(two.stderr).toContain('give one hash at a time');
  });
});
