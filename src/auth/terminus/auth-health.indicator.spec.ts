import { afterEach, describe, expect, it } from '@jest/globals';
import { Module, type INestApplicationContext } from '@nestjs/common';
import { TerminusModule, HealthCheckService } from '@nestjs/terminus';
import { Test } from '@nestjs/testing';
import { AuthModule } from '../auth.module.js';
import { emailFlow } from '../flows/email/email.flow.js';
import { mfaFlow } from '../flows/mfa/mfa.flow.js';
import { githubProvider } from '../flows/oidc/oidc-flow.options.js';
import { oidcFlow } from '../flows/oidc/oidc.flow.js';
import { passkeysFlow } from '../flows/passkeys/passkeys.flow.js';
import { LogMailer } from '../mail/log-mailer.js';
import { InMemoryOneTimeTokenStore } from '../one-time-tokens/in-memory-one-time-token.store.js';
import { InMemorySessionStore } from '../sessions/in-memory-session.store.js';
import { SessionStore } from '../sessions/session-store.js';
import { InMemoryUserStore } from '../users/in-memory-user.store.js';
import { AuthHealthIndicator, AuthHealthModule } from './index.js';

const SECRET = 'a-unit-test-secret-that-is-32-bytes-long!';

/** A session store whose ping the test decides: a real store otherwise. */
class ControlledSessionStore extends InMemorySessionStore {
  pings = 0;
  constructor(private readonly answer: () => Promise<boolean>) {
    super();
  }
  override ping(): Promise<boolean> {
    this.pings++;
    return this.answer();
  }
}

let context: INestApplicationContext | undefined;

afterEach(async () => {
  await context?.close();
  context = undefined;
});

async function start(imports: unknown[]): Promise<INestApplicationContext> {
  const moduleRef = await Test.createTestingModule({ imports: imports as never[] }).compile();
  context = await moduleRef.init();
  return context;
}

const up = (implementation: string) => ({ status: 'up', implementation, responseTimeMs: expect.any(Number) });

