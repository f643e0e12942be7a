import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';

const ROOT = join(import.meta.dirname, '..');

// The paths of docs/layout.md's tree: one name per line, two spaces per level.
function layoutPaths(): string[] {
  const text = readFileSync(join(ROOT, 'docs/layout.md'), 'utf8');
  const block = /## Layout[\s\S]*?```\n([\s\S]*?)```/.exec(text)?.[1];
  if (!block) throw new Error('docs/layout.md has no layout block');
  const stack: string[] = [];
  const paths: string[] = [];
  for (const line of block.split('\n').filter((entry) => entry.trim().length > 0)) {
    const depth = (line.length - line.trimStart().length) / 2;
    const name = line.trim().split(/\s+/)[0]!;
    stack.length = depth;
    stack.push(name.replace(/\/$/, ''));
    paths.push(stack.join('/'));
  }
  return paths;
}

function foldersUnder(dir: string): string[] {
  return readdirSync(join(ROOT, dir))
    .filter((name) => statSync(join(ROOT, dir, name)).isDirectory())
    .flatMap((name) => [`${dir}/${name}`, ...foldersUnder(`${dir}/${name}`)]);
}

describe('docs/layout.md', () => {
  const paths = layoutPaths();

  it('names only paths that exist', () => {
    expect(paths.length).toBeGreaterThan(30);
    expect(paths.filter((path) => !existsSync(join(ROOT, path)))).toEqual([]);
  });

  it('lists every folder of the library and every top-level file of src/auth', () => {
    const files = readdirSync(join(ROOT, 'src/auth')).filter(
      (name) => !name.endsWith('.spec.ts') && statSync(join(ROOT, 'src/auth', name)).isFile(),
    );
    const missing = [...foldersUnder('src/auth'), ...files.map((name) => `src/auth/${name}`)].filter((path) => !paths.includes(path));
    expect(missing).toEqual([]);
  });
});
