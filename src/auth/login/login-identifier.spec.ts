import { describe, expect, it } from '@jest/globals';
import { createAuthService } from '../auth.service.js';
import { InMemoryUserStore } from '../users/in-memory-user.store.js';

const SECRET = 'a-test-secret-of-at-least-32-bytes-long';
const PASSWORD = 'correct horse battery staple';

describe('loginIdentifier', () => {
  const options = { loginThrottle: false as const, passwordHasher: undefined };

  it('with "either": an address logs in its own account, never one whose username spells it', async () => {
    const users = new InMemoryUserStore();
    // Registered while the app logged in by username only: a username that looks like an address.
    const before = createAuthService(SECRET, { ...options, userStore: users });
    await before.register('victim@example.com', 'the squatter password 1');
    const victim = await before.register('victim', PASSWORD, {}, { email: 'victim@example.com' });
    await users.updateEmail(victim.userId, 'victim@example.com', true);
    const either = createAuthService(SECRET, { ...options, userStore: users, loginIdentifier: 'either' });
    const byAddress = await either.login('victim@example.com', PASSWORD);
    expect(byAddress).not.toBeNull();
    expect(await either.authenticate(byAddress!.accessToken)).toMatchObject({ ok: true, user: { username: 'victim' } });
    expect(await either.login('victim@example.com', 'the squatter password 1')).toBeNull();
    expect(await either.login('victim@example.com', PASSWORD, {}, { identifiedBy: 'email' })).not.toBeNull();
    // A legacy address-shaped username no account's address matches still logs in.
    await before.register('legacy@example.org', PASSWORD);
    expect(await either.login('legacy@example.org', PASSWORD)).not.toBeNull();
    expect(await either.login('legacy@example.org', PASSWORD, {}, { identifiedBy: 'email' })).toBeNull();
    // New ones are refused.
    await expect(either.register('new@example.com', PASSWORD)).rejects.toMatchObject({ code: 'AUTH_VALIDATION_FAILED' });
  });

  it('with "either": an unverified address does not take a name from a username registered before', async () => {
    const users = new InMemoryUserStore();
    const before = createAuthService(SECRET, { ...options, userStore: users });
    await before.register('bob@example.com', PASSWORD);
    const either = createAuthService(SECRET, { ...options, userStore: users, loginIdentifier: 'either' });
    // Anyone may type any address at registration; it stays unverified.
    const mallory = await either.register('mallory', 'the squatter password 1', {}, { email: 'BOB@example.com' });
    const bob = await either.login('bob@example.com', PASSWORD);
    expect(await either.authenticate(bob!.accessToken)).toMatchObject({ ok: true, user: { username: 'bob@example.com' } });
    expect(await either.login('bob@example.com', 'the squatter password 1')).toBeNull();
    // Once verified (its owner proved the mailbox), the address names its account.
    await users.updateEmail(mallory.userId, 'BOB@example.com', true);
    const verified = await either.login('bob@example.com', 'the squatter password 1');
    expect(await either.authenticate(verified!.accessToken)).toMatchObject({ ok: true, user: { username: 'mallory' } });
  });

  it('with "email": only addresses name accounts, and usernames may look like addresses', async () => {
    const users = new InMemoryUserStore();
    const auth = createAuthService(SECRET, { ...options, userStore: users, loginIdentifier: 'email' });
    await auth.register('alice', PASSWORD, {}, { email: 'Alice@Example.com' });
    // A username is never looked up in this mode, so it may be the address itself.
    await auth.register('carol@example.com', PASSWORD, {}, { email: 'carol@example.com' });
    expect(await auth.login('carol@example.com', PASSWORD)).not.toBeNull();
    expect(await auth.login('alice@example.COM', PASSWORD)).not.toBeNull();
    expect(await auth.login('alice', PASSWORD)).toBeNull();
  });
});
