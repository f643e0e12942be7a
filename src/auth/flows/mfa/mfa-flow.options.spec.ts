import { describe, expect, it } from '@jest/globals';
import { AuthOptionsError } from '../../auth.errors.js';
import { InMemoryMfaStore } from './in-memory-mfa.store.js';
import { resolveMfaFlowConfig, type MfaFlowOptions } from './mfa-flow.options.js';
import { MAX_RECOVERY_CODES } from './mfa-store.js';

const KEY = 'k'.repeat(32);
const OTHER_KEY = 'an-other-mfa-encryption-key-of-32-bytes!';
const ID = /^[A-Za-z0-9_-]{1,32}$/;

/** The AuthOptionsError `resolve` throws, checked to be one. */
const refusal = (options: unknown): AuthOptionsError => {
  try {
    resolveMfaFlowConfig(options as MfaFlowOptions);
  } catch (error) {
    expect(error).toBeInstanceOf(AuthOptionsError);
    return error as AuthOptionsError;
  }
  throw new Error('resolveMfaFlowConfig accepted the options');
};

describe('resolveMfaFlowConfig', () => {
  it('fills in the defaults', () => {
    const config = resolveMfaFlowConfig({ encryptionKey: KEY });
    expect(config).toEqual({
      keys: [{ id: expect.stringMatching(ID), key: Buffer.from(KEY, 'utf8') }],
      issuer: 'nest-warden',
      recoveryCodes: 10,
      setupTtlSeconds: 600,
      loginTokenTtlSeconds: 300,
      maxFailures: 5,
      windowSeconds: 900,
      maxFailuresPerDay: 30,
    });
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.keys)).toBe(true);
  });

  it('takes the options given', () => {
    const config = resolveMfaFlowConfig({
      encryptionKey: Buffer.alloc(32, 1),
      issuer: 'Acme Corp',
      recoveryCodes: MAX_RECOVERY_CODES,
      setupTtlSeconds: 60,
      loginTokenTtlSeconds: 3600,
      throttle: { maxFailures: 100, windowSeconds: 1 },
    });
    expect(config).toMatchObject({
      issuer: 'Acme Corp',
      recoveryCodes: 32,
      setupTtlSeconds: 60,
      loginTokenTtlSeconds: 3600,
      maxFailures: 100,
      windowSeconds: 1,
    });
    expect(config.keys[0]!.key).toEqual(Buffer.alloc(32, 1));
  });

  it.each<[string, unknown]>([
    ['undefined', undefined],
    ['null', null],
    ['a string', KEY],
  ])('refuses %s as options, naming mfaFlow', (_label, options) => {
    expect(refusal(options).option).toBe('mfaFlow');
  });

  describe('encryptionKey', () => {
    it('is required', () => {
      const error = refusal({});
      expect(error.option).toBe('mfaFlow.encryptionKey');
      expect(error.message).toContain('mfaFlow.encryptionKey');
    });

    it('refuses a key of 31 bytes and takes one of 32, counting UTF-8 bytes', () => {
      expect(refusal({ encryptionKey: 'x'.repeat(31) }).option).toBe('mfaFlow.encryptionKey');
      expect(refusal({ encryptionKey: Buffer.alloc(31) }).option).toBe('mfaFlow.encryptionKey');
      // 15 two-byte characters and one: 31 bytes in 16 characters.
      expect(refusal({ encryptionKey: `${'é'.repeat(15)}x` }).option).toBe('mfaFlow.encryptionKey');
      expect(resolveMfaFlowConfig({ encryptionKey: 'x'.repeat(32) }).keys).toHaveLength(1);
      expect(resolveMfaFlowConfig({ encryptionKey: Buffer.alloc(32) }).keys).toHaveLength(1);
      expect(resolveMfaFlowConfig({ encryptionKey: 'é'.repeat(16) }).keys[0]!.key).toHaveLength(32);
    });

    it('refuses what is neither a string nor a Buffer', () => {
      expect(refusal({ encryptionKey: 42 }).option).toBe('mfaFlow.encryptionKey');
      expect(refusal({ encryptionKey: null }).option).toBe('mfaFlow.encryptionKey');
      expect(refusal({ encryptionKey: new Uint8Array(32) }).option).toBe('mfaFlow.encryptionKey');
    });

    it('refuses an empty list, and names the short key of a list by its index', () => {
      expect(refusal({ encryptionKey: [] }).option).toBe('mfaFlow.encryptionKey');
      expect(refusal({ encryptionKey: [KEY, 'short'] }).option).toBe('mfaFlow.encryptionKey[1]');
      expect(refusal({ encryptionKey: ['x'.repeat(31), KEY] }).option).toBe('mfaFlow.encryptionKey[0]');
    });

    it('gives a list of keys distinct ids, in the order given', () => {
      const keys = ['a'.repeat(32), 'b'.repeat(32), Buffer.alloc(40, 3)];
      const config = resolveMfaFlowConfig({ encryptionKey: keys });
      expect(config.keys).toHaveLength(3);
      expect(config.keys.map((key) => Buffer.from(key.key).toString('hex'))).toEqual(keys.map((key) => Buffer.from(key).toString('hex')));
      expect(new Set(config.keys.map((key) => key.id)).size).toBe(3);
      for (const key of config.keys) expect(key.id).toMatch(ID);
    });

    it('derives each id from its key: the same key has the same id across calls and lists, another key another id', () => {
      const alone = resolveMfaFlowConfig({ encryptionKey: KEY }).keys[0]!.id;
      expect(resolveMfaFlowConfig({ encryptionKey: KEY }).keys[0]!.id).toBe(alone);
      expect(resolveMfaFlowConfig({ encryptionKey: Buffer.from(KEY, 'utf8') }).keys[0]!.id).toBe(alone);
      const rotated = resolveMfaFlowConfig({ encryptionKey: [OTHER_KEY, KEY] }).keys;
      expect(rotated[1]!.id).toBe(alone);
      expect(rotated[0]!.id).toBe(resolveMfaFlowConfig({ encryptionKey: OTHER_KEY }).keys[0]!.id);
      expect(rotated[0]!.id).not.toBe(alone);
      // A fingerprint, not the key material itself.
      expect(alone).not.toContain('kkkk');
      expect(alone).not.toBe(Buffer.from(KEY).toString('base64url').slice(0, alone.length));
    });

    it('refuses a key given twice, as a string or as its bytes', () => {
      expect(refusal({ encryptionKey: [KEY, KEY] }).option).toBe('mfaFlow.encryptionKey');
      expect(refusal({ encryptionKey: [KEY, OTHER_KEY, Buffer.from(KEY, 'utf8')] }).option).toBe('mfaFlow.encryptionKey');
    });
  });

  describe('issuer', () => {
    it.each<[string, unknown]>([
      ['empty', ''],
      ['with a colon', 'Acme:Corp'],
      ['over 64 characters', 'a'.repeat(65)],
      ['a number', 42],
    ])('refuses one %s', (_label, issuer) => {
      expect(refusal({ encryptionKey: KEY, issuer }).option).toBe('mfaFlow.issuer');
    });

    it('takes one of 64 characters', () => {
      expect(resolveMfaFlowConfig({ encryptionKey: KEY, issuer: 'a'.repeat(64) }).issuer).toBe('a'.repeat(64));
    });
  });

  describe('numbers', () => {
    it.each<[string, Partial<MfaFlowOptions> | Record<string, unknown>, string]>([
      ['recoveryCodes 0', { recoveryCodes: 0 }, 'mfaFlow.recoveryCodes'],
      ['recoveryCodes over the most', { recoveryCodes: MAX_RECOVERY_CODES + 1 }, 'mfaFlow.recoveryCodes'],
      ['recoveryCodes 1.5', { recoveryCodes: 1.5 }, 'mfaFlow.recoveryCodes'],
      ['recoveryCodes as a string', { recoveryCodes: '10' }, 'mfaFlow.recoveryCodes'],
      ['recoveryCodes NaN', { recoveryCodes: Number.NaN }, 'mfaFlow.recoveryCodes'],
      ['setupTtlSeconds 59', { setupTtlSeconds: 59 }, 'mfaFlow.setupTtlSeconds'],
      ['setupTtlSeconds over a day', { setupTtlSeconds: 86_401 }, 'mfaFlow.setupTtlSeconds'],
      ['loginTokenTtlSeconds 29', { loginTokenTtlSeconds: 29 }, 'mfaFlow.loginTokenTtlSeconds'],
      ['loginTokenTtlSeconds over an hour', { loginTokenTtlSeconds: 3601 }, 'mfaFlow.loginTokenTtlSeconds'],
      ['loginTokenTtlSeconds Infinity', { loginTokenTtlSeconds: Number.POSITIVE_INFINITY }, 'mfaFlow.loginTokenTtlSeconds'],
      ['throttle.maxFailures 0', { throttle: { maxFailures: 0 } }, 'mfaFlow.throttle.maxFailures'],
      ['throttle.maxFailures 101', { throttle: { maxFailures: 101 } }, 'mfaFlow.throttle.maxFailures'],
      ['throttle.windowSeconds 0', { throttle: { windowSeconds: 0 } }, 'mfaFlow.throttle.windowSeconds'],
      ['throttle.windowSeconds over a day', { throttle: { windowSeconds: 86_401 } }, 'mfaFlow.throttle.windowSeconds'],
      ['throttle as a number', { throttle: 5 }, 'mfaFlow.throttle'],
    ])('refuses %s', (_label, options, option) => {
      const error = refusal({ encryptionKey: KEY, ...options });
      expect(error.option).toBe(option);
      expect(error.message).toContain(`"${option}"`);
    });

    it('takes the bounds', () => {
      expect(() =>
        resolveMfaFlowConfig({
          encryptionKey: KEY,
          recoveryCodes: 1,
          setupTtlSeconds: 86_400,
          loginTokenTtlSeconds: 30,
          throttle: { maxFailures: 1, windowSeconds: 86_400 },
        }),
      ).not.toThrow();
    });
  });

  describe('store', () => {
    it('takes an MfaStore or a factory making one', () => {
      expect(() => resolveMfaFlowConfig({ encryptionKey: KEY, store: new InMemoryMfaStore() })).not.toThrow();
      expect(() => resolveMfaFlowConfig({ encryptionKey: KEY, store: { useFactory: () => new InMemoryMfaStore() } })).not.toThrow();
      expect(() =>
        resolveMfaFlowConfig({ encryptionKey: KEY, store: { useFactory: () => new InMemoryMfaStore(), inject: [] } }),
      ).not.toThrow();
    });

    it.each<[string, unknown]>([
      ['an empty object', {}],
      ['an object shaped like a store', { find: async () => null }],
      ['a factory whose useFactory is not a function', { useFactory: 1 }],
      ['a function', () => new InMemoryMfaStore()],
      ['a string', 'redis://localhost'],
      ['null', null],
    ])('refuses %s', (_label, store) => {
      expect(refusal({ encryptionKey: KEY, store }).option).toBe('mfaFlow.store');
    });
  });
});
