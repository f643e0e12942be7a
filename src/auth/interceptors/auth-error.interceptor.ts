import { Injectable, type CallHandler, type ExecutionContext, type NestInterceptor } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { catchError, type Observable } from 'rxjs';
import { AuthError } from '../auth.errors.js';
import { requestOf } from '../execution-context.js';
import { isSignedIn } from '../authentication/authenticated-user.js';
import { edgeException } from '../http/http-errors.js';

/**
 * The edge of nest-warden's own routes: an {@link AuthError} from the handler leaves as the
 * `HttpException` of the error table, with its headers (`Retry-After`, `WWW-Authenticate`)
 * already on the response. So a host's interceptors and catch-all filters see what they would
 * see from any Nest route, and nothing depends on which filter runs first.
 */
@Injectable()
export class AuthErrorInterceptor implements NestInterceptor {
  constructor(private readonly adapterHost: HttpAdapterHost) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    return next.handle().pipe(
      catchError((error: unknown) => {
        throw error instanceof AuthError ? this.toHttp(error, context) : error;
      }),
    );
  }

  private toHttp(error: AuthError, context: ExecutionContext): unknown {
    return edgeException(error, context, this.adapterHost.httpAdapter, { signedIn: isSignedIn(requestOf(context)) });
  }
}
