import { execFile, execFileSync } from 'node:child_process';
import { createHash, createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Controller, Get, type INestApplication } from '@nestjs/common';
import { hash as argon2Hash } from '@node-rs/argon2';
import { createLocalJWKSet, jwtVerify, SignJWT, type JWK } from 'jose';
import request from 'supertest';
import ts from 'typescript';
import { Argon2PasswordHasher, AuthModule, createAuthService, CurrentUser, type JwtKeyOptions } from '../src/auth/index.js';
import { ADAPTERS, createApp, TEST_SECRET } from './utils/app.js';
import { claimsOf, registerAndLogin } from './utils/auth-client.js';

const ROOT = resolve(import.meta.dirname, '..');
const CLI = join(ROOT, 'dist/cli/main.js');
const PASSWORD = 'correct horse battery staple';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the built CLI as a user would: `node dist/cli/main.js ...` in `cwd`, `input` on its stdin. */
function cli(args: string[], cwd: string, input = ''): Promise<Run> {
  return new Promise((done) => {
    const child = execFile(process.execPath, [CLI, ...args], { cwd, encoding: 'utf8', timeout: 60_000 }, (error, stdout, stderr) => {
      done({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr });
    });
    child.stdin!.end(input);
  });
}

const dirs: string[] = [];
function workDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'nest-warden-cli-'));
  dirs.push(dir);
  return dir;
}

const modeOf = (path: string): number => statSync(path).mode & 0o777;
const spki = (key: KeyObject): Buffer => (key.type === 'public' ? key : createPublicKey(key)).export({ type: 'spki', format: 'der' });

beforeAll(() => {
  // npm test builds first; a lone run of this spec builds the CLI if it is missing.
  if (!existsSync(CLI))
    execFileSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], { cwd: ROOT });
});

afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe('nestjs-warden keys generate (the built CLI)', () => {
  it.each([
    { alg: 'EdDSA', extra: [], type: 'ed25519', details: {} },
    { alg: 'ES256', extra: [], type: 'ec', details: { namedCurve: 'prime256v1' } },
    { alg: 'RS256', extra: [], type: 'rsa', details: { modulusLength: 2048 } },
    { alg: 'RS256', extra: ['--bits', '3072'], type: 'rsa', details: { modulusLength: 3072 } },
  ])(
    'writes a $alg pair $extra (PKCS#8 at mode 0600, SPKI) and prints the JWKS entry that verifies its tokens',
    async ({ alg, extra, type, details }) => {
      const dir = workDir();
      const kid = `${alg.toLowerCase()}-2026-11`;
      const run = await cli(['keys', 'generate', '--alg', alg, '--kid', kid, '--out', 'keys', ...extra], dir);
      expect(run.code).toBe(0);
      expect(run.stderr).toContain(`keys/${kid}.private.pem`);
      expect(run.stderr).toContain(`keys/${kid}.public.pem`);

      const privatePath = join(dir, 'keys', `${kid}.private.pem`);
      const publicPath = join(dir, 'keys', `${kid}.public.pem`);
      expect(modeOf(privatePath)).toBe(0o600);
      expect(modeOf(publicPath)).toBe(0o644);
      const privatePem = readFileSync(privatePath, 'utf8');
      const publicPem = readFileSync(publicPath, 'utf8');
      expect(privatePem.startsWith('-----BEGIN PRIVATE KEY-----\n')).toBe(true);
      expect(publicPem.startsWith('-----BEGIN PUBLIC KEY-----\n')).toBe(true);
      const privateKey = createPrivateKey(privatePem);
      const publicKey = createPublicKey(publicPem);
      expect(privateKey.asymmetricKeyType).toBe(type);
      expect(privateKey.asymmetricKeyDetails).toMatchObject(details);
      expect(spki(publicKey).equals(spki(privateKey))).toBe(true);

      // Nothing of the private key on either stream.
      const privateBody = privatePem.split('\n')[1]!;
      expect(run.stdout + run.stderr).not.toContain(privateBody);
      expect(run.stdout).not.toContain('PRIVATE');
      const jwk = JSON.parse(run.stdout) as JWK;
      expect(jwk).toMatchObject({ kid, alg, use: 'sig' });
      expect(jwk).not.toHaveProperty('d');
      expect(jwk).not.toHaveProperty('p');

      const token = await new SignJWT({ sid: 's1' })
        .setProtectedHeader({ alg, kid, typ: 'at+jwt' })
        .setSubject('u1')
        .setExpirationTime('5m')
        .sign(privateKey);
      const { payload, protectedHeader } = await jwtVerify(token, createLocalJWKSet({ keys: [jwk] }));
      expect(payload.sub).toBe('u1');
      expect(protectedHeader.kid).toBe(kid);
    },
    60_000,
  );

  it('writes into the current directory by default', async () => {
    const dir = workDir();
    expect((await cli(['keys', 'generate', '--alg', 'EdDSA', '--kid', 'here'], dir)).code).toBe(0);
    expect(readdirSync(dir).sort()).toEqual(['here.private.pem', 'here.public.pem']);
  });

  it('refuses to overwrite a key without --force, and with --force writes a new one at mode 0600', async () => {
    const dir = workDir();
    const args = ['keys', 'generate', '--alg', 'ES256', '--kid', 'k1'];
    expect((await cli(args, dir)).code).toBe(0);
    const privatePath = join(dir, 'k1.private.pem');
    const publicPath = join(dir, 'k1.public.pem');
    const before = readFileSync(privatePath, 'utf8');

    const refused = await cli(args, dir);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toBe('');
    expect(refused.stderr).toContain('k1.private.pem and k1.public.pem already exist; --force replaces them');
    expect(readFileSync(privatePath, 'utf8')).toBe(before);

    // One file of the pair is enough to refuse, and no half pair is written.
    rmSync(publicPath);
    expect((await cli(args, dir)).code).toBe(1);
    expect(existsSync(publicPath)).toBe(false);
    expect(readFileSync(privatePath, 'utf8')).toBe(before);

    // A file left readable by others does not pass its mode on to the new key.
    chmodSync(privatePath, 0o644);
    const forced = await cli([...args, '--force'], dir);
    expect(forced.code).toBe(0);
    const after = readFileSync(privatePath, 'utf8');
    expect(after).not.toBe(before);
    expect(modeOf(privatePath)).toBe(0o600);
    expect(spki(createPublicKey(readFileSync(publicPath, 'utf8'))).equals(spki(createPrivateKey(after)))).toBe(true);
  });

  it.each([
    [['keys', 'generate', '--kid', 'k1'], '--alg is required'],
    [['keys', 'generate', '--alg', 'HS256', '--kid', 'k1'], '--alg must be one of EdDSA, ES256, RS256'],
    [['keys', 'generate', '--alg', 'EdDSA', '--kid', 'a/b'], '--kid must be 1-64 characters'],
    [['keys', 'generate', '--alg', 'RS256', '--kid', 'k1', '--bits', '1024'], '--bits must be one of 2048, 3072, 4096'],
    [['keys', 'generate', '--alg', 'EdDSA', '--kid', 'k1', '--private-to-stdout'], "Unknown option '--private-to-stdout'"],
    [['keys', 'make'], 'unknown command "keys make"'],
  ])('%j: usage error, exit code 2, nothing written', async (args, reason) => {
    const dir = workDir();
    const run = await cli(args, dir);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain(reason);
    expect(run.stderr).toMatch(/Run "nestjs-warden .*--help" for usage\./);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('answers --help for every command and --version with the package version', async () => {
    const dir = workDir();
    for (const command of [[], ['keys'], ['keys', 'generate'], ['keys', 'rotate'], ['hash', 'check']]) {
      const run = await cli([...command, '--help'], dir);
      expect(run.code).toBe(0);
      expect(run.stdout).toContain(`Usage: nestjs-warden ${command.join(' ')}`.trim());
    }
    const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    expect(await cli(['--version'], dir)).toEqual({ code: 0, stdout: `${version}\n`, stderr: '' });
    expect((await cli(['keys', 'rotate', '--help'], dir)).stdout).toContain('A rotation takes two deploys');
  });
});

@Controller()
class WhoAmIController {
  @Get('whoami')
  whoAmI(@CurrentUser('userId') userId: string): { userId: string } {
    return { userId };
  }
}

/** An access token for a live session, signed outside the app with `key` under `kid`. */
function tokenSignedWith(key: KeyObject, alg: string, kid: string, claims: Record<string, unknown>): Promise<string> {
  return new SignJWT({ sid: claims.sid, jti: `outside-${kid}` })
    .setProtectedHeader({ alg, kid, typ: 'at+jwt' })
    .setSubject(String(claims.sub))
    .setIssuer('nest-warden')
    .setAudience('nest-warden')
    .setIssuedAt()
    .setExpirationTime('10m')
    .sign(key);
}

describe('nestjs-warden keys rotate (the built CLI)', () => {
  const OLD = 'ec-2026-10';
  const NEW = 'ed-2026-11';
  let dir: string;
  let oldPrivate: KeyObject;
  let newPrivate: KeyObject;
  let switched: JwtKeyOptions[];
  let published: JwtKeyOptions[];

  beforeAll(async () => {
    dir = workDir();
    expect((await cli(['keys', 'generate', '--alg', 'ES256', '--kid', OLD, '--out', 'keys'], dir)).code).toBe(0);
    expect((await cli(['keys', 'generate', '--alg', 'EdDSA', '--kid', NEW, '--out', 'keys'], dir)).code).toBe(0);
    oldPrivate = createPrivateKey(readFileSync(join(dir, 'keys', `${OLD}.private.pem`)));
    newPrivate = createPrivateKey(readFileSync(join(dir, 'keys', `${NEW}.private.pem`)));

    const toSwitch = await cli(['keys', 'rotate', '--dir', 'keys', '--current', OLD, '--next', NEW, '--json', '--out', 'switch.json'], dir);
    expect(toSwitch).toMatchObject({ code: 0, stdout: '' });
    expect(toSwitch.stderr).toContain('step 2 of 2');
    switched = JSON.parse(readFileSync(join(dir, 'switch.json'), 'utf8')) as JwtKeyOptions[];
    const toPublish = await cli(
      [
        'keys',
        'rotate',
        '--current',
        `keys/${OLD}.private.pem`,
        '--next',
        `keys/${NEW}.public.pem`,
        '--stage',
        'publish',
        '--json',
        '--out',
        '-',
      ],
      dir,
    );
    expect(toPublish.code).toBe(0);
    published = JSON.parse(toPublish.stdout) as JwtKeyOptions[];
  });

  it('switch: the new key signs with its private key, the old one verifies with its public half only', () => {
    expect(modeOf(join(dir, 'switch.json'))).toBe(0o600);
    expect(switched.map((key) => [key.kid, key.alg, Object.keys(key).sort()])).toEqual([
      [NEW, 'EdDSA', ['alg', 'kid', 'privateKey']],
      [OLD, 'ES256', ['alg', 'kid', 'publicKey']],
    ]);
    expect(spki(createPrivateKey(switched[0]!.privateKey as string)).equals(spki(newPrivate))).toBe(true);
    expect(spki(createPublicKey(switched[1]!.publicKey as string)).equals(spki(oldPrivate))).toBe(true);
  });

  it('publish: the old key still signs, the new one is only accepted', () => {
    expect(published.map((key) => [key.kid, key.alg, Object.keys(key).sort()])).toEqual([
      [OLD, 'ES256', ['alg', 'kid', 'privateKey']],
      [NEW, 'EdDSA', ['alg', 'kid', 'publicKey']],
    ]);
  });

  describe.each(ADAPTERS)('AuthModule.forRoot takes the printed option on %s', (adapter) => {
    let apps: INestApplication[] = [];
    const boot = async (keys: JwtKeyOptions[]): Promise<INestApplication> => {
      const app = await createApp(
        { module: class RotatedApp {}, imports: [AuthModule.forRoot({ keys, globalGuard: true })], controllers: [WhoAmIController] },
        adapter,
      );
      apps.push(app);
      return app;
    };
    afterAll(async () => {
      await Promise.all(apps.map((app) => app.close()));
      apps = [];
    });

    it('after the switch: new tokens carry the new kid, and a token of the old key still passes', async () => {
      const app = await boot(switched);
      const http = request(app.getHttpServer());
      const { accessToken, userId } = await registerAndLogin(app);
      expect(JSON.parse(Buffer.from(accessToken.split('.')[0]!, 'base64url').toString())).toMatchObject({ alg: 'EdDSA', kid: NEW });
      await http.get('/whoami').set('Authorization', `Bearer ${accessToken}`).expect(200, { userId });

      const fromBefore = await tokenSignedWith(oldPrivate, 'ES256', OLD, claimsOf(accessToken));
      await http.get('/whoami').set('Authorization', `Bearer ${fromBefore}`).expect(200, { userId });
      const jwks = await http.get('/.well-known/jwks.json').expect(200);
      expect(jwks.body.keys.map((key: JWK) => key.kid)).toEqual([NEW, OLD]);
    });

    it('after the publish step: tokens still carry the old kid, and tokens of the new key already pass', async () => {
      const app = await boot(published);
      const http = request(app.getHttpServer());
      const { accessToken, userId } = await registerAndLogin(app);
      expect(JSON.parse(Buffer.from(accessToken.split('.')[0]!, 'base64url').toString())).toMatchObject({ alg: 'ES256', kid: OLD });
      // An instance already switched signs with the new key: this one accepts its tokens.
      const fromSwitched = await tokenSignedWith(newPrivate, 'EdDSA', NEW, claimsOf(accessToken));
      await http.get('/whoami').set('Authorization', `Bearer ${fromSwitched}`).expect(200, { userId });
      const jwks = await http.get('/.well-known/jwks.json').expect(200);
      expect(jwks.body.keys.map((key: JWK) => key.kid)).toEqual([OLD, NEW]);
    });
  });

  it('prints TypeScript by default: it reads the private key from its file, and evaluates to the JSON form', async () => {
    const run = await cli(['keys', 'rotate', '--dir', 'keys', '--current', OLD, '--next', NEW], dir);
    expect(run.code).toBe(0);
    expect(run.stdout).not.toContain('PRIVATE KEY');
    expect(run.stdout).toContain(`readFileSync('keys/${NEW}.private.pem', 'utf8')`);
    expect(run.stdout).toContain("import type { JwtKeyOptions } from 'nestjs-warden';");
    const { outputText, diagnostics } = ts.transpileModule(run.stdout, {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
      reportDiagnostics: true,
    });
    expect(diagnostics).toEqual([]);
    // Run from the directory keys rotate ran in, as the snippet's comment says.
    const evaluated = execFileSync(
      process.execPath,
      ['--input-type=module', '-e', `${outputText}\nprocess.stdout.write(JSON.stringify(keys));`],
      {
        cwd: dir,
        encoding: 'utf8',
      },
    );
    expect(JSON.parse(evaluated)).toEqual(switched);
  });

  it('takes a kid other than the file name with --current-kid / --next-kid', async () => {
    const run = await cli(
      [
        'keys',
        'rotate',
        '--current',
        `keys/${OLD}.public.pem`,
        '--current-kid',
        'legacy',
        '--next',
        `keys/${NEW}.private.pem`,
        '--next-kid',
        'v2',
        '--json',
        '--out',
        '-',
      ],
      dir,
    );
    expect(run.code).toBe(0);
    expect((JSON.parse(run.stdout) as JwtKeyOptions[]).map((key) => key.kid)).toEqual(['v2', 'legacy']);
  });

  it.each([
    [['--current', OLD, '--next', `keys/${NEW}.public.pem`], 1, 'holds only a public key, and this key signs'],
    [['--current', OLD, '--next', OLD], 1, '--current and --next are the same key'],
    [['--current', 'ec-2025-01', '--next', NEW], 1, 'no file "ec-2025-01", nor ec-2025-01.public.pem or ec-2025-01.private.pem in keys'],
    [['--current', OLD, '--next', NEW, '--next-kid', OLD], 1, `the key "${OLD}": "${OLD}" is used twice`],
    [['--current', OLD, '--next', NEW, '--json', '--out', 'switch.json'], 1, 'switch.json exists; --force overwrites it'],
    [['--current', OLD, '--next', NEW, '--json'], 2, '--json holds the private key'],
    [['--current', OLD], 2, '--next is required'],
  ])('%j refuses with exit code %d', async (args, code, reason) => {
    const run = await cli(['keys', 'rotate', '--dir', 'keys', ...args], dir);
    expect(run.code).toBe(code);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain(reason);
  });
});

describe('nestjs-warden hash check (the built CLI)', () => {
  let dir: string;
  beforeAll(() => {
    dir = workDir();
  });

  const check = async (hash: string, ...args: string[]): Promise<{ code: number; report: Record<string, unknown> }> => {
    // From standard input, as the docs advise: the hash stays out of the command line.
    const run = await cli(['hash', 'check', '-', '--json', ...args], dir, `${hash}\n`);
    expect(run.stdout).not.toContain(hash);
    return { code: run.code, report: JSON.parse(run.stdout) as Record<string, unknown> };
  };

  it("reads a hash of the module's defaults (AuthService.hashPassword): argon2id at m=19456 t=2 p=1, not rehashed", async () => {
    const hash = await createAuthService(TEST_SECRET).hashPassword(PASSWORD);
    const { code, report } = await check(hash);
    expect(code).toBe(0);
    expect(report).toEqual({
      hasher: 'argon2id',
      parameters: { version: 19, memoryCostKiB: 19456, timeCost: 2, parallelism: 1, saltBytes: 16, outputBytes: 32 },
      verifies: true,
      rehash: false,
      reason: expect.any(String),
    });
    expect((await new Argon2PasswordHasher().verify(hash, PASSWORD)).needsRehash).toBe(false);
  });

  it('agrees with Argon2PasswordHasher on which hashes are rehashed at the next login', async () => {
    const weaker = await new Argon2PasswordHasher({ memoryCostKiB: 8192, timeCost: 1, parallelism: 2 }).hash(PASSWORD);
    const stronger = await new Argon2PasswordHasher({ memoryCostKiB: 32768, timeCost: 3 }).hash(PASSWORD);
    // 1 is Algorithm.Argon2i, a const enum with no runtime object under the test transform.
    const argon2i = await argon2Hash(PASSWORD, { algorithm: 1 });
    const legacy = createHash('sha256').update(PASSWORD).digest('hex');
    const cases = [
      { hash: weaker, hasher: 'argon2id', rehash: true, reason: /m=8192 KiB is below 19456; t=1 is below 2/ },
      { hash: stronger, hasher: 'argon2id', rehash: false, reason: /at least/ },
      { hash: argon2i, hasher: 'argon2i', rehash: true, reason: /argon2i, not argon2id/ },
      { hash: legacy, hasher: 'legacy-sha256', rehash: true, reason: /always replaced by argon2id/ },
    ];
    for (const { hash, hasher, rehash, reason } of cases) {
      const { code, report } = await check(hash);
      expect({ code, hasher: report.hasher, rehash: report.rehash, verifies: report.verifies }).toEqual({
        code: 0,
        hasher,
        rehash,
        verifies: true,
      });
      expect(report.reason).toMatch(reason);
      expect(await new Argon2PasswordHasher().verify(hash, PASSWORD)).toEqual({ valid: true, needsRehash: rehash });
    }
    expect((await check(weaker)).report.parameters).toMatchObject({ memoryCostKiB: 8192, timeCost: 1, parallelism: 2 });

    // Against a host's stronger hasher rather than the defaults.
    const { report } = await check(stronger, '--memory-cost-kib', '65536');
    expect(report).toMatchObject({ rehash: true, reason: 'm=32768 KiB is below 65536' });
    expect((await new Argon2PasswordHasher({ memoryCostKiB: 65536 }).verify(stronger, PASSWORD)).needsRehash).toBe(true);
  });

  it.each([
    ['not a hash at all', undefined],
    ['$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW', { id: '$2b$', name: 'bcrypt' }],
    ['$argon2id$v=19$m=19456$broken', undefined],
    // A format of one's own, `$<salt>$<digest>`: its first segment is not shown.
    ['$c2FsdHNhbHQ$ZGlnZXN0ZGlnZXN0', undefined],
  ])('calls %j unknown, exit code 1, without echoing it', async (hash, scheme) => {
    const { code, report } = await check(hash);
    expect(code).toBe(1);
    expect(report).toMatchObject({ hasher: 'unknown', verifies: false, rehash: false });
    expect(report.scheme).toEqual(scheme);
    if (hash.startsWith('$c2Fsd')) expect(JSON.stringify(report)).not.toContain('c2Fsd');
    expect((await new Argon2PasswordHasher().verify(hash, PASSWORD)).valid).toBe(false);
  });

  it('prints the parameters in words, never the salt or the digest', async () => {
    const hash = await new Argon2PasswordHasher({ memoryCostKiB: 8192, timeCost: 1 }).hash(PASSWORD);
    const [, , , , salt, digest] = hash.split('$');
    const run = await cli(['hash', 'check', hash], dir);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('hasher:     argon2id');
    expect(run.stdout).toContain('parameters: v=19 m=8192 KiB t=1 p=1');
    expect(run.stdout).toContain('rehash:     yes: m=8192 KiB is below 19456; t=1 is below 2');
    expect(run.stdout).not.toContain(salt!);
    expect(run.stdout).not.toContain(digest!);
  });
});

describe('the package', () => {
  it('ships the CLI as the nestjs-warden bin (npm pack --dry-run)', () => {
    const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { bin: Record<string, string> };
    expect(manifest.bin).toEqual({ 'nestjs-warden': './dist/cli/main.js' });
    expect(readFileSync(CLI, 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(true);
    const [packed] = JSON.parse(
      execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
        cwd: ROOT,
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      }),
    ) as [{ files: { path: string }[] }];
    const files = packed.files.map((file) => file.path);
    expect(files).toEqual(expect.arrayContaining(['dist/cli/main.js', 'dist/cli/cli.js', 'dist/cli/keys-rotate.command.js']));
    expect(files.filter((file) => file.startsWith('dist/cli/') && file.includes('spec'))).toEqual([]);
  }, 60_000);
});
