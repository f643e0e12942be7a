import { describe, expect, it } from '@jest/globals';
import { DerivedKeys } from './derived-keys.js';
import { deriveChildRefreshToken, issueRefreshToken, parseRefreshToken } from './refresh-token.js';
import { resolveKeySet } from './signing-keys.js';

const keys = new DerivedKeys(resolveKeySet('refresh-token-spec-secret-of-32-bytes!', undefined), 'refresh-child');

describe('deriveChildRefreshToken', () => {
  it('gives one child per token, well-formed, on the same session, and only under the server key', () => {
    const parent = issueRefreshToken('session-abcdefghijk');
    const child = deriveChildRefreshToken(parent.token, 'session-abcdefghijk', keys);
    expect(deriveChildRefreshToken(parent.token, 'session-abcdefghijk', keys)).toEqual(child);
    expect(parseRefreshToken(child.token)).toEqual({ sessionId: 'session-abcdefghijk', hash: child.hash });
    expect(child.token).not.toBe(parent.token);
    expect(deriveChildRefreshToken(issueRefreshToken('session-abcdefghijk').token, 'session-abcdefghijk', keys).token).not.toBe(child.token);
    const otherKeys = new DerivedKeys(resolveKeySet('another-refresh-secret-of-32-bytes!!!', undefined), 'refresh-child');
    expect(deriveChildRefreshToken(parent.token, 'session-abcdefghijk', otherKeys).token).not.toBe(child.token);
  });
});
