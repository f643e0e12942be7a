import { describe, expect, it } from '@jest/globals';
import { Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { AuthModule, AuthOptionsError } from '../src/auth/index.js';
import { TEST_SECRET } from './utils/app.js';

async function boot(imports: unknown[]): Promise<unknown> {
  @Module({ imports: imports as never[] })
  class HostModule {}
  const moduleRef = await Test.createTestingModule({ imports: [HostModule] }).compile();
  await moduleRef.close();
  return moduleRef;
}

describe('options are checked at start-up, naming the bad option', () => {
  it('refuses a secret under 32 bytes', async () => {
    await expect(boot([AuthModule.forRoot('too-short-secret')])).rejects.toThrow(/"secret".*32 bytes/);
  });

  it('refuses a missing secret (an unset environment variable)', async () => {
    await expect(boot([AuthModule.forRoot(process.env.NEST_WARDEN_UNSET_VARIABLE as string)])).rejects.toThrow(AuthOptionsError);
  });

  it('checks options returned by a forRootAsync factory', async () => {
    const module = AuthModule.forRootAsync({ useFactory: () => ({ secret: TEST_SECRET, accessTokenTtlSeconds: -5 }) });
    await expect(boot([module])).rejects.toThrow(/"accessTokenTtlSeconds"/);
  });

  it('refuses a bad structural option when forRoot is called', () => {
    expect(() => AuthModule.forRoot({ secret: TEST_SECRET, routePrefix: 'auth?x=1' })).toThrow(/"routePrefix"/);
    expect(() => AuthModule.forRoot({ secret: TEST_SECRET, globalGuard: 'yes' as unknown as boolean })).toThrow(/"globalGuard"/);
  });

  it('boots with valid options', async () => {
    await expect(boot([AuthModule.forRoot(TEST_SECRET)])).resolves.toBeDefined();
  });
});
