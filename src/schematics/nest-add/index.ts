import { randomBytes } from 'node:crypto';
import { normalize, join } from '@angular-devkit/core';
import { SchematicsException, chain, type Rule, type SchematicContext, type Tree } from '@angular-devkit/schematics';
import { NodePackageInstallTask } from '@angular-devkit/schematics/tasks/index.js';
import { MetadataManager } from '@nestjs/schematics';
import ts from 'typescript';

/** Options of the `nest-add` schematic (`nest add nestjs-warden`). */
export interface NestAddOptions {
  /** The app's source folder; the Nest CLI passes its `sourceRoot`. Default `src`. */
  sourceRoot?: string;
  /** The module file to add AuthModule to, relative to `sourceRoot`. Default `app.module.ts`. */
  module?: string;
  /** Do not install after adding `@nestjs/config` to package.json. Default `false`. */
  skipInstall?: boolean;
}

/** The range of `@nestjs/config` added when the app has none: the one this release is tested with. */
export const NEST_CONFIG_RANGE = '^12.0.1';

const AUTH_MODULE = `AuthModule.forRootAsync({
      imports: [ConfigModule],
      inject: [ConfigService],
      useFactory: (config: ConfigService) => ({ secret: config.getOrThrow<string>('AUTH_SECRET') }),
      globalGuard: true,
    })`;

/**
 * `nest add nestjs-warden`: wires the module into an app the Nest way. In the app module,
 * `ConfigModule.forRoot({ isGlobal: true })` (unless it has one) and `AuthModule.forRootAsync`
 * reading `AUTH_SECRET` from ConfigService, with the global guard (`@Public()` opens a route);
 * `@nestjs/config` in package.json; `AUTH_SECRET` (32 random bytes) in `.env` and a placeholder
 * in `.env.example`; `.env` in `.gitignore`. Run twice, it changes nothing the second time.
 */
export function nestAdd(options: NestAddOptions = {}): Rule {
  return chain([addToModule(options), addConfigDependency(options), addEnvironment()]);
}

function addToModule(options: NestAddOptions): Rule {
  return (tree: Tree, context: SchematicContext) => {
    const path = join(normalize(options.sourceRoot ?? 'src'), options.module ?? 'app.module.ts');
    if (!tree.exists(path)) {
      throw new SchematicsException(`nest add nestjs-warden: no ${path}; give --module <file> (relative to --sourceRoot)`);
    }
    const source = tree.readText(path);
    if (/from ['"]nestjs-warden['"]/.test(source)) {
      context.logger.info(`${path} imports nestjs-warden already: left as it is`);
      return tree;
    }
    const hasConfig = /from ['"]@nestjs\/config['"]/.test(source);
    if (/import\s+type\s*{[^}]*\bConfig(?:Module|Service)\b[^}]*}\s*from\s*['"]@nestjs\/config['"]/.test(source)) {
      throw new SchematicsException(
        `nest add nestjs-warden: ${path} imports ConfigModule or ConfigService as a type only; AuthModule.forRootAsync needs them as values. Nothing was changed.`,
      );
    }
    // MetadataManager leaves the text as it was when `imports` is no array literal (`imports:
    // shared`): then nothing is written, rather than an import of a module that is not registered.
    const insert = (text: string, symbol: string): string => {
      const result = new MetadataManager(text).insert('imports', symbol);
      if (result === undefined || result === text) {
        throw new SchematicsException(
          `nest add nestjs-warden: could not add ${symbol.split('(')[0]} to the imports of the @Module() in ${path} ` +
            '(an imports array literal is needed); nothing was changed: add it by hand, see docs/getting-started.md',
        );
      }
      return result;
    };
    let edited = source;
    if (!hasConfig) edited = insert(edited, 'ConfigModule.forRoot({ isGlobal: true })');
    edited = insert(edited, AUTH_MODULE);
    const declarations = [...configImports(source), "import { AuthModule } from 'nestjs-warden';"];
    tree.overwrite(path, withImports(edited, declarations));
    context.logger.info(`${path}: AuthModule.forRootAsync on ConfigService, with the global guard`);
    return tree;
  };
}

// The @nestjs/config names the module needs and does not import yet (a second import declaration
// from the same package is fine).
function configImports(source: string): string[] {
  const imported = [...source.matchAll(/import\s*{([^}]*)}\s*from\s*['"]@nestjs\/config['"]/g)].flatMap((match) =>
    match[1]!.split(',').map((name) => name.trim()),
  );
  const missing = ['ConfigModule', 'ConfigService'].filter((name) => !imported.includes(name));
  return missing.length === 0 ? [] : [`import { ${missing.join(', ')} } from '@nestjs/config';`];
}

// After the last top-level import declaration (or at the top), found by the TypeScript parser.
function withImports(source: string, declarations: string[]): string {
  const file = ts.createSourceFile('module.ts', source, ts.ScriptTarget.Latest, true);
  const last = file.statements.filter(ts.isImportDeclaration).at(-1);
  if (!last) return `${declarations.join('\n')}\n${source}`;
  // The end of the declaration's line (a trailing comment stays with its import).
  const lineEnd = source.indexOf('\n', last.getEnd());
  const at = lineEnd === -1 ? source.length : lineEnd;
  return `${source.slice(0, at)}\n${declarations.join('\n')}${source.slice(at)}`;
}

function addConfigDependency(options: NestAddOptions): Rule {
  return (tree: Tree, context: SchematicContext) => {
    const text = tree.readText('package.json');
    const manifest = JSON.parse(text) as { dependencies?: Record<string, string>; devDependencies?: Record<string, string> };
    if (manifest.dependencies?.['@nestjs/config'] || manifest.devDependencies?.['@nestjs/config']) return tree;
    manifest.dependencies = Object.fromEntries(
      Object.entries({ ...manifest.dependencies, '@nestjs/config': NEST_CONFIG_RANGE }).sort(([a], [b]) => a.localeCompare(b)),
    );
    tree.overwrite('package.json', `${JSON.stringify(manifest, null, 2)}\n`);
    context.logger.info(`package.json: @nestjs/config ${NEST_CONFIG_RANGE}`);
    if (!options.skipInstall) context.addTask(new NodePackageInstallTask());
    return tree;
  };
}

function addEnvironment(): Rule {
  return (tree: Tree, context: SchematicContext) => {
    const secret = randomBytes(32).toString('base64url');
    appendLine(tree, '.env', 'AUTH_SECRET', `AUTH_SECRET=${secret}`, context, 'AUTH_SECRET (32 random bytes; keep it out of git)');
    appendLine(tree, '.env.example', 'AUTH_SECRET', 'AUTH_SECRET=   # at least 32 random bytes: openssl rand -base64 32', context);
    if (tree.exists('.gitignore')) {
      const ignore = tree.readText('.gitignore');
      if (!ignore.split('\n').some((line) => line.trim() === '.env')) {
        tree.overwrite('.gitignore', `${ignore.replace(/\n?$/, '\n')}.env\n`);
      }
    }
    return tree;
  };
}

// Adds `line` to `file` unless a line sets `name` already.
function appendLine(tree: Tree, file: string, name: string, line: string, context: SchematicContext, what?: string): void {
  const existing = tree.exists(file) ? tree.readText(file) : null;
  if (existing !== null && new RegExp(`^\\s*(?:export\\s+)?${name}\\s*=`, 'm').test(existing)) return;
  if (existing === null) tree.create(file, `${line}\n`);
  else tree.overwrite(file, `${existing.replace(/\n?$/, '\n')}${line}\n`);
  if (what) context.logger.info(`${file}: ${what}`);
}
