import { createHash } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { Argon2PasswordHasher, OWASP_ARGON2ID, PasswordHasher } from './password-hasher.js';

const sha256hex = (value: string): string => createHash('sha256').update(value, 'utf8').digest('hex');

// Written by the `argon2` package (node-argon2 0.45, m=4096 t=1 p=1) for 'written by node-argon2':
// it orders the parameters m,p,t. Apps moving over from it keep such hashes in their user table.
const NODE_ARGON2 = {
  argon2id: '$argon2id$v=19$m=4096,p=1,t=1$P9PxcClBo+nJemO5mOVzkA$l1ibZkDiztAx8izyrnnjiSksWG1PSAhEZYsifWRudVU',
  argon2i: '$argon2i$v=19$m=4096,p=1,t=1$Y+PZKv0wwUkRUqfRkFkq/A$xi2qlGFQURsrudlsb1RrZ7fcfRvAqmqaSJDCYRsQ1ic',
  argon2d: '$argon2d$v=19$m=4096,p=1,t=1$TFd6i0pt3vhK86JfhGrGLQ$D9+slMSQC70nNfhJ8B7F6N45qT9JfsQ+noiL3qNeXXE',
  // with the pepper 'a-pepper-kept-outside-the-user-store!'
  peppered: '$argon2id$v=19$m=4096,p=1,t=1$XQsMW1bfaxkbU9M4LzH9Bg$W6umjLblVslhpSAVY2syGcjlA/IQws1AbnzgJOCgHKE',
};

