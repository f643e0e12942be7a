import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from '@jest/globals';
import { Logger } from '@nestjs/common';
import { AuditSink, type AuthAuditEvent } from '../audit/audit-sink.js';
import { createAuthService, type AuthService } from '../auth.service.js';
import { TooManyAttemptsError, UsernameTakenError } from '../auth.errors.js';
import type { AuthModuleOptions } from '../interfaces/auth-module-options.interface.js';
import { Argon2PasswordHasher, PasswordHasher, type PasswordCheck } from '../passwords/password-hasher.js';
import { FakeClock } from '../testing/fake-clock.js';
import { InMemoryUserStore } from '../users/in-memory-user.store.js';
import { UserStore, type NewUser, type UserRecord } from '../users/user-store.js';
import { InMemoryThrottleStore } from './in-memory-throttle.store.js';

const SECRET = 'login-defence-spec-secret-of-32-bytes-or-more';
const PASSWORD = 'correct horse battery';
const WRONG = 'wrong horse battery';
const LIMIT = 3;

/** A user store with its own collation: `match` decides which stored name a lookup finds. */
class CollatingUserStore extends UserStore {
  private readonly users: UserRecord[] = [];
  constructor(private readonly key: (username: string) => string) {
    super();
  }
  async findByUsername(username: string): Promise<UserRecord | null> {
    const user = this.users.find((candidate) => this.key(candidate.username) === this.key(username));
    return user ? { ...user } : null;
  }
  async findById(userId: string): Promise<UserRecord | null> {
    const user = this.users.find((candidate) => candidate.id === userId);
    return user ? { ...user } : null;
  }
  async create(user: NewUser): Promise<UserRecord> {
    if (this.users.some((candidate) => this.key(candidate.username) === this.key(user.username))) throw new UsernameTakenError();
    const record = { id: randomUUID(), ...user };
    this.users.push(record);
    return { ...record };
  }
  async updatePasswordHash(userId: string, passwordHash: string): Promise<void> {
    const user = this.users.find((candidate) => candidate.id === userId);
    if (user) user.passwordHash = passwordHash;
  }
}

/** The real argon2 hasher, counting verifications that run. */
class CountingHasher extends PasswordHasher {
  private readonly inner = new Argon2PasswordHasher();
  verifications = 0;
  hash(password: string): Promise<string> {
    return this.inner.hash(password);
  }
  verify(hash: string, password: string): Promise<PasswordCheck> {
    this.verifications++;
    return this.inner.verify(hash, password);
  }
}

function service(options: Partial<AuthModuleOptions> = {}): { auth: AuthService; throttleStore: InMemoryThrottleStore; clock: FakeClock } {
  const clock = new FakeClock(Date.now());
  const throttleStore = new InMemoryThrottleStore({ clock: clock.now });
  const auth = createAuthService(SECRET, {
    clock: clock.now,
    throttleStore,
    loginThrottle: { maxFailuresPerAccount: LIMIT, maxFailuresPerIp: 1000, windowSeconds: 60 },
    ...options,
  });
  return { auth, throttleStore, clock };
}

