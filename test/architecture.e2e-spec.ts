import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Controller, Post, type INestApplication } from '@nestjs/common';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import {
  AuditSink,
  AuthModule,
  AuthOptionsError,
  AuthService,
  InMemorySessionStore,
  PasswordHasher,
  SessionStore,
  StoreUnavailableError,
  type AuthAuditEvent,
  type LiveSession,
  type PasswordCheck,
} from '../src/auth/index.js';
import { configureDemoApp } from '../src/demo/configure-app.js';
import { flowsAppModule, StepLog, suspensionFlow } from './fixtures/flows/app.module.js';
import { ADAPTERS, createApp, TEST_SECRET, type AdapterName } from './utils/app.js';
import { registerAndLogin, uniqueUsername } from './utils/auth-client.js';

const PREFIX = 'api/auth';
const PASSWORD = 'correct horse battery staple';

describe.each(ADAPTERS)('flows plugged into AuthModule on %s', (adapter) => {
  describe.each([false, true])('with globalGuard %s', (globalGuard) => {
    let app: INestApplication;
    beforeAll(async () => {
      app = await createApp(flowsAppModule({ globalGuard, loginThrottle: { maxRegistrationsPerIp: 1000 } }), adapter);
    });
    afterAll(() => app.close());

    it("mounts a flow's controller under routePrefix, guarded by AuthGuard", async () => {
      const http = request(app.getHttpServer());
      await http.get(`/${PREFIX}/suspension`).expect(401);
      const user = await registerAndLogin(app, PREFIX);
      await http.get(`/${PREFIX}/suspension`).set('Authorization', `Bearer ${user.accessToken}`).expect(200, { suspended: false });
      // Not mounted at the controller's own path: only under the prefix.
      await http.get('/suspension').set('Authorization', `Bearer ${user.accessToken}`).expect(404);
    });

    it("runs the flows' login steps after the password, in order, and a step's AuthError refuses the login", async () => {
      const http = request(app.getHttpServer());
      const log = app.get(StepLog);
      const user = await registerAndLogin(app, PREFIX);
      log.ran.length = 0;
      await http.post(`/${PREFIX}/login`).send({ username: user.username, password: PASSWORD }).expect(200);
      expect(log.ran).toEqual(['not-suspended', 'logged']);

      await http.post(`/${PREFIX}/suspension`).set('Authorization', `Bearer ${user.accessToken}`).expect(204);
      // The flow ended the sessions through AuthService: the old token is refused.
      await http.get(`/${PREFIX}/me`).set('Authorization', `Bearer ${user.accessToken}`).expect(401);
      log.ran.length = 0;
      const refused = await http.post(`/${PREFIX}/login`).send({ username: user.username, password: PASSWORD }).expect(401);
      expect(refused.body).toEqual({ statusCode: 401, code: 'AUTH_INVALID_CREDENTIALS', message: 'This account is suspended' });
      expect(refused.headers['www-authenticate']).toBe('Bearer realm="nest-warden"');
      // A step that refuses stops the pipeline: the later steps do not run.
      expect(log.ran).toEqual(['not-suspended']);
    });

    it('shows a step the account without its password hash, frozen', async () => {
      const log = app.get(StepLog);
      const user = await registerAndLogin(app, PREFIX);
      const context = log.contexts.at(-1)!;
      expect(context.user).toEqual({ id: user.userId, username: user.username });
      expect(Object.isFrozen(context.user)).toBe(true);
    });

    it('never shows a step a wrong password: the first factor refuses first', async () => {
      const log = app.get(StepLog);
      const user = await registerAndLogin(app, PREFIX);
      log.ran.length = 0;
      await request(app.getHttpServer())
        .post(`/${PREFIX}/login`)
        .send({ username: user.username, password: 'wrong password!' })
        .expect(401);
      expect(log.ran).toEqual([]);
    });
  });

  it('leaves the flow controllers out with controller: false', async () => {
    const app = await createApp(flowsAppModule({ controller: false }), adapter);
    try {
      await request(app.getHttpServer()).get(`/${PREFIX}/suspension`).expect(404);
    } finally {
      await app.close();
    }
  });
});

describe.each(ADAPTERS)('a login step refusing on %s', (adapter) => {
  let app: INestApplication;
  beforeAll(async () => {
    app = await createApp(flowsAppModule({ loginThrottle: { maxFailuresPerAccount: 3 } }), adapter);
  });
  afterAll(() => app.close());

  it("counts against the account's budget like a wrong password, and never clears it", async () => {
    const http = request(app.getHttpServer());
    const user = await registerAndLogin(app, PREFIX);
    await http.post(`/${PREFIX}/suspension`).set('Authorization', `Bearer ${user.accessToken}`).expect(204);
    for (let i = 0; i < 3; i++) await http.post(`/${PREFIX}/login`).send({ username: user.username, password: PASSWORD }).expect(401);
    const limited = await http.post(`/${PREFIX}/login`).send({ username: user.username, password: PASSWORD }).expect(429);
    expect(limited.body.code).toBe('AUTH_TOO_MANY_ATTEMPTS');
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
  });
});

