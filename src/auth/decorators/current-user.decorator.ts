import { createParamDecorator, type ExecutionContext, type PipeTransform, type Type } from '@nestjs/common';
import { requestOf } from '../execution-context.js';
import type { AuthUser } from '../interfaces/auth-user.interface.js';

/**
 * The authenticated caller (`{ userId, username, sessionId }`), or one of its fields.
 * Use on routes and GraphQL resolvers behind `AuthGuard`, and on gateway messages behind
 * `WsAuthGuard` (or the global `AuthGuard`). A `@Public()` route gets no caller from nest-warden; a
 * `@Public()` gateway message gets the socket's caller while its session is live, else
 * `undefined`, never a caller whose session has ended.
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
// Typed by hand: the inferred type names NestJS 12's ParameterDecoratorOptions, which NestJS 11
// lacks, and would break the declarations there.
export const CurrentUser: (...dataOrPipes: (keyof AuthUser | PipeTransform | Type<PipeTransform> | undefined)[]) => ParameterDecorator =
  createParamDecorator((field: keyof AuthUser | undefined, context: ExecutionContext): AuthUser | string | undefined => {
    const user = (requestOf(context) as { user?: AuthUser } | undefined)?.user;
    return field ? user?.[field] : user;
  });
