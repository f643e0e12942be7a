import { createHmac, hkdfSync, timingSafeEqual, type KeyObject } from 'node:crypto';
import type { KeySet, ResolvedKey } from './signing-keys.js';

/**
 * What a derived key is for. Each purpose gets its own key, so a MAC made for one can never
 * pass as another's.
 */
export type DerivedKeyPurpose = 'csrf' | 'refresh-child' | 'device-proof' | 'mfa-login' | 'oidc-state';

/**
 * HMAC keys derived (HKDF-SHA256) from the module's signing keys, one per purpose, so features
 * that need a server-side MAC (CSRF tokens bound to a session, refresh-token children) need no
 * secret of their own and follow key rotation: the first key is derived from the current
 * signing key and makes new MACs; the rest, from older keys that can still sign, are accepted.
 */
export class DerivedKeys {
  private readonly keys: Buffer[];

  constructor(keySet: KeySet, purpose: DerivedKeyPurpose) {
    const sources: ResolvedKey[] = [keySet.signing];
    for (const key of keySet.byKid.values()) if (key.signKey && key !== keySet.signing) sources.push(key);
    this.keys = sources.map((key) => derive(key.signKey!, purpose));
  }

  /** HMAC-SHA256 of `message` under the current key, base64url (43 characters). */
  mac(message: string): string {
    return hmac(this.keys[0]!, message);
  }

  /** Whether `presented` is the MAC of `message` under any configured key. Constant time per key. */
  verify(message: string, presented: string): boolean {
    const given = Buffer.from(presented, 'utf8');
    let ok = false;
    for (const key of this.keys) {
      const expected = Buffer.from(hmac(key, message), 'utf8');
      if (expected.length === given.length && timingSafeEqual(expected, given)) ok = true;
    }
    return ok;
  }
}

function derive(key: KeyObject, purpose: DerivedKeyPurpose): Buffer {
  const material = key.type === 'secret' ? key.export() : key.export({ format: 'der', type: 'pkcs8' });
  return Buffer.from(hkdfSync('sha256', material, 'nest-warden', `nest-warden/${purpose}`, 32));
}

function hmac(key: Buffer, message: string): string {
  return createHmac('sha256', key).update(message, 'utf8').digest('base64url');
}
