import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import type { IdentityStore, LinkedIdentity } from '../flows/oidc/identity-store.js';

/** Options of {@link describeIdentityStoreContract}. */
export interface IdentityStoreContractOptions {
  /** Called after each test with the store, to close connections or clear tables. */
  teardown?: (store: IdentityStore) => void | Promise<void>;
}

/**
 * The jest suite every {@link IdentityStore} must pass: links stored and read back as they were
 * (by provider and subject, and by account, oldest first), a `(provider, subject)` linked once
 * across accounts (also under concurrent links) and an `id` once, one subject under two providers
 * as two identities, `recordUse` changing only what a login changes, the sealed provider tokens
 * kept as given (replaced by `recordUse` only when it carries the key, and by
 * `setProviderTokens`), removing only the account's own (the identity free to be linked again),
 * subjects compared exactly (case, Unicode forms, trailing spaces), and the longest values the
 * contract allows.
 *
 * @example
 * ```ts
 * import { describeIdentityStoreContract } from 'nestjs-warden/testing';
 * describeIdentityStoreContract('MyIdentityStore', () => new MyIdentityStore());
 * ```
 */
export function describeIdentityStoreContract(
  name: string,
  factory: () => IdentityStore | Promise<IdentityStore>,
  options: IdentityStoreContractOptions = {},
): void {
  describe(`${name} (IdentityStore contract)`, () => {
    let store: IdentityStore;
    let at = Date.UTC(2030, 0, 1);
    const user = (): string => `user-${randomBytes(5).toString('hex')}`;
    // A subject as providers make them: opaque, unique to the test.
    const subject = (): string => randomBytes(12).toString('hex');
    // Sealed tokens as the flow makes them: opaque to the store, and unique to the test.
    const sealed = (): string => `v1.${randomBytes(12).toString('base64url')}.${randomBytes(48).toString('base64url')}`;
    const identity = (userId: string, overrides: Partial<LinkedIdentity> = {}): LinkedIdentity => ({
      id: randomBytes(16).toString('base64url'),
      userId,
      provider: 'google',
      subject: subject(),
      email: 'alice@example.com',
      emailVerified: true,
      // Each a millisecond after the last: "oldest first" is well defined.
      createdAt: (at += 1),
      lastUsedAt: null,
      providerTokens: null,
      ...overrides,
    });

    beforeEach(async () => {
      store = await factory();
    });

    afterEach(async () => {
      await options.teardown?.(store);
    });

    it('reads a link back as it was stored, by provider and subject and in its account', async () => {
      const userId = user();
      const stored = identity(userId, { provider: 'corp', email: null, emailVerified: false, lastUsedAt: Date.UTC(2030, 0, 1, 12) });
      expect(await store.create(stored)).toBe(true);
      expect(await store.find('corp', stored.subject)).toEqual(stored);
      expect(await store.listByUser(userId)).toEqual([stored]);
      expect(await store.find('corp', subject())).toBeNull();
      expect(await store.find('google', stored.subject)).toBeNull();
      expect(await store.listByUser(user())).toEqual([]);
    });

    it("lists an account's links oldest first, and only its own", async () => {
      const userId = user();
      const first = identity(userId);
      const second = identity(userId, { provider: 'github' });
      const other = identity(user());
      // Stored out of order: the list orders by createdAt.
      expect(await store.create(second)).toBe(true);
      expect(await store.create(other)).toBe(true);
      expect(await store.create(first)).toBe(true);
      expect((await store.listByUser(userId)).map((one) => one.id)).toEqual([first.id, second.id]);
      expect(await store.listByUser(other.userId)).toEqual([other]);
    });

    it('links a (provider, subject) once, across accounts, and an id once', async () => {
      const stored = identity(user());
      expect(await store.create(stored)).toBe(true);
      // Also into the same account again, under a new id.
      expect(await store.create(identity(stored.userId, { subject: stored.subject }))).toBe(false);
      const thief = user();
      expect(await store.create(identity(thief, { subject: stored.subject, email: 'mallory@example.com' }))).toBe(false);
      expect(await store.listByUser(thief)).toEqual([]);
      // The id is taken: refused, even for another identity, and nothing of it is stored.
      const sameId = identity(user(), { id: stored.id, provider: 'github' });
      expect(await store.create(sameId)).toBe(false);
      expect(await store.find('github', sameId.subject)).toBeNull();
      expect(await store.listByUser(sameId.userId)).toEqual([]);
      expect(await store.find(stored.provider, stored.subject)).toEqual(stored);
      expect(await store.listByUser(stored.userId)).toEqual([stored]);
    });

    it('lets exactly one of 8 concurrent links of one identity through', async () => {
      const shared = subject();
      const users = Array.from({ length: 8 }, user);
      const results = await Promise.all(users.map((userId) => store.create(identity(userId, { subject: shared }))));
      expect(results.filter(Boolean)).toHaveLength(1);
      const owner = users[results.indexOf(true)]!;
      expect((await store.find('google', shared))?.userId).toBe(owner);
      const lists = await Promise.all(users.map((userId) => store.listByUser(userId)));
      expect(lists.flat()).toHaveLength(1);
    });

    it('keeps the same subject under two providers as two identities', async () => {
      const shared = subject();
      const first = identity(user(), { provider: 'google', subject: shared });
      const second = identity(user(), { provider: 'corp', subject: shared, email: 'bob@corp.example' });
      expect(await store.create(first)).toBe(true);
      expect(await store.create(second)).toBe(true);
      expect(await store.find('google', shared)).toEqual(first);
      expect(await store.find('corp', shared)).toEqual(second);
      // And both in one account, too.
      const userId = user();
      const again = subject();
      const one = identity(userId, { provider: 'google', subject: again });
      const two = identity(userId, { provider: 'github', subject: again });
      expect(await store.create(one)).toBe(true);
      expect(await store.create(two)).toBe(true);
      expect(await store.listByUser(userId)).toEqual([one, two]);
    });

    it('records a use: the address as given now and when, nothing else; false when not linked', async () => {
      const stored = identity(user(), { email: 'old@example.com', emailVerified: false });
      expect(await store.create(stored)).toBe(true);
      const usedAt = Date.UTC(2030, 0, 2);
      expect(await store.recordUse(stored.provider, stored.subject, { email: 'new@example.com', emailVerified: true, usedAt })).toBe(true);
      const used = { ...stored, email: 'new@example.com', emailVerified: true, lastUsedAt: usedAt };
      expect(await store.find(stored.provider, stored.subject)).toEqual(used);
      expect(await store.listByUser(stored.userId)).toEqual([used]);
      // The provider gave no address this time.
      expect(await store.recordUse(stored.provider, stored.subject, { email: null, emailVerified: false, usedAt: usedAt + 1 })).toBe(true);
      expect(await store.find(stored.provider, stored.subject)).toEqual({
        ...stored,
        email: null,
        emailVerified: false,
        lastUsedAt: usedAt + 1,
      });
      const use = { email: 'x@example.com', emailVerified: true, usedAt: usedAt + 2 };
      expect(await store.recordUse(stored.provider, subject(), use)).toBe(false);
      expect(await store.recordUse('github', stored.subject, use)).toBe(false);
      expect(await store.find('github', stored.subject)).toBeNull();
    });

    it('keeps the sealed provider tokens as given, or none, by provider and subject and in its account', async () => {
      const userId = user();
      const kept = identity(userId, { providerTokens: sealed() });
      const none = identity(userId, { provider: 'github', providerTokens: null });
      expect(await store.create(kept)).toBe(true);
      expect(await store.create(none)).toBe(true);
      expect(await store.find(kept.provider, kept.subject)).toEqual(kept);
      expect((await store.find(kept.provider, kept.subject))?.providerTokens).toBe(kept.providerTokens);
      expect(await store.find(none.provider, none.subject)).toEqual(none);
      // null, not left out or undefined.
      expect((await store.find(none.provider, none.subject))?.providerTokens).toBeNull();
      expect(await store.listByUser(userId)).toEqual([kept, none]);
      const listed = await store.listByUser(userId);
      expect(listed.map((one) => one.providerTokens)).toEqual([kept.providerTokens, null]);
    });

    it('replaces the tokens on a use that carries the key (null clears them), and keeps them on one without', async () => {
      const first = sealed();
      const stored = identity(user(), { providerTokens: first });
      const other = identity(stored.userId, { provider: 'github', providerTokens: sealed() });
      expect(await store.create(stored)).toBe(true);
      expect(await store.create(other)).toBe(true);
      const usedAt = Date.UTC(2030, 0, 3);
      // Without the key: the address and time change, the tokens stay.
      expect(await store.recordUse(stored.provider, stored.subject, { email: 'new@example.com', emailVerified: true, usedAt })).toBe(true);
      let expected: LinkedIdentity = { ...stored, email: 'new@example.com', emailVerified: true, lastUsedAt: usedAt };
      expect(await store.find(stored.provider, stored.subject)).toEqual(expected);
      // With them: replaced, with the rest of the use.
      const second = sealed();
      expect(
        await store.recordUse(stored.provider, stored.subject, {
          email: null,
          emailVerified: false,
          usedAt: usedAt + 1,
          providerTokens: second,
        }),
      ).toBe(true);
      expected = { ...stored, email: null, emailVerified: false, lastUsedAt: usedAt + 1, providerTokens: second };
      expect(await store.find(stored.provider, stored.subject)).toEqual(expected);
      expect(await store.listByUser(stored.userId)).toEqual([expected, other]);
      // An undefined value is no key: kept.
      expect(
        await store.recordUse(stored.provider, stored.subject, {
          email: null,
          emailVerified: false,
          usedAt: usedAt + 2,
          providerTokens: undefined,
        }),
      ).toBe(true);
      expected = { ...expected, lastUsedAt: usedAt + 2 };
      expect(await store.find(stored.provider, stored.subject)).toEqual(expected);
      // null: none kept from now on.
      expect(
        await store.recordUse(stored.provider, stored.subject, {
          email: null,
          emailVerified: false,
          usedAt: usedAt + 3,
          providerTokens: null,
        }),
      ).toBe(true);
      expected = { ...expected, lastUsedAt: usedAt + 3, providerTokens: null };
      expect(await store.find(stored.provider, stored.subject)).toEqual(expected);
      // And set again on a link that had none.
      const third = sealed();
      expect(
        await store.recordUse(stored.provider, stored.subject, {
          email: null,
          emailVerified: false,
          usedAt: usedAt + 4,
          providerTokens: third,
        }),
      ).toBe(true);
      expected = { ...expected, lastUsedAt: usedAt + 4, providerTokens: third };
      expect(await store.find(stored.provider, stored.subject)).toEqual(expected);
      // The account's other link is untouched, and no link is made for an identity not linked.
      expect(await store.find(other.provider, other.subject)).toEqual(other);
      expect(
        await store.recordUse(stored.provider, subject(), { email: null, emailVerified: false, usedAt: 1, providerTokens: sealed() }),
      ).toBe(false);
      expect(await store.listByUser(stored.userId)).toEqual([expected, other]);
    });

    it('sets the tokens alone with setProviderTokens; false when the identity is not linked', async () => {
      const stored = identity(user(), { lastUsedAt: Date.UTC(2030, 0, 4) });
      const other = identity(stored.userId, { provider: 'github', providerTokens: sealed() });
      expect(await store.create(stored)).toBe(true);
      expect(await store.create(other)).toBe(true);
      const tokens = sealed();
      expect(await store.setProviderTokens(stored.provider, stored.subject, tokens)).toBe(true);
      expect(await store.find(stored.provider, stored.subject)).toEqual({ ...stored, providerTokens: tokens });
      // The same value again still finds the link.
      expect(await store.setProviderTokens(stored.provider, stored.subject, tokens)).toBe(true);
      const next = sealed();
      expect(await store.setProviderTokens(stored.provider, stored.subject, next)).toBe(true);
      expect(await store.listByUser(stored.userId)).toEqual([{ ...stored, providerTokens: next }, other]);
      expect(await store.setProviderTokens(stored.provider, stored.subject, null)).toBe(true);
      expect(await store.find(stored.provider, stored.subject)).toEqual(stored);
      expect(await store.setProviderTokens(stored.provider, stored.subject, null)).toBe(true);
      expect(await store.find(other.provider, other.subject)).toEqual(other);
      // Not linked: another subject, the subject under another provider, a removed link.
      expect(await store.setProviderTokens(stored.provider, subject(), sealed())).toBe(false);
      expect(await store.setProviderTokens('corp', stored.subject, sealed())).toBe(false);
      expect(await store.find('corp', stored.subject)).toBeNull();
      expect(await store.remove(other.userId, other.id)).toBe(true);
      expect(await store.setProviderTokens(other.provider, other.subject, sealed())).toBe(false);
      expect(await store.setProviderTokens(other.provider, other.subject, null)).toBe(false);
      expect(await store.find(other.provider, other.subject)).toBeNull();
      expect(await store.listByUser(stored.userId)).toEqual([stored]);
    });

    it('keeps sealed tokens of 16,384 characters, the longest the contract allows', async () => {
      // What the flow seals is base64url with dots; any text is kept as given, too.
      const longest = (fill: string): string => {
        const tail = `.${randomBytes(6).toString('base64url')}.é🔑`;
        return fill.repeat(16_384).slice(0, 16_384 - tail.length) + tail;
      };
      const first = longest('AbC-_09');
      expect(first).toHaveLength(16_384);
      const stored = identity(user(), { providerTokens: first });
      expect(await store.create(stored)).toBe(true);
      expect(await store.find(stored.provider, stored.subject)).toEqual(stored);
      expect(await store.listByUser(stored.userId)).toEqual([stored]);
      const second = longest('zY9');
      expect(second).toHaveLength(16_384);
      expect(
        await store.recordUse(stored.provider, stored.subject, { email: null, emailVerified: false, usedAt: 9, providerTokens: second }),
      ).toBe(true);
      expect((await store.find(stored.provider, stored.subject))?.providerTokens).toBe(second);
      const third = longest('Q');
      expect(await store.setProviderTokens(stored.provider, stored.subject, third)).toBe(true);
      expect(await store.find(stored.provider, stored.subject)).toEqual({
        ...stored,
        email: null,
        emailVerified: false,
        lastUsedAt: 9,
        providerTokens: third,
      });
    });

    it("removes only the account's own link, and the identity is free to be linked again", async () => {
      const userId = user();
      const stored = identity(userId);
      const kept = identity(userId, { provider: 'github' });
      expect(await store.create(stored)).toBe(true);
      expect(await store.create(kept)).toBe(true);
      expect(await store.remove(user(), stored.id)).toBe(false);
      expect(await store.remove(userId, randomBytes(16).toString('base64url'))).toBe(false);
      expect(await store.find(stored.provider, stored.subject)).toEqual(stored);
      expect(await store.remove(userId, stored.id)).toBe(true);
      expect(await store.remove(userId, stored.id)).toBe(false);
      expect(await store.find(stored.provider, stored.subject)).toBeNull();
      expect(await store.listByUser(userId)).toEqual([kept]);
      expect(await store.recordUse(stored.provider, stored.subject, { email: null, emailVerified: false, usedAt: 1 })).toBe(false);
      const relinked = identity(user(), { subject: stored.subject });
      expect(await store.create(relinked)).toBe(true);
      expect(await store.find(stored.provider, stored.subject)).toEqual(relinked);
      expect(await store.listByUser(userId)).toEqual([kept]);
    });

    it('compares subjects exactly: case, Unicode forms and trailing spaces tell identities apart', async () => {
      const base = `Sub-${randomBytes(6).toString('hex')}`;
      // Upper and lower case; the NFC and NFD forms of "é"; a trailing space; full-width letters.
      const subjects = [base, base.toLowerCase(), `${base}-\u00e9`, `${base}-e\u0301`, `${base} `, `${base}-\uff33`, `${base}-S`];
      const links = subjects.map((one) => identity(user(), { subject: one }));
      for (const link of links) expect(await store.create(link)).toBe(true);
      for (const link of links) expect(await store.find('google', link.subject)).toEqual(link);
      expect(await store.find('google', base.toUpperCase())).toBeNull();
      expect(await store.find('Google', base)).toBeNull();
      const use = { email: null, emailVerified: false, usedAt: 5 };
      expect(await store.recordUse('google', base.toUpperCase(), use)).toBe(false);
      expect(await store.recordUse('google', `${base}-e\u0301`, use)).toBe(true);
      expect(await store.find('google', `${base}-\u00e9`)).toEqual(links[2]);
      // User ids too: one that differs in case alone is another account.
      const userId = `Owner-${randomBytes(4).toString('hex')}`;
      // And ids: one that differs in case alone is no id of the account's.
      const owned = identity(userId, { id: `Id${randomBytes(15).toString('base64url')}` });
      expect(await store.create(owned)).toBe(true);
      expect(await store.listByUser(userId.toLowerCase())).toEqual([]);
      expect(await store.remove(userId.toLowerCase(), owned.id)).toBe(false);
      expect(await store.remove(userId, owned.id.toLowerCase())).toBe(false);
      expect(await store.listByUser(userId)).toEqual([owned]);
    });

    it('keeps the longest values the contract allows', async () => {
      const userId = `u${'x'.repeat(510)}é`;
      const stored = identity(userId, {
        provider: `p${'-_0'.repeat(21)}`,
        subject: `s${'ü'.repeat(250)}-end`,
        email: `${'a'.repeat(64)}@${'d'.repeat(251)}.com`,
        lastUsedAt: Date.UTC(2099, 11, 31),
      });
      expect(stored.userId).toHaveLength(512);
      expect(stored.provider).toHaveLength(64);
      expect(stored.subject).toHaveLength(255);
      expect(stored.email).toHaveLength(320);
      expect(await store.create(stored)).toBe(true);
      expect(await store.find(stored.provider, stored.subject)).toEqual(stored);
      expect(await store.listByUser(userId)).toEqual([stored]);
      const use = { email: `${'b'.repeat(64)}@${'e'.repeat(251)}.org`, emailVerified: false, usedAt: Date.UTC(2100, 0, 1) };
      expect(await store.recordUse(stored.provider, stored.subject, use)).toBe(true);
      expect(await store.find(stored.provider, stored.subject)).toEqual({
        ...stored,
        email: use.email,
        emailVerified: false,
        lastUsedAt: use.usedAt,
      });
      expect(await store.remove(userId, stored.id)).toBe(true);
      expect(await store.listByUser(userId)).toEqual([]);
    });

    it('copies in and out: changing what it was given or what it answered does not change the store', async () => {
      const userId = user();
      const given = identity(userId, { providerTokens: sealed() });
      const stored = { ...given };
      expect(await store.create(given)).toBe(true);
      given.email = 'changed@example.com';
      given.lastUsedAt = 1;
      given.providerTokens = 'changed';
      expect(await store.find(stored.provider, stored.subject)).toEqual(stored);
      const read = (await store.find(stored.provider, stored.subject))!;
      read.email = 'changed@example.com';
      read.emailVerified = false;
      read.subject = 'changed';
      read.providerTokens = null;
      const [listed] = await store.listByUser(userId);
      listed!.userId = 'changed';
      expect(await store.find(stored.provider, stored.subject)).toEqual(stored);
      expect(await store.listByUser(userId)).toEqual([stored]);
    });
  });
}
