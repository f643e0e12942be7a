import { randomBytes } from 'node:crypto';

// Crockford's base32: no i, l, o or u, so a code read aloud or copied by hand is not misread.
const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';
const LENGTH = 10;
const SHAPE = /^[0-9a-hjkmnp-tv-z]{10}$/;

/** `count` new recovery codes: 50 random bits each, shown as `xxxxx-xxxxx`. */
export function newRecoveryCodes(count: number): string[] {
  return Array.from({ length: count }, () => {
    const bytes = randomBytes(LENGTH);
    let code = '';
    for (const byte of bytes) code += ALPHABET[byte & 31];
    return `${code.slice(0, 5)}-${code.slice(5)}`;
  });
}

/**
 * A recovery code as typed, in the one form it is digested in: case, dashes and spaces ignored,
 * `i`/`l` read as `1` and `o` as `0` (Crockford). `null` when it cannot be one.
 */
export function normalizeRecoveryCode(input: string): string | null {
  const code = input.toLowerCase().replace(/[\s-]/g, '').replace(/[il]/g, '1').replace(/o/g, '0');
  return SHAPE.test(code) ? code : null;
}

/** Whether `input` is shaped like a TOTP code (six digits, spaces allowed: `123 456`). */
export function totpCodeOf(input: string): string | null {
  const code = input.replace(/\s/g, '');
  return /^\d{6}$/.test(code) ? code : null;
}
