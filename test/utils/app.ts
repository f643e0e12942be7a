import { createRequire } from 'node:module';
import type { DynamicModule, INestApplication, Type } from '@nestjs/common';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import { configureDemoApp } from '../../src/demo/configure-app.js';

/** A 32+ byte secret shared by the fixtures and the tests that craft tokens by hand. */
export const TEST_SECRET = 'test-secret-that-is-at-least-32-bytes-long!';

/**
 * The major version of the NestJS the suite runs against: 12 from the root, 11 under
 * test/nest11/jest-e2e.json, whose moduleNameMapper also applies to this require.
 */
export const NEST_MAJOR = Number(
  (createRequire(import.meta.url)('@nestjs/core/package.json') as { version: string }).version.split('.')[0],
);

/** The HTTP adapters every e2e suite runs over. */
export const ADAPTERS = ['express', 'fastify'] as const;
export type AdapterName = (typeof ADAPTERS)[number];

/** Boots a fixture module as a real HTTP app with the demo's HTTP settings, on Express or Fastify. */
export async function createApp(
  module: Type | DynamicModule,
  adapter: AdapterName = 'express',
  beforeInit?: (app: INestApplication) => void,
): Promise<INestApplication> {
  const moduleRef = await Test.createTestingModule({ imports: [module] }).compile();
  const app =
    adapter === 'fastify'
      ? moduleRef.createNestApplication(new FastifyAdapter({ bodyLimit: 100 * 1024 }), { logger: false })
      : moduleRef.createNestApplication({ logger: false });
  configureDemoApp(app);
  beforeInit?.(app);
  await app.init();
  if (adapter === 'fastify') await (app.getHttpAdapter().getInstance() as { ready(): Promise<unknown> }).ready();
  return app;
}
