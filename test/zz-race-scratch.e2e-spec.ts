import type { AddressInfo } from 'node:net';
import { expect, it } from '@jest/globals';
import { io } from 'socket.io-client';
import { WebsocketsAppModule, GlobalGuardWebsocketsAppModule } from './fixtures/websockets/app.module.js';
import { createApp } from './utils/app.js';
import { registerAndLogin } from './utils/auth-client.js';

for (const mod of [WebsocketsAppModule, GlobalGuardWebsocketsAppModule]) it('race ' + mod.name, async () => {
  const app = await createApp(mod, 'express');
  await app.listen(0, '127.0.0.1');
  const url = `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}`;
  const { accessToken } = await registerAndLogin(app);
  const socket = io(url, { transports: ['websocket'], auth: { token: accessToken }, reconnection: false });
  await new Promise<void>((r) => socket.once('connect', () => r()));
  const owners: unknown[] = [];
  const pubs: unknown[] = [];
  const all: Promise<void>[] = [];
  for (let i = 0; i < 200; i++) {
    all.push(new Promise((r) => socket.emit('note', 'x', (a: { owner: unknown }) => { owners.push(a.owner); r(); })));
    all.push(new Promise((r) => socket.emit('publicCaller', undefined, (a: { userId: unknown }) => { pubs.push(a.userId); r(); })));
  }
  await Promise.all(all);
  console.log(mod.name, 'guarded without owner:', owners.filter((o) => o === undefined || o === null).length, 'public with user:', pubs.filter((p) => p !== null).length);
  socket.disconnect();
  await app.close();
  expect(true).toBe(true);
});
