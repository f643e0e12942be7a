import { randomBytes, timingSafeEqual } from 'node:crypto';
import { parseCookie, stringifySetCookie } from 'cookie';
import type { HttpRequestLike } from '../request-meta.js';

/** Options of the opt-in cookie transport (`cookies` option). */
export interface CookieTransportOptions {
  /** `SameSite` of every cookie. Default `"strict"`. */
  sameSite?: 'strict' | 'lax';
  /** `Secure` on every cookie. Default `true`; turn off only for plain-HTTP development. */
  secure?: boolean;
}

/** Names of the cookies nest-warden sets. */
export const COOKIE_NAMES = Object.freeze({ access: 'nw_access', refresh: 'nw_refresh', csrf: 'nw_csrf' });
/** The header that must echo the `nw_csrf` cookie on unsafe cookie-authenticated requests. */
export const CSRF_HEADER = 'x-csrf-token';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Validated cookie settings. */
export interface CookieSettings {
  sameSite: 'strict' | 'lax';
  secure: boolean;
}

/** Reads one cookie of a request, or `undefined`. */
export function readCookie(request: HttpRequestLike, name: string): string | undefined {
  const header = request.headers.cookie;
  if (typeof header !== 'string' || header.length > 8192) return undefined;
  const value = parseCookie(header)[name];
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

/**
 * The CSRF check for a request authenticated by cookie (double-submit plus Fetch Metadata):
 * safe methods pass; unsafe ones need `X-CSRF-Token` equal to the `nw_csrf` cookie, and are
 * refused outright when the browser says the request is cross-site.
 */
export function passesCsrfCheck(request: HttpRequestLike & { method?: string }): boolean {
  if (SAFE_METHODS.has((request.method ?? 'GET').toUpperCase())) return true;
  if (request.headers['sec-fetch-site'] === 'cross-site') return false;
  const cookie = readCookie(request, COOKIE_NAMES.csrf);
  const header = request.headers[CSRF_HEADER];
  if (!cookie || typeof header !== 'string' || header.length !== cookie.length) return false;
  return timingSafeEqual(Buffer.from(header), Buffer.from(cookie));
}

/**
 * The same-origin check for a WebSocket (Socket.IO) handshake authenticated by cookie.
 * `SameSite` keeps the cookies off other sites' handshakes, but not off those of other origins
 * of the same site (a sibling subdomain, another port), and no CORS applies to WebSockets, so
 * without it such a page could open a socket as the user (cross-site WebSocket hijacking); a
 * handshake cannot carry a CSRF header either. The scheme is not compared (HTTPS with HSTS is
 * assumed). Browsers always send `Origin` on WebSocket and
 * cross-origin requests: when present it must name the host the request was sent to (`Host`).
 * `Sec-Fetch-Site`, when sent, must be `same-origin`. A handshake without `Origin` is a
 * same-origin page's first long-polling request, or a client that is not a browser (which
 * holds the cookie itself), and passes.
 */
export function passesHandshakeOriginCheck(request: HttpRequestLike): boolean {
  const site = request.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin') return false;
  const origin = request.headers.origin;
  if (origin === undefined) return true;
  const host = request.headers.host;
  if (typeof origin !== 'string' || typeof host !== 'string') return false;
  try {
    const from = new URL(origin);
    if (from.protocol !== 'http:' && from.protocol !== 'https:') return false;
    // Parsed with the origin's scheme, so a default port written out (":443") compares equal.
    return from.host === new URL(`${from.protocol}//${host}`).host;
  } catch {
    // "null" (sandboxed frames, file: pages) and anything unparsable.
    return false;
  }
}

/** `Set-Cookie` values that hand a session's tokens to a browser. */
export function sessionCookies(
  settings: CookieSettings,
  tokens: { accessToken: string; refreshToken: string; accessMaxAgeSeconds: number; sessionMaxAgeSeconds: number },
  refreshPath: string,
): string[] {
  const common = { secure: settings.secure, sameSite: settings.sameSite } as const;
  return [
    stringifySetCookie({ name: COOKIE_NAMES.access, value: tokens.accessToken, httpOnly: true, path: '/', maxAge: tokens.accessMaxAgeSeconds, ...common }),
    // Only ever sent to the refresh route.
    stringifySetCookie({ name: COOKIE_NAMES.refresh, value: tokens.refreshToken, httpOnly: true, path: refreshPath, maxAge: tokens.sessionMaxAgeSeconds, ...common }),
    // Readable by the page's script, which echoes it in X-CSRF-Token.
    stringifySetCookie({ name: COOKIE_NAMES.csrf, value: randomBytes(32).toString('base64url'), path: '/', maxAge: tokens.sessionMaxAgeSeconds, ...common }),
  ];
}

/** `Set-Cookie` values that remove the cookies (logout). */
export function clearedCookies(settings: CookieSettings, refreshPath: string): string[] {
  const common = { secure: settings.secure, sameSite: settings.sameSite, maxAge: 0, value: '' } as const;
  return [
    stringifySetCookie({ name: COOKIE_NAMES.access, path: '/', httpOnly: true, ...common }),
    stringifySetCookie({ name: COOKIE_NAMES.refresh, path: refreshPath, httpOnly: true, ...common }),
    stringifySetCookie({ name: COOKIE_NAMES.csrf, path: '/', ...common }),
  ];
}
