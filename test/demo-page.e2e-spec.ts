import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { AppModule } from '../src/app.module.js';
import { DEMO_PAGE_CSP } from '../src/demo/demo-page.controller.js';
import { ADAPTERS, createApp, TEST_SECRET } from './utils/app.js';

// The browser tests (test/browser/) click through the page; this checks what it is served with.
describe.each(ADAPTERS)('the demo page on %s', (adapter) => {
  let app: INestApplication;

  beforeAll(async () => {
    process.env.AUTH_SECRET = TEST_SECRET;
    app = await createApp(AppModule, adapter);
  });

  afterAll(async () => {
    delete process.env.AUTH_SECRET;
    await app.close();
  });

  const expectPageHeaders = (headers: Record<string, string>, contentType: string): void => {
    expect(headers['content-type']).toBe(contentType);
    expect(headers['content-security-policy']).toBe(DEMO_PAGE_CSP);
    expect(headers['x-content-type-options']).toBe('nosniff');
    expect(headers['referrer-policy']).toBe('no-referrer');
  };

  it.each(['/', '/reset-password', '/verify-email'])(
    'answers %s with the page, no token needed, under a CSP without inline script',
    async (path) => {
      const response = await request(app.getHttpServer()).get(path).expect(200);
      expectPageHeaders(response.headers, 'text/html; charset=utf-8');
      expect(response.text).toContain('<title>nest-warden demo</title>');
      expect(response.text).toContain('<script type="module" src="/assets/app.js"></script>');
      // Every script comes from a file: the CSP (script-src 'self') would block an inline one.
      expect(response.text.match(/<script\b[^>]*>/g)).toEqual(['<script type="module" src="/assets/app.js">']);
      expect(response.text).not.toMatch(/\sstyle=|\son[a-z]+=/);
      expect(DEMO_PAGE_CSP).toContain("script-src 'self'");
      expect(DEMO_PAGE_CSP).toContain("img-src 'self' data:");
      expect(DEMO_PAGE_CSP).toContain("frame-ancestors 'none'");
    },
  );

  it.each([
    ['/assets/app.js', 'text/javascript; charset=utf-8', "from './api.js'"],
    ['/assets/api.js', 'text/javascript; charset=utf-8', "'x-auth-transport'"],
    ['/assets/style.css', 'text/css; charset=utf-8', '.status'],
  ])('serves %s as %s', async (path, contentType, excerpt) => {
    const response = await request(app.getHttpServer()).get(path).expect(200);
    expectPageHeaders(response.headers, contentType);
    expect(response.text).toContain(excerpt);
  });

  it('serves nothing else from the page’s folder, and keeps the API guarded', async () => {
    await request(app.getHttpServer()).get('/assets/index.html').expect(404);
    await request(app.getHttpServer()).get('/assets/../app.module.js').expect(404);
    expect((await request(app.getHttpServer()).get('/auth/me').expect(401)).body.code).toBe('AUTH_TOKEN_MISSING');
  });
});
