import { randomBytes } from 'node:crypto';
import { Logger } from '@nestjs/common';

/**
 * The demo's signing secret: `AUTH_SECRET` when set. In production it is required; in
 * development a random one is made, with a warning that tokens die on restart.
 */
export function demoSecret(env: NodeJS.ProcessEnv = process.env): string {
  const secret = env.AUTH_SECRET;
  if (secret) return secret;
  if (env.NODE_ENV === 'production') {
    throw new Error('AUTH_SECRET is required when NODE_ENV=production (at least 32 bytes)');
  }
  new Logger('Demo').warn('AUTH_SECRET is not set: using a random secret; tokens stop working on restart');
  return randomBytes(32).toString('base64url');
}
