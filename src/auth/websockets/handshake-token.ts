import { AuthErrorCode } from '../auth.errors.js';
import { COOKIE_NAMES, passesHandshakeOriginCheck, readCookie } from '../cookies/cookie-transport.js';
import { extractBearerToken } from '../tokens/bearer-token.extractor.js';

/** The parts of a socket nest-warden reads: Socket.IO's handshake and per-socket data. */
export interface WsClientLike {
  handshake?: { auth?: Record<string, unknown>; headers?: Record<string, string | string[] | undefined> };
  data?: Record<string, unknown>;
}

/**
 * Why no token could be taken from a handshake. `AUTH_CSRF_FAILED`: the handshake carried only
 * the access cookie, and came from another origin.
 */
export type HandshakeRefusal = {
  ok: false;
  code: typeof AuthErrorCode.TOKEN_MISSING | typeof AuthErrorCode.TOKEN_INVALID | typeof AuthErrorCode.CSRF_FAILED;
};

/** Options of {@link handshakeToken}. */
export interface HandshakeOptions {
  /**
   * Whether the cookie transport is on (the module's `cookies` option). Then a handshake with
   * neither `auth.token` nor an `Authorization` header authenticates from its access
   * cookie, if it is same-origin (`passesHandshakeOriginCheck`). Default `false`.
   */
  cookies?: boolean;
  /** The access cookie's name: `__Host-nw_access` with secure cookies (the default), else `nw_access` (the default here). */
  accessCookie?: string;
}

/**
 * The access token of a socket: the handshake's `auth.token` (bare or `Bearer ...`; browsers
 * cannot set headers on WebSocket upgrades), else its `Authorization: Bearer` header. Both
 * must hold exactly one well-formed bearer token. With `cookies`, and neither of those, the
 * access cookie (`accessCookie`) of a same-origin handshake.
 */
export function handshakeToken(client: WsClientLike, options: HandshakeOptions = {}): string | HandshakeRefusal {
  const fromAuth = client.handshake?.auth?.token;
  let token: string | null;
  if (fromAuth !== undefined) {
    if (typeof fromAuth !== 'string') return { ok: false, code: AuthErrorCode.TOKEN_INVALID };
    token = extractBearerToken({ headers: { authorization: /^bearer /i.test(fromAuth) ? fromAuth : `Bearer ${fromAuth}` } });
  } else {
    const headers = client.handshake?.headers;
    if (!headers) return { ok: false, code: AuthErrorCode.TOKEN_MISSING };
    if (headers.authorization === undefined)
      return options.cookies
        ? cookieToken(headers, options.accessCookie ?? COOKIE_NAMES.access)
        : { ok: false, code: AuthErrorCode.TOKEN_MISSING };
    token = extractBearerToken({ headers });
  }
  return token ?? { ok: false, code: AuthErrorCode.TOKEN_INVALID };
}

function cookieToken(headers: Record<string, string | string[] | undefined>, name: string): string | HandshakeRefusal {
  const token = readCookie({ headers }, name);
  if (token === undefined) return { ok: false, code: AuthErrorCode.TOKEN_MISSING };
  return passesHandshakeOriginCheck({ headers }) ? token : { ok: false, code: AuthErrorCode.CSRF_FAILED };
}
