// Checks every relative link in the Markdown docs: the file must exist and, for a link with
// #anchor, a heading of the target must have that anchor (GitHub's slugs). Plain Node, no
// dependencies. Usage: node scripts/check-doc-links.mjs [files...]; exits 1 on a broken link.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const root = resolve(dirname(new URL(import.meta.url).pathname), '..');
const defaultFiles = () => [
  'README.md',
  'SECURITY.md',
  ...readdirSync(join(root, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .map((name) => `docs/${name}`),
  ...readdirSync(join(root, 'bench'))
    .filter((name) => name.endsWith('.md'))
    .map((name) => `bench/${name}`),
];

// Lines outside fenced code blocks, with their line numbers.
function proseLines(text) {
  const lines = [];
  let fence = null;
  text.split('\n').forEach((line, index) => {
    const marker = /^\s*(```+|~~~+)/.exec(line);
    if (marker) {
      if (fence === null) fence = marker[1][0];
      else if (marker[1][0] === fence) fence = null;
      return;
    }
    if (fence === null) lines.push({ line, number: index + 1 });
  });
  return lines;
}

// GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens, and
// -1, -2, ... for repeats.
function anchorsOf(text) {
  const seen = new Map();
  const anchors = new Set();
  for (const { line } of proseLines(text)) {
    const heading = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!heading) continue;
    const plain = heading[1].replace(/\[([^\]]*)\]\([^)]*\)/g, '$1');
    const base = plain
      .toLowerCase()
      .replace(/[^\p{L}\p{M}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    anchors.add(count === 0 ? base : `${base}-${count}`);
  }
  return anchors;
}

const anchorCache = new Map();
const anchorsOfFile = (path) => {
  if (!anchorCache.has(path)) anchorCache.set(path, anchorsOf(readFileSync(path, 'utf8')));
  return anchorCache.get(path);
};

const files = process.argv.length > 2 ? process.argv.slice(2) : defaultFiles();
const broken = [];
let checked = 0;
for (const file of files) {
  const path = resolve(root, file);
  for (const { line, number } of proseLines(readFileSync(path, 'utf8'))) {
    const withoutCode = line.replace(/`[^`]*`/g, '');
    for (const match of withoutCode.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
      const target = match[1];
      if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto:
      checked += 1;
      const [pathPart, anchor] = target.split('#', 2);
      const targetPath = pathPart ? resolve(dirname(path), decodeURIComponent(pathPart)) : path;
      const where = `${relative(root, path)}:${number}`;
      if (!existsSync(targetPath)) {
        broken.push(`${where}: ${target}: no such file`);
        continue;
      }
      if (anchor !== undefined) {
        if (statSync(targetPath).isDirectory() || !targetPath.endsWith('.md')) {
          broken.push(`${where}: ${target}: an anchor into a file that is not Markdown`);
        } else if (!anchorsOfFile(targetPath).has(anchor)) {
          broken.push(`${where}: ${target}: no heading with that anchor in ${relative(root, targetPath)}`);
        }
      }
    }
  }
}

if (broken.length > 0) {
  console.error(`${broken.length} broken link(s):\n${broken.join('\n')}`);
  process.exit(1);
}
console.log(`docs links: ${checked} relative links in ${files.length} files resolve`);
