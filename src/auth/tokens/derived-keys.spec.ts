import { generateKeyPairSync } from 'node:crypto';
import { DerivedKeys } from './derived-keys.js';
import { resolveKeySet } from './signing-keys.js';

const SECRET = 'a-secret-of-at-least-thirty-two-bytes!!';

describe('DerivedKeys', () => {
  it('makes MACs that verify under the same keys and not under another purpose or secret', () => {
    const keys = resolveKeySet(SECRET, undefined);
    const csrf = new DerivedKeys(keys, 'csrf');
    const mac = csrf.mac('session-1');
    expect(mac).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(csrf.verify('session-1', mac)).toBe(true);
    expect(csrf.verify('session-2', mac)).toBe(false);
    expect(new DerivedKeys(keys, 'refresh-child').verify('session-1', mac)).toBe(false);
    expect(new DerivedKeys(resolveKeySet(`${SECRET}x`, undefined), 'csrf').verify('session-1', mac)).toBe(false);
    expect(csrf.verify('session-1', `${mac.slice(0, -1)}é`)).toBe(false);
  });

  it('follows rotation: MACs of an older signing key still verify, new ones use the current key', () => {
    const { privateKey: older } = generateKeyPairSync('ed25519');
    const { privateKey: newer } = generateKeyPairSync('ed25519');
    const before = new DerivedKeys(resolveKeySet(undefined, [{ kid: 'old', alg: 'EdDSA', privateKey: older }]), 'csrf');
    const after = new DerivedKeys(
      resolveKeySet(undefined, [
        { kid: 'new', alg: 'EdDSA', privateKey: newer },
        { kid: 'old', alg: 'EdDSA', privateKey: older },
      ]),
      'csrf',
    );
    expect(after.verify('s', before.mac('s'))).toBe(true);
    expect(after.mac('s')).not.toBe(before.mac('s'));
    expect(before.verify('s', after.mac('s'))).toBe(false);
  });
});
