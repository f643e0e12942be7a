import { generate, generateSecret, generateURI, verify } from 'otplib';
import QRCode from 'qrcode';

/** RFC 6238 as authenticator apps expect it: SHA-1, 6 digits, 30-second steps. */
export const TOTP_PERIOD_SECONDS = 30;
export const TOTP_DIGITS = 6;

/**
 * TOTP on otplib (RFC 6238, checked against the RFC's test vectors): secrets, the `otpauth://`
 * URL and its QR code, and verification within one step of clock drift that says which step
 * matched, so a caller can refuse a code it has seen (replay).
 */
export class Totp {
  /** A new secret: 160 random bits (RFC 4226's recommended length), base32. */
  newSecret(): string {
    return generateSecret();
  }

  /** The `otpauth://totp/...` URL an authenticator app reads, with issuer and account. */
  uri(secret: string, issuer: string, account: string): string {
    return generateURI({ secret, issuer, label: account, algorithm: 'sha1', digits: TOTP_DIGITS, period: TOTP_PERIOD_SECONDS });
  }

  /** The URL as an SVG QR code, to show on the enrolment page. */
  qrCodeSvg(uri: string): Promise<string> {
    return QRCode.toString(uri, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 });
  }

  /** The code for `secret` at `nowMs` (for tests and for a host's own tools). */
  code(secret: string, nowMs: number): Promise<string> {
    return generate({ secret, epoch: Math.floor(nowMs / 1000), digits: TOTP_DIGITS, period: TOTP_PERIOD_SECONDS, algorithm: 'sha1' });
  }

  /**
   * The time step `code` matches at `nowMs`, one step of drift either way, or `null`. A code of
   * any other shape is `null` without any work. `afterTimeStep` refuses steps up to it (the last
   * step accepted for this secret).
   */
  async matchingStep(secret: string, code: unknown, nowMs: number, afterTimeStep?: number): Promise<number | null> {
    if (typeof code !== 'string' || !/^[0-9]{6}$/.test(code)) return null;
    const result = await verify({
      secret,
      token: code,
      epoch: Math.floor(nowMs / 1000),
      epochTolerance: TOTP_PERIOD_SECONDS,
      digits: TOTP_DIGITS,
      period: TOTP_PERIOD_SECONDS,
      algorithm: 'sha1',
      ...(afterTimeStep === undefined ? {} : { afterTimeStep }),
    });
    // The TOTP strategy reports the step that matched; the union type also covers HOTP's result.
    const step = result.valid ? (result as { timeStep?: unknown }).timeStep : undefined;
    return typeof step === 'number' ? step : null;
  }
}
