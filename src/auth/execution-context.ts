import type { ExecutionContext } from '@nestjs/common';

/**
 * The HTTP request behind an execution context. For GraphQL resolvers (context type
 * `graphql`) it is the `req` (Apollo on Express) or `request` (Fastify integrations) of the
 * GraphQL context, the third resolver argument, so nest-warden needs no @nestjs/graphql import.
 */
export function requestOf(context: ExecutionContext): unknown {
  if (context.getType<string>() === 'graphql') {
    const graphqlContext = context.getArgByIndex<{ req?: unknown; request?: unknown } | undefined>(2);
    return graphqlContext?.req ?? graphqlContext?.request;
  }
  return context.switchToHttp().getRequest();
}
