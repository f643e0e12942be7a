import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from '@jest/globals';

// The built package, as an app loads it, in a process of its own: the hashing threads find
// @node-rs/argon2 from either build, and an app that hashed and then has nothing left to do
// exits by itself (idle threads would otherwise hold it for their minute, or forever).
const ESM = resolve('dist/auth/index.js');
const CJS = resolve('dist/cjs/index.js');

const PROGRAM = `
const hasher = new Argon2PasswordHasher({ memoryCostKiB: 4096, timeCost: 1 });
const hash = await hasher.hash('a password for the built package');
const right = await hasher.verify(hash, 'a password for the built package');
const wrong = await hasher.verify(hash, 'not the password');
console.log(JSON.stringify({ prefix: hash.slice(0, 30), right: right.valid, wrong: wrong.valid }));
`;

describe('argon2 hashing threads in the built package', () => {
  beforeAll(() => {
    if (!existsSync(ESM) || !existsSync(CJS)) execFileSync('npm', ['run', 'build'], { stdio: 'inherit' });
  });

  it.each([
    ['ESM', ['--input-type=module', '-e', `import { Argon2PasswordHasher } from ${JSON.stringify(pathToFileURL(ESM).href)};\n${PROGRAM}`]],
    ['CommonJS', ['-e', `const { Argon2PasswordHasher } = require(${JSON.stringify(CJS)});\n(async () => {${PROGRAM}})();`]],
  ])('%s: hashes and verifies, then the process exits on its own', (_build, args) => {
    // Killed after 30 s: well under the threads' one-minute idle time, so a thread holding the
    // process shows as a kill, not as a pass.
    const result = spawnSync(process.execPath, args, { encoding: 'utf8', timeout: 30_000 });
    expect(result.signal).toBeNull();
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({ prefix: '$argon2id$v=19$m=4096,t=1,p=1$', right: true, wrong: false });
  });
});
