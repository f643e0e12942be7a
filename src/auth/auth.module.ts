import { Controller, Module, type DynamicModule, type Provider, type Type } from '@nestjs/common';
import { GUARDS_METADATA } from '@nestjs/common/constants.js';
import { APP_GUARD } from '@nestjs/core';
import { PassportModule } from '@nestjs/passport';
import { AuditSink } from './audit/audit-sink.js';
import { checkBoolean, checkRoutePrefix, resolveAuthConfig, type AuthConfig } from './auth.config.js';
import { AUTH_CONFIG, AUTH_OPENAPI } from './auth.constants.js';
import { AuthController } from './auth.controller.js';
import { AuthGuard } from './auth.guard.js';
import {
  AUTH_ASYNC_OPTIONS_TYPE,
  AUTH_MODULE_EXTRAS,
  AUTH_MODULE_OPTIONS,
  AUTH_OPTIONS_TYPE,
  ConfigurableAuthModule,
} from './auth.module-definition.js';
import { AuthService } from './auth.service.js';
import type { AuthModuleExtras } from './interfaces/auth-module-options.interface.js';
import { JwksController } from './jwks.controller.js';
import { JwtStrategy } from './jwt.strategy.js';
import { applyOpenApiMetadata } from './openapi.js';
import { PasswordHasher } from './passwords/password-hasher.js';
import { SessionStore } from './sessions/session-store.js';
import { ThrottleStore } from './throttle/throttle-store.js';
import { TokenService } from './tokens/token.service.js';
import { UserStore } from './users/user-store.js';

const fromConfig = <T>(token: abstract new (...args: never[]) => T, pick: (config: AuthConfig) => T): Provider => ({
  provide: token,
  useFactory: pick,
  inject: [AUTH_CONFIG],
});

const PROVIDERS: Provider[] = [
  { provide: AUTH_CONFIG, useFactory: resolveAuthConfig, inject: [AUTH_MODULE_OPTIONS] },
  fromConfig(SessionStore, (config) => config.sessionStore),
  fromConfig(UserStore, (config) => config.userStore),
  fromConfig(PasswordHasher, (config) => config.passwordHasher),
  fromConfig(AuditSink, (config) => config.audit),
  // As providers, the stores get Nest's shutdown hooks: timers cleared, Redis clients closed.
  fromConfig(ThrottleStore, (config) => config.throttleStore),
  TokenService,
  AuthService,
  JwtStrategy,
  AuthGuard,
  // Swagger documents are built after the app is created, so the decorators are in place.
  { provide: AUTH_OPENAPI, useFactory: applyOpenApiMetadata },
];

const EXPORTS = [
  AUTH_CONFIG,
  SessionStore,
  UserStore,
  ThrottleStore,
  PasswordHasher,
  AuditSink,
  TokenService,
  AuthService,
  JwtStrategy,
  AuthGuard,
];

/**
 * The nest-warden module.
 *
 * @example
 * ```ts
 * // with a secret
 * AuthModule.forRoot(process.env.AUTH_SECRET!)
 * // with options
 * AuthModule.forRoot({ secret, globalGuard: true, sessionStore: new RedisSessionStore({ url }) })
 * // from ConfigService
 * AuthModule.forRootAsync({
 *   imports: [ConfigModule],
 *   inject: [ConfigService],
 *   useFactory: (config: ConfigService) => ({ secret: config.getOrThrow('AUTH_SECRET') }),
 *   globalGuard: true,
 * })
 * ```
 */
@Module({ imports: [PassportModule], providers: PROVIDERS, exports: EXPORTS })
export class AuthModule extends ConfigurableAuthModule {
  /** Configures the module with a secret, or with options and structural extras. */
  static override forRoot(secretOrOptions: string | typeof AUTH_OPTIONS_TYPE): DynamicModule {
    // An unset environment variable arrives as undefined: let option validation name it.
    const options: typeof AUTH_OPTIONS_TYPE =
      typeof secretOrOptions === 'string' || secretOrOptions == null ? { secret: secretOrOptions as string } : secretOrOptions;
    return withStructure(super.forRoot(options), options);
  }

  /**
   * Configures the module from a factory (`useFactory`, `useClass` or `useExisting`).
   * Structural options (`isGlobal`, `globalGuard`, `controller`, `routePrefix`) sit next to
   * the factory, since they shape the module before the factory runs.
   */
  static override forRootAsync(options: typeof AUTH_ASYNC_OPTIONS_TYPE): DynamicModule {
    return withStructure(super.forRootAsync(options), options);
  }
}

function withStructure(definition: DynamicModule, given: AuthModuleExtras): DynamicModule {
  const extras = { ...AUTH_MODULE_EXTRAS, ...definedOnly(given) };
  const controller = checkBoolean('controller', extras.controller);
  const globalGuard = checkBoolean('globalGuard', extras.globalGuard);
  checkBoolean('isGlobal', extras.isGlobal);
  const prefix = checkRoutePrefix(extras.routePrefix);
  return {
    ...definition,
    controllers: controller ? [controllerFor(prefix, globalGuard), JwksController] : [],
    providers: [...(definition.providers ?? []), ...(globalGuard ? [{ provide: APP_GUARD, useExisting: AuthGuard }] : [])],
  };
}

function definedOnly(given: AuthModuleExtras): AuthModuleExtras {
  const picked: Record<string, unknown> = {};
  for (const key of Object.keys(AUTH_MODULE_EXTRAS)) {
    const value = (given as Record<string, unknown>)[key];
    if (value !== undefined) picked[key] = value;
  }
  return picked as AuthModuleExtras;
}

function controllerFor(prefix: string, globalGuard: boolean): Type<AuthController> {
  if (prefix === 'auth' && !globalGuard) return AuthController;
  @Controller(prefix)
  class MountedAuthController extends AuthController {}
  // With the global guard on, the controller's own @UseGuards(AuthGuard) would authenticate
  // every request a second time.
  if (globalGuard) Reflect.defineMetadata(GUARDS_METADATA, [], MountedAuthController);
  return MountedAuthController;
}