describe.each(ADAPTERS)('a strict host (request.user null, non-HttpExceptions made 500s) on %s', (adapter) => {
  let app: INestApplication;
  beforeAll(async () => {
    app = await createApp(flowsAppModule({ strictHost: true, loginThrottle: { maxFailuresPerAccount: 2 } }), adapter);
  });
  afterAll(() => app.close());

  it("still gets the table's answers on the module's routes, with their headers", async () => {
    const http = request(app.getHttpServer());
    const user = await registerAndLogin(app, PREFIX);
    const wrong = await http.post(`/${PREFIX}/login`).send({ username: user.username, password: 'wrong password!' }).expect(401);
    expect(wrong.body.code).toBe('AUTH_INVALID_CREDENTIALS');
    expect(wrong.headers['www-authenticate']).toBe('Bearer realm="nest-warden"');
    await http.post(`/${PREFIX}/login`).send({ username: user.username, password: 'wrong password!' }).expect(401);
    const limited = await http.post(`/${PREFIX}/login`).send({ username: user.username, password: 'wrong password!' }).expect(429);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    const refresh = await http.post(`/${PREFIX}/refresh`).send({ refreshToken: 'not-a-refresh-token' }).expect(401);
    expect(refresh.body.code).toBe('AUTH_REFRESH_TOKEN_INVALID');
    await http.delete(`/${PREFIX}/sessions/nope`).set('Authorization', `Bearer ${user.accessToken}`).expect(404);
    // Signed in by the guard: a wrong current password is a 403, not a 401.
    const change = await http
      .post(`/${PREFIX}/password`)
      .set('Authorization', `Bearer ${user.accessToken}`)
      .send({ currentPassword: 'not the password', newPassword: 'another good passphrase' })
      .expect(403);
    expect(change.body.code).toBe('AUTH_INVALID_CREDENTIALS');
    expect(change.headers['www-authenticate']).toBeUndefined();
  });
});

describe('the flows option', () => {
  it.each([
    ['not an array', { name: 'x' }, 'flows'],
    ['a flow without a name', [{}], 'flows[0]'],
    ['the same flow twice', [suspensionFlow, suspensionFlow], 'flows[1]'],
    ['a flow named like the built-in sessions flow', [{ name: 'sessions' }], 'flows[0]'],
  ])('is refused when %s, naming the option', (_label, flows, option) => {
    expect(() => AuthModule.forRoot({ secret: TEST_SECRET, flows: flows as never })).toThrow(expect.objectContaining({ option }));
    expect(() => AuthModule.forRoot({ secret: TEST_SECRET, flows: flows as never })).toThrow(AuthOptionsError);
  });
});

describe('flow controllers', () => {
  @Controller()
  class NoPath {}
  @Controller('login')
  class OnLogin {}
  @Controller('password')
  class OnPassword {
    @Post()
    change(): void {}
  }

  it.each([
    ['without a path of their own', NoPath],
    ["on one of the module's routes", OnLogin],
    ["with a route on the module's POST /password", OnPassword],
  ])('are refused %s, at start-up', (_label, type) => {
    expect(() => AuthModule.forRoot({ secret: TEST_SECRET, flows: [{ name: 'bad', controllers: [type] }] })).toThrow(AuthOptionsError);
  });
});

describe.each(ADAPTERS)("AuthErrors from the host's own routes on %s", (adapter) => {
  let app: INestApplication;
  beforeAll(async () => {
    app = await createApp(flowsAppModule({ loginThrottle: { maxRegistrationsPerIp: 2 } }), adapter);
  });
  afterAll(() => app.close());

  it('are answered by the global filter with the table: 409, 400, then 429 with Retry-After', async () => {
    const http = request(app.getHttpServer());
    const username = uniqueUsername();
    await http.post('/host/register').send({ username, password: PASSWORD }).expect(201);
    const taken = await http.post('/host/register').send({ username, password: PASSWORD }).expect(409);
    expect(taken.body).toEqual({ statusCode: 409, code: 'AUTH_USERNAME_TAKEN', message: 'Username is already taken' });
    const weak = await http.post('/host/register').send({ username: uniqueUsername(), password: 'short' }).expect(400);
    expect(weak.body.code).toBe('AUTH_PASSWORD_POLICY');
    const limited = await http.post('/host/register').send({ username: uniqueUsername(), password: PASSWORD }).expect(429);
    expect(limited.body.code).toBe('AUTH_TOO_MANY_ATTEMPTS');
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
  });
});

class RecordingAudit extends AuditSink {
  readonly events: AuthAuditEvent[] = [];
  emit(event: AuthAuditEvent): void {
    this.events.push(event);
  }
}