describe('Argon2PasswordHasher', () => {
  const hasher = new Argon2PasswordHasher();

  it('is a PasswordHasher', () => {
    expect(hasher).toBeInstanceOf(PasswordHasher);
  });

  it('defaults to the OWASP argon2id minimum', () => {
    expect(OWASP_ARGON2ID).toEqual({ memoryCostKiB: 19456, timeCost: 2, parallelism: 1 });
  });

  describe('argon2id hashes', () => {
    it('produces a PHC string with argon2id at the OWASP parameters', async () => {
      const hash = await hasher.hash('correct horse battery');
      expect(hash).toContain('$argon2id$v=19$m=19456,t=2,p=1$');
      expect(hash.startsWith('$argon2id$')).toBe(true);
      expect(hash).not.toContain('correct horse battery');
    });

    it('salts: the same password hashes differently each time', async () => {
      const [a, b] = await Promise.all([hasher.hash('same password'), hasher.hash('same password')]);
      expect(a).not.toBe(b);
    });

    it('verifies the right password without asking for a rehash', async () => {
      const hash = await hasher.hash('correct horse battery');
      expect(await hasher.verify(hash, 'correct horse battery')).toEqual({ valid: true, needsRehash: false });
    });

    it('refuses a wrong password', async () => {
      const hash = await hasher.hash('correct horse battery');
      expect(await hasher.verify(hash, 'correct horse batterY')).toEqual({ valid: false, needsRehash: false });
      expect(await hasher.verify(hash, '')).toEqual({ valid: false, needsRehash: false });
    });

    it('honours custom parameters in the hash it writes', async () => {
      const weak = new Argon2PasswordHasher({ memoryCostKiB: 4096, timeCost: 1 });
      const hash = await weak.hash('pw-with-params');
      const params = hash.split('$')[3]!.split(',').sort();
      expect(params).toEqual(['m=4096', 'p=1', 't=1']);
      expect(await weak.verify(hash, 'pw-with-params')).toEqual({ valid: true, needsRehash: false });
    });

    it('verifies hashes written by the argon2 package (m,p,t order), with and without a pepper', async () => {
      const weak = new Argon2PasswordHasher({ memoryCostKiB: 4096, timeCost: 1 });
      expect(await weak.verify(NODE_ARGON2.argon2id, 'written by node-argon2')).toEqual({ valid: true, needsRehash: false });
      expect((await weak.verify(NODE_ARGON2.argon2id, 'written by node-argon3')).valid).toBe(false);
      expect(await hasher.verify(NODE_ARGON2.argon2id, 'written by node-argon2')).toEqual({ valid: true, needsRehash: true });
      const peppered = new Argon2PasswordHasher({ memoryCostKiB: 4096, timeCost: 1, pepper: 'a-pepper-kept-outside-the-user-store!' });
      expect((await peppered.verify(NODE_ARGON2.peppered, 'written by node-argon2')).valid).toBe(true);
      expect((await weak.verify(NODE_ARGON2.peppered, 'written by node-argon2')).valid).toBe(false);
    });
  });

  describe('outdated argon2 hashes', () => {
    it('verifies a hash with weaker parameters and asks for a rehash', async () => {
      const weakHash = await new Argon2PasswordHasher({ memoryCostKiB: 4096, timeCost: 1 }).hash('upgrade me please');
      expect(await hasher.verify(weakHash, 'upgrade me please')).toEqual({ valid: true, needsRehash: true });
    });

    it('does not ask for a rehash when the password is wrong', async () => {
      const weakHash = await new Argon2PasswordHasher({ memoryCostKiB: 4096, timeCost: 1 }).hash('upgrade me please');
      expect(await hasher.verify(weakHash, 'not the password')).toEqual({ valid: false, needsRehash: false });
    });

    it.each(['argon2i', 'argon2d'] as const)('verifies an %s hash and asks for a rehash to argon2id', async (name) => {
      const weak = new Argon2PasswordHasher({ memoryCostKiB: 4096, timeCost: 1 });
      expect(await weak.verify(NODE_ARGON2[name], 'written by node-argon2')).toEqual({ valid: true, needsRehash: true });
      expect((await weak.verify(NODE_ARGON2[name], 'written by node-argon3')).valid).toBe(false);
    });
  });

  describe('legacy unsalted SHA-256 hashes', () => {
    it('verifies the right password and asks for a rehash', async () => {
      expect(await hasher.verify(sha256hex('legacy password'), 'legacy password')).toEqual({ valid: true, needsRehash: true });
    });

    it('refuses a wrong password', async () => {
      const result = await hasher.verify(sha256hex('legacy password'), 'legacy passwore');
      expect(result.valid).toBe(false);
    });

    it('accepts an upper-case hex digest', async () => {
      const digest = sha256hex('Legacy Upper').toUpperCase();
      expect(digest).toMatch(/^[0-9A-F]{64}$/);
      expect(await hasher.verify(digest, 'Legacy Upper')).toEqual({ valid: true, needsRehash: true });
      expect((await hasher.verify(digest, 'legacy upper')).valid).toBe(false);
    });

    it('accepts a legacy digest of either Unicode normal form of the password', async () => {
      const nfc = 'caf\u00e9 au lait';
      const nfd = 'cafe\u0301 au lait';
      expect((await hasher.verify(sha256hex(nfc), nfd)).valid).toBe(true);
      expect((await hasher.verify(sha256hex(nfd), nfd)).valid).toBe(true);
      expect((await hasher.verify(sha256hex(nfc), nfc)).valid).toBe(true);
    });

    it('does not treat a 63- or 65-digit hex string as a legacy digest', async () => {
      const digest = sha256hex('legacy password');
      expect((await hasher.verify(digest.slice(1), 'legacy password')).valid).toBe(false);
      expect((await hasher.verify(`${digest}0`, 'legacy password')).valid).toBe(false);
    });
  });

  describe('Unicode normalisation', () => {
    const nfc = 'p\u00e4ssw\u00f6rd-\u00e9t\u00e9';
    const nfd = nfc.normalize('NFD');

    it('the test strings really differ', () => {
      expect(nfc).not.toBe(nfd);
      expect(nfc.normalize('NFC')).toBe(nfd.normalize('NFC'));
    });

    it('verifies the NFD form against a hash of the NFC form', async () => {
      const hash = await hasher.hash(nfc);
      expect((await hasher.verify(hash, nfd)).valid).toBe(true);
      expect((await hasher.verify(hash, nfc)).valid).toBe(true);
    });

    it('verifies the NFC form against a hash of the NFD form', async () => {
      const hash = await hasher.hash(nfd);
      expect((await hasher.verify(hash, nfc)).valid).toBe(true);
      expect((await hasher.verify(hash, nfd)).valid).toBe(true);
    });
  });

  describe('malformed hashes', () => {
    it.each([
      '',
      '$argon2id$garbage',
      'xyz',
      '$argon2id$v=19$m=19456,t=2,p=1$',
      '$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$',
      '$2b$10$abcdefghijklmnopqrstuv',
    ])('says valid false for %j without throwing', async (hash) => {
      await expect(hasher.verify(hash, 'any password')).resolves.toEqual({ valid: false, needsRehash: false });
    });
  });
});

describe('Argon2PasswordHasher rehash policy', () => {
  it('keeps a hash made with stronger parameters than configured', async () => {
    const strong = await new Argon2PasswordHasher({ memoryCostKiB: 32768, timeCost: 3 }).hash('stronger password');
    expect(await new Argon2PasswordHasher().verify(strong, 'stronger password')).toEqual({ valid: true, needsRehash: false });
  });
});

describe('Argon2PasswordHasher pepper', () => {
  const pepper = 'a-pepper-kept-outside-the-user-store!';

  it('verifies only with the same pepper', async () => {
    const peppered = new Argon2PasswordHasher({ pepper, memoryCostKiB: 4096, timeCost: 1 });
    const hash = await peppered.hash('peppered password');
    expect((await peppered.verify(hash, 'peppered password')).valid).toBe(true);
    expect((await new Argon2PasswordHasher({ memoryCostKiB: 4096, timeCost: 1 }).verify(hash, 'peppered password')).valid).toBe(false);
    const other = new Argon2PasswordHasher({ pepper: `${pepper}-other`, memoryCostKiB: 4096, timeCost: 1 });
    expect((await other.verify(hash, 'peppered password')).valid).toBe(false);
  });

  it('refuses a pepper under 32 bytes', () => {
    expect(() => new Argon2PasswordHasher({ pepper: 'short' })).toThrow(/pepper/);
  });
});
