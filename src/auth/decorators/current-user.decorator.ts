import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { AuthUser } from '../interfaces/auth-user.interface.js';

/**
 * The authenticated caller (`{ userId, username, sessionId }`), or one of its fields.
 * Use on routes behind `AuthGuard`.
 *
 * @example
 * ```ts
 * @Get('me')
 * me(@CurrentUser() user: AuthUser) { return user; }
 *
 * @Get('mine')
 * mine(@CurrentUser('userId') userId: string) { ... }
 * ```
 */
export const CurrentUser = createParamDecorator(
  (field: keyof AuthUser | undefined, context: ExecutionContext): AuthUser | string | undefined => {
    const user = context.switchToHttp().getRequest<{ user?: AuthUser }>().user;
    return field ? user?.[field] : user;
  },
);
