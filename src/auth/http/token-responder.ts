import { Inject, Injectable } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { Reauthentication } from '../accounts/reauthentication.service.js';
import type { AuthConfig } from '../auth.config.js';
import { AUTH_CONFIG } from '../auth.constants.js';
import { accessCookie, answersWithCookies, clearedCookies, sessionCookies, type CookiePaths } from '../cookies/cookie-transport.js';
import type { HttpRequestLike } from '../request-meta.js';
import type { LoginResult } from '../sessions/session.service.js';

/** What login and refresh answer with the cookie transport on: the tokens are in cookies. */
export interface CookieTokenResponse {
  tokenType: 'Cookie';
  expiresIn: number;
}

/** What `POST /auth/login` and `POST /auth/refresh` answer. */
export interface TokenResponse {
  accessToken: string;
  /** Opaque and single use: trade it at `POST /auth/refresh`. */
  refreshToken: string;
  tokenType: 'Bearer';
  /** Seconds until the access token expires. */
  expiresIn: number;
  /** Login, while the login throttle is on: send it back as `deviceToken` at this client's next logins. */
  deviceToken?: string;
}

/** What `POST /auth/reauthenticate` answers with the cookie transport on: the access token is in its cookie. */
export interface CookieReauthResponse {
  tokenType: 'Cookie';
  expiresIn: number;
}

/** What `POST /auth/reauthenticate` answers: a new access token for the same session (the refresh token stays). */
export interface ReauthResponse {
  accessToken: string;
  tokenType: 'Bearer';
  expiresIn: number;
}

/** How a route answers with tokens. */
export interface TokenAnswerOptions {
  /** The caller's session already travels in cookies (a refresh by cookie, a reauthentication signed in by cookie). */
  cookieSession?: boolean;
  /** The module's `routePrefix`, for an adapter that tells no route. Default `auth`. */
  routePrefix?: string;
}

/**
 * How the routes that open or renew a session answer (login, refresh, the second step,
 * reauthentication, and a flow's own, such as the passkey login): tokens in the body, or, with
 * the cookie transport on (always, or on request), in cookies, out of the body where a script
 * (an XSS payload) could read them. A provider, so a flow's controller answers as the module's does.
 */
@Injectable()
export class TokenResponder {
  constructor(
    @Inject(AUTH_CONFIG) private readonly config: AuthConfig,
    private readonly adapterHost: HttpAdapterHost,
  ) {}

  /** Whether this request's answer goes in cookies. */
  inCookies(request: HttpRequestLike, options: TokenAnswerOptions = {}): boolean {
    return this.config.cookies !== null && (options.cookieSession === true || answersWithCookies(this.config.cookies, request));
  }

  /** The answer of a route that opened a session or rotated its refresh token. */
  tokens(
    result: LoginResult,
    request: HttpRequestLike,
    response: unknown,
    options: TokenAnswerOptions = {},
  ): TokenResponse | CookieTokenResponse {
    const settings = this.config.cookies;
    if (!settings || !this.inCookies(request, options)) return toTokenResponse(result);
    const device =
      result.deviceToken === undefined
        ? {}
        : { device: { token: result.deviceToken, maxAgeSeconds: this.config.loginThrottle!.deviceProofTtlSeconds } };
    const cookies = sessionCookies(
      settings,
      {
        accessToken: result.accessToken,
        refreshToken: result.refreshToken,
        csrfToken: this.config.csrfKeys.mac(result.sessionId),
        accessMaxAgeSeconds: result.expiresIn,
        sessionMaxAgeSeconds: this.config.sessionTtlSeconds,
        ...device,
      },
      cookiePathsOf(request, options.routePrefix ?? 'auth'),
    );
    this.adapterHost.httpAdapter.setHeader(response, 'Set-Cookie', cookies as unknown as string);
    return { tokenType: 'Cookie', expiresIn: result.expiresIn };
  }

  /** A reauthentication: a new access token; the refresh token and the CSRF token (bound to the session) stay. */
  accessToken(
    result: Reauthentication,
    request: HttpRequestLike,
    response: unknown,
    options: TokenAnswerOptions = {},
  ): ReauthResponse | CookieReauthResponse {
    const settings = this.config.cookies;
    if (!settings || !this.inCookies(request, options)) {
      return { accessToken: result.accessToken, tokenType: result.tokenType, expiresIn: result.expiresIn };
    }
    const cookie = accessCookie(settings, result.accessToken, result.expiresIn);
    this.adapterHost.httpAdapter.setHeader(response, 'Set-Cookie', [cookie] as unknown as string);
    return { tokenType: 'Cookie', expiresIn: result.expiresIn };
  }

  /** Clears the session's cookies (logout), with the cookie transport on. */
  clear(request: HttpRequestLike, response: unknown, options: TokenAnswerOptions = {}): void {
    if (!this.config.cookies) return;
    const cookies = clearedCookies(this.config.cookies, cookiePathsOf(request, options.routePrefix ?? 'auth'));
    this.adapterHost.httpAdapter.setHeader(response, 'Set-Cookie', cookies as unknown as string);
  }
}

/**
 * The paths of the refresh and login routes, from the route this request matched as it was
 * registered (Express `route.path` under `baseUrl`, Fastify `routeOptions.url`): the configured
 * `routePrefix` under whatever the host added (a global prefix, a version, a `RouterModule`
 * path, a mount point), none of which the config knows. Never from the URL as sent, which may
 * differ in case or by a trailing slash (`/AUTH/LOGIN/`) and would give cookies the routes
 * never receive. An adapter that tells no route gets the bare `routePrefix`. A flow's route
 * (`passkeys/login/verify`) sits under the prefix as the module's do.
 */
function cookiePathsOf(request: RoutedRequest, routePrefix: string): CookiePaths {
  const route = request.route?.path ?? request.routeOptions?.url ?? request.routerPath;
  const registered = typeof route === 'string' ? `${request.baseUrl ?? ''}${route}` : `/${routePrefix}/login`.replace(/^\/\//, '/');
  const base = registered.replace(/\/(login|refresh|logout|logout\/all|mfa\/verify|passkeys\/login\/verify)$/, '');
  return { refresh: `${base}/refresh`, login: `${base}/login` };
}

/** What Express and Fastify tell of the route a request matched. */
type RoutedRequest = HttpRequestLike & {
  baseUrl?: string;
  route?: { path?: unknown };
  routeOptions?: { url?: unknown };
  routerPath?: unknown;
};

function toTokenResponse(result: LoginResult): TokenResponse {
  return {
    accessToken: result.accessToken,
    refreshToken: result.refreshToken,
    tokenType: result.tokenType,
    expiresIn: result.expiresIn,
    ...(result.deviceToken === undefined ? {} : { deviceToken: result.deviceToken }),
  };
}
