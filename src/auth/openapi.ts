// OpenAPI decorators from @nestjs/swagger when the host app has it, no-ops otherwise: the
// package is an optional peer dependency, and nothing here may fail without it.
type AnyDecorator = MethodDecorator & ClassDecorator & PropertyDecorator;
type DecoratorFactory = (...args: unknown[]) => AnyDecorator;

const noop: DecoratorFactory = () => () => undefined;

const swagger = (await import('@nestjs/swagger').catch(() => undefined)) as Record<string, unknown> | undefined;

function pick(name: string): DecoratorFactory {
  const factory = swagger?.[name];
  return typeof factory === 'function' ? (factory as DecoratorFactory) : noop;
}

/** `@ApiTags` from @nestjs/swagger, or a no-op. */
export const ApiTags = pick('ApiTags');
/** `@ApiBearerAuth` from @nestjs/swagger, or a no-op. */
export const ApiBearerAuth = pick('ApiBearerAuth');
/** `@ApiProperty` from @nestjs/swagger, or a no-op. */
export const ApiProperty = pick('ApiProperty');
/** `@ApiOperation` from @nestjs/swagger, or a no-op. */
export const ApiOperation = pick('ApiOperation');
/** `@ApiResponse` from @nestjs/swagger, or a no-op. */
export const ApiResponse = pick('ApiResponse');