const refused = async (promise: Promise<unknown>): Promise<TooManyAttemptsError> => {
  const error = await promise.then(
    () => null,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(TooManyAttemptsError);
  return error as TooManyAttemptsError;
};

describe('login defence', () => {
  beforeAll(() => Logger.overrideLogger(false));

  describe('counters per resolved account', () => {
    it("a good login on a look-alike account does not reset the victim's counter (exact-match store)", async () => {
      const { auth } = service({ userStore: new CollatingUserStore((name) => name) });
      await auth.register('alice', PASSWORD);
      await auth.register('ALICE', PASSWORD); // the attacker's own account
      for (let i = 0; i < LIMIT; i++) expect(await auth.login('alice', WRONG)).toBeNull();
      expect(await auth.login('ALICE', PASSWORD)).not.toBeNull();
      await refused(auth.login('alice', WRONG));
      await refused(auth.login('alice', PASSWORD));
    });

    it('counts every spelling a case-insensitive store maps to one account on that account', async () => {
      const { auth } = service({ userStore: new CollatingUserStore((name) => name.toLowerCase()) });
      await auth.register('alice', PASSWORD);
      for (const spelling of ['alice', 'Alice', 'ALICE']) expect(await auth.login(spelling, WRONG)).toBeNull();
      await refused(auth.login('aLiCe', PASSWORD));
    });

    it('records a refusal as a login.throttled audit event', async () => {
      const events: string[] = [];
      class Recording extends AuditSink {
        emit(event: AuthAuditEvent): void {
          events.push(event.name);
        }
      }
      const { auth } = service({ audit: new Recording() });
      for (let i = 0; i < LIMIT; i++) await auth.login('nobody', WRONG);
      await refused(auth.login('nobody', WRONG));
      expect(events.filter((name) => name === 'login.throttled')).toHaveLength(1);
    });

    it('a success clears only its own account: another account stays locked', async () => {
      const { auth } = service();
      await auth.register('victim', PASSWORD);
      await auth.register('bystander', PASSWORD);
      for (let i = 0; i < LIMIT; i++) await auth.login('victim', WRONG);
      expect(await auth.login('bystander', PASSWORD)).not.toBeNull();
      await refused(auth.login('victim', PASSWORD));
    });

    it('the default user store refuses a username differing from a taken one only in case', async () => {
      const { auth } = service({ userStore: new InMemoryUserStore() });
      await auth.register('alice', PASSWORD);
      await expect(auth.register('ALICE', PASSWORD)).rejects.toBeInstanceOf(UsernameTakenError);
      await expect(auth.register('Alice', PASSWORD)).rejects.toBeInstanceOf(UsernameTakenError);
      // Logins still compare exactly.
      expect(await auth.login('ALICE', PASSWORD)).toBeNull();
      expect(await auth.login('alice', PASSWORD)).not.toBeNull();
    });
  });

  describe('no oracle in the store work', () => {
    it('an unknown name and an account cost the same counters', async () => {
      const { auth, throttleStore } = service();
      await auth.register('someone', PASSWORD);
      const before = throttleStore.size;
      await auth.login('someone', WRONG);
      const forAccount = throttleStore.size - before;
      await auth.login('no-such-one', WRONG);
      expect(throttleStore.size - before - forAccount).toBe(forAccount);
    });
  });

  describe('attempts in flight', () => {
    it('lets 20 concurrent correct logins of one account through', async () => {
      const { auth } = service();
      await auth.register('busy', PASSWORD);
      const results = await Promise.all(Array.from({ length: 20 }, () => auth.login('busy', PASSWORD)));
      expect(results.every((result) => result !== null)).toBe(true);
    });

    it('never runs more than the limit of unverified guesses, however many arrive at once', async () => {
      const hasher = new CountingHasher();
      const { auth } = service({ passwordHasher: hasher });
      await auth.register('target', PASSWORD);
      hasher.verifications = 0;
      const outcomes = await Promise.allSettled(Array.from({ length: 20 }, () => auth.login('target', WRONG)));
      expect(hasher.verifications).toBe(LIMIT);
      expect(outcomes.filter((outcome) => outcome.status === 'fulfilled')).toHaveLength(LIMIT);
      for (const outcome of outcomes) if (outcome.status === 'rejected') expect(outcome.reason).toBeInstanceOf(TooManyAttemptsError);
    });

    it('a correct login waiting behind failing ones is refused once they have failed', async () => {
      const { auth } = service();
      await auth.register('mixed', PASSWORD);
      const guesses = Array.from({ length: LIMIT }, () => auth.login('mixed', WRONG));
      const late = auth.login('mixed', PASSWORD);
      expect(await Promise.all(guesses)).toEqual([null, null, null]);
      await refused(late);
    });
  });

  describe('device proofs', () => {
    it('a known device logs in while failures from elsewhere lock the account', async () => {
      const { auth, clock } = service();
      await auth.register('owner', PASSWORD);
      const first = await auth.login('owner', PASSWORD);
      expect(first?.deviceToken).toEqual(expect.any(String));
      for (let i = 0; i < LIMIT; i++) expect(await auth.login('owner', WRONG)).toBeNull(); // the attacker
      await refused(auth.login('owner', PASSWORD)); // an untrusted client shares the account's budget
      clock.advance(5);
      const again = await auth.login('owner', PASSWORD, {}, { deviceToken: first!.deviceToken });
      expect(again).not.toBeNull();
      // Renewed (a later expiry), same device.
      expect(again!.deviceToken).not.toBe(first!.deviceToken);
      expect(again!.deviceToken!.split('.')[0]).toBe(first!.deviceToken!.split('.')[0]);
    });

    it("a device has its own budget: its failures lock it, not the account's other clients", async () => {
      const { auth } = service();
      await auth.register('owner', PASSWORD);
      const { deviceToken } = (await auth.login('owner', PASSWORD))!;
      for (let i = 0; i < LIMIT; i++) expect(await auth.login('owner', WRONG, {}, { deviceToken })).toBeNull();
      await refused(auth.login('owner', PASSWORD, {}, { deviceToken }));
      expect(await auth.login('owner', PASSWORD)).not.toBeNull();
    });

    it('a proof for another account, or a forged one, is an untrusted client', async () => {
      const { auth } = service();
      await auth.register('owner', PASSWORD);
      await auth.register('other', PASSWORD);
      const { deviceToken } = (await auth.login('other', PASSWORD))!;
      for (let i = 0; i < LIMIT; i++) await auth.login('owner', WRONG);
      await refused(auth.login('owner', PASSWORD, {}, { deviceToken }));
      await refused(auth.login('owner', PASSWORD, {}, { deviceToken: `${deviceToken!.slice(0, -2)}AA` }));
      const { auth: elsewhere } = service({ loginThrottle: false });
      await elsewhere.register('owner', PASSWORD);
      expect((await elsewhere.login('owner', PASSWORD))?.deviceToken).toBeUndefined();
    });
  });

  describe('everything that hashes a password', () => {
    it('limits registrations per client IP with 429 and a retry time', async () => {
      const { auth } = service({ loginThrottle: { maxRegistrationsPerIp: 2, windowSeconds: 60 } });
      const meta = { ip: '203.0.113.9' };
      await auth.register('first', PASSWORD, meta);
      await expect(auth.register('first', PASSWORD, meta)).rejects.toBeInstanceOf(UsernameTakenError); // counts too
      const error = await refused(auth.register('third', PASSWORD, meta));
      expect(error.retryAfterSeconds).toBeGreaterThan(0);
      expect(error.retryAfterSeconds).toBeLessThanOrEqual(60);
      await auth.register('fourth', PASSWORD, { ip: '203.0.113.10' });
    });

    it('limits wrong current passwords on password change per account', async () => {
      const { auth } = service();
      const { userId } = await auth.register('changer', PASSWORD);
      for (let i = 0; i < LIMIT; i++) expect((await auth.changePassword(userId, WRONG, 'another good password')).ok).toBe(false);
      await refused(auth.changePassword(userId, PASSWORD, 'another good password'));
    });
  });

  describe('memory under a flood of usernames', () => {
    it('stops opening account counters while the client IP is over its limit', async () => {
      const { auth, throttleStore } = service({ loginThrottle: { maxFailuresPerAccount: 5, maxFailuresPerIp: 3, windowSeconds: 60 } });
      const meta = { ip: '198.51.100.7' };
      for (let i = 0; i < 40; i++) await auth.login(`nobody-${i}`, WRONG, meta).catch(() => undefined);
      // The IP's two keys and, for the three attempts admitted, four keys per username (two counters).
      expect(throttleStore.size).toBeLessThanOrEqual(2 + 3 * 4);
    });

    it('groups IPv6 clients by /64 for the per-IP limit', async () => {
      const { auth } = service({ loginThrottle: { maxFailuresPerAccount: 50, maxFailuresPerIp: 2, windowSeconds: 60 } });
      await auth.login('a', WRONG, { ip: '2001:db8:1:2::1' });
      await auth.login('b', WRONG, { ip: '2001:db8:1:2:ffff::9' });
      await refused(auth.login('c', WRONG, { ip: '2001:db8:1:2:abcd:ef01:2345:6789' }));
      expect(await auth.login('d', WRONG, { ip: '2001:db8:1:3::1' })).toBeNull();
    });
  });
});
