import { afterEach, describe, expect, it } from '@jest/globals';
import { BadRequestException, HttpException } from '@nestjs/common';
import { AuthError, AuthErrorCode } from '../auth.errors.js';
import { toHttpException } from '../http/http-errors.js';
import { bodyErrorResponse } from './body-error.filter.js';

// What NestJS 11's RoutesResolver.mapExternalException makes of a parser error: a new exception
// with the parser's message and no cause, created inside a function of that name.
function mapExternalException(error: Error & { statusCode?: number }): HttpException {
  return error instanceof SyntaxError ? new BadRequestException(error.message) : new HttpException(error.message, error.statusCode ?? 500);
}

const jsonError = (): SyntaxError => {
  try {
    JSON.parse('password=hunter2');
  } catch (error) {
    return error as SyntaxError;
  }
  throw new Error('JSON.parse accepted a form body');
};

describe('bodyErrorResponse', () => {
  const stackTraceLimit = Error.stackTraceLimit;
  afterEach(() => {
    Error.stackTraceLimit = stackTraceLimit;
  });

  it('keeps a NestJS 12 parser error, kept as cause, from echoing the body', () => {
    const parserError = Object.assign(jsonError(), { statusCode: 400, type: 'entity.parse.failed' });
    expect(bodyErrorResponse(new BadRequestException(parserError.message, { cause: parserError }))).toEqual({
      statusCode: 400,
      code: 'AUTH_VALIDATION_FAILED',
      message: 'request body is not valid JSON',
    });
  });

  it.each([
    ['with stack traces', 10],
    ['with stack traces turned off', 0],
  ])('recognises the parser errors NestJS 11 maps without a cause, %s', (_label, limit) => {
    Error.stackTraceLimit = limit;
    expect(bodyErrorResponse(mapExternalException(jsonError()))).toEqual({
      statusCode: 400,
      code: 'AUTH_VALIDATION_FAILED',
      message: 'request body is not valid JSON',
    });
    expect(bodyErrorResponse(mapExternalException(new SyntaxError("Failed to decode param '%E0%A4%A'")))).toMatchObject({
      statusCode: 400,
      message: 'request path is malformed',
    });
    expect(
      bodyErrorResponse(mapExternalException(Object.assign(new Error('Request body is too large'), { statusCode: 413 }))),
    ).toMatchObject({
      code: 'AUTH_PAYLOAD_TOO_LARGE',
    });
    expect(bodyErrorResponse(mapExternalException(Object.assign(new Error('Unsupported Media Type'), { statusCode: 415 })))).toMatchObject({
      code: 'AUTH_UNSUPPORTED_MEDIA_TYPE',
    });
  });

  it("leaves the app's own exceptions alone", () => {
    expect(bodyErrorResponse(new BadRequestException('title is required'))).toBeUndefined();
    Error.stackTraceLimit = 0;
    expect(bodyErrorResponse(new BadRequestException('title is required'))).toBeUndefined();
  });

  it("leaves nest-warden's own answers alone, though a refusal has no stack and may name JSON", () => {
    const notAnObject = toHttpException(new AuthError(AuthErrorCode.VALIDATION_FAILED, 'request body must be a JSON object'));
    expect(bodyErrorResponse(notAnObject)).toBeUndefined();
  });
});
