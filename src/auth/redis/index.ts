// Redis stores: import from 'nestjs-warden/redis' (needs the optional peer dependency ioredis).
export { RedisConnection, SCRIPT_ERROR_MARKER } from './redis-connection.js';
export type { RedisConnectionOptions, RedisScript } from './redis-connection.js';
export { RedisSessionStore } from '../sessions/redis-session.store.js';
export type { RedisSessionStoreOptions } from '../sessions/redis-session.store.js';
export { RedisThrottleStore } from '../throttle/redis-throttle.store.js';
export type { RedisThrottleStoreOptions } from '../throttle/redis-throttle.store.js';
export { RedisOneTimeTokenStore } from '../one-time-tokens/redis-one-time-token.store.js';
export type { RedisOneTimeTokenStoreOptions } from '../one-time-tokens/redis-one-time-token.store.js';
export { RedisMfaStore } from '../flows/mfa/redis-mfa.store.js';
export type { RedisMfaStoreOptions } from '../flows/mfa/redis-mfa.store.js';
export { RedisPasskeyStore } from '../flows/passkeys/redis-passkey.store.js';
export type { RedisPasskeyStoreOptions } from '../flows/passkeys/redis-passkey.store.js';
export { RedisIdentityStore } from '../flows/oidc/redis-identity.store.js';
export type { RedisIdentityStoreOptions } from '../flows/oidc/redis-identity.store.js';
