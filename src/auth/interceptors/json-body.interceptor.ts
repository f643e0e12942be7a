import { Injectable, type CallHandler, type ExecutionContext, type NestInterceptor } from '@nestjs/common';
import type { Observable } from 'rxjs';
import { AuthErrorCode } from '../auth.errors.js';
import { authHttpError } from '../http/http-errors.js';
import type { HttpRequestLike } from '../request-meta.js';

const JSON_MEDIA_TYPE = /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i;

/**
 * Refuses request bodies that are not JSON with 415 `AUTH_UNSUPPORTED_MEDIA_TYPE`, before
 * validation. A request without a body (no `Content-Type`, no length) goes on to validation,
 * which answers 400 for the missing fields.
 */
@Injectable()
export class JsonBodyInterceptor implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const { headers } = context.switchToHttp().getRequest<HttpRequestLike>();
    const contentType = headers['content-type'];
    const hasBody = contentType !== undefined || (headers['content-length'] ?? '0') !== '0' || headers['transfer-encoding'] !== undefined;
    if (hasBody && (typeof contentType !== 'string' || !JSON_MEDIA_TYPE.test(contentType))) {
      throw authHttpError(AuthErrorCode.UNSUPPORTED_MEDIA_TYPE);
    }
    return next.handle();
  }
}
