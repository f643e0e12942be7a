import { randomBytes } from 'node:crypto';
import type { DerivedKeys } from '../tokens/derived-keys.js';

// "<device id>.<expiry, seconds since the epoch>.<MAC>", all base64url or digits.
const DEVICE_PROOF = /^([A-Za-z0-9_-]{22})\.(\d{1,12})\.([A-Za-z0-9_-]{43})$/;

/**
 * Device proofs (OWASP's "device cookies"): after a successful login the client gets a proof,
 * a MAC over (user id, device id, expiry) under a key derived from the module's signing keys,
 * and sends it back at its next logins. A login presenting a valid proof for the account it
 * logs into draws on that device's own failure budget, so failures from elsewhere cannot lock
 * the owner's known devices out. The user id is in the MAC, not in the proof: a proof means
 * nothing for any other account.
 */
export class DeviceProofs {
  constructor(
    private readonly keys: DerivedKeys,
    private readonly ttlSeconds: number,
  ) {}

  /** A new proof that the device just logged into `userId`: a new device id unless `deviceId` is given (a known device, renewed). */
  issue(userId: string, nowMs: number, deviceId = randomBytes(16).toString('base64url')): string {
    const expiresAt = Math.floor(nowMs / 1000) + this.ttlSeconds;
    return `${deviceId}.${expiresAt}.${this.keys.mac(message(userId, deviceId, expiresAt))}`;
  }

  /** The device id of a proof that is well-formed, unexpired and made for `userId`, else `null`. */
  verify(proof: unknown, userId: string, nowMs: number): string | null {
    if (typeof proof !== 'string' || proof.length > 128) return null;
    const match = DEVICE_PROOF.exec(proof);
    if (!match) return null;
    const [, deviceId, expiry, mac] = match as unknown as [string, string, string, string];
    const expiresAt = Number(expiry);
    if (expiresAt * 1000 <= nowMs) return null;
    return this.keys.verify(message(userId, deviceId, expiresAt), mac) ? deviceId : null;
  }
}

function message(userId: string, deviceId: string, expiresAt: number): string {
  // The user id goes last and is length-prefixed, so no two triples share a message.
  return `device-proof\n${deviceId}\n${expiresAt}\n${userId.length}:${userId}`;
}
