import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { io, type Socket } from 'socket.io-client';
import request from 'supertest';
import { GlobalGuardWebsocketsAppModule, WebsocketsAppModule } from './fixtures/websockets/app.module.js';
import { ADAPTERS, createApp } from './utils/app.js';
import { claimsOf, registerAndLogin } from './utils/auth-client.js';

describe.each(
  ADAPTERS.flatMap((adapter) => [
    [adapter, 'WsAuthGuard on the gateway', WebsocketsAppModule],
    [adapter, 'the global AuthGuard', GlobalGuardWebsocketsAppModule],
  ] as const),
)('WebSocket gateway (Socket.IO, real client) on %s, guarded by %s', (adapter, guardedBy, module) => {
  const coded = guardedBy === 'WsAuthGuard on the gateway';
  let app: INestApplication;
  let url: string;
  const sockets: Socket[] = [];

  beforeAll(async () => {
    app = await createApp(module, adapter);
    await app.listen(0, '127.0.0.1');
    url = `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    for (const socket of sockets) socket.disconnect();
    await app.close();
  });

  const connect = async (options: { auth?: Record<string, unknown>; authorization?: string } = {}): Promise<Socket> => {
    const socket = io(url, {
      transports: ['websocket'],
      auth: options.auth ?? {},
      extraHeaders: options.authorization ? { authorization: options.authorization } : {},
      reconnection: false,
    });
    sockets.push(socket);
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('connect_error', reject);
    });
    return socket;
  };

  /** Emits and resolves with the ack, or with the `exception` event when the guard refuses. */
  const send = (socket: Socket, event: string, data?: unknown): Promise<{ ack?: unknown; exception?: Record<string, unknown> }> =>
    new Promise((resolve) => {
      const onException = (exception: Record<string, unknown>): void => resolve({ exception });
      socket.once('exception', onException);
      socket.emit(event, data, (ack: unknown) => {
        socket.off('exception', onException);
        resolve({ ack });
      });
    });

  it('lets @Public() messages through without a token and refuses guarded ones', async () => {
    const socket = await connect();
    expect(await send(socket, 'ping')).toEqual({ ack: 'pong' });
    const refused = await send(socket, 'whoami');
    expect(refused.ack).toBeUndefined();
    if (coded) expect(refused.exception).toEqual({ status: 'error', code: 'AUTH_TOKEN_MISSING', message: 'Authentication required' });
    else expect(refused.exception).toMatchObject({ status: 'error' });
  });

  it.each([
    ['the handshake auth payload', (token: string) => ({ auth: { token } })],
    ['the handshake auth payload with the Bearer prefix', (token: string) => ({ auth: { token: `Bearer ${token}` } })],
    ['the handshake Authorization header', (token: string) => ({ authorization: `Bearer ${token}` })],
  ])('authenticates from %s and gives @CurrentUser()', async (_label, options) => {
    const { accessToken, userId, username } = await registerAndLogin(app);
    const socket = await connect(options(accessToken));
    expect(await send(socket, 'whoami')).toEqual({ ack: { userId, username, sessionId: claimsOf(accessToken).sid } });
    if (coded) expect(await send(socket, 'note', 'hello')).toEqual({ ack: { owner: userId, text: 'hello' } });
  });

  it('refuses the next message once the session has ended', async () => {
    const { accessToken } = await registerAndLogin(app);
    const socket = await connect({ auth: { token: accessToken } });
    expect((await send(socket, 'whoami')).ack).toBeDefined();
    await request(app.getHttpServer()).post('/auth/logout').set('Authorization', `Bearer ${accessToken}`).expect(204);
    const refused = await send(socket, 'whoami');
    expect(refused.ack).toBeUndefined();
    if (coded) expect(refused.exception).toEqual({ status: 'error', code: 'AUTH_SESSION_REVOKED', message: 'Session has ended' });
  });

  it('refuses a malformed or non-string token', async () => {
    for (const auth of [{ token: 'not-a-jwt' }, { token: 42 }]) {
      const socket = await connect({ auth });
      const refused = await send(socket, 'whoami');
      expect(refused.ack).toBeUndefined();
      if (coded) expect(refused.exception).toMatchObject({ code: 'AUTH_TOKEN_INVALID' });
    }
  });
});
