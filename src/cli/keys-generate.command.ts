import { createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { KID_PATTERN } from '../auth/tokens/signing-keys.js';
import { oneOf, parseCommandLine, required } from './args.js';
import { CliError, EXIT_OK, UsageError } from './cli-errors.js';
import type { CliIo, Command } from './cli-io.js';
import { checkKeysOption, KEY_ALGORITHMS, keyFileNames, shownPath, writeNewFile, type KeyAlgorithm } from './key-files.js';

const NAME = 'keys generate';
const RSA_BITS = ['2048', '3072', '4096'] as const;

const usage = `Usage: nestjs-warden keys generate --alg EdDSA|ES256|RS256 --kid <id> [--out <dir>] [--bits <n>] [--force]

Makes a signing key pair for the "keys" option of AuthModule.forRoot and writes it as PEM:
  <out>/<kid>.private.pem   the private key (PKCS#8), mode 0600: the app signs with it
  <out>/<kid>.public.pem    the public key (SPKI): enough to verify, as the old key of a rotation
Prints the public JWKS entry of the key, as /.well-known/jwks.json will list it, as JSON on
standard output, and where the files went on standard error. The private key is never printed.

Options:
  --alg <alg>    EdDSA (Ed25519), ES256 (P-256) or RS256 (RSA)
  --kid <id>     the key id: 1-64 characters of A-Z a-z 0-9 . _ -; also names the files
  --out <dir>    where to write the files (default: the current directory; made if missing)
  --bits <n>     RS256 only: the modulus length, 2048 (default), 3072 or 4096
  --force        replace the files of that kid if they exist (refused otherwise)
  -h, --help     this text

Example:
  nestjs-warden keys generate --alg EdDSA --kid 2026-11 --out keys
`;

async function run(args: string[], io: CliIo): Promise<number> {
  const { values } = parseCommandLine(NAME, () =>
    parseArgs({
      args,
      options: {
        alg: { type: 'string' },
        kid: { type: 'string' },
        out: { type: 'string' },
        bits: { type: 'string' },
        force: { type: 'boolean', default: false },
      },
      strict: true,
    }),
  );
  const alg = oneOf(NAME, '--alg', values.alg, KEY_ALGORITHMS);
  const kid = required(NAME, '--kid', values.kid);
  if (!KID_PATTERN.test(kid)) throw new UsageError('--kid must be 1-64 characters of A-Z a-z 0-9 . _ -', NAME);
  if (values.bits !== undefined && alg !== 'RS256') throw new UsageError(`--bits is for RS256 keys only, not ${alg}`, NAME);
  const bits = Number(oneOf(NAME, '--bits', values.bits ?? '2048', RSA_BITS));

  const dir = resolve(io.cwd, values.out ?? '.');
  const { privateFile, publicFile } = keyFileNames(kid);
  const privatePath = join(dir, privateFile);
  const publicPath = join(dir, publicFile);
  // Both checked before anything is made, so a refusal never leaves half a pair behind.
  const existing = [privatePath, publicPath].filter((path) => existsSync(path));
  if (existing.length > 0 && !values.force) {
    throw new CliError(
      `${existing.map((path) => shownPath(io.cwd, path)).join(' and ')} already exist${existing.length === 1 ? 's' : ''}; --force replaces them`,
    );
  }

  const privateKey = generatePrivateKey(alg, bits);
  // The module's own key check and JWK conversion: the entry printed is the one the JWKS serves.
  const [jwk] = checkKeysOption([{ kid, alg, privateKey }]).jwks;

  mkdirSync(dir, { recursive: true, mode: 0o700 });
  writeNewFile(privatePath, privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, 0o600, values.force, io.cwd);
  try {
    writeNewFile(publicPath, createPublicKey(privateKey).export({ type: 'spki', format: 'pem' }) as string, 0o644, values.force, io.cwd);
  } catch (error) {
    rmSync(privatePath, { force: true });
    throw error;
  }
  io.write(`${JSON.stringify(jwk, null, 2)}\n`);
  io.writeError(`nestjs-warden: wrote ${shownPath(io.cwd, privatePath)} (private key, mode 0600) and ${shownPath(io.cwd, publicPath)}\n`);
  return EXIT_OK;
}

function generatePrivateKey(alg: KeyAlgorithm, bits: number): KeyObject {
  switch (alg) {
    case 'EdDSA':
      return generateKeyPairSync('ed25519').privateKey;
    case 'ES256':
      return generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    case 'RS256':
      return generateKeyPairSync('rsa', { modulusLength: bits }).privateKey;
  }
}

export const keysGenerate: Command = { usage, run };
