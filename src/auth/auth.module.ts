import { Controller, Module, type DynamicModule, type Provider, type Type } from '@nestjs/common';
import { GUARDS_METADATA, INTERCEPTORS_METADATA, PATH_METADATA } from '@nestjs/common/constants.js';
import { APP_FILTER, APP_GUARD } from '@nestjs/core';
import { PassportModule } from '@nestjs/passport';
import { AccountService } from './accounts/account.service.js';
import { ReauthenticationService } from './accounts/reauthentication.service.js';
import { AuditSink } from './audit/audit-sink.js';
import { AuditTrail } from './audit/audit-trail.js';
import { authParts, checkBoolean, checkRoutePrefix, resolveAuthConfig, type AuthConfig, type AuthParts } from './auth.config.js';
import { AUTH_CONFIG, AUTH_OPENAPI } from './auth.constants.js';
import { AuthController } from './auth.controller.js';
import { AuthOptionsError } from './auth.errors.js';
import { AuthGuard } from './auth.guard.js';
import {
  AUTH_ASYNC_OPTIONS_TYPE,
  AUTH_MODULE_EXTRAS,
  AUTH_MODULE_OPTIONS,
  AUTH_OPTIONS_TYPE,
  ConfigurableAuthModule,
} from './auth.module-definition.js';
import { AuthService } from './auth.service.js';
import { Authenticator } from './authentication/authenticator.js';
import { AuthExceptionFilter } from './filters/auth-exception.filter.js';
import { LOGIN_STEPS, PROFILE_FIELDS, REGISTRATION_STEPS, type AuthFlow } from './flows/auth-flow.js';
import { SECOND_FACTOR_METHODS } from './login/second-factor.js';
import { sessionsFlow } from './flows/sessions/sessions.flow.js';
import type { AuthModuleExtras, AuthModuleOptions } from './interfaces/auth-module-options.interface.js';
import { JwksController } from './jwks.controller.js';
import { JwtStrategy } from './jwt.strategy.js';
import { AuthErrorInterceptor } from './interceptors/auth-error.interceptor.js';
import { LoginPipeline } from './login/login-pipeline.js';
import { applyOpenApiMetadata } from './openapi.js';
import { CredentialPolicy } from './passwords/credential-policy.js';
import { PasswordHasher } from './passwords/password-hasher.js';
import { PasswordService } from './passwords/password.service.js';
import { SessionStore } from './sessions/session-store.js';
import { SessionService } from './sessions/session.service.js';
import { LoginDefence } from './throttle/login-defence.js';
import { ThrottleStore } from './throttle/throttle-store.js';
import { TokenService } from './tokens/token.service.js';
import { UserStore } from './users/user-store.js';
import { TokenResponder } from './http/token-responder.js';

// A pluggable part, provided under its abstract class: a host's overrideProvider(...) reaches every use.
const part = <K extends keyof AuthParts>(token: abstract new (...args: never[]) => AuthParts[K], key: K): Provider => ({
  provide: token,
  useFactory: (options: AuthModuleOptions, config: AuthConfig) => authParts[key](options, config),
  inject: [AUTH_MODULE_OPTIONS, AUTH_CONFIG],
});

