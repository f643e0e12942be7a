import type { ExecutionContext } from '@nestjs/common';
import type { Reflector } from '@nestjs/core';
import { IS_PUBLIC_KEY } from '../auth.constants.js';

type RouteClass = ReturnType<ExecutionContext['getClass']>;
type RouteHandler = ReturnType<ExecutionContext['getHandler']>;

/**
 * Whether a handler is `@Public()` (on itself or its class), looked up once per class and
 * handler: route metadata does not change after start-up, and guards ask on every request.
 */
export class PublicRoutes {
  private readonly known = new WeakMap<object, WeakMap<object, boolean>>();
  // The last route asked about, answered by two comparisons: a busy route asks again and again.
  private lastType: RouteClass | null = null;
  private lastHandler: RouteHandler | null = null;
  private lastAnswer = false;

  constructor(private readonly reflector: Reflector) {}

  isPublic(context: ExecutionContext): boolean {
    const handler = context.getHandler();
    const type = context.getClass();
    if (handler === this.lastHandler && type === this.lastType) return this.lastAnswer;
    const isPublic = this.lookUp(type, handler);
    this.lastType = type;
    this.lastHandler = handler;
    this.lastAnswer = isPublic;
    return isPublic;
  }

  private lookUp(type: RouteClass, handler: RouteHandler): boolean {
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
