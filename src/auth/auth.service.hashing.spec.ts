import { describe, expect, it } from '@jest/globals';
import { AuditSink } from './audit/audit-sink.js';
import { createAuthService } from './auth.service.js';
import { Argon2PasswordHasher, PasswordHasher, type PasswordCheck } from './passwords/password-hasher.js';

const SECRET = 'unit-test-secret-that-is-32-bytes-long';

class SilentAudit extends AuditSink {
  emit(): void {}
}

/** Wraps argon2 and records how many hashes run at once. */
class CountingHasher extends PasswordHasher {
  private readonly inner = new Argon2PasswordHasher({ memoryCostKiB: 4096, timeCost: 1 });
  active = 0;
  peak = 0;

  hash(password: string): Promise<string> {
    return this.track(() => this.inner.hash(password));
  }

  verify(hash: string, password: string): Promise<PasswordCheck> {
    return this.track(() => this.inner.verify(hash, password));
  }

  private async track<T>(work: () => Promise<T>): Promise<T> {
    this.active++;
    this.peak = Math.max(this.peak, this.active);
    try {
      return await work();
    } finally {
      this.active--;
    }
  }
}

describe('AuthService hashing concurrency', () => {
  it.each([1, 2])('never runs more than maxConcurrentHashes=%i hashes at once under a login flood', async (limit) => {
    const hasher = new CountingHasher();
    const auth = createAuthService(SECRET, { passwordHasher: hasher, maxConcurrentHashes: limit, audit: new SilentAudit() });
    await auth.register('flooded', 'correct horse battery');
    hasher.peak = 0;
    const attempts = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        auth.login(i % 3 === 0 ? 'flooded' : `ghost${i}`, i % 2 ? 'wrong password' : 'correct horse battery'),
      ),
    );
    expect(hasher.peak).toBe(limit);
    expect(attempts.filter((result) => result !== null)).toHaveLength(2); // i = 0 and 6: right user, right password
  });
});

describe('AuthService dummy hash', () => {
  it('does not keep a failed dummy hash: the next unknown-user login hashes again and answers', async () => {
    const inner = new Argon2PasswordHasher({ memoryCostKiB: 4096, timeCost: 1 });
    let hashes = 0;
    class FailsOnce extends PasswordHasher {
      async hash(password: string): Promise<string> {
        if (hashes++ === 0) throw new Error('hashing thread down');
        return inner.hash(password);
      }

      verify(hash: string, password: string): Promise<PasswordCheck> {
        return inner.verify(hash, password);
      }
    }
    const auth = createAuthService(SECRET, { passwordHasher: new FailsOnce(), loginThrottle: false, audit: new SilentAudit() });
    await expect(auth.login('nobody-here', 'some password 1')).rejects.toThrow('hashing thread down');
    await expect(auth.login('nobody-here', 'some password 1')).resolves.toBeNull();
    expect(hashes).toBe(2);
  });
});
