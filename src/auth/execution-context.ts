import type { ExecutionContext } from '@nestjs/common';

/**
 * Where the caller lives for an execution context: the HTTP request, the socket's `data` for
 * WebSocket gateways, and for GraphQL resolvers (context type
 * `graphql`) it is the `req` (Apollo on Express) or `request` (Fastify integrations) of the
 * GraphQL context, the third resolver argument, so nest-warden needs no @nestjs/graphql import.
 */
export function requestOf(context: ExecutionContext): unknown {
  // WebSocket gateways: WsAuthGuard keeps the caller in the socket's `data`.
  if (context.getType() === 'ws') return context.switchToWs().getClient<{ data?: unknown }>().data;
  if (context.getType<string>() === 'graphql') {
    const graphqlContext = context.getArgByIndex<{ req?: unknown; request?: unknown } | undefined>(2);
    return graphqlContext?.req ?? graphqlContext?.request;
  }
  return context.switchToHttp().getRequest();
}