describe('AuthHealthIndicator', () => {
  it('reports the core stores of a bare AuthModule, and only those', async () => {
    const app = await start([AuthModule.forRoot({ secret: SECRET }), AuthHealthModule]);
    expect(await app.get(AuthHealthIndicator).isHealthy()).toEqual({
      auth: {
        status: 'up',
        sessionStore: up('InMemorySessionStore'),
        userStore: up('InMemoryUserStore'),
        throttleStore: up('InMemoryThrottleStore'),
      },
    });
  });

  it("reports every flow's stores under their names, a store given to two flows pinged once", async () => {
    const shared = new (class SharedTokenStore extends InMemoryOneTimeTokenStore {
      pings = 0;
      override ping(): Promise<boolean> {
        this.pings++;
        return super.ping();
      }
    })();
    const app = await start([
      AuthModule.forRoot({
        secret: SECRET,
        flows: [
          emailFlow({ mailer: new LogMailer(), tokenStore: shared, appUrl: 'http://localhost:3000' }),
          mfaFlow({ encryptionKey: 'a-test-mfa-encryption-key-of-32-bytes-or-more' }),
          passkeysFlow({ rpId: 'localhost', rpName: 'Test', origins: ['http://localhost:3000'], challengeStore: shared }),
          oidcFlow({
            providers: [githubProvider({ clientId: 'client', clientSecret: 'a-client-secret' })],
            callbackBaseUrl: 'http://localhost:3000/auth',
            returnTo: ['http://localhost:3000/'],
          }),
        ],
      }),
      AuthHealthModule,
    ]);
    const result = await app.get(AuthHealthIndicator).isHealthy('stores');
    expect(result).toEqual({
      stores: {
        status: 'up',
        sessionStore: up('InMemorySessionStore'),
        userStore: up('InMemoryUserStore'),
        throttleStore: up('InMemoryThrottleStore'),
        oneTimeTokenStore: up('SharedTokenStore'),
        mfaStore: up('InMemoryMfaStore'),
        passkeyStore: up('InMemoryPasskeyStore'),
        passkeyChallengeStore: up('SharedTokenStore'),
        identityStore: up('InMemoryIdentityStore'),
        oidcExchangeStore: up('InMemoryOneTimeTokenStore'),
      },
    });
    expect(shared.pings).toBe(1);
  });

  it('is down, naming the store and why, when a ping answers false or throws; never with the error message', async () => {
    const users = new (class BrokenUserStore extends InMemoryUserStore {
      override ping(): Promise<boolean> {
        throw new Error('connect ECONNREFUSED db.internal:5432 as admin');
      }
    })();
    const app = await start([
      AuthModule.forRoot({ secret: SECRET, sessionStore: new ControlledSessionStore(async () => false), userStore: users }),
      AuthHealthModule,
    ]);
    const result = await app.get(AuthHealthIndicator).isHealthy();
    expect(result).toEqual({
      auth: {
        status: 'down',
        sessionStore: { ...up('ControlledSessionStore'), status: 'down', reason: 'unavailable' },
        userStore: { ...up('BrokenUserStore'), status: 'down', reason: 'error' },
        throttleStore: up('InMemoryThrottleStore'),
      },
    });
    expect(JSON.stringify(result)).not.toMatch(/ECONNREFUSED|db\.internal|admin/);
  });

  it('cuts a hanging ping at the timeout: down, and the check answers in time', async () => {
    const hanging = new ControlledSessionStore(() => new Promise<boolean>(() => undefined));
    const app = await start([AuthModule.forRoot({ secret: SECRET, sessionStore: hanging }), AuthHealthModule]);
    const indicator = app.get(AuthHealthIndicator);
    const started = Date.now();
    const result = await indicator.isHealthy('auth', { timeoutMs: 150 });
    const tookMs = Date.now() - started;
    expect(result.auth.status).toBe('down');
    expect(result.auth.sessionStore).toEqual({
      status: 'down',
      implementation: 'ControlledSessionStore',
      responseTimeMs: 150,
      reason: 'timeout',
    });
    expect(result.auth.userStore?.status).toBe('up');
    expect(tookMs).toBeGreaterThanOrEqual(140);
    expect(tookMs).toBeLessThan(1000);

    // The default timeout is a second.
    const again = Date.now();
    expect((await indicator.isHealthy()).auth.sessionStore?.reason).toBe('timeout');
    expect(Date.now() - again).toBeGreaterThanOrEqual(990);
    expect(Date.now() - again).toBeLessThan(2000);
  });

  it('answers through HealthCheckService: the Terminus body when up, a 503 exception with it when down', async () => {
    let answer = true;
    const app = await start([
      AuthModule.forRoot({ secret: SECRET, sessionStore: new ControlledSessionStore(async () => answer) }),
      AuthHealthModule,
    ]);
    const health = app.get(HealthCheckService);
    const indicator = app.get(AuthHealthIndicator);
    const ok = await health.check([() => indicator.isHealthy('auth')]);
    expect(ok.status).toBe('ok');
    expect(ok.info?.auth?.sessionStore).toEqual(up('ControlledSessionStore'));

    answer = false;
    const failure = await health.check([() => indicator.isHealthy('auth')]).then(
      () => undefined,
      (error: unknown) => error as { getStatus(): number; getResponse(): Record<string, unknown> },
    );
    expect(failure?.getStatus()).toBe(503);
    expect(failure?.getResponse()).toMatchObject({
      status: 'error',
      info: {},
      error: { auth: { status: 'down', sessionStore: { status: 'down', reason: 'unavailable' } } },
    });
  });

  it('pings the store a host put in with overrideProvider', async () => {
    const replacement = new ControlledSessionStore(async () => true);
    const moduleRef = await Test.createTestingModule({ imports: [AuthModule.forRoot({ secret: SECRET }), AuthHealthModule] })
      .overrideProvider(SessionStore)
      .useValue(replacement)
      .compile();
    context = await moduleRef.init();
    expect((await context.get(AuthHealthIndicator).isHealthy()).auth.sessionStore).toEqual(up('ControlledSessionStore'));
    expect(replacement.pings).toBe(1);
  });

  it('can be provided beside a TerminusModule of the host', async () => {
    @Module({ imports: [TerminusModule.forRoot({ logger: false })], providers: [AuthHealthIndicator], exports: [AuthHealthIndicator] })
    class HostHealthModule {}
    const app = await start([AuthModule.forRoot({ secret: SECRET }), HostHealthModule]);
    expect((await app.get(AuthHealthIndicator).isHealthy()).auth.status).toBe('up');
  });

  it('refuses a timeout that is not an integer from 1 to 60000', async () => {
    const app = await start([AuthModule.forRoot({ secret: SECRET }), AuthHealthModule]);
    const indicator = app.get(AuthHealthIndicator);
    for (const timeoutMs of [0, -1, 1.5, 60_001, Number.NaN, '100' as unknown as number]) {
      await expect(indicator.isHealthy('auth', { timeoutMs })).rejects.toThrow(TypeError);
    }
  });

  it('fails the start-up without an AuthModule, rather than reporting nothing as healthy', async () => {
    await expect(start([AuthHealthModule])).rejects.toThrow(/no SessionStore is provided; import AuthModule/);
  });
});
