#!/usr/bin/env node
// Thin launcher: the CLI lives in src/cli (compiled to dist/ by `npm ci` / `npm run build`).
// The signal and pipe handlers come first, and the CLI is loaded after them, so that a Ctrl-C
// while its modules load is exit 130 too.
// It runs the start-up bundle (dist/bundle/, scripts/bundle.mjs: the same code in a few files,
// which Node loads about 25 ms sooner) when it is no older than the last compile
// (dist/.tsbuildinfo), and the modules tsc wrote otherwise (after a bare `tsc -b`), or with
// ASID_REPLAY_UNBUNDLED=1.
import { statSync } from 'node:fs';

const mtime = (rel) => statSync(new URL(rel, import.meta.url), { throwIfNoEntry: false })?.mtimeMs ?? -1;
const bundledAt = mtime('../dist/bundle/main.js');
const bundled = process.env.ASID_REPLAY_UNBUNDLED !== '1' && bundledAt >= 0 && bundledAt >= mtime('../dist/.tsbuildinfo');
const dir = bundled ? '../dist/bundle/' : '../dist/cli/';
const { allowGarbageCollectorTuning, installProcessHandlers, tuneGarbageCollector, tunesAtStart } = await import(`${dir}process.js`);

allowGarbageCollectorTuning();
if (tunesAtStart(process.argv.slice(2))) tuneGarbageCollector();
installProcessHandlers();
const { main } = await import(`${dir}main.js`);
process.exitCode = await main(process.argv.slice(2));
