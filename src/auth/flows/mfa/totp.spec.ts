import { describe, expect, it } from '@jest/globals';
import { Totp } from './totp.js';

// RFC 6238 appendix B: the SHA-1 seed "12345678901234567890" (ASCII), in base32.
const RFC_SECRET = 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ';
const RFC_SHA1_VECTORS: Array<[number, string]> = [
  [59, '94287082'],
  [1_111_111_109, '07081804'],
  [1_111_111_111, '14050471'],
  [1_234_567_890, '89005924'],
  [2_000_000_000, '69279037'],
  [20_000_000_000, '65353130'],
];

describe('Totp', () => {
  const totp = new Totp();

  it.each(RFC_SHA1_VECTORS)('matches RFC 6238 at T=%d (8 digits: %s)', async (seconds, expected) => {
    expect(await totp.code(RFC_SECRET, seconds * 1000, 8)).toBe(expected);
    // Six digits are the last six of the eight (the same value, mod 10^6).
    expect(await totp.code(RFC_SECRET, seconds * 1000)).toBe(expected.slice(2));
    expect(await totp.matchingStep(RFC_SECRET, expected.slice(2), seconds * 1000)).toBe(Math.floor(seconds / 30));
  });

  it('accepts one step of drift either way, and no more', async () => {
    const secret = totp.newSecret();
    const now = Date.UTC(2030, 0, 1, 12, 0, 15);
    const step = Math.floor(now / 30_000);
    for (const offset of [-1, 0, 1]) {
      const code = await totp.code(secret, now + offset * 30_000);
      expect(await totp.matchingStep(secret, code, now)).toBe(step + offset);
    }
    for (const offset of [-3, 3]) {
      const code = await totp.code(secret, now + offset * 30_000);
      // A code of another step can collide by chance (1 in 10^6 per step): compare with the ones in the window.
      const window = await Promise.all([-1, 0, 1].map((o) => totp.code(secret, now + o * 30_000)));
      if (!window.includes(code)) expect(await totp.matchingStep(secret, code, now)).toBeNull();
    }
  });

  it('refuses a code of a step at or before afterTimeStep (replay)', async () => {
    const secret = totp.newSecret();
    const now = Date.UTC(2030, 0, 1, 12, 0, 15);
    const code = await totp.code(secret, now);
    const step = await totp.matchingStep(secret, code, now);
    expect(step).not.toBeNull();
    expect(await totp.matchingStep(secret, code, now, step!)).toBeNull();
    expect(await totp.matchingStep(secret, code, now, step! - 1)).toBe(step);
  });

  it('answers null for codes of any other shape without throwing', async () => {
    const secret = totp.newSecret();
    for (const code of ['', '12345', '1234567', '12345a', ' 123456', '１２３４５６', 123456, null, undefined, {}]) {
      expect(await totp.matchingStep(secret, code, Date.now())).toBeNull();
    }
  });

  it('reads base32 secrets as people type them: lower case, without padding, and refuses other characters', async () => {
    const now = 1_111_111_109 * 1000;
    expect(await totp.code(RFC_SECRET.toLowerCase(), now)).toBe('081804');
    expect(await totp.code('GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ====', now)).toBe('081804');
    await expect(totp.code('GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJ!', now)).rejects.toThrow();
  });

  it('makes 160-bit base32 secrets, an otpauth URL with issuer and account, and an SVG QR code', async () => {
    const secret = totp.newSecret();
    expect(secret).toMatch(/^[A-Z2-7]{32}$/);
    // 32 base32 characters are 160 bits: the secret decodes to 20 bytes, the same code either way.
    expect(await totp.code(secret, 0)).toBe(await totp.code(secret.toLowerCase(), 0));
    expect(totp.newSecret()).not.toBe(secret);
    const uri = totp.uri(secret, 'Acme Corp', 'alice@example.com');
    const url = new URL(uri);
    expect(url.protocol).toBe('otpauth:');
    expect(url.searchParams.get('secret')).toBe(secret);
    expect(url.searchParams.get('issuer')).toBe('Acme Corp');
    expect(decodeURIComponent(url.pathname)).toContain('alice@example.com');
    const svg = await totp.qrCodeSvg(uri);
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('</svg>');
  });
});
