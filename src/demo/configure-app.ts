import type { INestApplication } from '@nestjs/common';
import { AuthBodyErrorFilter } from '../auth/index.js';

/** HTTP settings of the demo app, shared by `main.ts` and the e2e tests. */
export function configureDemoApp<T extends INestApplication>(app: T): T {
  const instance = app.getHttpAdapter().getInstance() as { disable?: (setting: string) => void };
  instance.disable?.('x-powered-by');
  app.useGlobalFilters(new AuthBodyErrorFilter(app.getHttpAdapter()));
  app.enableShutdownHooks();
  return app;
}
