import { describe, expect, it } from '@jest/globals';
import { CredentialPolicyError } from '../auth.errors.js';
import {
  codePointLength,
  CredentialPolicy,
  isCommonPassword,
  DEFAULT_PASSWORD_POLICY,
  PASSWORD_INPUT_MAX_LENGTH,
  USERNAME_MAX_LENGTH,
  USERNAME_MIN_LENGTH,
} from './credential-policy.js';

const GRINNING = '\u{1F600}'; // one code point, two UTF-16 units

describe('codePointLength', () => {
  it('counts ASCII characters', () => {
    expect(codePointLength('')).toBe(0);
    expect(codePointLength('abc')).toBe(3);
  });

  it('counts an astral character (surrogate pair) as one', () => {
    expect(GRINNING.length).toBe(2);
    expect(codePointLength(GRINNING)).toBe(1);
    expect(codePointLength(`a${GRINNING}b${GRINNING}`)).toBe(4);
  });

  it('agrees with the string iterator on mixed text', () => {
    const text = `h\u00e9llo ${GRINNING}\u{1F680} \u4e16\u754c e\u0301`;
    expect(codePointLength(text)).toBe([...text].length);
  });

  it('counts lone surrogates as one code point each', () => {
    expect(codePointLength('\ud83d')).toBe(1);
    expect(codePointLength('\ude00')).toBe(1);
    expect(codePointLength('\ude00\ud83d')).toBe(2);
    expect(codePointLength('a\ud83d')).toBe(2);
  });

  it('counts a combining mark as its own code point', () => {
    expect(codePointLength('e\u0301')).toBe(2);
    expect(codePointLength('\u00e9')).toBe(1);
  });
});

