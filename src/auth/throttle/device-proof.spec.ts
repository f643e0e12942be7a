import { DerivedKeys } from '../tokens/derived-keys.js';
import { resolveKeySet } from '../tokens/signing-keys.js';
import { DeviceProofs } from './device-proof.js';

const keys = new DerivedKeys(resolveKeySet('a-secret-of-at-least-thirty-two-bytes!!', undefined), 'device-proof');
const NOW = Date.UTC(2026, 11, 1);

describe('DeviceProofs', () => {
  const proofs = new DeviceProofs(keys, 3600);

  it('verifies a proof for the account it was made for, and keeps the device id on renewal', () => {
    const proof = proofs.issue('user-1', NOW);
    const deviceId = proofs.verify(proof, 'user-1', NOW + 1000);
    expect(deviceId).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(proofs.verify(proofs.issue('user-1', NOW, deviceId!), 'user-1', NOW)).toBe(deviceId);
    expect(proofs.issue('user-1', NOW)).not.toBe(proof);
  });

  it('refuses a proof for another account, an expired, altered or malformed one, or one from other keys', () => {
    const proof = proofs.issue('user-1', NOW);
    expect(proofs.verify(proof, 'user-2', NOW)).toBeNull();
    expect(proofs.verify(proof, 'user-1', NOW + 3600 * 1000)).toBeNull();
    const [id, expiry, mac] = proof.split('.') as [string, string, string];
    expect(proofs.verify(`${id}.${Number(expiry) + 3600}.${mac}`, 'user-1', NOW)).toBeNull();
    expect(proofs.verify(`${id.replace(/^./, id[0] === 'A' ? 'B' : 'A')}.${expiry}.${mac}`, 'user-1', NOW)).toBeNull();
    for (const bad of [undefined, 42, '', 'x.y.z', `${proof}x`, `${proof}.${mac}`]) expect(proofs.verify(bad, 'user-1', NOW)).toBeNull();
    const other = new DeviceProofs(
      new DerivedKeys(resolveKeySet('another-secret-of-at-least-32-bytes!!', undefined), 'device-proof'),
      3600,
    );
    expect(other.verify(proof, 'user-1', NOW)).toBeNull();
  });
});
