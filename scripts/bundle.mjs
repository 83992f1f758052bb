#!/usr/bin/env node
// The command line's start-up bundle: dist/cli/main.js and dist/cli/process.js, as tsc compiled them,
// with every module they import, joined by esbuild into dist/bundle/ (ES modules; the npm packages
// stay imports of their own).
//   node scripts/bundle.mjs        (run by `npm run build`, after tsc)
// Why: Node loads an ES module file by file (resolve, read, link), and a replay loads about 110 of
// ours: as one bundle a short replay starts about 25 ms sooner (scripts/bench-startup.mjs,
// docs/performance.md). What a command does not run stays out of its start-up: each `import()` in
// the sources becomes a chunk of its own, loaded when that import runs, as before.
// bin/asid-replay.js runs the bundle when it is there and no older than the last compile
// (dist/.tsbuildinfo), and dist/cli/main.js otherwise (or with ASID_REPLAY_UNBUNDLED=1). Paths the sources resolve from
// import.meta.url ('../../dist/...', '../../examples/...') hold from dist/bundle/ as from dist/cli/:
// both are two levels below the package.
import { build } from 'esbuild';
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const outdir = `${root}dist/bundle`;
rmSync(outdir, { recursive: true, force: true });
await build({
  // process.js is an entry of its own: the launcher loads it before the CLI, and its state (the
  // signal handlers, whether the collector may be tuned) must be the one the commands read.
  entryPoints: [`${root}dist/cli/main.js`, `${root}dist/cli/process.js`],
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  packages: 'external',
  outdir,
  // Whitespace and syntax only: names stay (messages and stack traces read the same); a source map
  // leads `node --enable-source-maps` back to dist/ and from there to src/.
  minifyWhitespace: true,
  minifySyntax: true,
  sourcemap: 'linked',
  logLevel: 'warning',
});
