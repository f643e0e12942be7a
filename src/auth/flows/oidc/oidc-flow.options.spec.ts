import { describe, expect, it } from '@jest/globals';
import { AuthOptionsError } from '../../auth.errors.js';
import { generateKeyPairSync } from 'node:crypto';
import {
  githubProvider,
  googleProvider,
  microsoftProvider,
  resolveOidcFlowConfig,
  type OidcFlowOptions,
  type ProviderApi,
} from './oidc-flow.options.js';

const provider = { id: 'corp', issuer: 'https://login.example.com', clientId: 'app', clientSecret: 'secret' };
const ecKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
const base: OidcFlowOptions = {
  providers: [provider],
  callbackBaseUrl: 'https://app.example.com/auth/',
  returnTo: ['https://app.example.com/'],
};

describe('resolveOidcFlowConfig', () => {
  it('fills in the defaults and makes each redirect URI from callbackBaseUrl', () => {
    const config = resolveOidcFlowConfig(base);
    expect(config.providers.get('corp')).toEqual({
      ...provider,
      name: 'corp',
      privateKeyJwt: null,
      oauth2: null,
      scopes: ['openid', 'email', 'profile'],
      allowInsecureRequests: false,
      redirectUri: 'https://app.example.com/auth/oauth/corp/callback',
    });
    expect(config).toMatchObject({
      returnTo: ['https://app.example.com/'],
      errorUrl: null,
      linkByVerifiedEmail: false,
      stateTtlSeconds: 600,
      providerTokenKeys: null,
    });
    expect(resolveOidcFlowConfig({ ...base, providers: [{ ...provider, scopes: ['email'] }] }).providers.get('corp')!.scopes).toEqual([
      'openid',
      'email',
    ]);
  });

  it.each<[string, Partial<OidcFlowOptions>, string]>([
    ['no providers', { providers: [] }, 'oidcFlow.providers'],
    ['a bad provider id', { providers: [{ ...provider, id: 'Corp Login' }] }, 'oidcFlow.providers[0].id'],
    ['a provider twice', { providers: [provider, provider] }, 'oidcFlow.providers[1].id'],
    ['an http issuer off loopback', { providers: [{ ...provider, issuer: 'http://login.example.com' }] }, 'oidcFlow.providers[0].issuer'],
    [
      'an http issuer off loopback, even with allowInsecureRequests',
      { providers: [{ ...provider, issuer: 'http://login.example.com', allowInsecureRequests: true }] },
      'oidcFlow.providers[0].issuer',
    ],
    ['no client secret', { providers: [{ ...provider, clientSecret: '' }] }, 'oidcFlow.providers[0].clientSecret'],
    [
      'neither a secret nor a private key',
      { providers: [{ id: 'corp', issuer: 'https://login.example.com', clientId: 'app' }] },
      'oidcFlow.providers[0].clientSecret',
    ],
    [
      'both a secret and a private key',
      { providers: [{ ...provider, privateKeyJwt: { privateKey: ecKey } }] },
      'oidcFlow.providers[0].clientSecret',
    ],
    [
      'a private key that is no PEM',
      { providers: [{ id: 'corp', issuer: 'https://login.example.com', clientId: 'app', privateKeyJwt: { privateKey: 'nope' } }] },
      'oidcFlow.providers[0].privateKeyJwt.privateKey',
    ],
    [
      'a P-384 private key',
      {
        providers: [
          {
            id: 'corp',
            issuer: 'https://login.example.com',
            clientId: 'app',
            privateKeyJwt: { privateKey: generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey },
          },
        ],
      },
      'oidcFlow.providers[0].privateKeyJwt.privateKey',
    ],
    [
      'an RSA private key under 2048 bits',
      {
        providers: [
          {
            id: 'corp',
            issuer: 'https://login.example.com',
            clientId: 'app',
            privateKeyJwt: { privateKey: generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey },
          },
        ],
      },
      'oidcFlow.providers[0].privateKeyJwt.privateKey',
    ],
    ['a reserved provider id', { providers: [{ ...provider, id: 'identities' }] }, 'oidcFlow.providers[0].id'],
    ['a name with a newline', { providers: [{ ...provider, name: 'Corp\nLogin' }] }, 'oidcFlow.providers[0].name'],
    [
      'an OAuth 2 server without a profile',
      {
        providers: [
          {
            ...provider,
            oauth2: { authorizationEndpoint: 'https://a.example/authorize', tokenEndpoint: 'https://a.example/token' } as never,
          },
        ],
      },
      'oidcFlow.providers[0].oauth2.profile',
    ],
    [
      'an OAuth 2 token endpoint over http off loopback',
      {
        providers: [
          {
            ...provider,
            allowInsecureRequests: true,
            oauth2: {
              authorizationEndpoint: 'https://a.example/authorize',
              tokenEndpoint: 'http://a.example/token',
              profile: () => Promise.resolve({ subject: '1', email: null, emailVerified: false }),
            },
          },
        ],
      },
      'oidcFlow.providers[0].oauth2.tokenEndpoint',
    ],
    ['a short provider-tokens key', { storeProviderTokens: { encryptionKey: 'short' } }, 'oidcFlow.storeProviderTokens.encryptionKey'],
    ['a scope with a space', { providers: [{ ...provider, scopes: ['openid email'] }] }, 'oidcFlow.providers[0].scopes'],
    ['no returnTo', { returnTo: [] }, 'oidcFlow.returnTo'],
    ['a returnTo with credentials', { returnTo: ['https://user:pw@app.example.com/'] }, 'oidcFlow.returnTo[0]'],
    ['an http callback off loopback', { callbackBaseUrl: 'http://app.example.com/auth' }, 'oidcFlow.callbackBaseUrl'],
    ['a state TTL over an hour', { stateTtlSeconds: 7200 }, 'oidcFlow.stateTtlSeconds'],
  ])('refuses %s at start-up', (_name, change, option) => {
    const attempt = () => resolveOidcFlowConfig({ ...base, ...change });
    expect(attempt).toThrow(AuthOptionsError);
    expect(attempt).toThrow(option);
  });
});

