import { createHash, randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import type { OneTimeToken, OneTimeTokenStore } from '../one-time-tokens/one-time-token.store.js';
import { FakeClock } from './fake-clock.js';

/** Options of {@link describeOneTimeTokenStoreContract}. */
export interface OneTimeTokenStoreContractOptions {
  /** Called after each test with the store, to close connections or clear tables. */
  teardown?: (store: OneTimeTokenStore) => void | Promise<void>;
  /**
   * The store expires tokens on its server's clock (Redis, SQL), not the clock it was given: the
   * expiry test then uses real time and waits a little over a second.
   */
  realTime?: boolean;
}

/**
 * The jest suite every {@link OneTimeTokenStore} must pass: round trip, single use (also under
 * concurrent takes), purposes kept apart, expiry, `replace` and `revokeAll` voiding a user's
 * other tokens of one purpose only, and the longest values the contract allows.
 *
 * @example
 * ```ts
 * import { describeOneTimeTokenStoreContract } from 'nestjs-warden/testing';
 * describeOneTimeTokenStoreContract('MyTokenStore', ({ clock }) => new MyTokenStore({ clock: clock.now }));
 * ```
 */
export function describeOneTimeTokenStoreContract(
  name: string,
  factory: (context: { clock: FakeClock }) => OneTimeTokenStore | Promise<OneTimeTokenStore>,
  options: OneTimeTokenStoreContractOptions = {},
): void {
  describe(`${name} (OneTimeTokenStore contract)`, () => {
    let clock: FakeClock;
    let store: OneTimeTokenStore;
    const now = (): number => (options.realTime ? Date.now() : clock.now());
    const user = (): string => `user-${randomBytes(5).toString('hex')}`;
    const token = (fields: Partial<OneTimeToken> = {}): OneTimeToken => ({
      hash: createHash('sha256').update(randomBytes(32)).digest('hex'),
      purpose: 'password-reset',
      userId: user(),
      subject: 'alice@example.com',
      expiresAt: now() + 60_000,
      ...fields,
    });

    beforeEach(async () => {
      clock = new FakeClock(Date.now());
      store = await factory({ clock });
    });

    afterEach(async () => {
      await options.teardown?.(store);
    });

    it('gives a saved token back once, with every field', async () => {
      const saved = token();
      await store.save(saved, { replace: false });
      expect(await store.take(saved.hash, ['password-reset'])).toEqual(saved);
      expect(await store.take(saved.hash, ['password-reset'])).toBeNull();
    });

    it('answers null for an unknown hash', async () => {
      expect(await store.take(token().hash, ['password-reset'])).toBeNull();
    });

    it('leaves a token of another purpose where it is', async () => {
      const saved = token({ purpose: 'email-verification' });
      await store.save(saved, { replace: false });
      expect(await store.take(saved.hash, ['password-reset'])).toBeNull();
      expect(await store.take(saved.hash, ['password-reset', 'email-verification'])).toEqual(saved);
    });

    it('hands a token to exactly one of many concurrent takes', async () => {
      const saved = token();
      await store.save(saved, { replace: false });
      const takes = await Promise.all(Array.from({ length: 20 }, () => store.take(saved.hash, ['password-reset'])));
      expect(takes.filter((taken) => taken !== null)).toEqual([saved]);
    });

    it('gives nothing for an expired token', async () => {
      const saved = token({ expiresAt: now() + 1000 });
      await store.save(saved, { replace: false });
      if (options.realTime) await new Promise((resolve) => setTimeout(resolve, 1300));
      else clock.advance(1);
      expect(await store.take(saved.hash, ['password-reset'])).toBeNull();
    });

    it('keeps a user’s earlier tokens without replace, and voids them with it (that purpose only)', async () => {
      const userId = user();
      const first = token({ userId });
      const second = token({ userId });
      const verification = token({ userId, purpose: 'email-verification' });
      const someoneElse = token();
      for (const saved of [first, second, verification, someoneElse]) await store.save(saved, { replace: false });
      const third = token({ userId });
      await store.save(third, { replace: true });
      expect(await store.take(first.hash, ['password-reset'])).toBeNull();
      expect(await store.take(second.hash, ['password-reset'])).toBeNull();
      expect(await store.take(third.hash, ['password-reset'])).toEqual(third);
      expect(await store.take(verification.hash, ['email-verification'])).toEqual(verification);
      expect(await store.take(someoneElse.hash, ['password-reset'])).toEqual(someoneElse);
    });

    it('voids every token of a user and purpose with revokeAll, and no other', async () => {
      const userId = user();
      const tokens = [token({ userId }), token({ userId }), token({ userId, purpose: 'email-change' }), token()];
      for (const saved of tokens) await store.save(saved, { replace: false });
      await store.revokeAll(userId, 'password-reset');
      expect(await store.take(tokens[0]!.hash, ['password-reset'])).toBeNull();
      expect(await store.take(tokens[1]!.hash, ['password-reset'])).toBeNull();
      expect(await store.take(tokens[2]!.hash, ['email-change'])).toEqual(tokens[2]);
      expect(await store.take(tokens[3]!.hash, ['password-reset'])).toEqual(tokens[3]);
      // Nothing to void is no error.
      await expect(store.revokeAll(user(), 'password-reset')).resolves.toBeUndefined();
    });

    it('keeps the longest values the contract allows, and any characters in them', async () => {
      const saved = token({
        purpose: 'p'.repeat(64),
        // 512 and 1024 UTF-16 units ending in whole characters: a lone surrogate is none, and no UTF-8 column holds one.
        userId: `ü${'u'.repeat(509)}😀`,
        subject: `Zoë.${'s'.repeat(1014)}@例え.jp`,
      });
      await store.save(saved, { replace: true });
      expect(await store.take(saved.hash, [saved.purpose])).toEqual(saved);
    });
  });
}
