import type { ExecutionContext } from '@nestjs/common';
import type { Reflector } from '@nestjs/core';
import { IS_PUBLIC_KEY, RECENT_LOGIN_KEY, REQUIRE_MFA_KEY } from '../auth.constants.js';

type RouteClass = ReturnType<ExecutionContext['getClass']>;
type RouteHandler = ReturnType<ExecutionContext['getHandler']>;

/** What a handler's decorators ask of its callers. */
export interface RouteRule {
  /** `@Public()`. */
  readonly isPublic: boolean;
  /** `@RequireMfa()`. */
  readonly requireMfa: boolean;
  /** `@RequireRecentLogin()`: its seconds, `0` for the module's default, `null` without it. */
  readonly recentLogin: number | null;
}

const OPEN: RouteRule = Object.freeze({ isPublic: false, requireMfa: false, recentLogin: null });

/**
 * The rules of a handler (`@Public()`, `@RequireMfa()`, `@RequireRecentLogin()`, on itself or its
 * class, the handler's winning), looked up once per class and handler: route metadata does not
 * change after start-up, and guards ask on every request.
 */
export class PublicRoutes {
  private readonly known = new WeakMap<object, WeakMap<object, RouteRule>>();
  private lastType: RouteClass | null = null;
  private lastHandler: RouteHandler | null = null;
  private lastRule: RouteRule = OPEN;

  constructor(private readonly reflector: Reflector) {}

  isPublic(context: ExecutionContext): boolean {
    return this.ruleOf(context).isPublic;
  }

  ruleOf(context: ExecutionContext): RouteRule {
    const handler = context.getHandler();
    const type = context.getClass();
    if (handler === this.lastHandler && type === this.lastType) return this.lastRule;
    const rule = this.lookUp(type, handler);
    this.lastType = type;
    this.lastHandler = handler;
    this.lastRule = rule;
    return rule;
  }

  private lookUp(type: RouteClass, handler: RouteHandler): RouteRule {
    let handlers = this.known.get(type);
    if (!handlers) {
      handlers = new WeakMap();
      this.known.set(type, handlers);
    }
    let rule = handlers.get(handler);
    if (rule === undefined) {
      const targets = [handler, type];
      const isPublic = this.reflector.getAllAndOverride<boolean | undefined>(IS_PUBLIC_KEY, targets) === true;
      const requireMfa = this.reflector.getAllAndOverride<boolean | undefined>(REQUIRE_MFA_KEY, targets) === true;
      const recentLogin = this.reflector.getAllAndOverride<number | undefined>(RECENT_LOGIN_KEY, targets) ?? null;
      rule = !isPublic && !requireMfa && recentLogin === null ? OPEN : Object.freeze({ isPublic, requireMfa, recentLogin });
      handlers.set(handler, rule);
    }
    return rule;
  }
}
