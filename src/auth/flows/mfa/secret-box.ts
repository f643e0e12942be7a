import { createCipheriv, createDecipheriv, createHash, createHmac, hkdfSync, randomBytes } from 'node:crypto';
import { AuthOptionsError } from '../../auth.errors.js';

/** One key of a {@link SecretBox}: an id stored beside each secret it sealed, and at least 32 bytes of key material. */
export interface SecretBoxKey {
  /** 1 to 32 characters of `A-Z a-z 0-9 _ -`. */
  id: string;
  /** At least 32 bytes (a string counts its UTF-8 bytes). */
  key: string | Buffer;
}

const ID_PATTERN = /^[A-Za-z0-9_-]{1,32}$/;
const MIN_KEY_BYTES = 32;

/**
 * Secrets encrypted at rest (TOTP secrets, a provider's tokens) with AES-256-GCM from
 * `node:crypto`. The first key seals; every key opens what carries its id, so keys can rotate:
 * add the new key first, keep the old ones until no sealed value names them. Each value is bound
 * to a context (the account's id) as associated data, so a sealed value copied to another
 * account's row does not open there. Format: `v1.<key id>.<iv>.<ciphertext>.<tag>`, base64url.
 */
export class SecretBox {
  private readonly keys = new Map<string, Buffer>();
  private readonly macKeys = new Map<string, Buffer>();
  private readonly sealingId: string;

  constructor(keys: readonly SecretBoxKey[], purpose: string) {
    if (!Array.isArray(keys) || keys.length === 0) throw new TypeError('SecretBox: at least one key is required');
    for (const { id, key } of keys) {
      if (typeof id !== 'string' || !ID_PATTERN.test(id))
        throw new TypeError('SecretBox: a key id must be 1-32 characters of A-Z a-z 0-9 _ -');
      const material = typeof key === 'string' ? Buffer.from(key, 'utf8') : key;
      if (!Buffer.isBuffer(material) || material.length < MIN_KEY_BYTES) {
        throw new TypeError(`SecretBox: key "${id}" must be at least ${MIN_KEY_BYTES} bytes`);
      }
      if (this.keys.has(id)) throw new TypeError(`SecretBox: the key id "${id}" is given twice`);
      // One key per purpose, derived: the same material given to another part never yields this key.
      this.keys.set(id, Buffer.from(hkdfSync('sha256', material, Buffer.alloc(0), `nest-warden secret-box ${purpose}`, 32)));
      this.macKeys.set(id, Buffer.from(hkdfSync('sha256', material, Buffer.alloc(0), `nest-warden secret-box ${purpose} mac`, 32)));
    }
    this.sealingId = keys[0]!.id;
  }

  /** The id of the key that seals. */
  get currentKeyId(): string {
    return this.sealingId;
  }

  /** Encrypts `plaintext`, bound to `context`. */
  seal(plaintext: string, context: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.keys.get(this.sealingId)!, iv);
    cipher.setAAD(Buffer.from(context, 'utf8'));
    const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return [
      'v1',
      this.sealingId,
      iv.toString('base64url'),
      ciphertext.toString('base64url'),
      cipher.getAuthTag().toString('base64url'),
    ].join('.');
  }

  /** The plaintext of a value sealed for `context`, or `null` when it is malformed, tampered with, for another context, or under an unknown key. */
  open(sealed: string, context: string): string | null {
    const parts = typeof sealed === 'string' ? sealed.split('.') : [];
    if (parts.length !== 5 || parts[0] !== 'v1') return null;
    const [, id, iv, ciphertext, tag] = parts as [string, string, string, string, string];
    const key = this.keys.get(id);
    const ivBytes = Buffer.from(iv, 'base64url');
    const tagBytes = Buffer.from(tag, 'base64url');
    if (!key || ivBytes.length !== 12 || tagBytes.length !== 16) return null;
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, ivBytes, { authTagLength: 16 });
      decipher.setAAD(Buffer.from(context, 'utf8'));
      decipher.setAuthTag(tagBytes);
      return Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64url')), decipher.final()]).toString('utf8');
    } catch {
      return null;
    }
  }

  /**
   * A keyed digest of `value` for `context` under the current key, `<key id>.<HMAC-SHA256>`: for
   * values kept only to be compared (recovery codes), which a copy of the database alone cannot
   * test guesses against.
   */
  digest(value: string, context: string): string {
    return this.digestUnder(this.sealingId, value, context);
  }

  /** {@link digest} under every key, the current one first: what a value digested before a rotation may be stored as. */
  digests(value: string, context: string): string[] {
    return [...this.macKeys.keys()]
      .sort((a, b) => Number(b === this.sealingId) - Number(a === this.sealingId))
      .map((id) => this.digestUnder(id, value, context));
  }

  private digestUnder(id: string, value: string, context: string): string {
    const mac = createHmac('sha256', this.macKeys.get(id)!).update(`${context}\n${value}`, 'utf8').digest('base64url');
    return `${id}.${mac}`;
  }

  /** Whether `sealed` was sealed under an older key (to re-seal it under the current one). */
  needsReseal(sealed: string): boolean {
    return typeof sealed === 'string' && sealed.split('.')[1] !== this.sealingId;
  }
}

/**
 * The keys of an `encryptionKey` option (one key, or a list with the sealing key first), each at
 * least 32 bytes, with fingerprints as ids; `AuthOptionsError` naming `option` otherwise.
 */
export function secretBoxKeys(option: string, given: unknown): SecretBoxKey[] {
  if (given === undefined) throw new AuthOptionsError(option, `is required (at least ${MIN_KEY_BYTES} bytes)`);
  const list = Array.isArray(given) ? (given as unknown[]) : [given];
  if (list.length === 0) throw new AuthOptionsError(option, 'must hold at least one key');
  const keys = list.map((key, index): SecretBoxKey => {
    const material = typeof key === 'string' ? Buffer.from(key, 'utf8') : key;
    if (!Buffer.isBuffer(material) || material.length < MIN_KEY_BYTES) {
      throw new AuthOptionsError(`${option}${Array.isArray(given) ? `[${index}]` : ''}`, `must be at least ${MIN_KEY_BYTES} bytes`);
    }
    return { id: keyId(material), key: material };
  });
  if (new Set(keys.map((key) => key.id)).size !== keys.length) throw new AuthOptionsError(option, 'gives a key twice');
  return keys;
}

// A key's id: a fingerprint, so a list of keys needs no names and a value says which key sealed it.
function keyId(material: Buffer): string {
  return createHash('sha256').update('nest-warden mfa key id\n').update(material).digest('base64url').slice(0, 11);
}
