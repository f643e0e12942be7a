import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { algorithmOf, kidFromFileName, shownPath } from './key-files.js';

describe('key files', () => {
  it.each([
    ['keys/2026-11.private.pem', '2026-11'],
    ['/etc/app/2026-11.public.pem', '2026-11'],
    ['keys/2026-10.pub.pem', '2026-10'],
    ['ed-2026-11.pem', 'ed-2026-11'],
    ['v2.PEM', 'v2'],
    ['keys/signing key.pem', undefined],
    ['keys/.pem', undefined],
  ])('takes the kid of %s as %s', (path, kid) => {
    expect(kidFromFileName(path)).toBe(kid);
  });

  it('maps key types to the algorithm the keys option uses them with, and no other curve', () => {
    expect(algorithmOf(generateKeyPairSync('ed25519').publicKey)).toBe('EdDSA');
    expect(algorithmOf(generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey)).toBe('ES256');
    expect(algorithmOf(generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey)).toBe('RS256');
    expect(algorithmOf(generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey)).toBeUndefined();
    expect(algorithmOf(generateKeyPairSync('x25519').publicKey)).toBeUndefined();
  });

  it('shows paths relative to the working directory when inside it', () => {
    expect(shownPath('/srv/app', '/srv/app/keys/k1.private.pem')).toBe('keys/k1.private.pem');
    expect(shownPath('/srv/app', '/srv/app')).toBe('.');
    expect(shownPath('/srv/app', '/etc/keys/k1.pem')).toBe('/etc/keys/k1.pem');
  });
});
