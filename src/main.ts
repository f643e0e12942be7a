import 'reflect-metadata';
import { Logger, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AppModule } from './app.module.js';
import { configureDemoApp, serveDemoDocs } from './demo/configure-app.js';

/** The demo on Express (default) or Fastify (`HTTP_ADAPTER=fastify`), same 100 kB body limit. */
async function createDemoApp(adapter: string): Promise<INestApplication> {
  if (adapter === 'fastify') {
    // Loaded only when asked for: Fastify is optional for apps using nest-warden.
    const { FastifyAdapter } = await import('@nestjs/platform-fastify');
    return NestFactory.create(AppModule, new FastifyAdapter({ bodyLimit: 100 * 1024 }));
  }
  if (adapter !== 'express') throw new Error(`HTTP_ADAPTER must be "express" or "fastify", not "${adapter}"`);
  return NestFactory.create(AppModule);
}

async function bootstrap(): Promise<void> {
  const adapter = process.env.HTTP_ADAPTER ?? 'express';
  const app = configureDemoApp(await createDemoApp(adapter));
  serveDemoDocs(app);
  const port = Number(process.env.PORT ?? 3000);
  await app.listen(port, '0.0.0.0');
  new Logger('Demo').log(`nest-warden demo (${adapter}) listening on http://localhost:${port}`);
}

await bootstrap();
