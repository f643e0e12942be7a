import { HttpStatus, Injectable, ValidationPipe, type ArgumentMetadata, type ValidationError } from '@nestjs/common';
import { AuthErrorCode, AuthHttpException } from '../auth.errors.js';

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
      if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        throw invalid('request body must be a JSON object');
      }
      if (depthExceeds(value, MAX_BODY_DEPTH)) throw invalid('request body is nested too deeply');
    }
    return super.transform(value, metadata);
  }
}

function invalid(message: string): AuthHttpException {
  return new AuthHttpException(HttpStatus.BAD_REQUEST, AuthErrorCode.VALIDATION_FAILED, message);
}

function describe(errors: ValidationError[]): string {
  const messages: string[] = [];
  for (const error of errors) {
    for (const message of Object.values(error.constraints ?? {})) messages.push(message);
  }
  const text = messages.length > 0 ? messages.join('; ') : 'request body is invalid';
  return text.length > MAX_MESSAGE_LENGTH ? `${text.slice(0, MAX_MESSAGE_LENGTH)}...` : text;
}

// Iterative, so a hostile body cannot overflow the stack here.
function depthExceeds(root: object, maxDepth: number): boolean {
  const stack: Array<[unknown, number]> = [[root, 1]];
  while (stack.length > 0) {
    const [value, depth] = stack.pop()!;
    if (typeof value !== 'object' || value === null) continue;
    if (depth > maxDepth) return true;
    for (const child of Object.values(value)) {
      if (typeof child === 'object' && child !== null) stack.push([child, depth + 1]);
    }
  }
  return false;
}
