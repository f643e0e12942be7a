import {
  Catch,
  Injectable,
  Optional,
  type ArgumentsHost,
  type ExceptionFilter,
  type ExecutionContext,
  type HttpServer,
} from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { AuthError } from '../auth.errors.js';
import { throwError } from 'rxjs';
import { requestOf } from '../execution-context.js';
import { isSignedIn } from '../authentication/authenticated-user.js';
import { authErrorResponse, toHttpException } from '../http/http-errors.js';

/**
 * Answers an {@link AuthError} that reaches the edge: over HTTP with the status and headers of
 * `AUTH_HTTP_ERRORS` (`Retry-After` on a 429, `WWW-Authenticate` on a 401) and the body
 * `{ statusCode, code, message }`; under GraphQL as the matching `HttpException`; on a
 * WebSocket as `{ status: 'error', code, message }` on the `exception` event.
 *
 * `AuthModule` registers it globally, so errors from `AuthService` called in your own
 * controllers get the same answers (its own routes turn them into `HttpException`s before any
 * filter, with `AuthErrorInterceptor`). A catch-all filter of your own registered with
 * `useGlobalFilters` runs first: hand `AuthError`s to {@link renderAuthError} there.
 */
@Catch(AuthError)
@Injectable()
export class AuthExceptionFilter implements ExceptionFilter<AuthError> {
  constructor(@Optional() private readonly adapterHost?: HttpAdapterHost) {}

  catch(error: AuthError, host: ArgumentsHost): unknown {
    return renderAuthError(error, host, this.adapterHost?.httpAdapter);
  }
}

/** What {@link AuthExceptionFilter} does, for a filter of your own. */
export function renderAuthError(
  error: AuthError,
  host: ArgumentsHost,
  adapter: Pick<HttpServer, 'setHeader' | 'reply'> | undefined,
): unknown {
  switch (host.getType<string>()) {
    case 'http': {
      const http = host.switchToHttp();
      const signedIn = isSignedIn(http.getRequest<unknown>());
      if (!adapter) throw toHttpException(error, { signedIn });
      const { status, body, headers } = authErrorResponse(error, { signedIn });
      const response = http.getResponse<unknown>();
      for (const [name, value] of Object.entries(headers)) adapter.setHeader(response, name, value);
      adapter.reply(response, body, status);
      return undefined;
    }
    case 'ws': {
      const client = host.switchToWs().getClient<{ emit?: (event: string, body: unknown) => unknown }>();
      client.emit?.('exception', { status: 'error', code: error.code, message: error.message });
      return undefined;
    }
    case 'graphql':
      // GraphQL renders HttpExceptions itself: what a resolver's filter returns is its error.
      return toHttpException(error, { signedIn: isSignedIn(requestOf(host as ExecutionContext)) });
    default:
      // RPC and others: left to their own handling, as an error.
      return throwError(() => error);
  }
}
