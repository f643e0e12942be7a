// Passkey assertion verifications per second (#19), ES256 and EdDSA, in one process:
// - the bare library: @simplewebauthn/server's verifyAuthenticationResponse with a known
//   challenge and the credential at hand;
// - nest-warden's path, as POST /auth/passkeys/login/verify runs it: PasskeyService.authenticate
//   (the shape check, the credential looked up in the PasskeyStore, the challenge taken from the
//   challenge store, the verification, the counter's compare-and-set, the account read), on the
//   in-memory stores. The challenges are issued (PasskeyService.loginOptions) and signed by a
//   software authenticator before the timed part, as a browser would between the two calls.
// CALLERS concurrent callers, cases alternating in rounds, ratios within each round, medians.
// The authenticators keep no counter (0, as synced passkeys do), so concurrent uses of one
// passkey never trip the counter check. No client IP: the per-IP throttles do not count.
import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { verifyAuthenticationResponse } from '@simplewebauthn/server';
import { AuditSink, AuthModule, AuthService, PasskeyService, PasskeyStore, passkeysFlow } from '../src/auth/index.js';
import { SoftwareAuthenticator, type AuthenticationResponse } from '../test/utils/software-authenticator.js';
import { median } from './lib.js';

class SilentAudit extends AuditSink {
  emit(): void {}
}

const CALLERS = 50;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const VERIFICATIONS = Number(process.env.BENCH_VERIFICATIONS ?? 4000);
const ACCOUNTS = 32;
const RP = { rpId: 'localhost', rpName: 'bench', origin: 'http://localhost:3000' };

@Module({
  imports: [
    AuthModule.forRoot({
      secret: 'bench-secret-that-is-at-least-32-bytes!!',
      audit: new SilentAudit(),
      loginThrottle: false,
      flows: [passkeysFlow({ rpId: RP.rpId, rpName: RP.rpName, origins: [RP.origin], throttle: { maxCeremoniesPerIp: 1_000_000 } })],
    }),
  ],
})
class BenchModule {}

interface Case {
  name: string;
  alg: 'ES256' | 'EdDSA';
  run: (n: number) => Promise<boolean>;
  /** Makes the round's inputs, untimed. */
  prepare: (count: number) => Promise<void>;
  perSecond: number[];
  cpuUs: number[];
}

async function round(c: Case, count: number): Promise<{ perSecond: number; cpuUs: number }> {
  await c.prepare(count);
  let started = 0;
  const before = process.cpuUsage();
  const startedAt = performance.now();
  await Promise.all(
    Array.from({ length: CALLERS }, async () => {
      while (started < count) {
        const n = started++;
        if (!(await c.run(n))) throw new Error(`${c.name}: a valid assertion was refused`);
      }
    }),
  );
  const seconds = (performance.now() - startedAt) / 1000;
  const used = process.cpuUsage(before);
  return { perSecond: count / seconds, cpuUs: (used.user + used.system) / count };
}

