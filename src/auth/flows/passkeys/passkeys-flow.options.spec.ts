import { describe, expect, it } from '@jest/globals';
import { AuthOptionsError } from '../../auth.errors.js';
import { InMemoryOneTimeTokenStore } from '../../one-time-tokens/in-memory-one-time-token.store.js';
import { InMemoryPasskeyStore } from './in-memory-passkey.store.js';
import { resolvePasskeysFlowConfig, type PasskeysFlowOptions } from './passkeys-flow.options.js';

const base: PasskeysFlowOptions = { rpId: 'example.com', rpName: 'Example', origins: ['https://example.com'] };

describe('resolvePasskeysFlowConfig', () => {
  it('fills in the defaults', () => {
    expect(resolvePasskeysFlowConfig(base)).toEqual({
      rpId: 'example.com',
      rpName: 'Example',
      origins: ['https://example.com'],
      userVerification: 'preferred',
      challengeTtlSeconds: 300,
      maxPerAccount: 10,
      maxCeremoniesPerIp: 60,
      maxFailuresPerIp: 20,
      windowSeconds: 900,
    });
  });

  it('takes origins on the RP id or under it, https, or http on localhost; one origin as a string', () => {
    expect(resolvePasskeysFlowConfig({ ...base, origins: ['https://example.com', 'https://app.example.com:8443/'] }).origins).toEqual([
      'https://example.com',
      'https://app.example.com:8443',
    ]);
    expect(resolvePasskeysFlowConfig({ ...base, rpId: 'localhost', origins: 'http://localhost:3000' }).origins).toEqual([
      'http://localhost:3000',
    ]);
  });

  it.each<[string, Partial<PasskeysFlowOptions>, string]>([
    ['no rpId', { rpId: undefined as unknown as string }, 'passkeysFlow.rpId'],
    ['an rpId with a scheme', { rpId: 'https://example.com' }, 'passkeysFlow.rpId'],
    ['an rpId with a port', { rpId: 'example.com:443' }, 'passkeysFlow.rpId'],
    ['an upper-case rpId', { rpId: 'Example.com' }, 'passkeysFlow.rpId'],
    ['no rpName', { rpName: '' }, 'passkeysFlow.rpName'],
    ['no origins', { origins: [] }, 'passkeysFlow.origins'],
    ['an origin on another site', { origins: ['https://evil.example'] }, 'passkeysFlow.origins[0]'],
    ['an origin that only ends like the RP id', { origins: ['https://notexample.com'] }, 'passkeysFlow.origins[0]'],
    ['an http origin off localhost', { origins: ['http://example.com'] }, 'passkeysFlow.origins[0]'],
    ['an origin with a path', { origins: ['https://example.com/app'] }, 'passkeysFlow.origins[0]'],
    ['an origin that is no URL', { origins: ['example.com'] }, 'passkeysFlow.origins[0]'],
    ['a bad userVerification', { userVerification: 'discouraged' as 'preferred' }, 'passkeysFlow.userVerification'],
    ['a challenge TTL under 30 s', { challengeTtlSeconds: 5 }, 'passkeysFlow.challengeTtlSeconds'],
    ['more than 100 passkeys', { maxPerAccount: 101 }, 'passkeysFlow.maxPerAccount'],
    ['a store of another kind', { store: new InMemoryOneTimeTokenStore() as unknown as InMemoryPasskeyStore }, 'passkeysFlow.store'],
    [
      'a challenge store of another kind',
      { challengeStore: new InMemoryPasskeyStore() as unknown as InMemoryOneTimeTokenStore },
      'passkeysFlow.challengeStore',
    ],
    ['a throttle that is no object', { throttle: 5 as unknown as PasskeysFlowOptions['throttle'] }, 'passkeysFlow.throttle'],
  ])('refuses %s at start-up', (_name, change, option) => {
    const attempt = () => resolvePasskeysFlowConfig({ ...base, ...change });
    expect(attempt).toThrow(AuthOptionsError);
    expect(attempt).toThrow(option);
  });

  it('takes stores as instances or factories', () => {
    expect(() =>
      resolvePasskeysFlowConfig({ ...base, store: new InMemoryPasskeyStore(), challengeStore: new InMemoryOneTimeTokenStore() }),
    ).not.toThrow();
    expect(() =>
      resolvePasskeysFlowConfig({
        ...base,
        store: { useFactory: () => new InMemoryPasskeyStore() },
        challengeStore: { useFactory: () => new InMemoryOneTimeTokenStore() },
      }),
    ).not.toThrow();
  });
});
