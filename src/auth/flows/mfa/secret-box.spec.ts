import { describe, expect, it } from '@jest/globals';
import { SecretBox } from './secret-box.js';

const OLD = { id: 'k2025', key: 'an-old-key-of-at-least-thirty-two-bytes!!' };
const NEW = { id: 'k2026', key: Buffer.alloc(32, 7) };

describe('SecretBox', () => {
  it('seals and opens, bound to its context, never showing the plaintext', () => {
    const box = new SecretBox([NEW], 'totp');
    const sealed = box.seal('JBSWY3DPEHPK3PXP', 'user-1');
    expect(sealed).toMatch(/^v1\.k2026\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{22}$/);
    expect(sealed).not.toContain('JBSWY3DPEHPK3PXP');
    expect(box.seal('JBSWY3DPEHPK3PXP', 'user-1')).not.toBe(sealed);
    expect(box.open(sealed, 'user-1')).toBe('JBSWY3DPEHPK3PXP');
    // Copied to another account's row, it does not open.
    expect(box.open(sealed, 'user-2')).toBeNull();
  });

  it('refuses tampered, truncated, foreign and malformed values with null', () => {
    const box = new SecretBox([NEW], 'totp');
    const sealed = box.seal('secret', 'u');
    const parts = sealed.split('.');
    const flip = (part: string): string => (part[0] === 'A' ? `B${part.slice(1)}` : `A${part.slice(1)}`);
    for (const bad of [
      [parts[0], parts[1], parts[2], flip(parts[3]!), parts[4]].join('.'),
      [parts[0], parts[1], parts[2], parts[3], flip(parts[4]!)].join('.'),
      [parts[0], parts[1], flip(parts[2]!), parts[3], parts[4]].join('.'),
      [parts[0], 'unknown', parts[2], parts[3], parts[4]].join('.'),
      ['v2', ...parts.slice(1)].join('.'),
      parts.slice(0, 4).join('.'),
      '',
      'v1....',
    ]) {
      expect(box.open(bad, 'u')).toBeNull();
    }
    // Another purpose derives another key from the same material.
    expect(new SecretBox([NEW], 'oauth-tokens').open(sealed, 'u')).toBeNull();
  });

  it('rotates: the first key seals, every key opens its own values', () => {
    const before = new SecretBox([OLD], 'totp');
    const sealedBefore = before.seal('s1', 'u');
    const after = new SecretBox([NEW, OLD], 'totp');
    expect(after.currentKeyId).toBe('k2026');
    expect(after.open(sealedBefore, 'u')).toBe('s1');
    expect(after.needsReseal(sealedBefore)).toBe(true);
    const resealed = after.seal('s1', 'u');
    expect(after.needsReseal(resealed)).toBe(false);
    expect(new SecretBox([NEW], 'totp').open(resealed, 'u')).toBe('s1');
    expect(new SecretBox([NEW], 'totp').open(sealedBefore, 'u')).toBeNull();
  });

  it.each([
    ['no keys', []],
    ['a short key', [{ id: 'k', key: 'too short' }]],
    ['a bad id', [{ id: 'bad id', key: Buffer.alloc(32) }]],
    ['a repeated id', [NEW, { ...NEW }]],
  ])('refuses %s', (_label, keys) => {
    expect(() => new SecretBox(keys as never, 'totp')).toThrow(TypeError);
  });
});

describe('SecretBox digests', () => {
  const current = { id: 'new', key: 'n'.repeat(32) };
  const old = { id: 'old', key: 'o'.repeat(32) };

  it('digests under the current key, bound to the context, and says which key', () => {
    const box = new SecretBox([current, old], 'recovery-codes');
    const digest = box.digest('abcde-fghij', 'user-1');
    expect(digest.startsWith('new.')).toBe(true);
    expect(box.digest('abcde-fghij', 'user-1')).toBe(digest);
    expect(box.digest('abcde-fghij', 'user-2')).not.toBe(digest);
    expect(box.digest('abcde-fghik', 'user-1')).not.toBe(digest);
  });

  it('after a rotation, finds a digest made under the older key among its digests', () => {
    const before = new SecretBox([old], 'recovery-codes').digest('code', 'user-1');
    const after = new SecretBox([current, old], 'recovery-codes');
    expect(after.digests('code', 'user-1')).toEqual([after.digest('code', 'user-1'), before]);
  });

  it('keeps digest keys apart from sealing keys and from other purposes', () => {
    const codes = new SecretBox([current], 'recovery-codes');
    const other = new SecretBox([current], 'totp');
    expect(other.digest('code', 'user-1')).not.toBe(codes.digest('code', 'user-1'));
  });
});