const PROVIDERS: Provider[] = [
  { provide: AUTH_CONFIG, useFactory: resolveAuthConfig, inject: [AUTH_MODULE_OPTIONS] },
  // As providers, the stores get Nest's shutdown hooks: timers cleared, Redis clients closed.
  part(SessionStore, 'sessionStore'),
  part(UserStore, 'userStore'),
  part(ThrottleStore, 'throttleStore'),
  part(PasswordHasher, 'passwordHasher'),
  part(AuditSink, 'audit'),
  { provide: CredentialPolicy, useFactory: (config: AuthConfig) => new CredentialPolicy(config.passwordPolicy), inject: [AUTH_CONFIG] },
  AuditTrail,
  TokenService,
  PasswordService,
  LoginDefence,
  SessionService,
  AccountService,
  ReauthenticationService,
  LoginPipeline,
  TokenResponder,
  Authenticator,
  AuthService,
  JwtStrategy,
  AuthGuard,
  AuthExceptionFilter,
  // AuthErrors from AuthService called in the host's own controllers get the same answers as ours.
  { provide: APP_FILTER, useExisting: AuthExceptionFilter },
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
  CredentialPolicy,
  AuditTrail,
  TokenService,
  PasswordService,
  LoginDefence,
  SessionService,
  AccountService,
  ReauthenticationService,
  LoginPipeline,
  TokenResponder,
  Authenticator,
  AuthService,
  JwtStrategy,
  AuthGuard,
  AuthExceptionFilter,
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
   * Structural options (`isGlobal`, `globalGuard`, `controller`, `routePrefix`, `flows`) sit next
   * to the factory, since they shape the module before the factory runs.
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
  // The built-in flows first, then the host's, in the order given.
  const flows = [sessionsFlow, ...checkFlows(extras.flows)];
  const steps = flows.flatMap((flow) => flow.loginSteps ?? []);
  const registrationSteps = flows.flatMap((flow) => flow.registrationSteps ?? []);
  const methods = flows.flatMap((flow) => flow.secondFactorMethods ?? []);
  const profileFields = flows.flatMap((flow) => flow.profileFields ?? []);
  // The paths of the module's own controller are taken: a flow cannot shadow them. Under
  // `password` (the module's POST /password), a flow may add routes of their own paths only.
  const paths = new Set<string>(['register', 'login', 'refresh', 'me', 'logout', 'reauthenticate']);
  const flowControllers = flows.flatMap((flow) => (flow.controllers ?? []).map((type) => mount(flow, type, prefix, globalGuard, paths)));
  return {
    ...definition,
    controllers: controller ? [controllerFor(prefix, globalGuard), JwksController, ...flowControllers] : [],
    providers: [
      ...(definition.providers ?? []),
      ...flows.flatMap((flow) => flow.providers ?? []),
      ...new Set([...steps, ...registrationSteps, ...methods, ...profileFields]),
      { provide: PROFILE_FIELDS, useFactory: (...instances: unknown[]) => instances, inject: profileFields },
      { provide: LOGIN_STEPS, useFactory: (...instances: unknown[]) => instances, inject: steps },
      { provide: SECOND_FACTOR_METHODS, useFactory: (...instances: unknown[]) => instances, inject: methods },
      { provide: REGISTRATION_STEPS, useFactory: (...instances: unknown[]) => instances, inject: registrationSteps },
      ...(globalGuard ? [{ provide: APP_GUARD, useExisting: AuthGuard }] : []),
    ],
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

function checkFlows(value: unknown): readonly AuthFlow[] {
  if (!Array.isArray(value)) throw new AuthOptionsError('flows', 'must be an array of flows');
  const names = new Set<string>([sessionsFlow.name]);
  value.forEach((flow: unknown, index) => {
    const name = (flow as AuthFlow | null)?.name;
    if (typeof name !== 'string' || name.length === 0) throw new AuthOptionsError(`flows[${index}]`, 'must be a flow with a name');
    if (names.has(name)) throw new AuthOptionsError(`flows[${index}]`, `repeats the flow "${name}"`);
    names.add(name);
  });
  return value as readonly AuthFlow[];
}

// The paths of a controller's routes, relative to the controller's ('' for the controller's own).
function routePaths(type: Type): string[] {
  const prototype = type.prototype as Record<string, unknown>;
  return Object.getOwnPropertyNames(prototype).flatMap((key) => {
    const handler = prototype[key];
    const path = typeof handler === 'function' ? (Reflect.getMetadata(PATH_METADATA, handler) as unknown) : undefined;
    if (path === undefined) return [];
    return (Array.isArray(path) ? path : [path]).map((one) => String(one).replace(/^\/+|\/+$/g, ''));
  });
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

// A flow's controller under the route prefix: `@Controller('totp')` answers at `/<prefix>/totp`,
// behind AuthGuard (the global one, or the class's own) and with the module's error edge. Only
// the path is redefined on the subclass: the controller's other options (host, version, scope)
// are inherited as they are.
function mount(flow: AuthFlow, type: Type, prefix: string, globalGuard: boolean, paths: Set<string>): Type {
  const own = Reflect.getMetadata(PATH_METADATA, type) as unknown;
  const relative = typeof own === 'string' ? own.replace(/^\/+|\/+$/g, '') : '';
  if (relative.length === 0) {
    throw new AuthOptionsError(
      'flows',
      `flow "${flow.name}": controller ${type.name} must declare its own path, such as @Controller('${flow.name}')`,
    );
  }
  // Under `mfa` (the module's POST /mfa/verify) likewise.
  const ownPaths = routePaths(type);
  if (
    paths.has(relative) ||
    (relative === 'password' && ownPaths.some((path) => path.length === 0)) ||
    (relative === 'mfa' && ownPaths.some((path) => path === 'verify'))
  ) {
    throw new AuthOptionsError('flows', `flow "${flow.name}": the path "${relative}" is taken`);
  }
  paths.add(relative);
  class MountedFlowController extends (type as Type<object>) {}
  Object.defineProperty(MountedFlowController, 'name', { value: type.name });
  Reflect.defineMetadata(PATH_METADATA, [prefix, relative].filter((part) => part.length > 0).join('/'), MountedFlowController);
  const guards = ((Reflect.getMetadata(GUARDS_METADATA, type) as unknown[] | undefined) ?? []).filter((guard) => guard !== AuthGuard);
  Reflect.defineMetadata(GUARDS_METADATA, globalGuard ? guards : [AuthGuard, ...guards], MountedFlowController);
  const interceptors = (Reflect.getMetadata(INTERCEPTORS_METADATA, type) as unknown[] | undefined) ?? [];
  if (!interceptors.includes(AuthErrorInterceptor)) {
    Reflect.defineMetadata(INTERCEPTORS_METADATA, [AuthErrorInterceptor, ...interceptors], MountedFlowController);
  }
  return MountedFlowController;
}
