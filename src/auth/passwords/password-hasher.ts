import { createHash, timingSafeEqual } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { Argon2ThreadError, Argon2Threads } from './argon2-threads.js';

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
  /**
   * Run argon2 on threads at the lowest scheduling priority (nice 19), so that under CPU
   * contention the event loop and the rest of the machine come first and hashing gets the CPU
   * left over. Default `false`: logins then also wait for any other busy process on the host,
   * and it has not been shown to lower the latency of other requests during a login flood
   * (bench/RESULTS.md). Takes effect on Linux, where
   * priority is per thread; elsewhere the threads run at normal priority.
   */
  lowPriority?: boolean;
  /**
   * Most argon2 threads at once; more hashes wait. Each holds its own small V8 heap, plus
   * `memoryCostKiB` while it hashes. Default: the number of CPU cores, at most 4 (libuv's
   * default pool size, which capped the previous implementation).
   */
  threads?: number;
}

/**
 * argon2id through `@node-rs/argon2`: PHC strings, computed on dedicated threads (off the event
 * loop and off libuv's pool). Passwords are NFC-normalised before hashing and
 * verifying.
 *
 * Hashes from the legacy service (unsalted SHA-256, 64 hex digits) still verify, in constant
 * time, and report `needsRehash` so the next good login stores an argon2id hash instead.
 * Argon2 hashes with weaker parameters than configured report `needsRehash` too. Hashes written by
 * other argon2 implementations (such as the `argon2` package, whose PHC strings order the
 * parameters m,p,t) verify as they are.
 */
export class Argon2PasswordHasher extends PasswordHasher {
  private readonly params: Argon2Parameters;
  private readonly secret: Uint8Array | undefined;
  private readonly threads: Argon2Threads;

  constructor(options: Argon2HasherOptions = {}) {
    super();
    const { pepper, lowPriority = false, threads = Math.min(4, availableParallelism()), ...params } = options;
    this.params = { ...OWASP_ARGON2ID, ...params };
    if (pepper !== undefined) {
      const bytes = typeof pepper === 'string' ? Buffer.from(pepper, 'utf8') : pepper;
      if (!Buffer.isBuffer(bytes) || bytes.length < 32) {
        throw new TypeError('Argon2PasswordHasher: "pepper" must be at least 32 bytes');
      }
      // A copy with a buffer of its own: a pooled Buffer's whole 8 KiB slab would be copied to the
      // hashing thread with every job.
      this.secret = new Uint8Array(bytes);
    }
    if (!Number.isInteger(threads) || threads < 1 || threads > 256) {
      throw new TypeError('Argon2PasswordHasher: "threads" must be an integer from 1 to 256');
    }
    this.threads = Argon2Threads.shared(threads, lowPriority);
  }

  async hash(password: string): Promise<string> {
    const encoded = await this.threads.run({
      op: 'hash',
      password: password.normalize('NFC'),
      options: {
        algorithm: 2,
        memoryCost: this.params.memoryCostKiB,
        timeCost: this.params.timeCost,
        parallelism: this.params.parallelism,
        ...(this.secret ? { secret: this.secret } : {}),
      },
    });
    return encoded as string;
  }

  async verify(hash: string, password: string): Promise<PasswordCheck> {
    if (LEGACY_SHA256.test(hash)) {
      return { valid: verifyLegacySha256(hash, password), needsRehash: true };
    }
    if (!hash.startsWith('$argon2')) return { valid: false, needsRehash: false };
    let valid: boolean;
    try {
      valid =
        (await this.threads.run({
          op: 'verify',
          hash,
          password: password.normalize('NFC'),
          options: this.secret ? { secret: this.secret } : {},
        })) === true;
    } catch (error) {
      // A thread that failed says nothing about the password: that is an error, not a "no".
      if (error instanceof Argon2ThreadError) throw error;
      return { valid: false, needsRehash: false };
    }
    return { valid, needsRehash: valid && this.isOutdated(hash) };
  }

  private isOutdated(hash: string): boolean {
    return isOutdatedArgon2Hash(hash, this.params);
  }
}

/**
 * Whether an argon2 hash that verified is stored again at login by an
 * {@link Argon2PasswordHasher} with these parameters: argon2i or argon2d, or a memory or time
 * cost below the configured one. Only weaker than configured counts: a hash made with stronger
 * parameters is kept.
 */
export function isOutdatedArgon2Hash(hash: string, params: Pick<Argon2Parameters, 'memoryCostKiB' | 'timeCost'>): boolean {
  if (!hash.startsWith('$argon2id$')) return true;
  const memory = /[$,]m=(\d+)/.exec(hash);
  const time = /[$,]t=(\d+)/.exec(hash);
  if (!memory || !time) return true;
  return Number(memory[1]) < params.memoryCostKiB || Number(time[1]) < params.timeCost;
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
