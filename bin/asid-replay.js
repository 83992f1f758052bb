#!/usr/bin/env node
// Thin launcher: the CLI lives in src/cli (compiled to dist/ by `npm ci` / `npm run build`).
// The signal and pipe handlers come first, and the CLI is loaded after them, so that a Ctrl-C
// while its modules load is exit 130 too.
import { allowGarbageCollectorTuning, installProcessHandlers, tuneGarbageCollector, tunesAtStart } from '../dist/cli/process.js';

allowGarbageCollectorTuning();
if (tunesAtStart(process.argv.slice(2))) tuneGarbageCollector();
installProcessHandlers();
const { main } = await import('../dist/cli/main.js');
process.exitCode = await main(process.argv.slice(2));
