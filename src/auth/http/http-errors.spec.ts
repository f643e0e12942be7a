import { describe, expect, it } from '@jest/globals';
import {
  AUTH_ERROR_MESSAGES,
  AuthError,
  AuthErrorCode,
  CredentialPolicyError,
  StoreUnavailableError,
  TooManyAttemptsError,
} from '../auth.errors.js';
import { AUTH_HTTP_ERRORS, AuthHttpException, authErrorResponse, bearerChallenge, toHttpException } from './http-errors.js';

describe('the error table', () => {
  it('has a status and a message for every code, and nothing else', () => {
    const codes = Object.values(AuthErrorCode).sort();
    expect(Object.keys(AUTH_HTTP_ERRORS).sort()).toEqual(codes);
    expect(Object.keys(AUTH_ERROR_MESSAGES).sort()).toEqual(codes);
    for (const code of codes) {
      expect(AUTH_HTTP_ERRORS[code].status).toBeGreaterThanOrEqual(400);
      expect(AUTH_ERROR_MESSAGES[code].length).toBeGreaterThan(0);
    }
  });

  it('answers with the body { statusCode, code, message }, the message being the error’s own', () => {
    const response = authErrorResponse(new CredentialPolicyError('password', 'Password must be at least 8 characters'));
    expect(response).toEqual({
      status: 400,
      body: { statusCode: 400, code: 'AUTH_PASSWORD_POLICY', message: 'Password must be at least 8 characters' },
      headers: {},
    });
    expect(authErrorResponse(new StoreUnavailableError()).body).toEqual({
      statusCode: 503,
      code: 'AUTH_STORE_UNAVAILABLE',
      message: 'Authentication store is unavailable',
    });
  });

  it('says when to come back on a 429', () => {
    expect(authErrorResponse(new TooManyAttemptsError(42)).headers).toEqual({ 'Retry-After': '42' });
  });

  it('challenges a refused login or refresh token, and a refused access token with its error', () => {
    expect(authErrorResponse(new AuthError(AuthErrorCode.INVALID_CREDENTIALS)).headers).toEqual({
      'WWW-Authenticate': 'Bearer realm="nest-warden"',
    });
    expect(authErrorResponse(new AuthError(AuthErrorCode.REFRESH_TOKEN_REUSED)).headers).toEqual({
      'WWW-Authenticate': 'Bearer realm="nest-warden"',
    });
    expect(authErrorResponse(new AuthError(AuthErrorCode.TOKEN_MISSING)).headers).toEqual({
      'WWW-Authenticate': 'Bearer realm="nest-warden"',
    });
    expect(authErrorResponse(new AuthError(AuthErrorCode.TOKEN_EXPIRED)).headers).toEqual({
      'WWW-Authenticate': bearerChallenge(AuthErrorCode.TOKEN_EXPIRED),
    });
    expect(bearerChallenge(AuthErrorCode.TOKEN_EXPIRED)).toBe(
      'Bearer realm="nest-warden", error="invalid_token", error_description="Access token expired"',
    );
    expect(authErrorResponse(new AuthError(AuthErrorCode.CSRF_FAILED)).headers).toEqual({});
  });

  it('makes a wrong password from a signed-in caller a 403 without a challenge', () => {
    const error = new AuthError(AuthErrorCode.INVALID_CREDENTIALS, 'Current password is wrong');
    expect(authErrorResponse(error, { signedIn: true })).toEqual({
      status: 403,
      body: { statusCode: 403, code: 'AUTH_INVALID_CREDENTIALS', message: 'Current password is wrong' },
      headers: {},
    });
  });

  it('gives an HttpException with the same status and body for contexts that render those', () => {
    const exception = toHttpException(new TooManyAttemptsError(5));
    expect(exception).toBeInstanceOf(AuthHttpException);
    expect(exception.getStatus()).toBe(429);
    expect(exception.getResponse()).toEqual({
      statusCode: 429,
      code: 'AUTH_TOO_MANY_ATTEMPTS',
      message: AUTH_ERROR_MESSAGES.AUTH_TOO_MANY_ATTEMPTS,
    });
  });
});

describe('domain errors', () => {
  it('carry a stable code and no HTTP', () => {
    for (const error of [new StoreUnavailableError(), new TooManyAttemptsError(1), new AuthError(AuthErrorCode.SESSION_NOT_FOUND)]) {
      expect(error).toBeInstanceOf(AuthError);
      expect(error).not.toHaveProperty('getStatus');
      expect(Object.values(AuthErrorCode)).toContain(error.code);
    }
  });

  it('keep a cause off the enumerable properties, so it never reaches a body or a log line by accident', () => {
    const error = new StoreUnavailableError({ cause: new Error('ECONNREFUSED 10.0.0.7:6379') });
    expect(Object.keys(error)).not.toContain('cause');
    expect((error as Error & { cause?: unknown }).cause).toBeInstanceOf(Error);
    expect(JSON.stringify(authErrorResponse(error))).not.toContain('10.0.0.7');
  });
});

describe('stack traces', () => {
  const framesOf = (error: Error): number => (error.stack ?? '').split('\n').filter((line) => /^\s+at /.test(line)).length;

  it('are not captured for refusals, at the domain nor at the edge: a flood of them must stay cheap', () => {
    const limit = Error.stackTraceLimit;
    for (const error of [
      new AuthError(AuthErrorCode.TOKEN_INVALID),
      new TooManyAttemptsError(3),
      new CredentialPolicyError('password', 'too short'),
    ]) {
      expect(framesOf(error)).toBe(0);
      expect(framesOf(toHttpException(error))).toBe(0);
      expect(error.stack).toContain(error.message);
    }
    expect(Error.stackTraceLimit).toBe(limit);
    expect(framesOf(new Error('an ordinary error'))).toBeGreaterThan(0);
  });

  it('are kept for an outage, which is a fault to look into', () => {
    const outage = new StoreUnavailableError({ cause: new Error('ECONNREFUSED') });
    expect(framesOf(outage)).toBeGreaterThan(0);
    expect(framesOf(toHttpException(outage))).toBeGreaterThan(0);
  });
});