describe('CredentialPolicy', () => {
  const policy = new CredentialPolicy();

  it('uses the documented defaults', () => {
    expect(DEFAULT_PASSWORD_POLICY).toEqual({ minLength: 8, maxLength: 128, blockCommonPasswords: true });
    expect(policy.password).toEqual({ minLength: 8, maxLength: 128, blockCommonPasswords: true });
    expect(USERNAME_MIN_LENGTH).toBe(3);
    expect(USERNAME_MAX_LENGTH).toBe(64);
    expect(PASSWORD_INPUT_MAX_LENGTH).toBe(1024);
  });

  describe('checkPassword (default policy)', () => {
    it('refuses 7 characters and accepts 8', () => {
      expect(policy.checkPassword('1234567')).toBe('password must be at least 8 characters');
      expect(policy.checkPassword('k9vQ2xLm')).toBeNull();
    });

    it('accepts 128 characters and refuses 129', () => {
      expect(policy.checkPassword('a'.repeat(128))).toBeNull();
      expect(policy.checkPassword('a'.repeat(129))).toBe('password must be at most 128 characters');
    });

    it('counts code points, not UTF-16 units: 8 emoji pass the minimum', () => {
      const password = GRINNING.repeat(8);
      expect(password.length).toBe(16);
      expect(policy.checkPassword(password)).toBeNull();
    });

    it('counts code points, not UTF-16 units: 4 emoji (8 units) fail the minimum', () => {
      const password = GRINNING.repeat(4);
      expect(password.length).toBe(8);
      expect(policy.checkPassword(password)).toMatch(/at least 8/);
    });

    it('128 astral code points pass the maximum, 129 fail it', () => {
      expect(policy.checkPassword(GRINNING.repeat(128))).toBeNull();
      expect(policy.checkPassword(GRINNING.repeat(129))).toBe('password must be at most 128 characters');
    });

    it('counts a decomposed character once (after NFC)', () => {
      // 7 x "é" written as e + combining acute: 14 code points raw, 7 after NFC.
      expect(policy.checkPassword('e\u0301'.repeat(7))).toMatch(/at least 8/);
      expect(policy.checkPassword('e\u0301'.repeat(8))).toBeNull();
    });

    it.each([undefined, null, 12345678, ['12345678'], { length: 8 }])('refuses a non-string password (%p)', (value) => {
      expect(policy.checkPassword(value)).toBe('password must be a string');
    });
  });

  describe('custom password policy', () => {
    const strict = new CredentialPolicy({ minLength: 12, maxLength: 20 });

    it('applies its own bounds', () => {
      expect(strict.checkPassword('a'.repeat(11))).toBe('password must be at least 12 characters');
      expect(strict.checkPassword('a'.repeat(12))).toBeNull();
      expect(strict.checkPassword('a'.repeat(20))).toBeNull();
      expect(strict.checkPassword('a'.repeat(21))).toBe('password must be at most 20 characters');
    });

    it('allows a short minimum', () => {
      const lax = new CredentialPolicy({ minLength: 1, maxLength: 4 });
      expect(lax.checkPassword('')).toMatch(/at least 1/);
      expect(lax.checkPassword('x')).toBeNull();
      expect(lax.checkPassword('xxxxx')).toMatch(/at most 4/);
    });
  });

  describe('checkUsername', () => {
    it('accepts 3 to 64 code points', () => {
      expect(policy.checkUsername('ab')).toBe('username must be 3 to 64 characters');
      expect(policy.checkUsername('abc')).toBeNull();
      expect(policy.checkUsername('a'.repeat(64))).toBeNull();
      expect(policy.checkUsername('a'.repeat(65))).toBe('username must be 3 to 64 characters');
      expect(policy.checkUsername('')).toBe('username must be 3 to 64 characters');
    });

    it('counts code points of the NFC form', () => {
      // "jo" + "é" decomposed is 4 code points raw, 3 after NFC.
      expect(policy.checkUsername('joe\u0301')).toBeNull();
      // 64 x decomposed "é" is 128 code points raw, 64 after NFC.
      expect(policy.checkUsername('e\u0301'.repeat(64))).toBeNull();
      expect(policy.checkUsername('e\u0301'.repeat(65))).toMatch(/3 to 64/);
    });

    it.each([
      'alice',
      'Bob_99',
      'first.last',
      'user@example.com',
      'a+tag',
      'kebab-case',
      'Jos\u00e9',
      '\u5f20\u4f1f\u660e',
      '\u0417\u043e\u044f',
      '\u0661\u0662\u0663',
    ])('accepts letters, digits and . _ @ + - (%s)', (username) => {
      expect(policy.checkUsername(username)).toBeNull();
    });

    it.each([
      'with space',
      'semi;colon',
      'slash/name',
      'quote"d',
      'tab\tname',
      'new\nline',
      `smile${GRINNING}`,
      'null\u0000byte',
      '<script>',
      'a#b',
    ])('refuses other characters (%j)', (username) => {
      expect(policy.checkUsername(username)).toBe('username may contain only letters, digits and . _ @ + -');
    });

    it.each([undefined, null, 123, ['alice'], { username: 'alice' }])('refuses a non-string username (%p)', (value) => {
      expect(policy.checkUsername(value)).toBe('username must be a string');
    });
  });

  describe('check', () => {
    it('returns null for an acceptable pair', () => {
      expect(policy.check('alice', 'correct horse')).toBeNull();
    });

    it('reports the username first, then the password', () => {
      expect(policy.check('a', 'short')).toMatch(/^username/);
      expect(policy.check('alice', 'short')).toMatch(/^password/);
    });
  });

  describe('assert', () => {
    it('does not throw for an acceptable pair', () => {
      expect(() => policy.assert('alice', 'correct horse')).not.toThrow();
    });

    it('throws CredentialPolicyError naming the username', () => {
      let caught: unknown;
      try {
        policy.assert('a b', 'correct horse');
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(CredentialPolicyError);
      expect((caught as CredentialPolicyError).field).toBe('username');
      expect((caught as CredentialPolicyError).message).toBe('username may contain only letters, digits and . _ @ + -');
      expect((caught as CredentialPolicyError).name).toBe('CredentialPolicyError');
    });

    it('throws CredentialPolicyError naming the password', () => {
      let caught: unknown;
      try {
        policy.assert('alice', 'short');
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(CredentialPolicyError);
      expect((caught as CredentialPolicyError).field).toBe('password');
      expect((caught as CredentialPolicyError).message).toBe('password must be at least 8 characters');
    });
  });
});

describe('CredentialPolicy: guessable passwords (ASVS 6.2.4)', () => {
  const policy = new CredentialPolicy();

  it.each(['password', 'Password1', 'qwertyuiop', 'iloveyou', '12345678', 'PASSWORD'])('refuses the common password %p', (password) => {
    expect(policy.checkPassword(password)).toMatch(/too common/);
    expect(isCommonPassword(password)).toBe(true);
  });

  it('refuses a password equal to or containing the username, in any case', () => {
    expect(policy.checkPassword('alice.smith', 'alice.smith')).toMatch(/username/);
    expect(policy.checkPassword('xxALICE.SMITHxx', 'alice.smith')).toMatch(/username/);
    expect(policy.check('alice.smith', 'my-alice.smith-pw')).toMatch(/username/);
    expect(() => policy.assert('alice.smith', 'alice.smith99')).toThrow(/username/);
  });

  it('accepts an uncommon passphrase, and the list can be turned off', () => {
    expect(policy.checkPassword('violet lantern orbit 42')).toBeNull();
    expect(new CredentialPolicy({ blockCommonPasswords: false }).checkPassword('password')).toBeNull();
  });
});
