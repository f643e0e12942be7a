/**
 * Shape checks of the WebAuthn responses a browser sends as JSON (`PublicKeyCredential.toJSON()`,
 * or SimpleWebAuthn's browser helpers): base64url strings of bounded length in the fields a
 * ceremony reads. What passes is a fresh object with those fields only; anything else is `null`,
 * a 400 before any cryptography.
 */

/** The longest credential id WebAuthn allows is 1,023 bytes: 1,364 base64url characters. */
const CREDENTIAL_ID_MAX = 1364;
const CLIENT_DATA_MAX = 8192;
const ATTESTATION_MAX = 65_536;
const SIGNATURE_MAX = 2048;
const AUTHENTICATOR_DATA_MAX = 8192;
const BASE64URL = /^[A-Za-z0-9_-]+$/;

/** A registration response, as `verifyRegistrationResponse` reads it. */
export interface RegistrationJson {
  id: string;
  rawId: string;
  type: 'public-key';
  response: { clientDataJSON: string; attestationObject: string; transports?: string[] };
  clientExtensionResults: Record<string, unknown>;
  authenticatorAttachment?: 'platform' | 'cross-platform';
}

/** An authentication response, as `verifyAuthenticationResponse` reads it. */
export interface AssertionJson {
  id: string;
  rawId: string;
  type: 'public-key';
  response: { clientDataJSON: string; authenticatorData: string; signature: string; userHandle?: string };
  clientExtensionResults: Record<string, unknown>;
  authenticatorAttachment?: 'platform' | 'cross-platform';
}

/** The registration response in `value`, or `null`. */
export function attestationOf(value: unknown): RegistrationJson | null {
  const base = credentialOf(value);
  if (!base) return null;
  const response = (value as { response?: unknown }).response;
  if (!isRecord(response)) return null;
  const clientDataJSON = text(response.clientDataJSON, CLIENT_DATA_MAX);
  const attestationObject = text(response.attestationObject, ATTESTATION_MAX);
  if (!clientDataJSON || !attestationObject) return null;
  const transports = response.transports;
  const list = Array.isArray(transports)
    ? transports.filter((one): one is string => typeof one === 'string' && one.length <= 32).slice(0, 8)
    : undefined;
  return { ...base, response: { clientDataJSON, attestationObject, ...(list ? { transports: list } : {}) } };
}

/** The authentication response in `value`, or `null`. */
export function assertionOf(value: unknown): AssertionJson | null {
  const base = credentialOf(value);
  if (!base) return null;
  const response = (value as { response?: unknown }).response;
  if (!isRecord(response)) return null;
  const clientDataJSON = text(response.clientDataJSON, CLIENT_DATA_MAX);
  const authenticatorData = text(response.authenticatorData, AUTHENTICATOR_DATA_MAX);
  const signature = text(response.signature, SIGNATURE_MAX);
  if (!clientDataJSON || !authenticatorData || !signature) return null;
  const userHandle = response.userHandle === undefined || response.userHandle === null ? undefined : text(response.userHandle, 128);
  if (userHandle === null) return null;
  return { ...base, response: { clientDataJSON, authenticatorData, signature, ...(userHandle ? { userHandle } : {}) } };
}

function credentialOf(value: unknown): Omit<RegistrationJson, 'response'> | null {
  if (!isRecord(value)) return null;
  const id = text(value.id, CREDENTIAL_ID_MAX);
  const rawId = text(value.rawId, CREDENTIAL_ID_MAX);
  if (!id || rawId !== id || value.type !== 'public-key') return null;
  const attachment = value.authenticatorAttachment;
  if (attachment !== undefined && attachment !== null && attachment !== 'platform' && attachment !== 'cross-platform') return null;
  // The extension outputs are not read here; an empty object keeps SimpleWebAuthn's type happy.
  return { id, rawId, type: 'public-key', clientExtensionResults: {}, ...(attachment ? { authenticatorAttachment: attachment } : {}) };
}

function text(value: unknown, max: number): string | null {
  return typeof value === 'string' && value.length > 0 && value.length <= max && BASE64URL.test(value) ? value : null;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
