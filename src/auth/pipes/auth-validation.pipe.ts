import { Injectable, ValidationPipe, type ArgumentMetadata, type ValidationError } from '@nestjs/common';
import { AuthErrorCode } from '../auth.errors.js';
import { authHttpError, type AuthHttpException } from '../http/http-errors.js';

/** Deepest JSON nesting accepted in a body. nest-warden's bodies are flat. */
export const MAX_BODY_DEPTH = 8;
const MAX_MESSAGE_LENGTH = 300;

/**
 * class-validator with nest-warden's rules: unknown fields refused, body must be a JSON
 * object of bounded depth, every failure a 400 `AUTH_VALIDATION_FAILED`.
 */
@Injectable()
export class AuthValidationPipe extends ValidationPipe {
  constructor() {
    super({
      whitelist: true,
      forbidNonWhitelisted: true,
      forbidUnknownValues: true,
      transform: true,
      stopAtFirstError: true,
      validationError: { target: false, value: false },
      exceptionFactory: (errors: ValidationError[]) => invalid(describe(errors)),
    });
  }

  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    if (metadata.type === 'body') {
      // No body at all (a cookie refresh, say) validates as an empty object.
      if (value === undefined) value = {};
      if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        throw invalid('request body must be a JSON object');
      }
      const problem = inspect(value, MAX_BODY_DEPTH);
      if (problem) throw invalid(problem);
    }
    return super.transform(value, metadata);
  }
}

function invalid(message: string): AuthHttpException {
  return authHttpError(AuthErrorCode.VALIDATION_FAILED, message);
}

function describe(errors: ValidationError[]): string {
  const messages: string[] = [];
  for (const error of errors) {
    for (const message of Object.values(error.constraints ?? {})) messages.push(message);
  }
  const text = messages.length > 0 ? messages.join('; ') : 'request body is invalid';
  return text.length > MAX_MESSAGE_LENGTH ? `${text.slice(0, MAX_MESSAGE_LENGTH)}...` : text;
}

// Keys that would reach prototypes when class-transformer copies the body onto a DTO.
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

// Walks the parsed body before class-transformer does: iterative, so a hostile body cannot
// overflow the stack, and refusing prototype-polluting keys at any depth.
function inspect(root: object, maxDepth: number): string | undefined {
  const stack: Array<[object, number]> = [[root, 1]];
  while (stack.length > 0) {
    const [value, depth] = stack.pop()!;
    if (depth > maxDepth) return 'request body is nested too deeply';
    for (const key of Object.keys(value)) {
      if (FORBIDDEN_KEYS.has(key)) return 'request body contains a forbidden key';
      const child = (value as Record<string, unknown>)[key];
      if (typeof child === 'object' && child !== null) stack.push([child, depth + 1]);
    }
  }
  return undefined;
}
