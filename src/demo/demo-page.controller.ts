import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { applyDecorators, Controller, Get, Header } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { Public } from '../auth/index.js';

/**
 * The page's policy: its own scripts, styles and calls only, images from itself or `data:` (the
 * TOTP QR code), no inline script or style, no frames, forms posted only to itself.
 */
export const DEMO_PAGE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

// Beside this file: src/demo/web/ in the sources (tests), dist/demo/web/ in the build (npm run build copies it).
const WEB_DIR = join(import.meta.dirname, 'web');

// Read once at start: a missing file fails the start, not a request.
const file = (name: string): string => readFileSync(join(WEB_DIR, name), 'utf8');
const PAGE = { html: file('index.html'), app: file('app.js'), api: file('api.js'), style: file('style.css') };

/** The headers of every file of the page: its type, the CSP, no sniffing, no referrer, revalidated. */
function PageFile(contentType: string): MethodDecorator {
  return applyDecorators(
    Header('Content-Type', contentType),
    Header('Content-Security-Policy', DEMO_PAGE_CSP),
    Header('X-Content-Type-Options', 'nosniff'),
    Header('Referrer-Policy', 'no-referrer'),
    Header('Cache-Control', 'no-cache'),
  );
}

/**
 * The demo's web page at `/`: every flow of the API through the cookie transport with CSRF.
 * The mails' links open it too (`/reset-password#token=...`, `/verify-email#token=...`).
 */
@ApiExcludeController()
@Public()
@Controller()
export class DemoPageController {
  @Get(['/', 'reset-password', 'verify-email'])
  @PageFile('text/html; charset=utf-8')
  page(): string {
    return PAGE.html;
  }

  @Get('assets/app.js')
  @PageFile('text/javascript; charset=utf-8')
  app(): string {
    return PAGE.app;
  }

  @Get('assets/api.js')
  @PageFile('text/javascript; charset=utf-8')
  api(): string {
    return PAGE.api;
  }

  @Get('assets/style.css')
  @PageFile('text/css; charset=utf-8')
  style(): string {
    return PAGE.style;
  }
}