async function main(): Promise<void> {
  const app = await NestFactory.createApplicationContext(BenchModule, { logger: false });
  const auth = app.get(AuthService);
  const passkeys = app.get(PasskeyService);
  const store = app.get(PasskeyStore);
  const cases: Case[] = [];
  try {
    for (const alg of ['ES256', 'EdDSA'] as const) {
      // ACCOUNTS accounts, each with a passkey registered through the flow.
      const devices: Array<{ device: SoftwareAuthenticator; credentialId: string }> = [];
      for (let i = 0; i < ACCOUNTS; i++) {
        const username = `bench-${alg}-${i}-${process.pid}`;
        const { userId } = await auth.register(username, 'correct horse battery staple');
        const user = { userId, username, sessionId: `bench-session-${i}` };
        const device = new SoftwareAuthenticator({ origin: RP.origin, rpId: RP.rpId, alg, counter: false });
        await passkeys.register(user, device.create(await passkeys.registrationOptions(user)), undefined, {});
        devices.push({ device, credentialId: device.credentialIds()[0]! });
      }
      const stored = await Promise.all(devices.map(({ credentialId }) => store.findByCredentialId(credentialId)));
      let bareInputs: Array<{ response: AuthenticationResponse; challenge: string; index: number }> = [];
      let wardenInputs: AuthenticationResponse[] = [];
      cases.push({
        name: `bare \`verifyAuthenticationResponse\`, ${alg}`,
        alg,
        perSecond: [],
        cpuUs: [],
        prepare: async (count) => {
          bareInputs = Array.from({ length: count }, (_, n) => {
            const index = n % ACCOUNTS;
            const challenge = Buffer.from(`bench-challenge-${n}-${Math.random()}`).toString('base64url');
            return { response: devices[index]!.device.get({ challenge, rpId: RP.rpId }), challenge, index };
          });
        },
        run: async (n) => {
          const { response, challenge, index } = bareInputs[n]!;
          const passkey = stored[index]!;
          const result = await verifyAuthenticationResponse({
            response,
            expectedChallenge: challenge,
            expectedOrigin: RP.origin,
            expectedRPID: RP.rpId,
            credential: { id: passkey.credentialId, publicKey: Buffer.from(passkey.publicKey, 'base64url'), counter: passkey.counter },
            requireUserVerification: true,
          });
          return result.verified;
        },
      });
      cases.push({
        name: `nest-warden: \`PasskeyService.authenticate\`, ${alg}, in-memory stores`,
        alg,
        perSecond: [],
        cpuUs: [],
        prepare: async (count) => {
          wardenInputs = [];
          for (let n = 0; n < count; n++) wardenInputs.push(devices[n % ACCOUNTS]!.device.get(await passkeys.loginOptions({})));
        },
        run: async (n) => (await passkeys.authenticate(wardenInputs[n]!, {})).id.length > 0,
      });
    }
    // It does what it is for: a replayed assertion is refused (its challenge is spent).
    const check = cases[1]!;
    await check.prepare(1);
    await check.run(0);
    const replayed = await check.run(0).then(
      () => 'accepted',
      (error: unknown) => (error as { code?: string }).code,
    );
    if (replayed !== 'AUTH_PASSKEY_CHALLENGE_INVALID') throw new Error(`a replayed assertion was not refused: ${replayed}`);
    for (const c of cases) await round(c, Math.ceil(VERIFICATIONS / 4));
    for (let r = 0; r < ROUNDS; r++) {
      const order = r % 2 ? [...cases.keys()].reverse() : [...cases.keys()];
      for (const i of order) {
        const c = cases[i]!;
        const result = await round(c, VERIFICATIONS);
        c.perSecond.push(result.perSecond);
        c.cpuUs.push(result.cpuUs);
      }
    }
  } finally {
    await app.close();
  }

  console.log(
    `\nPasskey assertion verification, one process, ${CALLERS} concurrent callers, ${ROUNDS} rounds of ${VERIFICATIONS.toLocaleString('en-US')}, medians; ` +
      `${ACCOUNTS} accounts per algorithm, user verification required\n`,
  );
  console.log('| case | verifications/s | vs bare (same algorithm) | rounds, lowest to highest | CPU us each | vs bare, by CPU |');
  console.log('|---|---:|---:|---:|---:|---:|');
  for (const c of cases) {
    const bare = cases.find((other) => other.alg === c.alg)!;
    const ratios = c.perSecond.map((rate, r) => rate / bare.perSecond[r]!);
    const cpuRatios = c.cpuUs.map((us, r) => bare.cpuUs[r]! / us);
    console.log(
      `| ${c.name} | ${Math.round(median(c.perSecond)).toLocaleString('en-US')} | ${median(ratios).toFixed(2)}x | ` +
        `${Math.min(...ratios).toFixed(2)} to ${Math.max(...ratios).toFixed(2)} | ${median(c.cpuUs).toFixed(1)} | ${median(cpuRatios).toFixed(2)}x |`,
    );
  }
}

await main();
