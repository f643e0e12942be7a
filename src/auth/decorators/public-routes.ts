import type { ExecutionContext } from '@nestjs/common';
import type { Reflector } from '@nestjs/core';
import { IS_PUBLIC_KEY } from '../auth.constants.js';

/**
 * Whether a handler is `@Public()` (on itself or its class), looked up once per class and
 * handler: route metadata does not change after start-up, and guards ask on every request.
 */
export class PublicRoutes {
  private readonly known = new WeakMap<object, WeakMap<object, boolean>>();

  constructor(private readonly reflector: Reflector) {}

  isPublic(context: ExecutionContext): boolean {
    const handler = context.getHandler();
    const type = context.getClass();
    let handlers = this.known.get(type);
    if (!handlers) {
      handlers = new WeakMap();
      this.known.set(type, handlers);
    }
    let isPublic = handlers.get(handler);
    if (isPublic === undefined) {
      isPublic = this.reflector.getAllAndOverride<boolean | undefined>(IS_PUBLIC_KEY, [handler, type]) === true;
      handlers.set(handler, isPublic);
    }
    return isPublic;
  }
}
