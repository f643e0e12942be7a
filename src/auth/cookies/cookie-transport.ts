import { timingSafeEqual } from 'node:crypto';
import { parseCookie, stringifySetCookie } from 'cookie';
import type { HttpRequestLike } from '../request-meta.js';
import type { DerivedKeys } from '../tokens/derived-keys.js';

/** Options of the opt-in cookie transport (`cookies` option). */
export interface CookieTransportOptions {
  /** `SameSite` of every cookie. Default `"strict"`. */
  sameSite?: 'strict' | 'lax';
  /** `Secure` on every cookie. Default `true`; turn off only for plain-HTTP development. */
  secure?: boolean;
  /**
   * When login, refresh, the second step and reauthentication answer with cookies. `"always"`
   * (the default): every time, tokens never in a body. `"on-request"`: only for a request that
   * sends `X-Auth-Transport: cookie` (a browser page; SuperTokens' `st-auth-mode` is the
   * precedent), or a refresh that came with the refresh cookie; any other client gets tokens in
   * the body, so one app serves a browser page and bearer clients alike.
   */
  mode?: 'always' | 'on-request';
}

/** Names of the cookies nest-warden sets. */
export interface CookieNames {
  access: string;
  refresh: string;
  csrf: string;
  /** The device proof of the login throttle, sent only to the login route. */
  device: string;
}

/** Names of the cookies nest-warden sets with `secure: false` (plain-HTTP development). */
export const COOKIE_NAMES: Readonly<CookieNames> = Object.freeze({
  access: 'nw_access',
  refresh: 'nw_refresh',
  csrf: 'nw_csrf',
  device: 'nw_device',
});

/**
 * Names with `secure: true` (the default). `__Host-` makes the browser refuse the cookie unless
 * it is Secure, has `Path=/` and no `Domain`, so a sibling subdomain cannot plant or shadow it;
 * cookies sent to one route only (refresh, device) cannot have `Path=/` and take `__Secure-`.
 */
export const SECURE_COOKIE_NAMES: Readonly<CookieNames> = Object.freeze({
  access: '__Host-nw_access',
  refresh: '__Secure-nw_refresh',
  csrf: '__Host-nw_csrf',
  device: '__Secure-nw_device',
});
/** The header that must echo the `nw_csrf` cookie on unsafe cookie-authenticated requests. */
export const CSRF_HEADER = 'x-csrf-token';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** The request header by which a client asks for the cookie transport under `mode: "on-request"`. */
export const TRANSPORT_HEADER = 'x-auth-transport';

/** Validated cookie settings. */
export interface CookieSettings {
  sameSite: 'strict' | 'lax';
  secure: boolean;
  mode: 'always' | 'on-request';
  /** {@link SECURE_COOKIE_NAMES} when `secure`, else {@link COOKIE_NAMES}. */
  names: Readonly<CookieNames>;
}

/** The MAC that binds a CSRF token to its session, and the session it must be bound to. */
export interface CsrfBinding {
  keys: DerivedKeys;
  sessionId: string;
}

/** Whether the answer to `request` goes in cookies: always, or on request (`X-Auth-Transport: cookie`). */
export function answersWithCookies(settings: CookieSettings, request: HttpRequestLike): boolean {
  if (settings.mode === 'always') return true;
  const asked = request.headers[TRANSPORT_HEADER];
  return typeof asked === 'string' && asked.trim().toLowerCase() === 'cookie';
}

