import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from '@jest/globals';
import ts from 'typescript';
import type { NestAddOptions } from '../src/schematics/nest-add/index.js';
import { ensureBuilt } from './utils/demo-process.js';

// The generated module of `nest new`, reduced to what matters here.
const FRESH = `import { Module } from '@nestjs/common';
import { AppController } from './app.controller.js';
import { AppService } from './app.service.js';

@Module({
  imports: [],
  controllers: [AppController],
  providers: [AppService],
})
export class AppModule {}
`;

type Files = Record<string, string>;

function appTree(module: string, files: Files = {}): Files {
  return {
    'src/app.module.ts': module,
    'package.json': JSON.stringify({ name: 'app', dependencies: { '@nestjs/core': '^12.0.0' } }, null, 2),
    ...files,
  };
}

// Runs the built schematic (dist/schematics) on the files given as JSON on stdin, and prints the
// files after it, with the error when it refused. In a Node child process: Jest cannot load
// @angular-devkit/schematics (an ES-module dependency) on Node 20.
const RUNNER = `
import { readFileSync } from 'node:fs';
import { HostTree } from '@angular-devkit/schematics';
import { SchematicTestRunner } from '@angular-devkit/schematics/testing/index.js';
import { lastValueFrom } from 'rxjs';
const { nestAdd } = await import(${JSON.stringify(pathToFileURL(resolve('dist/schematics/nest-add/index.js')).href)});
const input = JSON.parse(readFileSync(0, 'utf8'));
const runner = new SchematicTestRunner('nestjs-warden', ${JSON.stringify(resolve('dist/schematics/collection.json'))});
const tree = new HostTree();
for (const [path, text] of Object.entries(input.files)) tree.create(path, text);
const out = {};
let result = tree;
try {
  result = await lastValueFrom(runner.callRule(nestAdd({ skipInstall: true, ...input.options }), tree));
} catch (error) {
  out.error = error instanceof Error ? error.message : String(error);
}
out.files = {};
result.visit((path) => { out.files[path.replace(/^\\//, '')] = result.readText(path); });
process.stdout.write(JSON.stringify(out));
`;

function run(files: Files, options: NestAddOptions = {}): { files: Files; error?: string } {
  const output = execFileSync(process.execPath, ['--input-type=module', '-e', RUNNER], {
    input: JSON.stringify({ files, options }),
    encoding: 'utf8',
  });
  return JSON.parse(output) as { files: Files; error?: string };
}

// Parse errors of a TypeScript file: the edited module must still be a module.
function syntaxErrors(text: string): string[] {
  const output = ts.transpileModule(text, { reportDiagnostics: true, compilerOptions: { experimentalDecorators: true } });
  return (output.diagnostics ?? []).map((diagnostic) => ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n'));
}

describe('nest add nestjs-warden (the nest-add schematic)', () => {
  beforeAll(() => {
    ensureBuilt();
  });

  it('adds ConfigModule and AuthModule.forRootAsync with the global guard, @nestjs/config, AUTH_SECRET in .env, .env in .gitignore', () => {
    const { files, error } = run(appTree(FRESH, { '.gitignore': 'node_modules\ndist' }));
    expect(error).toBeUndefined();
    const module = files['src/app.module.ts']!;
    expect(module).toContain("import { ConfigModule, ConfigService } from '@nestjs/config';\nimport { AuthModule } from 'nestjs-warden';");
    expect(module).toMatch(/imports: \[\s*ConfigModule\.forRoot\(\{ isGlobal: true \}\),\s*AuthModule\.forRootAsync\(\{/);
    expect(module).toContain('globalGuard: true');
    expect(syntaxErrors(module)).toEqual([]);
    expect((JSON.parse(files['package.json']!) as { dependencies: Files }).dependencies['@nestjs/config']).toMatch(/^\^/);
    expect(files['.env']).toMatch(/^AUTH_SECRET=[A-Za-z0-9_-]{43}\n$/);
    expect(files['.gitignore']).toBe('node_modules\ndist\n.env\n');
  });

  it('changes nothing the second time', () => {
    const once = run(appTree(FRESH)).files;
    expect(run(once)).toEqual({ files: once });
  });

  it('keeps an AUTH_SECRET that is there, exported or not', () => {
    for (const env of ['AUTH_SECRET=kept\n', 'export AUTH_SECRET=kept\n']) {
      expect(run(appTree(FRESH, { '.env': env })).files['.env']).toBe(env);
    }
  });

  it('puts the imports after the last import declaration, a trailing comment and all', () => {
    const commented = FRESH.replace("from './app.service.js';", "from './app.service.js'; // keep").replace(
      'export class AppModule {}',
      'export class AppModule {\n  private readonly started = Date.now();\n}',
    );
    const module = run(appTree(commented)).files['src/app.module.ts']!;
    expect(module).toContain(
      "import { AppService } from './app.service.js'; // keep\nimport { ConfigModule, ConfigService } from '@nestjs/config';",
    );
    expect(module).toContain('export class AppModule {\n  private readonly started = Date.now();\n}');
    expect(syntaxErrors(module)).toEqual([]);
  });

  it('reuses a ConfigModule the app has, importing only ConfigService beside it', () => {
    const configured = FRESH.replace(
      "import { Module } from '@nestjs/common';",
      "import { Module } from '@nestjs/common';\nimport { ConfigModule } from '@nestjs/config';",
    ).replace('imports: [],', 'imports: [ConfigModule.forRoot()],');
    const module = run(appTree(configured)).files['src/app.module.ts']!;
    expect(module.match(/ConfigModule\.forRoot\(/g)).toHaveLength(1);
    expect(module).toContain("import { ConfigService } from '@nestjs/config';");
    expect(syntaxErrors(module)).toEqual([]);
  });

  it('writes nothing, and says why, when the imports are no array literal or the module is missing', () => {
    const shared = FRESH.replace('imports: [],', 'imports: sharedImports,');
    const refused = run(appTree(shared));
    expect(refused.error).toMatch(/imports array literal is needed/);
    expect(refused.files).toEqual(appTree(shared));
    expect(run(appTree(FRESH), { module: 'nope.module.ts' }).error).toMatch(/no \/?src\/nope\.module\.ts/);
    const typeOnly = FRESH.replace(
      "import { Module } from '@nestjs/common';",
      "import { Module } from '@nestjs/common';\nimport type { ConfigService } from '@nestjs/config';",
    );
    expect(run(appTree(typeOnly)).error).toMatch(/as a type only/);
  });
});
