#!/usr/bin/env node
// The nestjs-warden command (package.json "bin"): signing keys and password hashes.
import { run } from './cli.js';
import { processIo } from './cli-io.js';

process.exitCode = await run(process.argv.slice(2), processIo());
