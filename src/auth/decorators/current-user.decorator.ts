import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import { requestOf } from '../execution-context.js';
import type { AuthUser } from '../interfaces/auth-user.interface.js';

/**
 * The authenticated caller (`{ userId, username, sessionId }`), or one of its fields.
 * Use on routes and GraphQL resolvers behind `AuthGuard`.
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
    const user = (requestOf(context) as { user?: AuthUser } | undefined)?.user;
    return field ? user?.[field] : user;
  },
);
