// OpenAPI decorators from @nestjs/swagger when the host app has it, no-ops otherwise: the
// package is an optional peer dependency, and nothing here may fail without it.
//
// The decorators are recorded where they are written and replayed onto the classes by
// `applyOpenApiMetadata()`, which AuthModule runs as an async provider while the app starts,
// before any `SwaggerModule.createDocument()`. Loading @nestjs/swagger lazily like this keeps
// the module free of top-level await, so the same source compiles to CommonJS and ES modules.
type AnyDecorator = MethodDecorator & ClassDecorator & PropertyDecorator;
type DecoratorFactory = (...args: unknown[]) => AnyDecorator;
type Swagger = Partial<Record<string, DecoratorFactory>>;

interface Recorded {
  readonly name: string;
  readonly args: unknown[];
  readonly target: object;
  readonly key?: string | symbol;
  readonly descriptor?: PropertyDescriptor;
}

const recorded: Recorded[] = [];
let loading: Promise<void> | undefined;
/** @nestjs/swagger once loaded, `null` once known to be missing. */
let swagger: Swagger | null | undefined;

function record(name: string): DecoratorFactory {
  return (...args) =>
    ((target: object, key?: string | symbol, descriptor?: PropertyDescriptor) => {
      const decoration = { name, args, target, key, descriptor };
      if (swagger) apply(swagger, decoration);
      else if (swagger === undefined) recorded.push(decoration);
    }) as AnyDecorator;
}

function apply(from: Swagger, { name, args, target, key, descriptor }: Recorded): void {
  const factory = from[name];
  if (typeof factory !== 'function') return;
  const decorate = factory(...args) as (target: object, key?: string | symbol, descriptor?: PropertyDescriptor) => void;
  if (key === undefined) decorate(target);
  else decorate(target, key, descriptor);
}

/**
 * Applies the recorded OpenAPI decorators with @nestjs/swagger if it can be loaded; otherwise
 * does nothing. Runs once per process, however many apps start.
 */
export function applyOpenApiMetadata(): Promise<void> {
  loading ??= import('@nestjs/swagger').then(
    (loaded) => {
      swagger = loaded as unknown as Swagger;
      for (const decoration of recorded.splice(0)) apply(swagger, decoration);
    },
    () => {
      swagger = null;
      recorded.length = 0;
    },
  );
  return loading;
}

/** `@ApiTags` from @nestjs/swagger, or a no-op. */
export const ApiTags = record('ApiTags');
/** `@ApiBearerAuth` from @nestjs/swagger, or a no-op. */
export const ApiBearerAuth = record('ApiBearerAuth');
/** `@ApiProperty` from @nestjs/swagger, or a no-op. */
export const ApiProperty = record('ApiProperty');
/** `@ApiOperation` from @nestjs/swagger, or a no-op. */
export const ApiOperation = record('ApiOperation');
/** `@ApiResponse` from @nestjs/swagger, or a no-op. */
export const ApiResponse = record('ApiResponse');
/** `@ApiSecurity` from @nestjs/swagger, or a no-op. */
export const ApiSecurity = record('ApiSecurity');
/** `@ApiExtraModels` from @nestjs/swagger, or a no-op. */
export const ApiExtraModels = record('ApiExtraModels');
/** `@ApiSchema` from @nestjs/swagger, or a no-op. */
export const ApiSchema = record('ApiSchema');
/** `@ApiHeader` from @nestjs/swagger, or a no-op. */
export const ApiHeader = record('ApiHeader');
/** `@ApiQuery` from @nestjs/swagger, or a no-op. */
export const ApiQuery = record('ApiQuery');

/** The name of a response model in the document: its class name without `Dto` (`TokenResponseDto` is `TokenResponse`). */
export function schemaNameOf(model: abstract new (...args: never[]) => unknown): string {
  return model.name.replace(/Dto$/, '');
}

/** A `$ref` to a response model's schema, named by {@link schemaNameOf}. */
export function schemaRef(model: abstract new (...args: never[]) => unknown): { $ref: string } {
  return { $ref: `#/components/schemas/${schemaNameOf(model)}` };
}

/**
 * `@ApiSchema` for a response class: its schema is named as {@link schemaNameOf} says, after the
 * TypeScript type it mirrors (`TokenResponseDto` documents `TokenResponse`), with `description`.
 */
export function ApiResponseModel(description: string): ClassDecorator {
  return (target) => {
    ApiSchema({ name: schemaNameOf(target as unknown as abstract new () => unknown), description })(target);
  };
}