describe('provider presets', () => {
  it('names Google and a Microsoft tenant by their issuers', () => {
    expect(googleProvider({ clientId: 'g', clientSecret: 's' })).toEqual({
      id: 'google',
      name: 'Google',
      issuer: 'https://accounts.google.com',
      clientId: 'g',
      clientSecret: 's',
    });
    expect(microsoftProvider({ tenant: 'contoso.onmicrosoft.com', clientId: 'm', clientSecret: 's' })).toEqual({
      id: 'microsoft',
      name: 'Microsoft',
      issuer: 'https://login.microsoftonline.com/contoso.onmicrosoft.com/v2.0',
      clientId: 'm',
      clientSecret: 's',
    });
    expect(() => microsoftProvider({ tenant: 'common', clientId: 'm', clientSecret: 's' })).toThrow('microsoftProvider.tenant');
  });
});

describe('the GitHub preset', () => {
  // GitHub's API as its documentation shows it, answering by URL.
  const api = (answers: Record<string, unknown>): ProviderApi & { asked: string[] } => {
    const asked: string[] = [];
    return {
      asked,
      get: (url) => {
        asked.push(url);
        return url in answers ? Promise.resolve(answers[url]) : Promise.reject(new Error(`GET ${url} answered 404`));
      },
    };
  };

  it('reads github.com, or an Enterprise Server under /api/v3', async () => {
    const github = githubProvider({ clientId: 'c', clientSecret: 's' });
    expect(github).toMatchObject({ id: 'github', name: 'GitHub', issuer: 'https://github.com', scopes: ['read:user', 'user:email'] });
    expect(github.oauth2).toMatchObject({
      authorizationEndpoint: 'https://github.com/login/oauth/authorize',
      tokenEndpoint: 'https://github.com/login/oauth/access_token',
    });
    const answers = api({
      'https://api.github.com/user': { id: 1, login: 'octocat', email: null },
      'https://api.github.com/user/emails': [
        { email: 'old@example.com', primary: false, verified: true },
        { email: 'octocat@example.com', primary: true, verified: true },
      ],
    });
    await expect(github.oauth2!.profile(answers)).resolves.toEqual({ subject: '1', email: 'octocat@example.com', emailVerified: true });
    const enterprise = githubProvider({ clientId: 'c', clientSecret: 's', enterpriseUrl: 'https://git.example.com/' });
    expect(enterprise.oauth2!.tokenEndpoint).toBe('https://git.example.com/login/oauth/access_token');
    const asked = api({ 'https://git.example.com/api/v3/user': { id: 7 }, 'https://git.example.com/api/v3/user/emails': [] });
    await expect(enterprise.oauth2!.profile(asked)).resolves.toEqual({ subject: '7', email: null, emailVerified: false });
  });

  it('refuses a user without a numeric id, and reads no address without the user:email scope', async () => {
    const github = githubProvider({ clientId: 'c', clientSecret: 's' });
    await expect(github.oauth2!.profile(api({ 'https://api.github.com/user': { login: 'octocat' } }))).rejects.toThrow('numeric id');
    const noEmail = githubProvider({ clientId: 'c', clientSecret: 's', scopes: ['read:user'] });
    const answers = api({ 'https://api.github.com/user': { id: 2 } });
    await expect(noEmail.oauth2!.profile(answers)).resolves.toEqual({ subject: '2', email: null, emailVerified: false });
    expect(answers.asked).toEqual(['https://api.github.com/user']);
  });
});
