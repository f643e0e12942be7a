import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { addAuthSecuritySchemes, AuthBodyErrorFilter } from '../auth/index.js';

/** HTTP settings of the demo app, shared by `main.ts` and the e2e tests. */
export function configureDemoApp<T extends INestApplication>(app: T): T {
  const instance = app.getHttpAdapter().getInstance() as { disable?: (setting: string) => void };
  instance.disable?.('x-powered-by');
  app.useGlobalFilters(new AuthBodyErrorFilter(app.getHttpAdapter()));
  app.enableShutdownHooks();
  return app;
}

/** Serves the OpenAPI document of the demo at /docs (UI) and /docs-json, with nest-warden's security schemes (bearer, cookie and CSRF). */
export function serveDemoDocs(app: INestApplication): void {
  const builder = new DocumentBuilder()
    .setTitle('nest-warden demo')
    .setDescription('Authentication endpoints of nest-warden, plus the demo routes.');
  const config = addAuthSecuritySchemes(builder, app).build();
  SwaggerModule.setup('docs', app, () => SwaggerModule.createDocument(app, config));
}
