import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { encodeCBOR, type CBORType } from '@levischuck/tiny-cbor';

/** The JSON a browser sends for a registration (`PublicKeyCredential.toJSON()`). */
export interface RegistrationResponse {
  id: string;
  rawId: string;
  type: 'public-key';
  response: { clientDataJSON: string; attestationObject: string; transports: string[] };
  clientExtensionResults: Record<string, never>;
  authenticatorAttachment: 'platform';
}

/** The JSON a browser sends for an authentication. */
export interface AuthenticationResponse {
  id: string;
  rawId: string;
  type: 'public-key';
  response: { clientDataJSON: string; authenticatorData: string; signature: string; userHandle: string };
  clientExtensionResults: Record<string, never>;
  authenticatorAttachment: 'platform';
}

interface Credential {
  id: Buffer;
  privateKey: KeyObject;
  alg: 'ES256' | 'EdDSA';
  userHandle: string;
  counter: number;
}

/** What an authenticator does with user verification and its counter; each call may override. */
export interface CeremonyOptions {
  /** The page's origin, as the browser would write it in clientDataJSON. */
  origin?: string;
  /** The RP id whose hash goes in the authenticator data. */
  rpId?: string;
  /** Whether the authenticator verified its user (PIN, biometric): the UV flag. */
  userVerified?: boolean;
  /** The challenge to sign instead of the one in the options (an attack). */
  challenge?: string;
  /** The counter to report instead of the next one (an attack: a cloned key). */
  counter?: number;
}

/**
 * A WebAuthn authenticator in the test process, as Chromium's virtual authenticator is in the
 * browser tests: real key pairs (ES256 on P-256, or Ed25519), real CBOR attestation objects
 * ("none" attestation) and real signatures over the authenticator data and the client data
 * hash, so the server verifies them exactly as it verifies a browser's.
 */
export class SoftwareAuthenticator {
  private readonly credentials = new Map<string, Credential>();

  constructor(private readonly defaults: { origin: string; rpId: string; alg?: 'ES256' | 'EdDSA'; counter?: boolean }) {}

  /** `navigator.credentials.create()`: a new discoverable credential for the options' user. */
  create(options: { challenge: string; user: { id: string }; rp: { id?: string } }, ceremony: CeremonyOptions = {}): RegistrationResponse {
    const alg = this.defaults.alg ?? 'ES256';
    const { privateKey, publicKey } = alg === 'ES256' ? generateKeyPairSync('ec', { namedCurve: 'P-256' }) : generateKeyPairSync('ed25519');
    const id = randomBytes(32);
    const credential: Credential = { id, privateKey, alg, userHandle: options.user.id, counter: 0 };
    this.credentials.set(id.toString('base64url'), credential);
    const clientData = this.clientData('webauthn.create', ceremony.challenge ?? options.challenge, ceremony);
    const authData = Buffer.concat([
      this.authDataHead(ceremony.rpId ?? options.rp.id ?? this.defaults.rpId, ceremony, 0x40, 0),
      Buffer.alloc(16), // AAGUID: none
      Buffer.from([id.length >> 8, id.length & 0xff]),
      id,
      Buffer.from(encodeCBOR(coseKey(publicKey, alg))),
    ]);
    const attestation = encodeCBOR(
      new Map<string, CBORType>([
        ['fmt', 'none'],
        ['attStmt', new Map<string, CBORType>()],
        ['authData', new Uint8Array(authData)],
      ]),
    );
    return {
      id: id.toString('base64url'),
      rawId: id.toString('base64url'),
      type: 'public-key',
      response: {
        clientDataJSON: clientData.toString('base64url'),
        attestationObject: Buffer.from(attestation).toString('base64url'),
        transports: ['internal'],
      },
      clientExtensionResults: {},
      authenticatorAttachment: 'platform',
    };
  }

  /**
   * `navigator.credentials.get()`: an assertion by `credentialId`, or by the first credential the
   * options allow (any of this authenticator's for a discoverable login).
   */
  get(
    options: { challenge: string; rpId?: string; allowCredentials?: Array<{ id: string }> },
    ceremony: CeremonyOptions & { credentialId?: string } = {},
  ): AuthenticationResponse {
    const allowed = options.allowCredentials?.map((one) => one.id);
    const id =
      ceremony.credentialId ?? [...this.credentials.keys()].find((key) => !allowed || allowed.length === 0 || allowed.includes(key));
    const credential = id === undefined ? undefined : this.credentials.get(id);
    if (!credential) throw new Error('SoftwareAuthenticator: no credential for these options');
    if (this.defaults.counter !== false) credential.counter += 1;
    const counter = ceremony.counter ?? (this.defaults.counter === false ? 0 : credential.counter);
    const clientData = this.clientData('webauthn.get', ceremony.challenge ?? options.challenge, ceremony);
    const authData = this.authDataHead(ceremony.rpId ?? options.rpId ?? this.defaults.rpId, ceremony, 0, counter);
    const signed = Buffer.concat([authData, createHash('sha256').update(clientData).digest()]);
    const signature =
      credential.alg === 'ES256' ? sign('sha256', signed, credential.privateKey) : sign(null, signed, credential.privateKey);
    return {
      id: credential.id.toString('base64url'),
      rawId: credential.id.toString('base64url'),
      type: 'public-key',
      response: {
        clientDataJSON: clientData.toString('base64url'),
        authenticatorData: authData.toString('base64url'),
        signature: signature.toString('base64url'),
        userHandle: credential.userHandle,
      },
      clientExtensionResults: {},
      authenticatorAttachment: 'platform',
    };
  }

  /** The ids of the credentials made so far. */
  credentialIds(): string[] {
    return [...this.credentials.keys()];
  }

  private clientData(type: string, challenge: string, ceremony: CeremonyOptions): Buffer {
    return Buffer.from(JSON.stringify({ type, challenge, origin: ceremony.origin ?? this.defaults.origin, crossOrigin: false }));
  }

  // rpIdHash, flags (UP, UV unless told otherwise, plus `extra`), signCount.
  private authDataHead(rpId: string, ceremony: CeremonyOptions, extra: number, counter: number): Buffer {
    const flags = 0x01 | (ceremony.userVerified === false ? 0 : 0x04) | extra;
    const count = Buffer.alloc(4);
    count.writeUInt32BE(counter);
    return Buffer.concat([createHash('sha256').update(rpId).digest(), Buffer.from([flags]), count]);
  }
}

// The credential's public key as a COSE_Key (RFC 9053): EC2 P-256 for ES256, OKP Ed25519 for EdDSA.
function coseKey(publicKey: KeyObject, alg: 'ES256' | 'EdDSA'): Map<number, CBORType> {
  const jwk = publicKey.export({ format: 'jwk' });
  const bytes = (value: string | undefined): Uint8Array => new Uint8Array(Buffer.from(value!, 'base64url'));
  if (alg === 'ES256') {
    return new Map<number, CBORType>([
      [1, 2],
      [3, -7],
      [-1, 1],
      [-2, bytes(jwk.x)],
      [-3, bytes(jwk.y)],
    ]);
  }
  return new Map<number, CBORType>([
    [1, 1],
    [3, -8],
    [-1, 6],
    [-2, bytes(jwk.x)],
  ]);
}
