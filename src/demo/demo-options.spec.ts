import { describe, expect, it } from '@jest/globals';
import { demoAuthOptions, demoSecret } from './demo-options.js';

describe('demoSecret', () => {
  it('uses AUTH_SECRET when set', () => {
    expect(demoSecret({ AUTH_SECRET: 'from-the-environment-32-bytes-long!!' })).toBe('from-the-environment-32-bytes-long!!');
  });

  it('refuses to start in production without AUTH_SECRET', () => {
    expect(() => demoSecret({ NODE_ENV: 'production' })).toThrow(/AUTH_SECRET is required/);
  });

  it('makes a random 32-byte secret in development, different each start', () => {
    const first = demoSecret({});
    expect(Buffer.from(first, 'base64url')).toHaveLength(32);
    expect(demoSecret({})).not.toBe(first);
  });
});

describe('demoAuthOptions', () => {
  const secret = 'from-the-environment-32-bytes-long!!';

  it('uses in-memory stores by default, and logs in by username or email address', () => {
    expect(demoAuthOptions({ AUTH_SECRET: secret })).toEqual({
      secret,
      loginIdentifier: 'either',
      // The web page asks for cookies (X-Auth-Transport: cookie); plain HTTP in development.
      cookies: { mode: 'on-request', sameSite: 'strict', secure: false },
    });
  });

  it('makes the cookies Secure in production', () => {
    expect(demoAuthOptions({ AUTH_SECRET: secret, NODE_ENV: 'production' }).cookies).toEqual({
      mode: 'on-request',
      sameSite: 'strict',
      secure: true,
    });
  });

  it('refuses an unknown AUTH_SESSION_STORE', () => {
    expect(() => demoAuthOptions({ AUTH_SECRET: secret, AUTH_SESSION_STORE: 'mongo' })).toThrow(/AUTH_SESSION_STORE/);
  });
});
