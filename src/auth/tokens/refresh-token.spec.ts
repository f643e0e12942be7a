import { describe, expect, it } from '@jest/globals';
import { DerivedKeys } from './derived-keys.js';
import { deriveChildRefreshToken, issueRefreshToken, parseRefreshToken } from './refresh-token.js';
import { resolveKeySet } from './signing-keys.js';

const secret = 'refresh-token-spec-secret-of-32-bytes!';
const keys = new DerivedKeys(resolveKeySet(secret, undefined), 'refresh-child');
const sessionId = 'session-abcdefghijk';

describe('deriveChildRefreshToken', () => {
  it('gives one child per token: the same one each time, well-formed, on the same session', () => {
    const parent = issueRefreshToken(sessionId);
    const child = deriveChildRefreshToken(parent.token, keys);
    expect(deriveChildRefreshToken(parent.token, keys)).toEqual(child);
    expect(child.token).toBe(`${sessionId}.${keys.mac(parent.token)}`);
    expect(parseRefreshToken(child.token)).toEqual({ sessionId, hash: child.hash });
    expect(child.token).not.toBe(parent.token);
    // The lineage goes on: the child has a child of its own, different again.
    const grandchild = deriveChildRefreshToken(child.token, keys);
    expect(new Set([parent.token, child.token, grandchild.token]).size).toBe(3);
  });

  it('differs between tokens, and needs the server key', () => {
    const parent = issueRefreshToken(sessionId);
    const child = deriveChildRefreshToken(parent.token, keys);
    expect(deriveChildRefreshToken(issueRefreshToken(sessionId).token, keys).token).not.toBe(child.token);
    const otherSecret = new DerivedKeys(resolveKeySet('another-refresh-secret-of-32-bytes!!!', undefined), 'refresh-child');
    expect(deriveChildRefreshToken(parent.token, otherSecret).token).not.toBe(child.token);
    // A key for another purpose under the same secret gives another child.
    const otherPurpose = new DerivedKeys(resolveKeySet(secret, undefined), 'csrf');
    expect(deriveChildRefreshToken(parent.token, otherPurpose).token).not.toBe(child.token);
  });

  it('refuses a token that does not parse, as a caller mistake', () => {
    for (const bad of ['', 'no-dot-here', `${sessionId}.short`, `${sessionId}.${'a'.repeat(43)}.x`]) {
      expect(() => deriveChildRefreshToken(bad, keys)).toThrow(TypeError);
    }
  });
});
