import { describe, expect, it } from '@jest/globals';
import { resolveAuthConfig } from '../../auth.config.js';
import { DerivedKeys } from '../../tokens/derived-keys.js';
import { MfaLoginTokens } from './login-token.js';

const KEYS = resolveAuthConfig({ secret: 'mfa-login-token-spec-secret-of-32-bytes+' }).keys;
const OTHER_KEYS = resolveAuthConfig({ secret: 'another-mfa-login-secret-long-enough!!!' }).keys;

const USER = { id: 'user-1', passwordHash: '$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA' };
const NOW = Date.UTC(2030, 0, 1);
const TTL = 300;

// Another base64url character in place of the one at `index`.
const changeAt = (token: string, index: number): string => {
  const replacement = token[index] === 'A' ? 'B' : 'A';
  return `${token.slice(0, index)}${replacement}${token.slice(index + 1)}`;
};

// A token MAC'd the way MfaLoginTokens does, over any payload: for payloads it never writes.
const forge = (claims: unknown, raw?: string): string => {
  const payload = raw ?? Buffer.from(JSON.stringify(claims), 'utf8').toString('base64url');
  return `${payload}.${new DerivedKeys(KEYS, 'mfa-login').mac(`mfa-login\n${payload}`)}`;
};

describe('MfaLoginTokens', () => {
  const tokens = new MfaLoginTokens(KEYS, TTL);

  it('reads back the claims of a token it issued', () => {
    const token = tokens.issue(USER, 'device-7', NOW);
    expect(token).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/);
    const claims = tokens.read(token, NOW);
    expect(claims).toEqual({
      userId: 'user-1',
      deviceId: 'device-7',
      jti: expect.stringMatching(/^[A-Za-z0-9_-]{22}$/),
      expiresAt: NOW + TTL * 1000,
      binding: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
    });
    expect(tokens.matches(claims!, USER)).toBe(true);
  });

  it('keeps a null device id, and gives each token its own jti', () => {
    const first = tokens.read(tokens.issue(USER, null, NOW), NOW);
    const second = tokens.read(tokens.issue(USER, null, NOW), NOW);
    expect(first?.deviceId).toBeNull();
    expect(second?.deviceId).toBeNull();
    expect(first!.jti).not.toBe(second!.jti);
  });

  it('does not show the password hash in the token', () => {
    const token = tokens.issue(USER, null, NOW);
    const payload = Buffer.from(token.split('.')[0]!, 'base64url').toString('utf8');
    expect(payload).not.toContain(USER.passwordHash);
    expect(payload).not.toContain('argon2');
  });

  it('is valid until just before expiresAt and refused at exactly expiresAt and after', () => {
    const token = tokens.issue(USER, null, NOW);
    const expiresAt = NOW + TTL * 1000;
    expect(tokens.read(token, expiresAt - 1)).not.toBeNull();
    expect(tokens.read(token, expiresAt)).toBeNull();
    expect(tokens.read(token, expiresAt + 1)).toBeNull();
  });

  it('takes its lifetime from ttlSeconds', () => {
    const short = new MfaLoginTokens(KEYS, 30);
    const claims = short.read(short.issue(USER, null, NOW), NOW);
    expect(claims?.expiresAt).toBe(NOW + 30_000);
  });

  it('refuses a token with any character of its payload or MAC changed', () => {
    const token = tokens.issue(USER, 'device-7', NOW);
    const dot = token.indexOf('.');
    expect(tokens.read(token, NOW)).not.toBeNull();
    for (let index = 0; index < token.length; index++) {
      if (index === dot) continue;
      const changed = changeAt(token, index);
      expect(changed).not.toBe(token);
      expect(tokens.read(changed, NOW)).toBeNull();
    }
  });

  it('refuses a token made under another KeySet', () => {
    const foreign = new MfaLoginTokens(OTHER_KEYS, TTL).issue(USER, null, NOW);
    expect(new MfaLoginTokens(OTHER_KEYS, TTL).read(foreign, NOW)).not.toBeNull();
    expect(tokens.read(foreign, NOW)).toBeNull();
  });

  it('refuses a MAC made for another purpose over the same payload', () => {
    const token = tokens.issue(USER, null, NOW);
    const payload = token.split('.')[0]!;
    const csrfMac = new DerivedKeys(KEYS, 'csrf').mac(`mfa-login\n${payload}`);
    expect(tokens.read(`${payload}.${csrfMac}`, NOW)).toBeNull();
  });

  it.each<[string, unknown]>([
    ['undefined', undefined],
    ['null', null],
    ['a number', 42],
    ['an object', { token: 'x.y' }],
    ['an array', ['x', 'y']],
    ['an empty string', ''],
  ])('refuses %s', (_label, value) => {
    expect(tokens.read(value, NOW)).toBeNull();
  });

  it('refuses a token over 1024 characters even with a right MAC, and takes one of exactly 1024', () => {
    const made = Array.from({ length: 800 }, (_, length) => tokens.issue({ ...USER, id: 'u'.repeat(length + 1) }, null, NOW));
    const exact = made.find((token) => token.length === 1024);
    const over = made.find((token) => token.length > 1024);
    expect(exact).toBeDefined();
    expect(over).toBeDefined();
    expect(tokens.read(exact, NOW)).not.toBeNull();
    expect(tokens.read(over, NOW)).toBeNull();
  });

  it('refuses a token without a dot, with two dots, or with an empty payload', () => {
    const token = tokens.issue(USER, null, NOW);
    const [payload, mac] = token.split('.') as [string, string];
    expect(tokens.read(payload, NOW)).toBeNull();
    expect(tokens.read(`${payload}${mac}`, NOW)).toBeNull();
    expect(tokens.read(`${token}.`, NOW)).toBeNull();
    expect(tokens.read(`${payload}.${mac}.${mac}`, NOW)).toBeNull();
    expect(tokens.read(`${payload}..${mac}`, NOW)).toBeNull();
    expect(tokens.read(`.${mac}`, NOW)).toBeNull();
  });

  it('refuses authentic tokens whose payload is not JSON or has claims of the wrong types', () => {
    const good = { u: 'user-1', d: null, j: 'jti', e: NOW + 1000, b: 'binding' };
    expect(tokens.read(forge(good), NOW)).toEqual({
      userId: 'user-1',
      deviceId: null,
      jti: 'jti',
      expiresAt: NOW + 1000,
      binding: 'binding',
    });
    for (const bad of [
      forge(null, Buffer.from('not json', 'utf8').toString('base64url')),
      forge(null),
      forge('a string'),
      forge({ ...good, u: 1 }),
      forge({ ...good, d: 7 }),
      forge({ ...good, d: undefined }),
      forge({ ...good, j: null }),
      forge({ ...good, b: undefined }),
      forge({ ...good, e: String(NOW + 1000) }),
      forge({ ...good, e: undefined }),
    ]) {
      expect(tokens.read(bad, NOW)).toBeNull();
    }
  });

  it('matches only the account it was issued for, as it is now', () => {
    const claims = tokens.read(tokens.issue(USER, null, NOW), NOW)!;
    expect(tokens.matches(claims, USER)).toBe(true);
    expect(tokens.matches(claims, { ...USER, id: 'user-2' })).toBe(false);
    expect(tokens.matches(claims, { ...USER, passwordHash: `${USER.passwordHash}x` })).toBe(false);
    expect(tokens.matches(claims, { ...USER, passwordHash: '' })).toBe(false);
    // Claims naming another account do not match this one, though the binding is this account's.
    expect(tokens.matches({ ...claims, userId: 'user-2' }, USER)).toBe(false);
    // Claims whose user id was changed no longer match, even the account they now name.
    expect(tokens.matches({ ...claims, userId: 'user-2' }, { ...USER, id: 'user-2' })).toBe(false);
  });

  it('does not match a binding made under another KeySet', () => {
    const foreign = new MfaLoginTokens(OTHER_KEYS, TTL);
    const claims = foreign.read(foreign.issue(USER, null, NOW), NOW)!;
    expect(foreign.matches(claims, USER)).toBe(true);
    expect(tokens.matches(claims, USER)).toBe(false);
  });
});
