import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { AuthService } from '../src/auth/index.js';
import { AsyncClassAppModule, AsyncFactoryAppModule } from './fixtures/async-config/app.module.js';
import { CustomUserStoreAppModule, type AccountsUserStore } from './fixtures/custom-user-store/app.module.js';
import { NoControllerAppModule } from './fixtures/no-controller/app.module.js';
import { PerRouteAppModule } from './fixtures/per-route/app.module.js';
import { ADAPTERS, createApp } from './utils/app.js';
import { claimsOf, registerAndLogin } from './utils/auth-client.js';

describe.each(ADAPTERS)('host apps on %s', (adapter) => {
  describe('AuthModule.forRoot(secret) with a per-controller guard', () => {
    let app: INestApplication;
    beforeAll(async () => {
      app = await createApp(PerRouteAppModule, adapter);
    });
    afterAll(() => app.close());

    it('guards the controller that asks, and only it', async () => {
      const http = request(app.getHttpServer());
      await http.get('/open').expect(200);
      await http.get('/notes').expect(401);
      const user = await registerAndLogin(app);
      await http.get('/notes').set('Authorization', `Bearer ${user.accessToken}`).expect(200, { owner: user.username });
    });

    it('keeps the global routes of the controller open (register, login) and guards me', async () => {
      const http = request(app.getHttpServer());
      await http.get('/auth/me').expect(401);
    });
  });

  describe('AuthModule.forRootAsync with @nestjs/config', () => {
    describe('useFactory', () => {
      let app: INestApplication;
      beforeAll(async () => {
        app = await createApp(AsyncFactoryAppModule, adapter);
      });
      afterAll(() => app.close());

      it('takes secret, TTL and issuer from ConfigService and turns the global guard on', async () => {
        const http = request(app.getHttpServer());
        await http.get('/notes').expect(401);
        const user = await registerAndLogin(app);
        const claims = claimsOf(user.accessToken);
        expect((claims.exp as number) - (claims.iat as number)).toBe(120);
        expect(claims.iss).toBe('https://id.example.test');
        await http.get('/notes').set('Authorization', `Bearer ${user.accessToken}`).expect(200, { owner: user.username });
      });
    });

    describe('useClass', () => {
      let app: INestApplication;
      beforeAll(async () => {
        app = await createApp(AsyncClassAppModule, adapter);
      });
      afterAll(() => app.close());

      it('uses the options factory class', async () => {
        const user = await registerAndLogin(app);
        expect(claimsOf(user.accessToken).aud).toBe('notes-api');
        await request(app.getHttpServer()).get('/notes').set('Authorization', `Bearer ${user.accessToken}`).expect(200);
      });
    });
  });

  describe('a host app with its own UserStore, registration off and another prefix', () => {
    let app: INestApplication;
    let accounts: AccountsUserStore;
    beforeAll(async () => {
      const fixture = CustomUserStoreAppModule.create();
      accounts = fixture.accounts;
      app = await createApp(fixture.module, adapter);
    });
    afterAll(() => app.close());

    it('mounts the routes under the prefix', async () => {
      const http = request(app.getHttpServer());
      await http.post('/auth/login').send({ username: 'legacy.user', password: 'legacy-password-1' }).expect(404);
      await http.post('/api/auth/login').send({ username: 'legacy.user', password: 'wrong-password-1' }).expect(401);
    });

    it('refuses registration: 403 AUTH_REGISTRATION_DISABLED', async () => {
      const response = await request(app.getHttpServer())
        .post('/api/auth/register')
        .send({ username: 'newcomer', password: 'long enough pw' })
        .expect(403);
      expect(response.body).toMatchObject({ code: 'AUTH_REGISTRATION_DISABLED' });
    });

    it('logs a legacy SHA-256 user in and upgrades the stored hash to argon2id', async () => {
      const http = request(app.getHttpServer());
      const account = [...accounts.accounts.values()].find((a) => a.login === 'legacy.user')!;
      expect(account.pwd).toMatch(/^[0-9a-f]{64}$/);
      await http.post('/api/auth/login').send({ username: 'legacy.user', password: 'wrong-password-1' }).expect(401);
      expect(account.pwd).toMatch(/^[0-9a-f]{64}$/);
      const first = await http.post('/api/auth/login').send({ username: 'legacy.user', password: 'legacy-password-1' }).expect(200);
      expect(account.pwd).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
      await http.post('/api/auth/login').send({ username: 'legacy.user', password: 'legacy-password-1' }).expect(200);
      await http.post('/api/auth/login').send({ username: 'legacy.user', password: 'wrong-password-1' }).expect(401);
      const me = await http.get('/api/me').set('Authorization', `Bearer ${first.body.accessToken}`).expect(200);
      expect(me.body).toEqual({ accountId: account.accountId });
    });
  });

  describe('controller: false (guard and service only)', () => {
    let app: INestApplication;
    beforeAll(async () => {
      app = await createApp(NoControllerAppModule, adapter);
    });
    afterAll(() => app.close());

    it('mounts no auth routes, while the guard works with tokens from AuthService', async () => {
      const http = request(app.getHttpServer());
      await http.post('/auth/login').send({ username: 'someone', password: 'long enough pw' }).expect(404);
      const auth = app.get(AuthService);
      const user = await auth.register('service.user', 'long enough pw');
      const result = await auth.login('service.user', 'long enough pw');
      expect(result).not.toBeNull();
      await http.get('/reports').set('Authorization', `Bearer ${result!.accessToken}`).expect(200, { owner: user.userId });
      const scripted = await auth.generateToken(user.userId, { expiresInSeconds: 60 });
      await http.get('/reports').set('Authorization', `Bearer ${scripted}`).expect(200);
      await auth.logout(user.userId);
      await http.get('/reports').set('Authorization', `Bearer ${scripted}`).expect(401);
    });
  });
});
