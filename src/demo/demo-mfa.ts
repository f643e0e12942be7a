import { randomBytes } from 'node:crypto';
import { Logger } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { mfaFlow, type AuthFlow, type MfaFlowOptions } from '../auth/index.js';
import { RedisMfaStore } from '../auth/redis/index.js';
import { TypeOrmMfaStore } from '../auth/typeorm/index.js';
import { demoRedisUrl, demoStoreKind } from './demo-options.js';

/**
 * The demo's second-factor flow options from the environment:
 * - `AUTH_MFA_KEY` (at least 32 bytes) encrypts the TOTP secrets. Required in production; in
 *   development a random key is made, with a warning that enrolled authenticators stop working
 *   on restart.
 * - Factors live with the users: in SQL with `AUTH_DATABASE_URL`, else in Redis with
 *   `AUTH_SESSION_STORE=redis`, else in memory.
 */
export function demoMfaFlowOptions(env: NodeJS.ProcessEnv = process.env): MfaFlowOptions {
  const options: MfaFlowOptions = { encryptionKey: demoMfaKey(env), issuer: 'nest-warden demo' };
  // Factories, so no connection opens before the app starts, and the DataSource is the app's.
  if (env.AUTH_DATABASE_URL) {
    options.store = { inject: [DataSource], useFactory: (dataSource: DataSource) => new TypeOrmMfaStore({ dataSource }) };
  } else if (demoStoreKind(env) === 'redis') {
    const url = demoRedisUrl(env);
    options.store = { useFactory: () => new RedisMfaStore({ url }) };
  }
  return options;
}

/** The demo's second factor (TOTP with recovery codes): see {@link demoMfaFlowOptions}. */
export function demoMfaFlow(env: NodeJS.ProcessEnv = process.env): AuthFlow {
  return mfaFlow(demoMfaFlowOptions(env));
}

function demoMfaKey(env: NodeJS.ProcessEnv): string {
  const key = env.AUTH_MFA_KEY;
  if (key) return key;
  if (env.NODE_ENV === 'production') throw new Error('AUTH_MFA_KEY is required when NODE_ENV=production (at least 32 bytes)');
  new Logger('Demo').warn('AUTH_MFA_KEY is not set: using a random key; TOTP enrolments stop working on restart');
  return randomBytes(32).toString('base64url');
}
