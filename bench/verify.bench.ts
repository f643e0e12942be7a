// Micro-benchmark of access-token verification against the floor of one HMAC plus one
// JSON.parse. Runs in one process, bounded by iteration counts.
import { createHmac, createSecretKey, timingSafeEqual } from 'node:crypto';
import jsonwebtoken from 'jsonwebtoken';
import { AuditSink, createAuthService, resolveAuthConfig, TokenService } from '../src/auth/index.js';

class SilentAudit extends AuditSink {
  emit(): void {}
}

const SECRET = 'bench-secret-that-is-at-least-32-bytes!!';
const ITERATIONS = Number(process.env.BENCH_ITERATIONS ?? 100_000);

function measure(name: string, iterations: number, fn: () => unknown): { name: string; perSecond: number; microseconds: number } {
  for (let i = 0; i < Math.min(5000, iterations); i++) fn();
  const started = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) fn();
  const ns = Number(process.hrtime.bigint() - started) / iterations;
  return { name, perSecond: 1e9 / ns, microseconds: ns / 1000 };
}

async function main(): Promise<void> {
  const auth = createAuthService(SECRET, { audit: new SilentAudit() });
  await auth.register('bench', 'bench password 1');
  const login = (await auth.login('bench', 'bench password 1'))!;
  const token = login.accessToken;
  const key = createSecretKey(Buffer.from(SECRET));
  const tokens = new TokenService(resolveAuthConfig({ secret: SECRET }));
  const options = { algorithms: ['HS256' as const], issuer: 'nest-warden', audience: 'nest-warden' };

  const [head, payload, signature] = token.split('.') as [string, string, string];
  const expected = Buffer.from(signature, 'base64url');
  const rows = [
    measure('floor: HMAC-SHA256 + JSON.parse', ITERATIONS, () => {
      const actual = createHmac('sha256', key).update(`${head}.${payload}`).digest();
      return timingSafeEqual(actual, expected) && JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
    }),
    measure('jsonwebtoken.verify, string secret (docs recipe)', Math.ceil(ITERATIONS / 20), () => jsonwebtoken.verify(token, SECRET, options)),
    measure('jsonwebtoken.verify, KeyObject', ITERATIONS, () => jsonwebtoken.verify(token, key, options)),
  ];
  // First sight of each token: distinct tokens, so the verified-token cache never hits.
  const fresh = Array.from({ length: Math.ceil(ITERATIONS / 4) }, (_, i) => tokens.sign(`user-${i}`, `session-${i}`, 3600));
  let next = 0;
  rows.push(measure('nest-warden TokenService.verify, first sight (all claim checks)', fresh.length - 5000, () => tokens.verify(fresh[next++]!)));
  rows.push(measure('nest-warden TokenService.verify, seen before (cache hit)', ITERATIONS, () => tokens.verify(token)));
  // authenticate() is async (session lookup): time it with awaited calls.
  const n = Math.ceil(ITERATIONS / 2);
  for (let i = 0; i < 2000; i++) await auth.authenticate(token);
  const started = process.hrtime.bigint();
  for (let i = 0; i < n; i++) await auth.authenticate(token);
  const ns = Number(process.hrtime.bigint() - started) / n;
  rows.push({ name: 'nest-warden AuthService.authenticate (token + memory session)', perSecond: 1e9 / ns, microseconds: ns / 1000 });

  const floor = rows[0]!.perSecond;
  console.log('\nToken verification, one process\n');
  console.log('| what | verifications/s | us each | vs floor |');
  console.log('|---|---:|---:|---:|');
  for (const row of rows) {
    console.log(`| ${row.name} | ${Math.round(row.perSecond).toLocaleString('en-US')} | ${row.microseconds.toFixed(2)} | ${(row.perSecond / floor).toFixed(2)}x |`);
  }
}

await main();
