import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { EmailTakenError, UsernameTakenError } from '../auth.errors.js';
import type { UserStore } from '../users/user-store.js';

/** Optional hooks of {@link describeUserStoreContract}. */
export interface UserStoreContractOptions {
  /** Called after each test with the store, to close connections or clear tables. */
  teardown?: (store: UserStore) => void | Promise<void>;
  /**
   * Whether the store keeps email addresses (`keepsEmail`). Default `true`: the email tests run.
   * `false`: the suite checks that it says so and refuses the email methods instead.
   */
  keepsEmail?: boolean;
}

/**
 * The jest suite a {@link UserStore} passes to behave as nest-warden's own stores do: round trip,
 * exact lookups, case-folded uniqueness (also under concurrent registrations), password-hash
 * updates, and unknown or malformed ids answered with `null`. Run it from your own spec:
 *
 * @example
 * ```ts
 * import { describeUserStoreContract } from 'nestjs-warden/testing';
 * describeUserStoreContract('MyUserStore', () => new MyUserStore());
 * ```
 */
export function describeUserStoreContract(
  name: string,
  factory: () => UserStore | Promise<UserStore>,
  options: UserStoreContractOptions = {},
): void {
  const keepsEmail = options.keepsEmail ?? true;
  describe(`${name} (UserStore contract)`, () => {
    let store: UserStore;
    // Names unique per test, so stores on a shared database never meet.
    const unique = (base = 'user'): string => `${base}-${randomBytes(5).toString('hex')}`;
    const hash = '$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaA';

    beforeEach(async () => {
      store = await factory();
    });

    afterEach(async () => {
      await options.teardown?.(store);
    });

    it('returns what was created, by username and by id', async () => {
      const username = unique();
      const created = await store.create({ username, passwordHash: hash });
      expect(created).toEqual({
        id: expect.any(String),
        username,
        passwordHash: hash,
        // A store that keeps email addresses says so on every record.
        ...(keepsEmail ? { email: null, emailVerified: false } : {}),
      });
      expect(created.id.length).toBeGreaterThan(0);
      expect(await store.findByUsername(username)).toEqual(created);
      expect(await store.findById(created.id)).toEqual(created);
    });

    it('gives every user its own id', async () => {
      const users = await Promise.all(Array.from({ length: 10 }, () => store.create({ username: unique(), passwordHash: hash })));
      expect(new Set(users.map((user) => user.id)).size).toBe(10);
    });

    it('answers null for an unknown username, an unknown id and malformed ids', async () => {
      expect(await store.findByUsername(unique('nobody'))).toBeNull();
      // What a login may send: up to 256 characters, any of them.
      for (const username of ['x'.repeat(256), 'ali\u0000ce', 'lone \ud800 surrogate', '']) {
        expect(await store.findByUsername(username)).toBeNull();
      }
      expect(await store.findById('00000000-0000-4000-8000-000000000000')).toBeNull();
      for (const id of ['', 'x'.repeat(10_000), 'not a number', '-1', "1'; DROP TABLE users; --"]) {
        expect(await store.findById(id)).toBeNull();
      }
    });

    it('finds usernames exactly, and refuses one that differs from a taken one only in case', async () => {
      const username = unique('Alice');
      await store.create({ username, passwordHash: hash });
      expect(await store.findByUsername(username.toLowerCase())).toBeNull();
      expect(await store.findByUsername(username.toUpperCase())).toBeNull();
      expect(await store.findByUsername(`${username} `)).toBeNull();
      await expect(store.create({ username: username.toUpperCase(), passwordHash: hash })).rejects.toBeInstanceOf(UsernameTakenError);
      await expect(store.create({ username, passwordHash: hash })).rejects.toBeInstanceOf(UsernameTakenError);
    });

    it('folds ß to SS and keeps non-ASCII usernames intact', async () => {
      const suffix = randomBytes(4).toString('hex');
      const created = await store.create({ username: `straße-${suffix}`, passwordHash: hash });
      await expect(store.create({ username: `STRASSE-${suffix}`, passwordHash: hash })).rejects.toBeInstanceOf(UsernameTakenError);
      const emoji = await store.create({ username: `Zoë 😀 ${suffix}`, passwordHash: hash });
      expect(await store.findByUsername(`Zoë 😀 ${suffix}`)).toEqual(emoji);
      expect(await store.findByUsername(`straße-${suffix}`)).toEqual(created);
    });

    it('lets exactly one of many concurrent registrations of one name succeed', async () => {
      const username = unique('race');
      const results = await Promise.allSettled(
        Array.from({ length: 10 }, (_, i) => store.create({ username: i % 2 ? username : username.toUpperCase(), passwordHash: hash })),
      );
      expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(1);
      for (const result of results) {
        if (result.status === 'rejected') expect(result.reason).toBeInstanceOf(UsernameTakenError);
      }
    });

    it("replaces one user's password hash and no one else's", async () => {
      const one = await store.create({ username: unique(), passwordHash: hash });
      const two = await store.create({ username: unique(), passwordHash: hash });
      await store.updatePasswordHash(one.id, 'a-new-hash');
      expect((await store.findById(one.id))?.passwordHash).toBe('a-new-hash');
      expect((await store.findByUsername(one.username))?.passwordHash).toBe('a-new-hash');
      expect((await store.findById(two.id))?.passwordHash).toBe(hash);
      await store.updatePasswordHash('no-such-user', 'x');
    });

    describe('email addresses', () => {
      const address = (local = 'Alice'): string => `${local}.${randomBytes(4).toString('hex')}@Example.COM`;

      // Registered by what the store is declared to do, so no test passes without asserting.
      if (!keepsEmail) {
        it('says it keeps no email addresses, and refuses the email methods', async () => {
          expect(store.keepsEmail).toBe(false);
          await expect(store.findByEmail(address())).rejects.toBeInstanceOf(TypeError);
          await expect(store.updateEmail('someone', address(), false)).rejects.toBeInstanceOf(TypeError);
        });
        return;
      }

      it('says it keeps email addresses', () => {
        expect(store.keepsEmail).toBe(true);
      });

      it('keeps the address given at registration, unverified, and finds it case-insensitively', async () => {
        const email = address('Zoë');
        const created = await store.create({ username: unique(), passwordHash: hash, email });
        expect(created).toEqual({ id: expect.any(String), username: created.username, passwordHash: hash, email, emailVerified: false });
        expect(await store.findById(created.id)).toEqual(created);
        expect(await store.findByEmail(email)).toEqual(created);
        expect(await store.findByEmail(email.toUpperCase())).toEqual(created);
        expect(await store.findByEmail(email.toLowerCase())).toEqual(created);
        expect(await store.findByEmail(address())).toBeNull();
        for (const malformed of ['', 'x'.repeat(10_000), 'nul\u0000@example.com', 'lone\ud800@example.com']) {
          expect(await store.findByEmail(malformed)).toBeNull();
        }
      });

      it('refuses an address another user holds, in any case, at registration and on update', async () => {
        const email = address();
        const one = await store.create({ username: unique(), passwordHash: hash, email });
        await expect(store.create({ username: unique(), passwordHash: hash, email: email.toLowerCase() })).rejects.toBeInstanceOf(
          EmailTakenError,
        );
        const two = await store.create({ username: unique(), passwordHash: hash });
        await expect(store.updateEmail(two.id, email.toUpperCase(), true)).rejects.toBeInstanceOf(EmailTakenError);
        expect((await store.findById(two.id))?.email).toBeNull();
        // A user may re-set its own address in another case.
        await store.updateEmail(one.id, email.toLowerCase(), true);
        expect(await store.findById(one.id)).toMatchObject({ email: email.toLowerCase(), emailVerified: true });
      });

      it('changes, verifies and removes one user’s address and no one else’s; the old address is free again', async () => {
        const old = address();
        const one = await store.create({ username: unique(), passwordHash: hash, email: old });
        const other = await store.create({ username: unique(), passwordHash: hash, email: address() });
        await store.updateEmail(one.id, old, true);
        expect(await store.findByEmail(old)).toMatchObject({ id: one.id, emailVerified: true });
        const next = address('Next');
        await store.updateEmail(one.id, next, false);
        expect(await store.findById(one.id)).toMatchObject({ email: next, emailVerified: false });
        expect(await store.findByEmail(old)).toBeNull();
        expect(await store.findByEmail(next)).toMatchObject({ id: one.id });
        await store.updateEmail(one.id, null, false);
        expect(await store.findById(one.id)).toMatchObject({ email: null, emailVerified: false });
        expect(await store.findByEmail(next)).toBeNull();
        const third = await store.create({ username: unique(), passwordHash: hash, email: old });
        expect(await store.findByEmail(old)).toMatchObject({ id: third.id });
        expect(await store.findById(other.id)).toMatchObject({ email: other.email, emailVerified: false });
        await store.updateEmail('no-such-user', address(), true);
      });

      it('lets exactly one of many concurrent claims on one address succeed', async () => {
        const email = address('race');
        const users = await Promise.all(Array.from({ length: 6 }, () => store.create({ username: unique(), passwordHash: hash })));
        const results = await Promise.allSettled([
          ...users.map((user, i) => store.updateEmail(user.id, i % 2 ? email : email.toUpperCase(), true)),
          ...Array.from({ length: 4 }, () => store.create({ username: unique(), passwordHash: hash, email })),
        ]);
        expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(1);
        for (const result of results) {
          if (result.status === 'rejected') expect(result.reason).toBeInstanceOf(EmailTakenError);
        }
      });
    });
  });
}
