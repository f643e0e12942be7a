import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { MAX_RECOVERY_CODES, type MfaStore } from '../flows/mfa/mfa-store.js';
import { FakeClock } from './fake-clock.js';

/** Options of {@link describeMfaStoreContract}. */
export interface MfaStoreContractOptions {
  /** Called after each test with the store, to close connections or clear tables. */
  teardown?: (store: MfaStore) => void | Promise<void>;
}

/**
 * The jest suite every {@link MfaStore} must pass: a pending setup and its expiry on the store's
 * clock, enabling only the pending secret (once, also under concurrent confirmations), recovery
 * codes used once each (also concurrently) and replaced together, disabling, re-sealing by
 * compare-and-swap, used markers (once each, also concurrently, until they expire), accounts
 * kept apart, and the longest values the contract allows.
 *
 * @example
 * ```ts
 * import { describeMfaStoreContract } from 'nestjs-warden/testing';
 * describeMfaStoreContract('MyMfaStore', ({ clock }) => new MyMfaStore({ clock: clock.now }));
 * ```
 */
export function describeMfaStoreContract(
  name: string,
  factory: (context: { clock: FakeClock }) => MfaStore | Promise<MfaStore>,
  options: MfaStoreContractOptions = {},
): void {
  describe(`${name} (MfaStore contract)`, () => {
    let clock: FakeClock;
    let store: MfaStore;
    const user = (): string => `user-${randomBytes(5).toString('hex')}`;
    const sealed = (): string => `v1.k1.${randomBytes(12).toString('base64url')}.${randomBytes(20).toString('base64url')}.tag`;
    const digests = (count = 10): string[] => Array.from({ length: count }, () => randomBytes(32).toString('base64url'));
    // A user with TOTP on, and the digests of its codes.
    const enabled = async (codes = digests()): Promise<{ userId: string; secret: string; codes: string[] }> => {
      const userId = user();
      const secret = sealed();
      await store.savePendingTotp(userId, { secret, expiresAt: clock.date(600) });
      expect(await store.enableTotp(userId, secret, codes, clock.date())).toBe(true);
      return { userId, secret, codes };
    };

    beforeEach(async () => {
      clock = new FakeClock(Date.now());
      store = await factory({ clock });
    });

    afterEach(async () => {
      await options.teardown?.(store);
    });

    it('knows nothing of an account it never saw', async () => {
      expect(await store.find(user())).toEqual({ totp: null, pendingTotp: null, recoveryCodesLeft: 0 });
    });

    it('keeps a pending setup until it expires, a newer one replacing it', async () => {
      const userId = user();
      const first = { secret: sealed(), expiresAt: clock.date(600) };
      await store.savePendingTotp(userId, first);
      expect(await store.find(userId)).toEqual({ totp: null, pendingTotp: first, recoveryCodesLeft: 0 });
      const second = { secret: sealed(), expiresAt: clock.date(300) };
      await store.savePendingTotp(userId, second);
      expect((await store.find(userId)).pendingTotp).toEqual(second);
      clock.advance(300);
      expect((await store.find(userId)).pendingTotp).toBeNull();
    });

    it('enables the pending secret only: its codes replace any others, and the setup is gone', async () => {
      const userId = user();
      const secret = sealed();
      await store.savePendingTotp(userId, { secret, expiresAt: clock.date(600) });
      expect(await store.enableTotp(userId, sealed(), digests(), clock.date())).toBe(false);
      expect(await store.enableTotp(userId, secret, digests(10), clock.date(5))).toBe(true);
      expect(await store.find(userId)).toEqual({ totp: { secret, enabledAt: clock.date(5) }, pendingTotp: null, recoveryCodesLeft: 10 });
      // Once on, a second confirmation of the same setup changes nothing.
      expect(await store.enableTotp(userId, secret, digests(3), clock.date(6))).toBe(false);
      expect((await store.find(userId)).recoveryCodesLeft).toBe(10);
    });

    it('does not enable a pending setup that has expired, nor without one', async () => {
      const userId = user();
      const secret = sealed();
      await store.savePendingTotp(userId, { secret, expiresAt: clock.date(60) });
      expect(await store.enableTotp(userId, secret, digests(), clock.date(60))).toBe(false);
      expect(await store.enableTotp(user(), secret, digests(), clock.date())).toBe(false);
      expect((await store.find(userId)).totp).toBeNull();
    });

    it('a pending setup leaves the enabled factor as it is', async () => {
      const { userId, secret } = await enabled();
      const pending = { secret: sealed(), expiresAt: clock.date(600) };
      await store.savePendingTotp(userId, pending);
      expect(await store.find(userId)).toEqual({ totp: { secret, enabledAt: clock.date() }, pendingTotp: pending, recoveryCodesLeft: 10 });
      expect(await store.enableTotp(userId, pending.secret, digests(), clock.date())).toBe(false);
    });

    it('lets exactly one of many concurrent confirmations enable', async () => {
      const userId = user();
      const secret = sealed();
      await store.savePendingTotp(userId, { secret, expiresAt: clock.date(600) });
      const results = await Promise.all(Array.from({ length: 8 }, () => store.enableTotp(userId, secret, digests(), clock.date())));
      expect(results.filter(Boolean)).toHaveLength(1);
    });

    it('uses each recovery code once, and only its own account', async () => {
      const { userId, codes } = await enabled();
      const other = await enabled();
      expect(await store.useRecoveryCode(other.userId, codes[0]!)).toBe(false);
      expect(await store.useRecoveryCode(userId, codes[0]!)).toBe(true);
      expect(await store.useRecoveryCode(userId, codes[0]!)).toBe(false);
      expect(await store.useRecoveryCode(userId, 'never-issued')).toBe(false);
      expect((await store.find(userId)).recoveryCodesLeft).toBe(9);
      expect((await store.find(other.userId)).recoveryCodesLeft).toBe(10);
    });

    it('lets exactly one of many concurrent uses of a recovery code through', async () => {
      const { userId, codes } = await enabled();
      const results = await Promise.all(Array.from({ length: 8 }, () => store.useRecoveryCode(userId, codes[3]!)));
      expect(results.filter(Boolean)).toHaveLength(1);
      expect((await store.find(userId)).recoveryCodesLeft).toBe(9);
    });

    it('replaces every recovery code at once, only while TOTP is on', async () => {
      const { userId, codes } = await enabled();
      const fresh = digests(10);
      expect(await store.replaceRecoveryCodes(userId, fresh)).toBe(true);
      expect(await store.useRecoveryCode(userId, codes[0]!)).toBe(false);
      expect(await store.useRecoveryCode(userId, fresh[0]!)).toBe(true);
      expect((await store.find(userId)).recoveryCodesLeft).toBe(9);
      const off = user();
      expect(await store.replaceRecoveryCodes(off, fresh)).toBe(false);
      expect(await store.find(off)).toEqual({ totp: null, pendingTotp: null, recoveryCodesLeft: 0 });
    });

    it('disables TOTP: factor, pending setup and codes all gone, other accounts untouched', async () => {
      const { userId, codes } = await enabled();
      const other = await enabled();
      await store.savePendingTotp(userId, { secret: sealed(), expiresAt: clock.date(600) });
      expect(await store.disableTotp(userId)).toBe(true);
      expect(await store.find(userId)).toEqual({ totp: null, pendingTotp: null, recoveryCodesLeft: 0 });
      expect(await store.useRecoveryCode(userId, codes[0]!)).toBe(false);
      expect(await store.disableTotp(userId)).toBe(false);
      expect((await store.find(other.userId)).totp).toEqual({ secret: other.secret, enabledAt: clock.date() });
    });

    it('can enable again after disabling, with new codes only', async () => {
      const { userId, codes } = await enabled();
      await store.disableTotp(userId);
      const secret = sealed();
      const fresh = digests(4);
      await store.savePendingTotp(userId, { secret, expiresAt: clock.date(600) });
      expect(await store.enableTotp(userId, secret, fresh, clock.date())).toBe(true);
      expect(await store.useRecoveryCode(userId, codes[0]!)).toBe(false);
      expect((await store.find(userId)).recoveryCodesLeft).toBe(4);
    });

    it('re-seals the enabled secret by compare-and-swap', async () => {
      const { userId, secret } = await enabled();
      const next = sealed();
      expect(await store.resealTotp(userId, sealed(), next)).toBe(false);
      expect(await store.resealTotp(userId, secret, next)).toBe(true);
      expect((await store.find(userId)).totp?.secret).toBe(next);
      expect(await store.resealTotp(userId, secret, sealed())).toBe(false);
      expect(await store.resealTotp(user(), secret, next)).toBe(false);
    });

    it('marks a used marker once per account, until it expires', async () => {
      const userId = user();
      const other = user();
      expect(await store.markUsed(userId, 'totp:58000000', clock.date(120))).toBe(true);
      expect(await store.markUsed(userId, 'totp:58000000', clock.date(120))).toBe(false);
      expect(await store.markUsed(other, 'totp:58000000', clock.date(120))).toBe(true);
      expect(await store.markUsed(userId, 'totp:58000001', clock.date(120))).toBe(true);
      clock.advance(119);
      expect(await store.markUsed(userId, 'totp:58000000', clock.date(120))).toBe(false);
      clock.advance(1);
      expect(await store.markUsed(userId, 'totp:58000000', clock.date(120))).toBe(true);
    });

    it('lets exactly one of many concurrent marks of one marker through', async () => {
      const userId = user();
      const results = await Promise.all(Array.from({ length: 8 }, () => store.markUsed(userId, 'login:abc', clock.date(60))));
      expect(results.filter(Boolean)).toHaveLength(1);
    });

    it('keeps marks across turning TOTP off and on', async () => {
      const { userId } = await enabled();
      expect(await store.markUsed(userId, 'totp:1', clock.date(120))).toBe(true);
      await store.disableTotp(userId);
      expect(await store.markUsed(userId, 'totp:1', clock.date(120))).toBe(false);
      expect(await store.find(userId)).toEqual({ totp: null, pendingTotp: null, recoveryCodesLeft: 0 });
    });

    it('keeps the longest values the contract allows', async () => {
      const userId = `u-${'x'.repeat(254)}`;
      const secret = 's'.repeat(512);
      const codes = Array.from({ length: MAX_RECOVERY_CODES }, (_, index) => `${index}`.padStart(128, 'd'));
      await store.savePendingTotp(userId, { secret, expiresAt: clock.date(600) });
      expect(await store.enableTotp(userId, secret, codes, clock.date())).toBe(true);
      expect(await store.find(userId)).toEqual({
        totp: { secret, enabledAt: clock.date() },
        pendingTotp: null,
        recoveryCodesLeft: MAX_RECOVERY_CODES,
      });
      expect(await store.useRecoveryCode(userId, codes[MAX_RECOVERY_CODES - 1]!)).toBe(true);
      expect(await store.markUsed(userId, 'm'.repeat(64), clock.date(60))).toBe(true);
    });

    it('refuses values past the limits', async () => {
      const { userId } = await enabled();
      await expect(store.replaceRecoveryCodes(userId, digests(MAX_RECOVERY_CODES + 1))).rejects.toThrow(TypeError);
      await expect(store.savePendingTotp(userId, { secret: 's'.repeat(513), expiresAt: clock.date(600) })).rejects.toThrow(TypeError);
      await expect(store.markUsed(userId, 'm'.repeat(65), clock.date(60))).rejects.toThrow(TypeError);
      expect((await store.find(userId)).recoveryCodesLeft).toBe(10);
    });
  });
}
