import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { io, type Socket } from 'socket.io-client';
import request from 'supertest';
import { FakeClock } from '../src/auth/testing/fake-clock.js';
import { StepUpGatewayModule } from './fixtures/websockets/step-up.gateway.module.js';
import { ADAPTERS, createApp } from './utils/app.js';
import { claimsOf, registerAndLogin } from './utils/auth-client.js';

type Reply = { ack?: unknown; exception?: Record<string, unknown> };

/** Connects a real Socket.IO client over WebSocket, with the token in the handshake auth payload. */
async function connect(url: string, sockets: Socket[], token?: string): Promise<Socket> {
  const socket = io(url, { transports: ['websocket'], auth: token ? { token } : {}, reconnection: false });
  sockets.push(socket);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', reject);
  });
  return socket;
}

/** Emits and resolves with the ack, or with the `exception` event when the guard refuses. */
function send(socket: Socket, event: string, data?: unknown): Promise<Reply> {
  return new Promise((resolve) => {
    const onException = (exception: Record<string, unknown>): void => resolve({ exception });
    socket.once('exception', onException);
    socket.emit(event, data, (ack: unknown) => {
      socket.off('exception', onException);
      resolve({ ack });
    });
  });
}

const MFA_REQUIRED = { status: 'error', code: 'AUTH_MFA_REQUIRED', message: 'This needs a session signed in with a second factor' };
const REAUTH_REQUIRED = {
  status: 'error',
  code: 'AUTH_REAUTH_REQUIRED',
  message: 'This needs a recent login: reauthenticate and try again',
};

describe.each(ADAPTERS)('WebSocket step-up rules (WsAuthGuard, mfaFlow on) on %s', (adapter) => {
  // The module's clock: starts at the real time, moves only when told.
  const clock = new FakeClock(Date.now());
  const sockets: Socket[] = [];
  let app: INestApplication;
  let url: string;

  beforeAll(async () => {
    app = await createApp(StepUpGatewayModule.withClock(clock.now), adapter);
    await app.listen(0, '127.0.0.1');
    url = `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    for (const socket of sockets) socket.disconnect();
    await app?.close();
  });

  it('a password login gets a token with amr ["pwd"] and auth_time of the login, on the module clock', async () => {
    const { accessToken } = await registerAndLogin(app);
    expect(claimsOf(accessToken)).toMatchObject({ amr: ['pwd'], auth_time: Math.floor(clock.now() / 1000) });
  });

  it('refuses the @RequireMfa() message to a password-only session with AUTH_MFA_REQUIRED, and answers the others', async () => {
    const { accessToken, userId } = await registerAndLogin(app);
    const socket = await connect(url, sockets, accessToken);
    expect(await send(socket, 'ping')).toEqual({ ack: 'pong' });
    expect(await send(socket, 'whoami')).toEqual({ ack: { userId } });
    expect(await send(socket, 'billing')).toEqual({ exception: MFA_REQUIRED });
    // The refusal ends nothing: the socket's other messages still go through.
    expect(await send(socket, 'whoami')).toEqual({ ack: { userId } });
    expect(await send(socket, 'closeAccount')).toEqual({ ack: { closing: userId } });
  });

  it('still refuses a caller without a token before any step-up rule: AUTH_TOKEN_MISSING', async () => {
    const socket = await connect(url, sockets);
    expect(await send(socket, 'billing')).toMatchObject({ exception: { status: 'error', code: 'AUTH_TOKEN_MISSING' } });
    expect(await send(socket, 'closeAccount')).toMatchObject({ exception: { status: 'error', code: 'AUTH_TOKEN_MISSING' } });
  });

  it('answers @RequireRecentLogin(60) up to 60 s after the login and refuses it with AUTH_REAUTH_REQUIRED after', async () => {
    const { accessToken, userId, password } = await registerAndLogin(app);
    const socket = await connect(url, sockets, accessToken);
    expect(await send(socket, 'closeAccount')).toEqual({ ack: { closing: userId } });
    clock.advance(60);
    expect(await send(socket, 'closeAccount')).toEqual({ ack: { closing: userId } });
    clock.advance(1);
    expect(await send(socket, 'closeAccount')).toEqual({ exception: REAUTH_REQUIRED });
    // The session lives on: a message without the rule still goes through.
    expect(await send(socket, 'whoami')).toEqual({ ack: { userId } });
    clock.advance(59);
    // auth_time is now 120 s in the past.
    expect(Math.floor(clock.now() / 1000) - (claimsOf(accessToken).auth_time as number)).toBe(120);
    expect(await send(socket, 'closeAccount')).toEqual({ exception: REAUTH_REQUIRED });

    // POST /auth/reauthenticate renews auth_time: a socket on its new token gets the message again.
    const reauthenticated = await request(app.getHttpServer())
      .post('/auth/reauthenticate')
      .set('Authorization', `Bearer ${accessToken}`)
      .send({ password })
      .expect(200);
    const renewed = reauthenticated.body.accessToken as string;
    expect(claimsOf(renewed)).toMatchObject({ sid: claimsOf(accessToken).sid, auth_time: Math.floor(clock.now() / 1000) });
    const fresh = await connect(url, sockets, renewed);
    expect(await send(fresh, 'closeAccount')).toEqual({ ack: { closing: userId } });
    // The old socket keeps its handshake's token, and with it the old auth_time.
    expect(await send(socket, 'closeAccount')).toEqual({ exception: REAUTH_REQUIRED });
    // A recent login is no second factor.
    expect(await send(fresh, 'billing')).toEqual({ exception: MFA_REQUIRED });
  });
});
