import { createPrivateKey, createPublicKey, createSecretKey, KeyObject } from 'node:crypto';
import type { JWK } from 'jose';
import { AuthOptionsError } from '../auth.errors.js';

/** Algorithms nest-warden signs and verifies access tokens with. */
export type AccessTokenAlgorithm = 'HS256' | 'RS256' | 'ES256' | 'EdDSA';

/** One key of the `keys` option. */
export interface JwtKeyOptions {
  /** Key id, put in the `kid` header of tokens it signs and published in the JWKS. */
  kid: string;
  /** The one algorithm this key is used with (pinned per key, RFC 8725 section 3.1). */
  alg: AccessTokenAlgorithm;
  /** HS256: the shared secret, at least 32 bytes. */
  secret?: string | Buffer;
  /** RS256 (2048-bit RSA or more), ES256 (P-256) or EdDSA (Ed25519): PEM or KeyObject. Needed to sign. */
  privateKey?: string | KeyObject;
  /** The public half; derived from `privateKey` when omitted. Enough for a key that only verifies. */
  publicKey?: string | KeyObject;
}

/** A validated key. */
export interface ResolvedKey {
  kid: string | undefined;
  alg: AccessTokenAlgorithm;
  verifyKey: KeyObject;
  signKey: KeyObject | undefined;
}

/** The configured keys: the one that signs, and every one that verifies. */
export interface KeySet {
  signing: ResolvedKey;
  /** Verification keys by kid. */
  byKid: ReadonlyMap<string, ResolvedKey>;
  /** The key for tokens without `kid`: only in single-secret mode (`secret` option). */
  withoutKid: ResolvedKey | undefined;
  /** Public keys for `/.well-known/jwks.json`. */
  jwks: JWK[];
}

/** Minimum HS256 key length in bytes (RFC 7518 section 3.2). */
export const MIN_SECRET_BYTES = 32;
/** What a `kid` may be: 1-64 characters of A-Z a-z 0-9 . _ - (safe in headers, URLs and file names). */
export const KID_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;
const MIN_RSA_BITS = 2048;
const ALGORITHMS: readonly AccessTokenAlgorithm[] = ['HS256', 'RS256', 'ES256', 'EdDSA'];

/** Builds the key set from `secret` or `keys`, refusing weak or mismatched keys by name. */
export function resolveKeySet(secret: unknown, keys: unknown): KeySet {
  const noSecret = secret === undefined || secret === null || secret === '';
  if (noSecret && keys === undefined) throw new AuthOptionsError('secret', 'is required (or give "keys")');
  if (!noSecret && keys !== undefined) throw new AuthOptionsError('secret', 'give either "secret" (HS256) or "keys", not both');
  if (keys === undefined) {
    const key: ResolvedKey = { kid: undefined, alg: 'HS256', verifyKey: hmacKey('secret', secret), signKey: undefined };
    key.signKey = key.verifyKey;
    return { signing: key, byKid: new Map(), withoutKid: key, jwks: [] };
  }
  if (!Array.isArray(keys) || keys.length === 0) throw new AuthOptionsError('keys', 'must be a non-empty array');
  const byKid = new Map<string, ResolvedKey>();
  const jwks: JWK[] = [];
  let signing: ResolvedKey | undefined;
  keys.forEach((given: JwtKeyOptions, index) => {
    const name = `keys[${index}]`;
    if (typeof given !== 'object' || given === null) throw new AuthOptionsError(name, 'must be an object');
    if (typeof given.kid !== 'string' || !KID_PATTERN.test(given.kid)) {
      throw new AuthOptionsError(`${name}.kid`, 'must be 1-64 characters of A-Z a-z 0-9 . _ -');
    }
    if (byKid.has(given.kid)) throw new AuthOptionsError(`${name}.kid`, `"${given.kid}" is used twice`);
    if (!ALGORITHMS.includes(given.alg)) throw new AuthOptionsError(`${name}.alg`, `must be one of ${ALGORITHMS.join(', ')}`);
    const key = given.alg === 'HS256' ? hmacEntry(name, given) : asymmetricEntry(name, given);
    byKid.set(given.kid, key);
    if (key.alg !== 'HS256') {
      jwks.push({ ...key.verifyKey.export({ format: 'jwk' }), kid: given.kid, alg: given.alg, use: 'sig' });
    }
    // The first key able to sign is the current one; the others are accepted for rotation.
    if (!signing && key.signKey) signing = key;
  });
  if (!signing) throw new AuthOptionsError('keys', 'needs at least one key that can sign (a secret or a private key)');
  return { signing, byKid, withoutKid: undefined, jwks };
}

function hmacKey(option: string, secret: unknown): KeyObject {
  if (typeof secret !== 'string' && !Buffer.isBuffer(secret)) throw new AuthOptionsError(option, 'must be a string or a Buffer');
  const bytes = typeof secret === 'string' ? Buffer.from(secret, 'utf8') : secret;
  if (bytes.length < MIN_SECRET_BYTES) {
    throw new AuthOptionsError(option, `must be at least ${MIN_SECRET_BYTES} bytes for HS256 (RFC 7518)`);
  }
  return createSecretKey(Buffer.from(bytes));
}

function hmacEntry(name: string, given: JwtKeyOptions): ResolvedKey {
  if (given.privateKey !== undefined || given.publicKey !== undefined) {
    throw new AuthOptionsError(name, 'an HS256 key takes "secret", not public or private keys');
  }
  const key = hmacKey(`${name}.secret`, given.secret);
  return { kid: given.kid, alg: 'HS256', verifyKey: key, signKey: key };
}

function asymmetricEntry(name: string, given: JwtKeyOptions): ResolvedKey {
  if (given.secret !== undefined) throw new AuthOptionsError(name, `a ${given.alg} key takes "privateKey"/"publicKey", not "secret"`);
  let signKey: KeyObject | undefined;
  let verifyKey: KeyObject;
  try {
    signKey = given.privateKey === undefined ? undefined : toKey(given.privateKey, 'private');
    verifyKey = given.publicKey !== undefined ? toKey(given.publicKey, 'public') : createPublicKey(signKey!);
  } catch {
    throw new AuthOptionsError(name, 'needs a readable "privateKey" or "publicKey" (PEM or KeyObject)');
  }
  const details = verifyKey.asymmetricKeyDetails ?? {};
  const type = verifyKey.asymmetricKeyType;
  if (given.alg === 'RS256' && (type !== 'rsa' || (details.modulusLength ?? 0) < MIN_RSA_BITS)) {
    throw new AuthOptionsError(name, `RS256 needs an RSA key of at least ${MIN_RSA_BITS} bits`);
  }
  if (given.alg === 'ES256' && (type !== 'ec' || details.namedCurve !== 'prime256v1')) {
    throw new AuthOptionsError(name, 'ES256 needs an EC key on P-256');
  }
  if (given.alg === 'EdDSA' && type !== 'ed25519') throw new AuthOptionsError(name, 'EdDSA needs an Ed25519 key');
  if (signKey && !createPublicKey(signKey).equals(verifyKey)) {
    throw new AuthOptionsError(name, '"publicKey" is not the public half of "privateKey"');
  }
  return { kid: given.kid, alg: given.alg, verifyKey, signKey };
}

function toKey(value: string | KeyObject, kind: 'private' | 'public'): KeyObject {
  if (value instanceof KeyObject) {
    if (value.type !== kind) throw new TypeError(`expected a ${kind} key`);
    return value;
  }
  return kind === 'private' ? createPrivateKey(value) : createPublicKey(value);
}