/** Reads one cookie of a request, or `undefined`. */
export function readCookie(request: HttpRequestLike, name: string): string | undefined {
  const header = request.headers.cookie;
  if (typeof header !== 'string' || header.length > 8192) return undefined;
  const value = parseCookie(header)[name];
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

/**
 * Every value of one cookie in a request, in the order sent. A browser sends two cookies of one
 * name when another site of the same registrable domain set one for the parent domain (which the
 * `__Secure-` prefix does not forbid, unlike `__Host-`): callers pick the value that verifies
 * instead of trusting the first.
 */
export function readCookies(request: HttpRequestLike, name: string): string[] {
  const header = request.headers.cookie;
  if (typeof header !== 'string' || header.length > 8192) return [];
  const values: string[] = [];
  for (const pair of header.split(';')) {
    const value = parseCookie(pair)[name];
    if (typeof value === 'string' && value.length > 0) values.push(value);
  }
  return values;
}

/**
 * The CSRF check for a request authenticated by cookie (signed double-submit plus Fetch
 * Metadata): safe methods pass; unsafe ones need `X-CSRF-Token` equal to the CSRF cookie, whose
 * value must be the MAC of the request's session id, and are refused outright when the browser
 * says the request is cross-site. The MAC means a cookie planted by a sibling subdomain (which
 * can set cookies for the parent domain, though not `__Host-` ones) matches no session.
 */
export function passesCsrfCheck(request: HttpRequestLike & { method?: string }, csrfCookie: string, binding: CsrfBinding): boolean {
  if (SAFE_METHODS.has((request.method ?? 'GET').toUpperCase())) return true;
  if (request.headers['sec-fetch-site'] === 'cross-site') return false;
  const cookie = readCookie(request, csrfCookie);
  const header = request.headers[CSRF_HEADER];
  if (!cookie || typeof header !== 'string') return false;
  // Compared as bytes: two strings of one length can differ in UTF-8 length (timingSafeEqual throws then).
  const given = Buffer.from(header, 'utf8');
  const expected = Buffer.from(cookie, 'utf8');
  return given.length === expected.length && timingSafeEqual(given, expected) && binding.keys.verify(binding.sessionId, cookie);
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

/** What {@link sessionCookies} puts in the cookies. */
export interface SessionCookieValues {
  accessToken: string;
  refreshToken: string;
  /** The MAC of the session id ({@link CsrfBinding}). */
  csrfToken: string;
  accessMaxAgeSeconds: number;
  sessionMaxAgeSeconds: number;
  /** Login, with the login throttle on: the device proof and how long it lives. */
  device?: { token: string; maxAgeSeconds: number };
}

/** The paths of the routes that receive a cookie of their own. */
export interface CookiePaths {
  refresh: string;
  login: string;
}

/** `Set-Cookie` values that hand a session's tokens to a browser. */
export function sessionCookies(settings: CookieSettings, values: SessionCookieValues, paths: CookiePaths): string[] {
  const common = { secure: settings.secure, sameSite: settings.sameSite } as const;
  const { names } = settings;
  const cookies = [
    accessCookie(settings, values.accessToken, values.accessMaxAgeSeconds),
    // Only ever sent to the refresh route.
    stringifySetCookie({
      name: names.refresh,
      value: values.refreshToken,
      httpOnly: true,
      path: paths.refresh,
      maxAge: values.sessionMaxAgeSeconds,
      ...common,
    }),
    // Readable by the page's script, which echoes it in X-CSRF-Token.
    stringifySetCookie({ name: names.csrf, value: values.csrfToken, path: '/', maxAge: values.sessionMaxAgeSeconds, ...common }),
  ];
  if (values.device) {
    // Only ever sent to the login route; outlives the session (it is about the device).
    cookies.push(
      stringifySetCookie({
        name: names.device,
        value: values.device.token,
        httpOnly: true,
        path: paths.login,
        maxAge: values.device.maxAgeSeconds,
        ...common,
      }),
    );
  }
  return cookies;
}

/** The `Set-Cookie` value of the access cookie alone (a reauthentication renews only it). */
export function accessCookie(settings: CookieSettings, accessToken: string, maxAgeSeconds: number): string {
  return stringifySetCookie({
    name: settings.names.access,
    value: accessToken,
    httpOnly: true,
    path: '/',
    maxAge: maxAgeSeconds,
    secure: settings.secure,
    sameSite: settings.sameSite,
  });
}

/** `Set-Cookie` values that remove the session's cookies (logout). The device proof stays. */
export function clearedCookies(settings: CookieSettings, paths: CookiePaths): string[] {
  const common = { secure: settings.secure, sameSite: settings.sameSite, maxAge: 0, value: '' } as const;
  const { names } = settings;
  return [
    stringifySetCookie({ name: names.access, path: '/', httpOnly: true, ...common }),
    stringifySetCookie({ name: names.refresh, path: paths.refresh, httpOnly: true, ...common }),
    stringifySetCookie({ name: names.csrf, path: '/', ...common }),
  ];
}
