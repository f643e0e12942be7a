import { DataSource } from 'typeorm';
import { passkeysFlow, type AuthFlow, type PasskeysFlowOptions } from '../auth/index.js';
import { RedisOneTimeTokenStore, RedisPasskeyStore } from '../auth/redis/index.js';
import { TypeOrmOneTimeTokenStore, TypeOrmPasskeyStore } from '../auth/typeorm/index.js';
import { demoRedisUrl, demoStoreKind } from './demo-options.js';

/**
 * The demo's passkeys flow options from the environment:
 * - The relying party is `APP_URL`'s host (default `http://localhost:$PORT`), its origin the
 *   only one allowed: open the demo at that address (`localhost`, not `127.0.0.1`), as browsers
 *   bind passkeys to the host name.
 * - Passkeys and their ceremonies' challenges live with the users: in SQL with
 *   `AUTH_DATABASE_URL`, else in Redis with `AUTH_SESSION_STORE=redis`, else in memory.
 */
export function demoPasskeysFlowOptions(env: NodeJS.ProcessEnv = process.env): PasskeysFlowOptions {
  const appUrl = new URL(env.APP_URL || `http://localhost:${env.PORT || 3000}`);
  const options: PasskeysFlowOptions = { rpId: appUrl.hostname, rpName: 'nest-warden demo', origins: [appUrl.origin] };
  // Factories, so no connection opens before the app starts, and the DataSource is the app's.
  if (env.AUTH_DATABASE_URL) {
    options.store = { inject: [DataSource], useFactory: (dataSource: DataSource) => new TypeOrmPasskeyStore({ dataSource }) };
    options.challengeStore = { inject: [DataSource], useFactory: (dataSource: DataSource) => new TypeOrmOneTimeTokenStore({ dataSource }) };
  } else if (demoStoreKind(env) === 'redis') {
    const url = demoRedisUrl(env);
    options.store = { useFactory: () => new RedisPasskeyStore({ url }) };
    options.challengeStore = { useFactory: () => new RedisOneTimeTokenStore({ url }) };
  }
  return options;
}

/** The demo's passkeys: see {@link demoPasskeysFlowOptions}. */
export function demoPasskeysFlow(env: NodeJS.ProcessEnv = process.env): AuthFlow {
  return passkeysFlow(demoPasskeysFlowOptions(env));
}
