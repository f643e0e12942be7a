import type { DynamicModule, INestApplication, Type } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { configureDemoApp } from '../../src/demo/configure-app.js';

/** A 32+ byte secret shared by the fixtures and the tests that craft tokens by hand. */
export const TEST_SECRET = 'test-secret-that-is-at-least-32-bytes-long!';

/** Boots a fixture module as a real HTTP app with the demo's HTTP settings. */
export async function createApp(module: Type | DynamicModule): Promise<INestApplication> {
  const moduleRef = await Test.createTestingModule({ imports: [module] }).compile();
  const app = configureDemoApp(moduleRef.createNestApplication({ logger: false }));
  await app.init();
  return app;
}
