import { ConfigurableModuleBuilder } from '@nestjs/common';
import type { AuthModuleExtras, AuthModuleOptions } from './interfaces/auth-module-options.interface.js';

/** Defaults of the structural options. Every extras key must be listed here. */
export const AUTH_MODULE_EXTRAS: Required<AuthModuleExtras> = {
  isGlobal: false,
  globalGuard: false,
  controller: true,
  routePrefix: 'auth',
  flows: [],
};

/**
 * `ConfigurableAuthModule` is the generated base of `AuthModule`; `AUTH_MODULE_OPTIONS` is the
 * injection token of the raw options as given to `forRoot`/`forRootAsync` (before validation;
 * inject `AUTH_CONFIG` for the validated ones).
 */
export const {
  ConfigurableModuleClass: ConfigurableAuthModule,
  MODULE_OPTIONS_TOKEN: AUTH_MODULE_OPTIONS,
  OPTIONS_TYPE: AUTH_OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE: AUTH_ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<AuthModuleOptions>({ moduleName: 'Auth' })
  .setClassMethodName('forRoot')
  .setExtras<AuthModuleExtras>(AUTH_MODULE_EXTRAS, (definition, extras) => ({
    ...definition,
    global: extras.isGlobal,
  }))
  .build();
