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
    await before.register('victim', PASSWORD, {}, { email: 'victim@example.com' });
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

  it('with "email": only addresses name accounts', async () => {
    const users = new InMemoryUserStore();
    const auth = createAuthService(SECRET, { ...options, userStore: users, loginIdentifier: 'email' });
    await auth.register('alice', PASSWORD, {}, { email: 'Alice@Example.com' });
    expect(await auth.login('alice@example.COM', PASSWORD)).not.toBeNull();
    expect(await auth.login('alice', PASSWORD)).toBeNull();
  });
});
