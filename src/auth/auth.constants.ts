/** Injection token of the validated configuration ({@link AuthConfig}). */
export const AUTH_CONFIG = Symbol('nest-warden:config');

/** Injection token of the provider that applies the OpenAPI metadata while the app starts. */
export const AUTH_OPENAPI = Symbol('nest-warden:openapi');

/** Metadata key set by `@Public()`. */
export const IS_PUBLIC_KEY = 'nest-warden:isPublic';

/** Metadata key set by `@RequireMfa()`. */
export const REQUIRE_MFA_KEY = 'nest-warden:requireMfa';

/** Metadata key set by `@RequireRecentLogin()`: the seconds, or `0` for the module's `recentLoginSeconds`. */
export const RECENT_LOGIN_KEY = 'nest-warden:recentLogin';

/** Name under which `JwtStrategy` is registered with passport. */
export const JWT_STRATEGY_NAME = 'nest-warden-jwt';
