import { randomBytes } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import type { AuthConfig } from '../auth.config.js';
import { AUTH_CONFIG } from '../auth.constants.js';
import { ConcurrencyLimiter } from './concurrency-limiter.js';
import { isLegacySha256Hash, PasswordHasher, type PasswordCheck } from './password-hasher.js';

const NO_MATCH: PasswordCheck = Object.freeze({ valid: false, needsRehash: false });

/**
 * Hashing and verification through the {@link PasswordHasher}, at most `maxConcurrentHashes`
 * at once, with the timing rules of login: an unknown user or a legacy hash costs the same
 * argon2 work as a wrong password.
 */
@Injectable()
export class PasswordService {
  private readonly limiter: ConcurrencyLimiter;
  private dummyHash: Promise<string> | undefined;

  constructor(
    @Inject(AUTH_CONFIG) config: AuthConfig,
    private readonly hasher: PasswordHasher,
  ) {
    this.limiter = new ConcurrencyLimiter(config.maxConcurrentHashes);
  }

  hash(password: string): Promise<string> {
    return this.limiter.run(() => this.hasher.hash(password));
  }

  check(hash: string, password: string): Promise<PasswordCheck> {
    return this.limiter.run(() => this.hasher.verify(hash, password));
  }

  /**
   * The password check of a login. `null` (no such user) spends a dummy verification; a legacy
   * SHA-256 hash, fast to check, is followed by one, so timing does not tell which accounts
   * exist or still carry legacy hashes.
   */
  async checkLogin(passwordHash: string | null, password: string): Promise<PasswordCheck> {
    if (passwordHash === null) {
      await this.check(await this.getDummyHash(), password);
      return NO_MATCH;
    }
    const check = await this.check(passwordHash, password);
    if (isLegacySha256Hash(passwordHash)) await this.check(await this.getDummyHash(), password);
    return check;
  }

  private getDummyHash(): Promise<string> {
    if (!this.dummyHash) {
      const dummy = this.hash(randomBytes(32).toString('base64url'));
      this.dummyHash = dummy;
      // A failed hash is not kept: the next login tries again.
      dummy.catch(() => {
        if (this.dummyHash === dummy) this.dummyHash = undefined;
      });
    }
    return this.dummyHash;
  }
}
