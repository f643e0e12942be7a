import { Catch, HttpException, HttpStatus, type ArgumentsHost } from '@nestjs/common';
import { BaseExceptionFilter } from '@nestjs/core';
import { AuthError, AuthErrorCode } from '../auth.errors.js';
import { AUTH_HTTP_ERRORS, AuthHttpException, type AuthErrorBody } from '../http/http-errors.js';
import { renderAuthError } from './auth-exception.filter.js';

// http-errors (Express body parsers) and Fastify both mark their errors with a numeric statusCode.
interface ParserError {
  statusCode: number;
  type?: unknown;
  code?: unknown;
}

// The answers to parser failures, each written once.
const answer = (code: AuthErrorCode, message: string): AuthErrorBody =>
  Object.freeze({ statusCode: AUTH_HTTP_ERRORS[code].status, code, message });
const TOO_LARGE = answer(AuthErrorCode.PAYLOAD_TOO_LARGE, 'request body is too large');
const NOT_JSON_MEDIA = answer(AuthErrorCode.UNSUPPORTED_MEDIA_TYPE, 'request body must be application/json');
const NOT_JSON = answer(AuthErrorCode.VALIDATION_FAILED, 'request body is not valid JSON');
const NOT_DECOMPRESSED = answer(AuthErrorCode.VALIDATION_FAILED, 'request body could not be decompressed');
const BAD_PATH = answer(AuthErrorCode.VALIDATION_FAILED, 'request path is malformed');

/**
 * Gives request-parsing failures (malformed JSON, a corrupt compressed body, body too large,
 * unsupported charset or content type, broken percent-encoding in a path parameter)
 * nest-warden's error shape `{ statusCode, code, message }` instead of the parser's own
 * message, which may echo the input, and answers {@link AuthError}s as `AuthExceptionFilter`
 * does (a catch-all filter runs before it). Everything else goes to Nest's default handling untouched.
 *
 * Body parsers run before routing, so this filter must be global:
 *
 * @example
 * ```ts
 * const app = await NestFactory.create(AppModule);
 * app.useGlobalFilters(new AuthBodyErrorFilter(app.getHttpAdapter()));
 * ```
 */
@Catch()
export class AuthBodyErrorFilter extends BaseExceptionFilter {
  override catch(exception: unknown, host: ArgumentsHost): unknown {
    if (exception instanceof AuthError) return renderAuthError(exception, host, this.httpAdapterHost?.httpAdapter ?? this.applicationRef);
    // GraphQL, WebSocket and RPC contexts have no HTTP response: returning nothing leaves the
    // exception to their own handling.
    if (host.getType() !== 'http') return;
    const body = bodyErrorResponse(exception);
    const adapter = this.httpAdapterHost?.httpAdapter ?? this.applicationRef;
    if (!body || !adapter) {
      super.catch(exception, host);
      return undefined;
    }
    adapter.reply(host.switchToHttp().getResponse(), body, body.statusCode);
    return undefined;
  }
}

/** The response for a body-parser failure, or `undefined` when the error is something else. */
export function bodyErrorResponse(exception: unknown): AuthErrorBody | undefined {
  // nest-warden's own answers are never parser errors (their refusals carry no stack, like a
  // parser error's under Error.stackTraceLimit = 0, and a message may name JSON).
  if (exception instanceof AuthHttpException) return undefined;
  // Nest's Express adapter wraps parser errors in an HttpException, keeping the original as `cause`.
  const raw = exception instanceof HttpException && exception.cause !== undefined ? exception.cause : exception;
  if (exception instanceof HttpException && exception.cause === undefined && isMappedParserError(exception)) {
    return fromMappedParserError(exception);
  }
  if (raw instanceof URIError) {
    // A path parameter with broken percent-encoding: never echo it back.
    return BAD_PATH;
  }
  if (typeof raw !== 'object' || raw === null) return undefined;
  const error = raw as ParserError;
  if (typeof error.statusCode !== 'number') return undefined;
  const marker = typeof error.type === 'string' ? error.type : typeof error.code === 'string' ? error.code : '';
  if (error.statusCode === HttpStatus.PAYLOAD_TOO_LARGE && /^(entity\.too\.large|FST_ERR_CTP_BODY_TOO_LARGE)$/.test(marker)) {
    return TOO_LARGE;
  }
  if (
    error.statusCode === HttpStatus.UNSUPPORTED_MEDIA_TYPE &&
    /^(charset\.unsupported|encoding\.unsupported|FST_ERR_CTP_INVALID_MEDIA_TYPE)$/.test(marker)
  ) {
    return NOT_JSON_MEDIA;
  }
  if (error.statusCode === HttpStatus.BAD_REQUEST && /^Z_/.test(marker)) {
    return NOT_DECOMPRESSED;
  }
  if (
    error.statusCode === HttpStatus.BAD_REQUEST &&
    /^(entity\.parse\.failed|entity\.verify\.failed|request\.aborted|request\.size\.invalid|FST_ERR_CTP_INVALID_JSON_BODY|FST_ERR_CTP_EMPTY_JSON_BODY|FST_ERR_CTP_INVALID_CONTENT_LENGTH)$/.test(
      marker,
    )
  ) {
    return NOT_JSON;
  }
  return undefined;
}

/**
 * NestJS 11 maps parser errors (invalid JSON, broken percent-encoding on Express; every Fastify
 * parser error) to a new HttpException without keeping the original, in
 * `RoutesResolver.mapExternalException`; the stack names it. NestJS 12 keeps it as `cause`.
 * An app that turns stack traces off (`Error.stackTraceLimit = 0`) leaves only the message:
 * then the parsers' own messages, which may quote the body, are recognised instead.
 */
function isMappedParserError(exception: HttpException): boolean {
  const stack = exception.stack ?? '';
  if (/\n\s+at /.test(stack)) return stack.includes('mapExternalException');
  return PARSER_MESSAGES.test(exception.message);
}

// V8's JSON.parse messages (Express's body parser), Express's router for a broken
// percent-encoding, and Fastify's content-type parser errors.
const PARSER_MESSAGES =
  /\bJSON\b|^Failed to decode param|^Request body is too large$|^Unsupported Media Type|^Request body size did not match Content-Length$|^Body cannot be empty when content-type is set to|^Object contains forbidden prototype property$/;

function fromMappedParserError(exception: HttpException): AuthErrorBody | undefined {
  switch (exception.getStatus()) {
    case HttpStatus.PAYLOAD_TOO_LARGE:
      return TOO_LARGE;
    case HttpStatus.UNSUPPORTED_MEDIA_TYPE:
      return NOT_JSON_MEDIA;
    case HttpStatus.BAD_REQUEST:
      return /^Failed to decode param/.test(exception.message) ? BAD_PATH : NOT_JSON;
    default:
      return undefined;
  }
}
