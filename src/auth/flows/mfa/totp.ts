import { generateSecret, type Base32Plugin } from '@otplib/core';
import { NodeCryptoPlugin } from '@otplib/plugin-crypto-node';
import { generate, verify } from '@otplib/totp';
import { generateTOTP } from '@otplib/uri';
import QRCode from 'qrcode';
import { base32 } from 'rfc4648';

/** RFC 6238 as authenticator apps expect it: SHA-1, 6 digits, 30-second steps. */
export const TOTP_PERIOD_SECONDS = 30;
export const TOTP_DIGITS = 6;

/**
 * otplib's base32 seam on `rfc4648` (RFC 4648 section 6). otplib's own plugin sits on
 * `@scure/base`, which ships as ES modules only; a CommonJS host's Jest (the Nest starter's)
 * cannot load that, so the package carries a CommonJS base32 instead. Decoding is loose: lower
 * case and missing padding are accepted, as authenticator apps and people type them.
 */
const RFC4648_BASE32: Base32Plugin = {
  name: 'rfc4648',
  encode: (data, options) => base32.stringify(data, { pad: options?.padding ?? false }),
  decode: (text) => base32.parse(text, { loose: true }),
};

/**
 * The plugins every otplib call here takes: node:crypto for the HMAC and the random secret,
 * rfc4648 for base32. Both are CommonJS, so the CommonJS build loads without ES-module interop.
 */
export const TOTP_PLUGINS = { crypto: new NodeCryptoPlugin(), base32: RFC4648_BASE32 } as const;

/**
 * TOTP on otplib (RFC 6238, checked against the RFC's test vectors): secrets, the `otpauth://`
 * URL and its QR code, and verification within one step of clock drift that says which step
 * matched, so a caller can refuse a code it has seen (replay).
 */
export class Totp {
  /** A new secret: 160 random bits (RFC 4226's recommended length), base32. */
  newSecret(): string {
    return generateSecret({ ...TOTP_PLUGINS, length: 20 });
  }

  /** The `otpauth://totp/...` URL an authenticator app reads, with issuer and account. */
  uri(secret: string, issuer: string, account: string): string {
    return generateTOTP({ secret, issuer, label: account, algorithm: 'sha1', digits: TOTP_DIGITS, period: TOTP_PERIOD_SECONDS });
  }

  /** The URL as an SVG QR code, to show on the enrolment page. */
  qrCodeSvg(uri: string): Promise<string> {
    return QRCode.toString(uri, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 });
  }

  /** The code for `secret` at `nowMs` (for tests and for a host's own tools); `digits` 6 unless said. */
  code(secret: string, nowMs: number, digits: 6 | 7 | 8 = TOTP_DIGITS): Promise<string> {
    return generate({ ...TOTP_PLUGINS, secret, epoch: Math.floor(nowMs / 1000), digits, period: TOTP_PERIOD_SECONDS, algorithm: 'sha1' });
  }

  /**
   * The time step `code` matches at `nowMs`, one step of drift either way, or `null`. A code of
   * any other shape is `null` without any work. `afterTimeStep` refuses steps up to it (the last
   * step accepted for this secret).
   */
  async matchingStep(secret: string, code: unknown, nowMs: number, afterTimeStep?: number): Promise<number | null> {
    if (typeof code !== 'string' || !/^[0-9]{6}$/.test(code)) return null;
    const result = await verify({
      ...TOTP_PLUGINS,
      secret,
      token: code,
      epoch: Math.floor(nowMs / 1000),
      epochTolerance: TOTP_PERIOD_SECONDS,
      digits: TOTP_DIGITS,
      period: TOTP_PERIOD_SECONDS,
      algorithm: 'sha1',
      ...(afterTimeStep === undefined ? {} : { afterTimeStep }),
    });
    return result.valid ? result.timeStep : null;
  }
}
