// Runs before every suite of the NestJS 11 matrix (jest "setupFiles"): the moduleNameMapper of
// jest-e2e.json must hand the tests and the library NestJS 11, not the root's NestJS 12.
const { version } = require('@nestjs/core/package.json');

if (!version.startsWith('11.')) {
  throw new Error(`the NestJS 11 matrix resolved @nestjs/core ${version}; run npm ci --prefix test/nest11`);
}