// Fast and visibly not argon2, so the test can tell which hasher stored a hash.
class MarkedHasher extends PasswordHasher {
  hashed = 0;
  verified = 0;
  hash(password: string): Promise<string> {
    this.hashed++;
    return Promise.resolve(`marked$${Buffer.from(password).toString('base64url')}`);
  }
  verify(hash: string, password: string): Promise<PasswordCheck> {
    this.verified++;
    return Promise.resolve({ valid: hash === `marked$${Buffer.from(password).toString('base64url')}`, needsRehash: false });
  }
}

class OutageStore extends InMemorySessionStore {
  down = false;
  // Fails as a store that answers in-process does: synchronously.
  override checkLive(sessionId: string, userId: string): LiveSession | null {
    if (this.down) throw new StoreUnavailableError();
    return super.checkLive(sessionId, userId);
  }
}

async function overriddenApp(
  adapter: AdapterName,
  parts: { sessionStore: SessionStore; audit: AuditSink; hasher: PasswordHasher },
): Promise<INestApplication> {
  const moduleRef = await Test.createTestingModule({ imports: [flowsAppModule()] })
    .overrideProvider(SessionStore)
    .useValue(parts.sessionStore)
    .overrideProvider(AuditSink)
    .useValue(parts.audit)
    .overrideProvider(PasswordHasher)
    .useValue(parts.hasher)
    .compile();
  const app =
    adapter === 'fastify'
      ? moduleRef.createNestApplication(new FastifyAdapter(), { logger: false })
      : moduleRef.createNestApplication({ logger: false });
  configureDemoApp(app);
  await app.init();
  if (adapter === 'fastify') await (app.getHttpAdapter().getInstance() as { ready(): Promise<unknown> }).ready();
  return app;
}

describe.each(ADAPTERS)("a host test's overrideProvider(...) on %s", (adapter) => {
  const sessionStore = new OutageStore({ sweepIntervalSeconds: 0 });
  const audit = new RecordingAudit();
  const hasher = new MarkedHasher();
  let app: INestApplication;
  beforeAll(async () => {
    app = await overriddenApp(adapter, { sessionStore, audit, hasher });
  });
  afterAll(() => app.close());

  it('reaches every use: the hasher at registration, the session store at login and in the guard, the audit sink', async () => {
    const http = request(app.getHttpServer());
    const user = await registerAndLogin(app, PREFIX);
    // The session the login opened is in the overriding store...
    const sessions = await sessionStore.listForUser(user.userId);
    expect(sessions).toHaveLength(1);
    await http.get(`/${PREFIX}/me`).set('Authorization', `Bearer ${user.accessToken}`).expect(200);
    // ...and the guard reads it there: ended in that store, the token is refused.
    await sessionStore.delete(sessions[0]!.id);
    const ended = await http.get(`/${PREFIX}/me`).set('Authorization', `Bearer ${user.accessToken}`).expect(401);
    expect(ended.body.code).toBe('AUTH_SESSION_REVOKED');
    expect(audit.events.map((event) => event.name)).toEqual(expect.arrayContaining(['register', 'login.succeeded', 'token.rejected']));
    // The overriding hasher did the hashing: its hash verifies the password, argon2's would not be `marked$`.
    expect(await hasher.verify(`marked$${Buffer.from(PASSWORD).toString('base64url')}`, PASSWORD)).toEqual({
      valid: true,
      needsRehash: false,
    });
    await http.post(`/${PREFIX}/login`).send({ username: user.username, password: 'not the password' }).expect(401);
  });

  it('rejects AuthService.authenticate, never throws, when the store fails synchronously', async () => {
    const user = await registerAndLogin(app, PREFIX);
    const auth = app.get(AuthService);
    expect((await auth.authenticate(user.accessToken)).ok).toBe(true);
    sessionStore.down = true;
    try {
      let pending: Promise<unknown> | undefined;
      expect(() => {
        pending = auth.authenticate(user.accessToken);
      }).not.toThrow();
      await expect(pending).rejects.toBeInstanceOf(StoreUnavailableError);
    } finally {
      sessionStore.down = false;
    }
  });

  it('answers a store outage in the guard with 503 AUTH_STORE_UNAVAILABLE, letting nothing through', async () => {
    const http = request(app.getHttpServer());
    const user = await registerAndLogin(app, PREFIX);
    sessionStore.down = true;
    try {
      const refused = await http.get(`/${PREFIX}/me`).set('Authorization', `Bearer ${user.accessToken}`).expect(503);
      expect(refused.body).toEqual({ statusCode: 503, code: 'AUTH_STORE_UNAVAILABLE', message: 'Authentication store is unavailable' });
    } finally {
      sessionStore.down = false;
    }
    await http.get(`/${PREFIX}/me`).set('Authorization', `Bearer ${user.accessToken}`).expect(200);
  });
});
