import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { JwtKeyOptions } from '../auth/tokens/signing-keys.js';
import { oneOf, parseCommandLine, required } from './args.js';
import { CliError, EXIT_OK, UsageError } from './cli-errors.js';
import type { CliIo, Command } from './cli-io.js';
import { checkKeysOption, loadKeyFile, shownPath, writeNewFile, type KeyFile } from './key-files.js';

const NAME = 'keys rotate';
const STAGES = ['publish', 'switch'] as const;
type Stage = (typeof STAGES)[number];

const usage = `Usage: nestjs-warden keys rotate --current <file|kid> --next <file|kid> [options]

Prints the "keys" option of AuthModule.forRoot for a rotation from the key that signs today
(--current) to a new one (--next, made by keys generate). In the keys option the first key that
can sign signs, and every listed key verifies; so the output lists the signing key with its
private key and the other one with its public half only. Kids and algorithms are read from the
PEM files: the kid is the file name before .private.pem, .public.pem, .pub.pem or .pem.

A rotation takes two deploys, because every instance must accept the new key before any of them
signs with it:
  1. --stage publish: the current key still signs; the new key is accepted and listed in
     /.well-known/jwks.json. Deploy it on every instance, then wait until other services'
     cached JWKS have expired (the app serves it with max-age 300, so 5 minutes).
  2. --stage switch (the default): the new key signs; the current key only verifies the tokens
     it signed. Deploy it on every instance. Once accessTokenTtlSeconds (3600 s by default) have
     passed, every token of the old key has expired: remove its entry, and its key files.
A single instance whose tokens no other service verifies can go straight to step 2.
Refresh tokens do not depend on signing keys: sessions survive the rotation.

Options:
  --current <file|kid>  the key that signs today: its PEM file, or its kid, looked up in --dir
                        as <kid>.public.pem or <kid>.private.pem (step 1 needs the private one)
  --next <file|kid>     the new key: its PEM file or kid, as for --current (step 2 needs the
                        private one; step 1 takes the public one)
  --dir <dir>           where kids are looked up (default: the current directory)
  --current-kid <id>    the kid of --current, if not its file name
  --next-kid <id>       the kid of --next, if not its file name
  --stage <stage>       publish (step 1) or switch (step 2, the default)
  --json                print the option as JSON, PEMs inline, rather than TypeScript that
                        reads the private key's file; it holds a private key, so it needs --out
  --out <file>          write to <file> (mode 0600) instead of standard output; "-" prints it
  --force               replace --out if it exists
  -h, --help            this text

Examples:
  nestjs-warden keys generate --alg EdDSA --kid 2026-12 --out keys
  nestjs-warden keys rotate --dir keys --current 2026-11 --next 2026-12 --stage publish
  nestjs-warden keys rotate --dir keys --current 2026-11 --next 2026-12 > src/auth-keys.ts
  nestjs-warden keys rotate --current keys/2026-11.public.pem --next keys/2026-12.private.pem --json --out keys.json
`;

