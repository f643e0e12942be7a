import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import type { Passkey, PasskeyStore } from '../flows/passkeys/passkey-store.js';

/** Options of {@link describePasskeyStoreContract}. */
export interface PasskeyStoreContractOptions {
  /** Called after each test with the store, to close connections or clear tables. */
  teardown?: (store: PasskeyStore) => void | Promise<void>;
}

/**
 * The jest suite every {@link PasskeyStore} must pass: passkeys stored and read back as they
 * were (by credential id and by account, oldest first), a credential id registered once across
 * accounts (also under concurrent registrations), the counter's compare-and-set (also
 * concurrently), renaming and removing only the account's own, accounts kept apart, and the
 * longest values the contract allows.
 *
 * @example
 * ```ts
 * import { describePasskeyStoreContract } from 'nestjs-warden/testing';
 * describePasskeyStoreContract('MyPasskeyStore', () => new MyPasskeyStore());
 * ```
 */
export function describePasskeyStoreContract(
  name: string,
  factory: () => PasskeyStore | Promise<PasskeyStore>,
  options: PasskeyStoreContractOptions = {},
): void {
  describe(`${name} (PasskeyStore contract)`, () => {
    let store: PasskeyStore;
    let at = Date.UTC(2030, 0, 1);
    const user = (): string => `user-${randomBytes(5).toString('hex')}`;
    const passkey = (userId: string, overrides: Partial<Passkey> = {}): Passkey => ({
      id: randomBytes(16).toString('base64url'),
      userId,
      credentialId: randomBytes(32).toString('base64url'),
      publicKey: randomBytes(77).toString('base64url'),
      counter: 0,
      transports: ['internal', 'hybrid'],
      deviceType: 'multiDevice',
      backedUp: true,
      name: 'Laptop',
      // Each a millisecond after the last: "oldest first" is well defined.
      createdAt: (at += 1),
      lastUsedAt: null,
      ...overrides,
    });

    beforeEach(async () => {
      store = await factory();
    });

    afterEach(async () => {
      await options.teardown?.(store);
    });

    it('reads a passkey back as it was stored, by credential id and in its account', async () => {
      const userId = user();
      const stored = passkey(userId, { counter: 7, deviceType: 'singleDevice', backedUp: false, transports: ['usb'] });
      expect(await store.create(stored)).toBe(true);
      expect(await store.findByCredentialId(stored.credentialId)).toEqual(stored);
      expect(await store.listByUser(userId)).toEqual([stored]);
      expect(await store.findByCredentialId(randomBytes(32).toString('base64url'))).toBeNull();
      expect(await store.listByUser(user())).toEqual([]);
    });

    it("lists an account's passkeys oldest first, and only its own", async () => {
      const userId = user();
      const first = passkey(userId);
      const second = passkey(userId, { name: 'Phone' });
      const other = passkey(user());
      // Stored out of order: the list orders by createdAt.
      await store.create(second);
      await store.create(other);
      await store.create(first);
      expect((await store.listByUser(userId)).map((one) => one.id)).toEqual([first.id, second.id]);
    });

    it('registers a credential id once, across accounts, and an id once', async () => {
      const stored = passkey(user());
      expect(await store.create(stored)).toBe(true);
      const thief = user();
      expect(await store.create(passkey(thief, { credentialId: stored.credentialId }))).toBe(false);
      expect(await store.listByUser(thief)).toEqual([]);
      expect(await store.create(passkey(user(), { id: stored.id }))).toBe(false);
      expect(await store.findByCredentialId(stored.credentialId)).toEqual(stored);
    });

    it('lets exactly one of concurrent registrations of one credential through', async () => {
      const credentialId = randomBytes(32).toString('base64url');
      const users = Array.from({ length: 8 }, user);
      const results = await Promise.all(users.map((userId) => store.create(passkey(userId, { credentialId }))));
      expect(results.filter(Boolean)).toHaveLength(1);
      const owner = users[results.indexOf(true)]!;
      expect((await store.findByCredentialId(credentialId))?.userId).toBe(owner);
      const lists = await Promise.all(users.map((userId) => store.listByUser(userId)));
      expect(lists.flat()).toHaveLength(1);
    });

    it('records a use only from the counter it expects, and counts one of concurrent uses', async () => {
      const stored = passkey(user(), { counter: 3, backedUp: false });
      await store.create(stored);
      const use = { counter: 4, backedUp: true, usedAt: Date.UTC(2030, 0, 2) };
      expect(await store.recordUse(stored.credentialId, 2, use)).toBe(false);
      expect(await store.findByCredentialId(stored.credentialId)).toEqual(stored);
      expect(await store.recordUse(stored.credentialId, 3, use)).toBe(true);
      expect(await store.findByCredentialId(stored.credentialId)).toEqual({
        ...stored,
        counter: 4,
        backedUp: true,
        lastUsedAt: use.usedAt,
      });
      // Concurrent uses from counter 4: one counts.
      const results = await Promise.all(
        Array.from({ length: 8 }, (_, index) =>
          store.recordUse(stored.credentialId, 4, { counter: 5 + index, backedUp: true, usedAt: use.usedAt + index }),
        ),
      );
      expect(results.filter(Boolean)).toHaveLength(1);
      expect((await store.findByCredentialId(stored.credentialId))?.counter).toBe(5 + results.indexOf(true));
      expect(await store.recordUse(randomBytes(32).toString('base64url'), 0, use)).toBe(false);
    });

    it('records uses of an authenticator that keeps no counter (always 0)', async () => {
      const stored = passkey(user());
      await store.create(stored);
      expect(await store.recordUse(stored.credentialId, 0, { counter: 0, backedUp: true, usedAt: 1 })).toBe(true);
      expect(await store.recordUse(stored.credentialId, 0, { counter: 0, backedUp: false, usedAt: 2 })).toBe(true);
      expect(await store.findByCredentialId(stored.credentialId)).toMatchObject({ counter: 0, backedUp: false, lastUsedAt: 2 });
    });

    it("renames only the account's own passkey", async () => {
      const userId = user();
      const stored = passkey(userId);
      await store.create(stored);
      expect(await store.rename(user(), stored.id, 'Stolen')).toBeNull();
      expect(await store.rename(userId, randomBytes(16).toString('base64url'), 'Nothing')).toBeNull();
      expect(await store.rename(userId, stored.id, 'Work laptop ✓')).toEqual({ ...stored, name: 'Work laptop ✓' });
      expect(await store.findByCredentialId(stored.credentialId)).toEqual({ ...stored, name: 'Work laptop ✓' });
    });

    it("removes only the account's own passkey, and its credential id is free again", async () => {
      const userId = user();
      const stored = passkey(userId);
      const kept = passkey(userId);
      await store.create(stored);
      await store.create(kept);
      expect(await store.remove(user(), stored.id)).toBe(false);
      expect(await store.remove(userId, stored.id)).toBe(true);
      expect(await store.remove(userId, stored.id)).toBe(false);
      expect(await store.findByCredentialId(stored.credentialId)).toBeNull();
      expect(await store.listByUser(userId)).toEqual([kept]);
      expect(await store.recordUse(stored.credentialId, 0, { counter: 1, backedUp: true, usedAt: 1 })).toBe(false);
      expect(await store.create(passkey(user(), { credentialId: stored.credentialId }))).toBe(true);
    });

    it('keeps the longest values the contract allows', async () => {
      const userId = `u${'x'.repeat(511)}`;
      const stored = passkey(userId, {
        credentialId: randomBytes(1023).toString('base64url'),
        publicKey: randomBytes(1024).toString('base64url'),
        name: 'n'.repeat(64),
        counter: 2 ** 32 - 1,
        transports: ['ble', 'cable', 'hybrid', 'internal', 'nfc', 'smart-card', 'usb'],
      });
      expect(stored.credentialId).toHaveLength(1364);
      expect(await store.create(stored)).toBe(true);
      expect(await store.findByCredentialId(stored.credentialId)).toEqual(stored);
      expect(await store.listByUser(userId)).toEqual([stored]);
    });

    it('copies in and out: changing what it got does not change the store', async () => {
      const userId = user();
      const stored = passkey(userId);
      await store.create(stored);
      const read = (await store.findByCredentialId(stored.credentialId))!;
      read.transports.push('usb');
      read.name = 'changed';
      expect(await store.findByCredentialId(stored.credentialId)).toEqual({ ...stored, transports: ['internal', 'hybrid'] });
    });
  });
}
