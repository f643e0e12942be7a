import { describe, expect, it } from '@jest/globals';
import { newRecoveryCodes, normalizeRecoveryCode, totpCodeOf } from './recovery-codes.js';

const CROCKFORD = '0123456789abcdefghjkmnpqrstvwxyz';
const SHAPE = /^[0-9a-hjkmnp-tv-z]{5}-[0-9a-hjkmnp-tv-z]{5}$/;

describe('newRecoveryCodes', () => {
  it('makes as many codes as asked', () => {
    expect(newRecoveryCodes(0)).toEqual([]);
    expect(newRecoveryCodes(1)).toHaveLength(1);
    expect(newRecoveryCodes(10)).toHaveLength(10);
    expect(newRecoveryCodes(32)).toHaveLength(32);
  });

  it('shapes each as xxxxx-xxxxx over Crockford base32, without i, l, o or u', () => {
    for (const code of newRecoveryCodes(200)) {
      expect(code).toMatch(SHAPE);
      expect(code).not.toMatch(/[ilou]/);
    }
  });

  it('draws on the whole alphabet', () => {
    const seen = new Set(newRecoveryCodes(500).join('').replace(/-/g, ''));
    expect([...seen].sort().join('')).toBe(CROCKFORD);
  });

  it('makes distinct codes, within a set and across sets', () => {
    const codes = [...newRecoveryCodes(500), ...newRecoveryCodes(500)];
    expect(new Set(codes).size).toBe(codes.length);
  });

  it('makes codes that normalize to themselves without the dash', () => {
    for (const code of newRecoveryCodes(20)) expect(normalizeRecoveryCode(code)).toBe(code.replace('-', ''));
  });
});

describe('normalizeRecoveryCode', () => {
  it.each([
    ['abcde-fghjk', 'abcdefghjk'],
    ['ABCDE-FGHJK', 'abcdefghjk'],
    ['AbCdE-fGhJk', 'abcdefghjk'],
    ['abcdefghjk', 'abcdefghjk'],
    ['abcde fghjk', 'abcdefghjk'],
    ['  abcde - fghjk  ', 'abcdefghjk'],
    ['ab-cd-ef-gh-jk', 'abcdefghjk'],
    ['abcde\tfghjk\n', 'abcdefghjk'],
    ['iIlLo-OabcD', '111100abcd'],
    ['01234-56789', '0123456789'],
    ['vwxyz-pqrst', 'vwxyzpqrst'],
  ])('reads %j as %j', (input, expected) => {
    expect(normalizeRecoveryCode(input)).toBe(expected);
  });

  it.each([
    ['empty', ''],
    ['nine characters', 'abcde-fghj'],
    ['eleven characters', 'abcde-fghjkm'],
    ['only dashes and spaces', '----- -----'],
    ['a u', 'abcde-fghju'],
    ['a capital U', 'ABCDE-FGHJU'],
    ['punctuation', 'abcde_fghjk'],
    ['a dot', 'abcde.fghjk'],
    ['a letter outside Latin', 'abcde-fghjé'],
    ['twenty characters', 'abcde-fghjk-abcde-fghjk'],
  ])('refuses %s', (_label, input) => {
    expect(normalizeRecoveryCode(input)).toBeNull();
  });
});

describe('totpCodeOf', () => {
  it.each([
    ['123456', '123456'],
    ['000000', '000000'],
    ['123 456', '123456'],
    [' 123456 ', '123456'],
    ['1 2 3 4 5 6', '123456'],
    ['123\t456\n', '123456'],
  ])('reads %j as %j', (input, expected) => {
    expect(totpCodeOf(input)).toBe(expected);
  });

  it.each([
    ['empty', ''],
    ['five digits', '12345'],
    ['seven digits', '1234567'],
    ['a letter', '12345a'],
    ['a dash', '123-456'],
    ['a sign', '+12345'],
    ['a decimal point', '1234.5'],
    ['non-ASCII digits', '١٢٣٤٥٦'],
    ['a recovery code', 'abcde-fghjk'],
  ])('refuses %s', (_label, input) => {
    expect(totpCodeOf(input)).toBeNull();
  });
});
