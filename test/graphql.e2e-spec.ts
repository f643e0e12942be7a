import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { GraphqlAppModule } from './fixtures/graphql/app.module.js';
import { ADAPTERS, createApp } from './utils/app.js';
import { claimsOf, registerAndLogin } from './utils/auth-client.js';

describe.each(ADAPTERS)('GraphQL resolvers behind AuthGuard (Apollo) on %s', (adapter) => {
  let app: INestApplication;
  let http: ReturnType<typeof request>;

  beforeAll(async () => {
    app = await createApp(GraphqlAppModule, adapter);
    http = request(app.getHttpServer());
  });

  afterAll(async () => {
    await app.close();
  });

  const gql = (query: string, token?: string): request.Test => {
    const call = http.post('/graphql').set('Content-Type', 'application/json');
    if (token) call.set('Authorization', `Bearer ${token}`);
    return call.send({ query });
  };

  it('lets @Public() queries through without a token', async () => {
    const response = await gql('{ hello }').expect(200);
    expect(response.body).toEqual({ data: { hello: 'world' } });
  });

  it('refuses a guarded query without a token, with the nest-warden code in the error', async () => {
    const response = await gql('{ me { userId } }');
    expect(response.body.data).toBeNull();
    expect(response.body.errors).toHaveLength(1);
    expect(response.body.errors[0].message).toBe('Authentication required');
    expect(JSON.stringify(response.body.errors[0].extensions)).toContain('AUTH_TOKEN_MISSING');
  });

  it('gives @CurrentUser() to queries and @CurrentUser(field) to mutations', async () => {
    const { accessToken, userId, username } = await registerAndLogin(app);
    const me = await gql('{ me { userId username sessionId } }', accessToken).expect(200);
    expect(me.body.data.me).toEqual({ userId, username, sessionId: claimsOf(accessToken).sid });
    const added = await gql('mutation { addNote(text: "hi") { owner text } }', accessToken).expect(200);
    expect(added.body.data.addNote).toEqual({ owner: userId, text: 'hi' });
  });

  it('refuses an invalid token and a logged-out session', async () => {
    const invalid = await gql('{ me { userId } }', 'abc.def.ghi');
    expect(JSON.stringify(invalid.body.errors)).toContain('AUTH_TOKEN_INVALID');
    const { accessToken } = await registerAndLogin(app);
    await http.post('/auth/logout').set('Authorization', `Bearer ${accessToken}`).expect(204);
    const revoked = await gql('mutation { addNote(text: "x") { owner } }', accessToken);
    expect(revoked.body.data).toBeNull();
    expect(JSON.stringify(revoked.body.errors)).toContain('AUTH_SESSION_REVOKED');
  });
});
