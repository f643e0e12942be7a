import { describe, expect, it } from '@jest/globals';
import { DataSource } from 'typeorm';
import { AuthOptionsError, type FlowPartFactory } from '../auth/index.js';
import { OIDC_FLOW_CONFIG, type OidcFlowConfig } from '../auth/oidc/index.js';
import { TypeOrmIdentityStore } from '../auth/typeorm/index.js';
import { demoOidcFlowOptions, demoOidcFlows, demoPublicUrl, OIDC_NEEDS_CLIENT } from './demo-oidc.js';

const PROVIDER = { AUTH_OIDC_ISSUER: 'http://127.0.0.1:3001', AUTH_OIDC_CLIENT_ID: 'demo', AUTH_OIDC_CLIENT_SECRET: 'a-secret' };

/** The settings the flow resolved the demo's options to. */
function configOf(env: NodeJS.ProcessEnv): OidcFlowConfig {
  const [flow] = demoOidcFlows(env);
  const provider = flow!.providers?.find(
    (one): one is { provide: symbol; useValue: OidcFlowConfig } =>
      typeof one === 'object' && 'provide' in one && one.provide === OIDC_FLOW_CONFIG,
  );
  return provider!.useValue;
}

describe('demoOidcFlowOptions', () => {
  it('adds no flow without AUTH_OIDC_ISSUER', () => {
    expect(demoOidcFlowOptions({})).toBeNull();
    expect(demoOidcFlowOptions({ AUTH_OIDC_ISSUER: '', AUTH_OIDC_CLIENT_ID: 'demo' })).toBeNull();
    expect(demoOidcFlows({})).toEqual([]);
  });

  it('makes one provider, id "oidc", back to the page on localhost:3000; plain http only because the issuer is on loopback', () => {
    expect(demoOidcFlowOptions(PROVIDER)).toEqual({
      providers: [
        {
          id: 'oidc',
          name: 'OpenID Provider',
          issuer: 'http://127.0.0.1:3001',
          clientId: 'demo',
          clientSecret: 'a-secret',
          allowInsecureRequests: true,
        },
      ],
      callbackBaseUrl: 'http://localhost:3000/auth',
      returnTo: ['http://localhost:3000/'],
      errorUrl: 'http://localhost:3000/',
    });
    const config = configOf(PROVIDER);
    expect(config.providers.get('oidc')).toMatchObject({
      name: 'OpenID Provider',
      redirectUri: 'http://localhost:3000/auth/oauth/oidc/callback',
      allowInsecureRequests: true,
    });
    expect(config.errorUrl).toBe('http://localhost:3000/');
    expect(demoOidcFlows(PROVIDER).map((flow) => flow.name)).toEqual(['oidc']);
  });

  it('takes the id and the name from AUTH_OIDC_ID and AUTH_OIDC_NAME, and the flow checks the id', () => {
    const env = { ...PROVIDER, AUTH_OIDC_ID: 'corp', AUTH_OIDC_NAME: 'Corp SSO' };
    expect(demoOidcFlowOptions(env)!.providers[0]).toMatchObject({ id: 'corp', name: 'Corp SSO' });
    expect(configOf(env).providers.get('corp')?.redirectUri).toBe('http://localhost:3000/auth/oauth/corp/callback');
    expect(() => demoOidcFlows({ ...PROVIDER, AUTH_OIDC_ID: 'Not An Id' })).toThrow(AuthOptionsError);
  });

  it('lets plain http through on loopback only: an https issuer needs no exception, an http one across a network is refused', () => {
    for (const issuer of ['http://localhost:3001', 'http://[::1]:3001/realm']) {
      expect(demoOidcFlowOptions({ ...PROVIDER, AUTH_OIDC_ISSUER: issuer })!.providers[0]!.allowInsecureRequests).toBe(true);
    }
    const https = demoOidcFlowOptions({ ...PROVIDER, AUTH_OIDC_ISSUER: 'https://login.example.com/realms/staff' })!;
    expect(https.providers[0]).not.toHaveProperty('allowInsecureRequests');
    expect(configOf({ ...PROVIDER, AUTH_OIDC_ISSUER: 'https://login.example.com' }).providers.get('oidc')?.allowInsecureRequests).toBe(
      false,
    );
    const remote = { ...PROVIDER, AUTH_OIDC_ISSUER: 'http://login.example.com' };
    expect(demoOidcFlowOptions(remote)!.providers[0]).not.toHaveProperty('allowInsecureRequests');
    expect(() => demoOidcFlows(remote)).toThrow(/"oidcFlow\.providers\[0\]\.issuer": must be https/);
    expect(() => demoOidcFlows({ ...PROVIDER, AUTH_OIDC_ISSUER: 'not a url' })).toThrow(/must be an absolute URL/);
  });

  it('refuses to start with an issuer but no client id or secret', () => {
    expect(() => demoOidcFlowOptions({ AUTH_OIDC_ISSUER: PROVIDER.AUTH_OIDC_ISSUER })).toThrow(OIDC_NEEDS_CLIENT);
    expect(() => demoOidcFlowOptions({ ...PROVIDER, AUTH_OIDC_CLIENT_ID: '' })).toThrow(OIDC_NEEDS_CLIENT);
    expect(() => demoOidcFlows({ ...PROVIDER, AUTH_OIDC_CLIENT_SECRET: undefined })).toThrow(OIDC_NEEDS_CLIENT);
  });

  it('builds the callback and the page’s address from AUTH_PUBLIC_URL, else APP_URL, else PORT', () => {
    const publicUrl = demoOidcFlowOptions({ ...PROVIDER, AUTH_PUBLIC_URL: 'https://demo.example.com/', PORT: '8080' })!;
    expect(publicUrl).toMatchObject({
      callbackBaseUrl: 'https://demo.example.com/auth',
      returnTo: ['https://demo.example.com/'],
      errorUrl: 'https://demo.example.com/',
    });
    expect(demoOidcFlowOptions({ ...PROVIDER, APP_URL: 'http://localhost:4000' })!.callbackBaseUrl).toBe('http://localhost:4000/auth');
    expect(demoOidcFlowOptions({ ...PROVIDER, PORT: '8080' })!.returnTo).toEqual(['http://localhost:8080/']);
    expect(demoPublicUrl({ AUTH_PUBLIC_URL: 'https://demo.example.com', APP_URL: 'https://other.example.com' })).toBe(
      'https://demo.example.com',
    );
    expect(() => demoPublicUrl({ AUTH_PUBLIC_URL: 'localhost:3000' })).toThrow(/AUTH_PUBLIC_URL must be an http\(s\) URL/);
    expect(() => demoPublicUrl({ AUTH_PUBLIC_URL: 'nowhere' })).toThrow(/AUTH_PUBLIC_URL must be an absolute http\(s\) URL/);
  });

  it('keeps the links in memory by default, in SQL with AUTH_DATABASE_URL (the app’s DataSource), in Redis with AUTH_SESSION_STORE=redis', () => {
    const memory = demoOidcFlowOptions(PROVIDER)!;
    expect(memory.identityStore).toBeUndefined();
    expect(memory.exchangeStore).toBeUndefined();

    const sql = demoOidcFlowOptions({ ...PROVIDER, AUTH_DATABASE_URL: 'postgres://u@db/warden', AUTH_SESSION_STORE: 'sql' })!;
    const identityStore = sql.identityStore as FlowPartFactory<TypeOrmIdentityStore>;
    expect(identityStore.inject).toEqual([DataSource]);
    const dataSource = { options: { type: 'postgres' }, createQueryRunner: () => undefined, isInitialized: false } as unknown as DataSource;
    expect(identityStore.useFactory(dataSource as never)).toBeInstanceOf(TypeOrmIdentityStore);
    expect((sql.exchangeStore as FlowPartFactory<unknown>).inject).toEqual([DataSource]);

    // Factories, not stores: nothing connects before the app makes them.
    const redis = demoOidcFlowOptions({ ...PROVIDER, AUTH_SESSION_STORE: 'redis', REDIS_URL: 'redis://127.0.0.1:1' })!;
    expect(typeof (redis.identityStore as FlowPartFactory<unknown>).useFactory).toBe('function');
    expect(typeof (redis.exchangeStore as FlowPartFactory<unknown>).useFactory).toBe('function');
    expect(() => demoOidcFlowOptions({ ...PROVIDER, AUTH_SESSION_STORE: 'mongo' })).toThrow(/"memory", "redis" or "sql"/);
  });
});
