import { Inject, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { AuthConfig } from '../auth.config.js';
import { AUTH_CONFIG } from '../auth.constants.js';
import { AuthError } from '../auth.errors.js';
import { readCookies } from '../cookies/cookie-transport.js';
import { edgeException } from '../http/http-errors.js';
import { requestMeta, type HttpRequestLike } from '../request-meta.js';
import { LoginPipeline } from './login-pipeline.js';

/**
 * The device proof a login request carries: `deviceToken` in the body, else, with the cookie
 * transport on, every device cookie (one planted for a parent domain must not hide the real one).
 */
export function loginDeviceProof(body: unknown, request: HttpRequestLike, config: AuthConfig): unknown {
  const inBody = typeof body === 'object' && body !== null ? (body as { deviceToken?: unknown }).deviceToken : undefined;
  return inBody ?? (config.cookies ? readCookies(request, config.cookies.names.device) : undefined);
}

/**
 * On `POST /auth/login`: answers 429 `AUTH_TOO_MANY_ATTEMPTS` (with `Retry-After`) before the
 * body is validated when the login throttle would refuse the attempt whatever its password (the
 * client's IP budget, or the username's; see `LoginDefence.refusalAhead`). The body has been
 * parsed by then (by the adapter), not yet validated: a flood over its budget is refused for
 * little more than an open route costs.
 */
@Injectable()
export class LoginThrottleGuard implements CanActivate {
  constructor(
    private readonly pipeline: LoginPipeline,
    private readonly adapterHost: HttpAdapterHost,
    @Inject(AUTH_CONFIG) private readonly config: AuthConfig,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (!this.config.loginThrottle || context.getType() !== 'http') return true;
    const request = context.getArgByIndex<HttpRequestLike & { body?: unknown }>(0);
    const body = request.body;
    const username = typeof body === 'object' && body !== null ? (body as { username?: unknown }).username : undefined;
    try {
      await this.pipeline.refuseAhead(username, requestMeta(request, this.config.trustProxy), {
        deviceToken: loginDeviceProof(body, request, this.config),
      });
    } catch (error) {
      throw error instanceof AuthError ? edgeException(error, context, this.adapterHost.httpAdapter) : error;
    }
    return true;
  }
}
