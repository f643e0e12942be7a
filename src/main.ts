import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AppModule } from './app.module.js';
import { configureDemoApp } from './demo/configure-app.js';

async function bootstrap(): Promise<void> {
  const app = configureDemoApp(await NestFactory.create(AppModule));
  const port = Number(process.env.PORT ?? 3000);
  await app.listen(port, '0.0.0.0');
  new Logger('Demo').log(`nest-warden demo listening on http://localhost:${port}`);
}

await bootstrap();
