// Micro-benchmark of access-token verification against the floor of one HMAC plus one
// JSON.parse. Runs in one process, bounded by iteration counts.
import { createHmac, createSecretKey, timingSafeEqual } from 'node:crypto';
import jsonwebtoken from 'jsonwebtoken';
import { resolveAuthConfig } from '../src/auth/auth.config.js';
import { AuditSink, createAuthService, TokenService } from '../src/auth/index.js';

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

// Awaits each call in turn; the first 2000 inputs warm up and are not timed.
async function measureAsync(
  name: string,
  inputs: string[],
  fn: (input: string) => Promise<unknown>,
): Promise<{ name: string; perSecond: number; microseconds: number }> {
  const warm = Math.min(2000, Math.floor(inputs.length / 4));
  for (let i = 0; i < warm; i++) await fn(inputs[i]!);
  const started = process.hrtime.bigint();
  for (let i = warm; i < inputs.length; i++) await fn(inputs[i]!);
  const ns = Number(process.hrtime.bigint() - started) / (inputs.length - warm);
  return { name, perSecond: 1e9 / ns, microseconds: ns / 1000 };
}

async function main(): Promise<void> {
  const auth = createAuthService(SECRET, { audit: new SilentAudit() });
  await auth.register('verifier', 'bench password 1');
  const login = (await auth.login('verifier', 'bench password 1'))!;
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
    measure('jsonwebtoken.verify, string secret (docs recipe)', Math.ceil(ITERATIONS / 20), () =>
      jsonwebtoken.verify(token, SECRET, options),
    ),
    measure('jsonwebtoken.verify, KeyObject', ITERATIONS, () => jsonwebtoken.verify(token, key, options)),
  ];
  // First sight of each token: distinct tokens, so the verified-token cache never hits.
  const fresh = await Promise.all(
    Array.from({ length: Math.ceil(ITERATIONS / 4) }, (_, i) => tokens.sign(`user-${i}`, `session-${i}`, 3600)),
  );
  rows.push(await measureAsync('nest-warden TokenService.verify, first sight (all claim checks)', fresh, (t) => tokens.verify(t)));
  rows.push(
    await measureAsync('nest-warden TokenService.verify, seen before (cache hit)', Array(ITERATIONS).fill(token), (t) => tokens.verify(t)),
  );
  rows.push(
    await measureAsync('nest-warden AuthService.authenticate (token + memory session)', Array(Math.ceil(ITERATIONS / 2)).fill(token), (t) =>
      auth.authenticate(t),
    ),
  );

  const floor = rows[0]!.perSecond;
  console.log('\nToken verification, one process\n');
  console.log('| what | verifications/s | us each | vs floor |');
  console.log('|---|---:|---:|---:|');
  for (const row of rows) {
    console.log(
      `| ${row.name} | ${Math.round(row.perSecond).toLocaleString('en-US')} | ${row.microseconds.toFixed(2)} | ${(row.perSecond / floor).toFixed(2)}x |`,
    );
  }
}

await main();
