// Type-checks every ```ts / ```typescript block of README.md and docs/*.md against the built
// package, so examples cannot drift from the API. Each block is written as a module of its own
// into a temporary directory whose node_modules holds `nestjs-warden` as a symlink to this
// repository (so package.json `exports` decide what `nestjs-warden/...` resolves to) beside
// links to the repository's own dependencies; then the repository's tsc checks them all.
// Needs `npm run build` first. Errors are reported at the Markdown file and line.
// Usage: node scripts/check-snippets.mjs [files...]
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';

const root = resolve(dirname(new URL(import.meta.url).pathname), '..');
const { name } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

const files =
  process.argv.length > 2
    ? process.argv.slice(2).map((file) => relative(root, resolve(file)))
    : [
        'README.md',
        ...readdirSync(join(root, 'docs'))
          .filter((file) => file.endsWith('.md'))
          .sort()
          .map((file) => `docs/${file}`),
      ];

if (!existsSync(join(root, 'dist/auth/index.d.ts')) || !existsSync(join(root, 'dist/cjs/index.d.ts'))) {
  console.error('check-snippets: no build in dist/; run npm run build first');
  process.exit(2);
}

// The TypeScript blocks of one Markdown file: their code (fence indentation removed) and the
// line of their first code line.
function snippetsOf(file) {
  const lines = readFileSync(join(root, file), 'utf8').split('\n');
  const snippets = [];
  for (let i = 0; i < lines.length; i += 1) {
    const open = /^(\s*)(`{3,}|~{3,})\s*([\w+-]*)/.exec(lines[i]);
    if (!open) continue;
    const [, indent, fence, lang] = open;
    const closes = (line) => {
      const text = line.trim();
      return text.length >= fence.length && text === fence[0].repeat(text.length);
    };
    const body = [];
    let j = i + 1;
    while (j < lines.length && !closes(lines[j])) {
      body.push(lines[j].startsWith(indent) ? lines[j].slice(indent.length) : lines[j].trimStart());
      j += 1;
    }
    if (lang === 'ts' || lang === 'typescript') snippets.push({ file, line: i + 2, code: body.join('\n') + '\n' });
    i = j;
  }
  return snippets;
}

const snippets = files.flatMap(snippetsOf);
const work = mkdtempSync(join(tmpdir(), `${name}-snippets-`));
try {
  // node_modules: this package by its name, and every dependency of the repository.
  const modules = join(work, 'node_modules');
  mkdirSync(modules);
  symlinkSync(root, join(modules, name), 'dir');
  for (const entry of readdirSync(join(root, 'node_modules'))) {
    if (entry.startsWith('.') || entry === name) continue;
    symlinkSync(join(root, 'node_modules', entry), join(modules, entry), 'dir');
  }
  // ES modules, as a NestJS 12 app on NodeNext resolution.
  writeFileSync(join(work, 'package.json'), JSON.stringify({ name: 'snippets', private: true, type: 'module' }));
  const sources = new Map();
  for (const snippet of snippets) {
    const source = `${snippet.file.replace(/[/.]/g, '_')}_L${snippet.line}.ts`;
    sources.set(source, snippet);
    writeFileSync(join(work, source), snippet.code);
  }
  writeFileSync(
    join(work, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        target: 'ES2023',
        lib: ['ES2023'],
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        moduleDetection: 'force',
        types: ['node'],
        strict: true,
        experimentalDecorators: true,
        emitDecoratorMetadata: true,
        skipLibCheck: true,
        noEmit: true,
      },
      files: [...sources.keys()],
    }),
  );

  const tsc = spawnSync(
    process.execPath,
    [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(work, 'tsconfig.json'), '--pretty', 'false'],
    {
      cwd: work,
      encoding: 'utf8',
    },
  );
  // "file(line,col): error TSnnnn: message", continuation lines indented.
  const errors = [];
  for (const line of tsc.stdout.split('\n')) {
    const diagnostic = /^(.+?)\((\d+),(\d+)\): (error .*)$/.exec(line);
    if (diagnostic) {
      const [, source, row, column, message] = diagnostic;
      const snippet = sources.get(source);
      errors.push({
        file: snippet?.file ?? source,
        line: snippet ? snippet.line + Number(row) - 1 : Number(row),
        text: snippet
          ? `${snippet.file}:${snippet.line + Number(row) - 1}:${column} (snippet at line ${snippet.line}): ${message}`
          : `${source}(${row},${column}): ${message}`,
      });
    } else if (line.trim() && errors.length > 0) {
      errors[errors.length - 1].text += `\n  ${line.trim()}`;
    }
  }
  if (tsc.status !== 0) {
    errors.sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line);
    console.error(errors.length > 0 ? errors.map((error) => error.text).join('\n') : tsc.stdout + tsc.stderr);
    console.error(`\ncheck-snippets: ${errors.length} error(s) in ${snippets.length} TypeScript snippets of ${files.length} files`);
    process.exitCode = 1;
  } else {
    console.log(`check-snippets: ${snippets.length} TypeScript snippets of ${files.length} files type-check against the build`);
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
