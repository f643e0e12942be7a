/** Injection token of the validated configuration ({@link AuthConfig}). */
export const AUTH_CONFIG = Symbol('nest-warden:config');

/** Injection token of the provider that applies the OpenAPI metadata while the app starts. */
export const AUTH_OPENAPI = Symbol('nest-warden:openapi');

/** Metadata key set by `@Public()`. */
export const IS_PUBLIC_KEY = 'nest-warden:isPublic';

/** Name under which `JwtStrategy` is registered with passport. */
export const JWT_STRATEGY_NAME = 'nest-warden-jwt';
