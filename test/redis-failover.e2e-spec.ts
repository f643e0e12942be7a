import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Module, type INestApplication } from '@nestjs/common';
import { Cluster, Redis } from 'ioredis';
import request from 'supertest';
import { AuthModule } from '../src/auth/index.js';
import { RedisSessionStore, RedisThrottleStore } from '../src/auth/redis/index.js';
import { createApp, TEST_SECRET } from './utils/app.js';
import { registerAndLogin, type LoggedIn } from './utils/auth-client.js';
import { failFastClusterClient, startTestCluster, type TestCluster } from './utils/redis-cluster.js';
import { failFastSentinelClient, startTestSentinel, type TestSentinel } from './utils/redis-sentinel.js';

// The module on Redis that fails over or reshards under it, over HTTP: a guarded route answers
// only 200 or 503 meanwhile, 200 again by itself afterwards, and no session Redis had
// replicated is lost.

function appOn(client: Redis | Cluster): INestApplication | Promise<INestApplication> {
  const keyPrefix = `nw-fo-${randomBytes(4).toString('hex')}`;
  @Module({
    imports: [
      AuthModule.forRoot({
        secret: TEST_SECRET,
        sessionStore: new RedisSessionStore({ client, keyPrefix }),
        throttleStore: new RedisThrottleStore({ client, keyPrefix }),
        globalGuard: true,
      }),
    ],
  })
  class FailoverAppModule {}
  return createApp(FailoverAppModule);
}

// GET /auth/me and GET /auth/sessions (which goes through the user's index) for every user,
// until `done` says stop; the statuses seen. A listing that answers must list the one session.
async function hammer(app: INestApplication, users: LoggedIn[], done: () => boolean): Promise<Set<number>> {
  const statuses = new Set<number>();
  while (!done()) {
    const answers = await Promise.all(
      users.flatMap((user) => [
        request(app.getHttpServer()).get('/auth/me').set('Authorization', `Bearer ${user.accessToken}`),
        request(app.getHttpServer()).get('/auth/sessions').set('Authorization', `Bearer ${user.accessToken}`),
      ]),
    );
    for (const answer of answers) {
      statuses.add(answer.status);
      if (answer.status === 200 && Array.isArray(answer.body)) expect(answer.body).toHaveLength(1);
    }
  }
  return statuses;
}

async function allAnswer200(app: INestApplication, users: LoggedIn[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const answers = await Promise.all(
      users.map((user) => request(app.getHttpServer()).get('/auth/me').set('Authorization', `Bearer ${user.accessToken}`)),
    );
    if (answers.every((answer) => answer.status === 200)) return;
    // Never a 401: Redis being away must not read as a session ended.
    for (const answer of answers) expect([200, 503]).toContain(answer.status);
    if (Date.now() > deadline) throw new Error(`not every session answers 200 after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

// Written, then given time to reach the replicas (WAIT needs a connection to the master).
async function replicated(client: Redis | Cluster): Promise<void> {
  const acknowledged =
    client instanceof Cluster
      ? await Promise.all(client.nodes('master').map((node) => node.call('WAIT', '1', '2000')))
      : [await client.call('WAIT', '1', '2000')];
  // Every master has a replica that holds what was written.
  for (const replicas of acknowledged) expect(Number(replicas)).toBeGreaterThanOrEqual(1);
}

describe('on a Redis Cluster', () => {
  let cluster: TestCluster;
  let client: Cluster;
  let app: INestApplication;
  let users: LoggedIn[];

  beforeAll(async () => {
    cluster = await startTestCluster();
    client = failFastClusterClient(cluster);
    app = await appOn(client);
    users = [];
    for (let i = 0; i < 12; i++) users.push(await registerAndLogin(app));
    await replicated(client);
  }, 90_000);

  afterAll(async () => {
    await app?.close();
    client?.disconnect();
    await cluster?.stop();
  });

  it('keeps every session through a full reshard under traffic: only 200 or 503, and 200 at the end', async () => {
    let finished = false;
    const resharding = cluster.reshard(2000, { pipeline: 5 }).finally(() => {
      finished = true;
    });
    const statuses = await hammer(app, users, () => finished);
    await resharding;
    expect([...statuses].filter((status) => status !== 200 && status !== 503)).toEqual([]);
    await allAnswer200(app, users, 10_000);
    // The index of each user still holds their session: listing shows it.
    for (const user of users.slice(0, 4)) {
      const listed = await request(app.getHttpServer())
        .get('/auth/sessions')
        .set('Authorization', `Bearer ${user.accessToken}`)
        .expect(200);
      expect(listed.body).toHaveLength(1);
    }
  }, 120_000);

  it('fails closed while a master is down, and comes back by itself on its replica with no replicated session lost', async () => {
    const [master] = await cluster.masters();
    await cluster.kill(master!.port);
    let healed = false;
    const healing = cluster.waitUntilHealthy(30_000).finally(() => {
      healed = true;
    });
    const statuses = await hammer(app, users, () => healed);
    await healing;
    expect([...statuses].filter((status) => status !== 200 && status !== 503)).toEqual([]);
    await allAnswer200(app, users, 15_000);
  }, 120_000);
});

describe('on Redis Sentinel', () => {
  let sentinel: TestSentinel;
  let client: Redis;
  let app: INestApplication;
  let users: LoggedIn[];

  beforeAll(async () => {
    sentinel = await startTestSentinel();
    client = failFastSentinelClient(sentinel);
    app = await appOn(client);
    users = [];
    for (let i = 0; i < 6; i++) users.push(await registerAndLogin(app));
    await replicated(client);
  }, 90_000);

  afterAll(async () => {
    await app?.close();
    client?.disconnect();
    await sentinel?.stop();
  });

  it('fails closed when the master dies, then recovers on the promoted replica by itself, sessions kept', async () => {
    const killed = await sentinel.killMaster();
    let promoted = false;
    const failover = sentinel.waitForFailover(killed, 30_000).finally(() => {
      promoted = true;
    });
    const statuses = await hammer(app, users, () => promoted);
    await failover;
    expect([...statuses].filter((status) => status !== 200 && status !== 503)).toEqual([]);
    await allAnswer200(app, users, 15_000);
  }, 90_000);
});
