import { describe, expect, it } from '@jest/globals';
import { AuthOptionsError } from '../../auth.errors.js';
import { googleProvider, microsoftProvider, resolveOidcFlowConfig, type OidcFlowOptions } from './oidc-flow.options.js';

const provider = { id: 'corp', issuer: 'https://login.example.com', clientId: 'app', clientSecret: 'secret' };
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
      scopes: ['openid', 'email', 'profile'],
      allowInsecureRequests: false,
      redirectUri: 'https://app.example.com/auth/oauth/corp/callback',
    });
    expect(config).toMatchObject({
      returnTo: ['https://app.example.com/'],
      errorUrl: null,
      linkByVerifiedEmail: false,
      stateTtlSeconds: 600,
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
      issuer: 'https://accounts.google.com',
      clientId: 'g',
      clientSecret: 's',
    });
    expect(microsoftProvider({ tenant: 'contoso.onmicrosoft.com', clientId: 'm', clientSecret: 's' })).toEqual({
      id: 'microsoft',
      issuer: 'https://login.microsoftonline.com/contoso.onmicrosoft.com/v2.0',
      clientId: 'm',
      clientSecret: 's',
    });
    expect(() => microsoftProvider({ tenant: 'common', clientId: 'm', clientSecret: 's' })).toThrow('microsoftProvider.tenant');
  });
});