async function run(args: string[], io: CliIo): Promise<number> {
  const { values } = parseCommandLine(NAME, () =>
    parseArgs({
      args,
      options: {
        current: { type: 'string' },
        next: { type: 'string' },
        dir: { type: 'string' },
        'current-kid': { type: 'string' },
        'next-kid': { type: 'string' },
        stage: { type: 'string', default: 'switch' },
        json: { type: 'boolean', default: false },
        out: { type: 'string' },
        force: { type: 'boolean', default: false },
      },
      strict: true,
    }),
  );
  const stage = oneOf(NAME, '--stage', values.stage, STAGES);
  const current = required(NAME, '--current', values.current);
  const next = required(NAME, '--next', values.next);
  if (values.json && values.out === undefined) {
    throw new UsageError(
      '--json holds the private key of the key that signs: give --out <file> (written with mode 0600), or --out - to print it',
      NAME,
    );
  }
  const dir = resolve(io.cwd, values.dir ?? '.');
  const common = { dir, cwd: io.cwd, command: NAME };
  const old = loadKeyFile({ ...common, flag: '--current', ref: current, kid: values['current-kid'], mustSign: stage === 'publish' });
  const fresh = loadKeyFile({ ...common, flag: '--next', ref: next, kid: values['next-kid'], mustSign: stage === 'switch' });
  // By their SPKI bytes: on Node 20, KeyObject.equals on keys of two types leaves an OpenSSL error
  // behind that fails the next PEM parse (resolveKeySet's, below).
  if (spki(old).equals(spki(fresh))) throw new CliError('--current and --next are the same key');

  const [signing, verifying] = stage === 'switch' ? [fresh, old] : [old, fresh];
  const keys: JwtKeyOptions[] = [
    { kid: signing.kid, alg: signing.alg, privateKey: signing.privateKey!.export({ type: 'pkcs8', format: 'pem' }) as string },
    { kid: verifying.kid, alg: verifying.alg, publicKey: publicPem(verifying) },
  ];
  // What AuthModule.forRoot would say of it, said now: repeated kids, weak keys.
  checkKeysOption(keys);

  const output = values.json ? `${JSON.stringify(keys, null, 2)}\n` : typescript(stage, signing, verifying, io.cwd);
  if (values.out === undefined || values.out === '-') {
    io.write(output);
  } else {
    const path = resolve(io.cwd, values.out);
    writeNewFile(path, output, 0o600, values.force, io.cwd);
    io.writeError(`nestjs-warden: wrote ${shownPath(io.cwd, path)} (mode 0600)\n`);
  }
  io.writeError(
    stage === 'publish'
      ? `nestjs-warden: step 1 of 2: "${signing.kid}" signs, "${verifying.kid}" is accepted and published. Deploy it on every instance, wait 5 minutes, then run keys rotate --stage switch.\n`
      : `nestjs-warden: step 2 of 2: "${signing.kid}" signs, "${verifying.kid}" only verifies. Deploy it on every instance; after accessTokenTtlSeconds, drop the "${verifying.kid}" entry.\n`,
  );
  return EXIT_OK;
}

function spki(key: KeyFile): Buffer {
  return key.publicKey.export({ type: 'spki', format: 'der' });
}

function publicPem(key: KeyFile): string {
  return key.publicKey.export({ type: 'spki', format: 'pem' }) as string;
}

// A module a host imports: the signing key read from its file at start-up, the other key's public
// PEM inline (nothing secret, and its files can go once the rotation is done).
function typescript(stage: Stage, signing: KeyFile, verifying: KeyFile, cwd: string): string {
  const heading =
    stage === 'publish'
      ? [
          `// The keys option, step 1 of 2 of a rotation (publish): "${signing.kid}" signs; "${verifying.kid}" is accepted`,
          '// and listed in /.well-known/jwks.json. Once every instance runs this and cached JWKS have',
          '// expired (5 minutes), switch: nestjs-warden keys rotate --stage switch.',
        ]
      : [
          `// The keys option, step 2 of 2 of a rotation (switch): "${signing.kid}" signs; "${verifying.kid}" only verifies`,
          `// the tokens it signed. Once accessTokenTtlSeconds have passed, remove the "${verifying.kid}" entry.`,
        ];
  return [
    ...heading,
    "import { readFileSync } from 'node:fs';",
    "import type { JwtKeyOptions } from 'nestjs-warden';",
    '',
    'export const keys: JwtKeyOptions[] = [',
    '  {',
    `    kid: '${signing.kid}',`,
    `    alg: '${signing.alg}',`,
    '    // Relative to the directory the app starts in.',
    `    privateKey: readFileSync(${stringLiteral(shownPath(cwd, signing.path))}, 'utf8'),`,
    '  },',
    '  {',
    `    kid: '${verifying.kid}',`,
    `    alg: '${verifying.alg}',`,
    `    publicKey: \`${publicPem(verifying)}\`,`,
    '  },',
    '];',
    '',
  ].join('\n');
}

// Single quotes as in most TypeScript code; JSON's escapes for a path that needs any.
function stringLiteral(value: string): string {
  return /^[^'\\\n\r\u2028\u2029]*$/.test(value) ? `'${value}'` : JSON.stringify(value);
}

export const keysRotate: Command = { usage, run };
