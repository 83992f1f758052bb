#!/usr/bin/env node
// Thin launcher: the CLI lives in src/cli (compiled to dist/ by `npm ci` / `npm run build`).
import { installProcessHandlers } from '../dist/cli/process.js';
import { main } from '../dist/cli/main.js';

installProcessHandlers();
process.exitCode = await main(process.argv.slice(2));
