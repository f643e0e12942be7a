import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, isAbsolute, join, relative, resolve } from 'node:path';
import { AuthOptionsError } from '../auth/auth.errors.js';
import { KID_PATTERN, resolveKeySet, type AccessTokenAlgorithm, type JwtKeyOptions, type KeySet } from '../auth/tokens/signing-keys.js';
import { CliError, UsageError } from './cli-errors.js';

/** The algorithms of keys the CLI makes and rotates: the asymmetric ones of the `keys` option. */
export type KeyAlgorithm = Exclude<AccessTokenAlgorithm, 'HS256'>;
export const KEY_ALGORITHMS: readonly KeyAlgorithm[] = ['EdDSA', 'ES256', 'RS256'];

/** A key read from a PEM file, with the kid and algorithm it goes under in the `keys` option. */
export interface KeyFile {
  /** Absolute path of the PEM file. */
  path: string;
  kid: string;
  alg: KeyAlgorithm;
  /** Present when the file holds the private key. */
  privateKey: KeyObject | undefined;
  publicKey: KeyObject;
}

/** The file names `keys generate` writes for a kid. */
export function keyFileNames(kid: string): { privateFile: string; publicFile: string } {
  return { privateFile: `${kid}.private.pem`, publicFile: `${kid}.public.pem` };
}

/** The algorithm a key is used with in the `keys` option, from its type; undefined for other keys. */
export function algorithmOf(key: KeyObject): KeyAlgorithm | undefined {
  switch (key.asymmetricKeyType) {
    case 'ed25519':
      return 'EdDSA';
    case 'ec':
      return key.asymmetricKeyDetails?.namedCurve === 'prime256v1' ? 'ES256' : undefined;
    case 'rsa':
      return 'RS256';
    default:
      return undefined;
  }
}

/** The kid a file name stands for: `2026-11.private.pem`, `.public.pem`, `.pub.pem` or `.pem` give `2026-11`. */
export function kidFromFileName(path: string): string | undefined {
  const kid = basename(path).replace(/(\.(private|public|pub))?\.pem$/i, '');
  return KID_PATTERN.test(kid) ? kid : undefined;
}

/** A path as the user will want to read it: relative to `cwd` when inside it. */
export function shownPath(cwd: string, path: string): string {
  const inside = relative(cwd, path);
  if (inside === '') return '.';
  return !inside.startsWith('..') && !isAbsolute(inside) ? inside : path;
}

/**
 * Reads the key `ref` names for `flag`: a PEM file, or else a kid looked up in `dir` as the
 * files of `keys generate` (the private one only when the key must sign).
 */
export function loadKeyFile(options: {
  flag: string;
  ref: string;
  kid: string | undefined;
  mustSign: boolean;
  dir: string;
  cwd: string;
  command: string;
}): KeyFile {
  const { flag, ref, mustSign, dir, cwd, command } = options;
  let path = resolve(cwd, ref);
  let kid = options.kid;
  if (!isFile(path)) {
    const { privateFile, publicFile } = keyFileNames(ref);
    const candidates = mustSign ? [privateFile] : [publicFile, privateFile];
    const found = KID_PATTERN.test(ref) ? candidates.map((name) => join(dir, name)).find(isFile) : undefined;
    if (!found) {
      const lookedFor = KID_PATTERN.test(ref) ? `, nor ${candidates.join(' or ')} in ${shownPath(cwd, dir)}` : '';
      throw new CliError(`${flag}: no file "${ref}"${lookedFor}`);
    }
    path = found;
    kid ??= ref;
  }
  kid ??= kidFromFileName(path);
  if (kid === undefined) throw new UsageError(`${flag}: no kid in the file name "${basename(path)}"; give ${flag}-kid <id>`, command);
  if (!KID_PATTERN.test(kid)) throw new UsageError(`${flag}-kid must be 1-64 characters of A-Z a-z 0-9 . _ -`, command);

  const { privateKey, publicKey } = readPem(flag, path, cwd);
  const alg = algorithmOf(publicKey);
  if (!alg) {
    const type = publicKey.asymmetricKeyType ?? publicKey.type;
    throw new CliError(
      `${flag}: ${shownPath(cwd, path)} holds a ${type} key; the keys option takes Ed25519 (EdDSA), P-256 (ES256) or RSA (RS256)`,
    );
  }
  if (mustSign && !privateKey) {
    throw new CliError(
      `${flag}: ${shownPath(cwd, path)} holds only a public key, and this key signs: give its private key (${keyFileNames(kid).privateFile})`,
    );
  }
  return { path, kid, alg, privateKey, publicKey };
}

function isFile(path: string): boolean {
  return existsSync(path) && statSync(path).isFile();
}

function readPem(flag: string, path: string, cwd: string): { privateKey: KeyObject | undefined; publicKey: KeyObject } {
  let pem: Buffer;
  try {
    pem = readFileSync(path);
  } catch (error) {
    throw new CliError(`${flag}: cannot read ${shownPath(cwd, path)}: ${(error as Error).message}`);
  }
  try {
    const privateKey = createPrivateKey(pem);
    return { privateKey, publicKey: createPublicKey(privateKey) };
  } catch {
    // Not a private key: a public one, or nothing usable.
  }
  try {
    return { privateKey: undefined, publicKey: createPublicKey(pem) };
  } catch {
    throw new CliError(`${flag}: ${shownPath(cwd, path)} holds no PEM key that can be read (a passphrase-protected key is not supported)`);
  }
}

/**
 * Checks a `keys` option with the module's own `resolveKeySet`, so what the CLI prints is what
 * `AuthModule.forRoot` accepts; its refusals name the key by kid rather than by index.
 */
export function checkKeysOption(keys: JwtKeyOptions[]): KeySet {
  try {
    return resolveKeySet(undefined, keys);
  } catch (error) {
    if (!(error instanceof AuthOptionsError)) throw error;
    const index = /^keys\[(\d+)\]/.exec(error.option)?.[1];
    const key = index === undefined ? undefined : keys[Number(index)];
    const reason = error.message.slice(error.message.indexOf(`"${error.option}": `) + error.option.length + 4);
    throw new CliError(key ? `the key "${key.kid}": ${reason}` : reason);
  }
}

/**
 * Writes a file that did not exist, with `mode`; with `overwrite`, an existing one is removed
 * first, so the new content never sits under the old file's (perhaps wider) mode.
 */
export function writeNewFile(path: string, content: string, mode: number, overwrite: boolean, cwd: string): void {
  if (overwrite) rmSync(path, { force: true });
  try {
    writeFileSync(path, content, { mode, flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') throw new CliError(`${shownPath(cwd, path)} exists; --force overwrites it`);
    throw new CliError(`cannot write ${shownPath(cwd, path)}: ${(error as Error).message}`);
  }
}
