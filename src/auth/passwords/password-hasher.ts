import { createHash, timingSafeEqual } from 'node:crypto';
import * as argon2 from 'argon2';

/** What {@link PasswordHasher.verify} tells. */
export interface PasswordCheck {
  /** The password matches the hash. */
  valid: boolean;
  /** The hash is in a legacy format or has outdated parameters: store a new one. */
  needsRehash: boolean;
}

/**
 * Turns passwords into stored hashes and checks them. Pass your own as the
 * `passwordHasher` option to change algorithm; the default is {@link Argon2PasswordHasher}.
 */
export abstract class PasswordHasher {
  /** Hashes a password into a self-describing string. */
  abstract hash(password: string): Promise<string>;

  /** Checks a password against a stored hash. Never throws for a malformed hash: `valid` is false. */
  abstract verify(hash: string, password: string): Promise<PasswordCheck>;
}

/** Argon2id cost parameters. */
export interface Argon2Parameters {
  /** Memory in KiB. OWASP minimum: 19456 (19 MiB). */
  memoryCostKiB: number;
  /** Iterations. OWASP minimum with 19 MiB: 2. */
  timeCost: number;
  /** Lanes. */
  parallelism: number;
}

/** OWASP Password Storage Cheat Sheet minimum for argon2id. */
export const OWASP_ARGON2ID: Readonly<Argon2Parameters> = Object.freeze({
  memoryCostKiB: 19456,
  timeCost: 2,
  parallelism: 1,
});

const LEGACY_SHA256 = /^[0-9a-f]{64}$/i;

/** Whether a stored hash is the legacy service's unsalted SHA-256 hex digest. */
export function isLegacySha256Hash(hash: string): boolean {
  return LEGACY_SHA256.test(hash);
}

/** Options of {@link Argon2PasswordHasher}: cost parameters and an optional pepper. */
export interface Argon2HasherOptions extends Partial<Argon2Parameters> {
  /**
   * A pepper: a secret key (at least 32 bytes) kept outside the user store, mixed into every
   * hash through argon2's own keyed-hashing input. A stolen user table is then useless for
   * offline guessing without the key. Set it before the first user is stored: hashes made
   * without it (or with another) stop verifying. Legacy SHA-256 hashes are not peppered.
   */
  pepper?: string | Buffer;
}

/**
 * argon2id through the `argon2` binding: PHC strings, hashing on libuv's thread pool (off the
 * event loop). Passwords are NFC-normalised before hashing and verifying.
 *
 * Hashes from the legacy service (unsalted SHA-256, 64 hex digits) still verify, in constant
 * time, and report `needsRehash` so the next good login stores an argon2id hash instead.
 * Argon2 hashes with weaker parameters than configured report `needsRehash` too.
 */
export class Argon2PasswordHasher extends PasswordHasher {
  private readonly params: Argon2Parameters;
  private readonly secret: Buffer | undefined;

  constructor(options: Argon2HasherOptions = {}) {
    super();
    const { pepper, ...params } = options;
    this.params = { ...OWASP_ARGON2ID, ...params };
    if (pepper !== undefined) {
      const bytes = typeof pepper === 'string' ? Buffer.from(pepper, 'utf8') : pepper;
      if (!Buffer.isBuffer(bytes) || bytes.length < 32) {
        throw new TypeError('Argon2PasswordHasher: "pepper" must be at least 32 bytes');
      }
      this.secret = Buffer.from(bytes);
    }
  }

  async hash(password: string): Promise<string> {
    const encoded = await argon2.hash(password.normalize('NFC'), {
      type: argon2.argon2id,
      memoryCost: this.params.memoryCostKiB,
      timeCost: this.params.timeCost,
      parallelism: this.params.parallelism,
      ...(this.secret ? { secret: this.secret } : {}),
    });
    return toStandardParameterOrder(encoded);
  }

  async verify(hash: string, password: string): Promise<PasswordCheck> {
    if (LEGACY_SHA256.test(hash)) {
      return { valid: verifyLegacySha256(hash, password), needsRehash: true };
    }
    if (!hash.startsWith('$argon2')) return { valid: false, needsRehash: false };
    let valid: boolean;
    try {
      valid = await argon2.verify(hash, password.normalize('NFC'), this.secret ? { secret: this.secret } : {});
    } catch {
      return { valid: false, needsRehash: false };
    }
    return { valid, needsRehash: valid && this.isOutdated(hash) };
  }

  // Only weaker than configured counts: a hash made with stronger parameters is kept.
  private isOutdated(hash: string): boolean {
    if (!hash.startsWith('$argon2id$')) return true;
    const memory = /[$,]m=(\d+)/.exec(hash);
    const time = /[$,]t=(\d+)/.exec(hash);
    if (!memory || !time) return true;
    return Number(memory[1]) < this.params.memoryCostKiB || Number(time[1]) < this.params.timeCost;
  }
}

// node-argon2 writes the parameters as m,p,t; the PHC format and every other argon2
// implementation use m,t,p (ranisalt/node-argon2#559). Reordering keeps the stored hashes
// readable by other systems sharing the user table; node-argon2 reads both orders.
function toStandardParameterOrder(encoded: string): string {
  return encoded.replace(/^(\$argon2(?:id|i|d)\$v=\d+\$)m=(\d+),p=(\d+),t=(\d+)\$/, '$1m=$2,t=$4,p=$3$$');
}

// The legacy service hashed the raw UTF-8 password. Check the NFC form and, if different,
// the raw form, so users whose input method produced another normal form still get in.
function verifyLegacySha256(hexDigest: string, password: string): boolean {
  const expected = Buffer.from(hexDigest.toLowerCase(), 'hex');
  const candidates = new Set([password.normalize('NFC'), password]);
  let match = false;
  for (const candidate of candidates) {
    const actual = createHash('sha256').update(candidate, 'utf8').digest();
    match = timingSafeEqual(actual, expected) || match;
  }
  return match;
}
