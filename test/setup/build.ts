/**
 * vitest global setup: make sure dist/ is the build of the current sources, without compiling a
 * second time under `npm test` (its script has just run `tsc -b tsconfig.test.json`, which builds
 * dist/). The tests that start worker threads (the parallel reader, `check --jobs`) or the CLI
 * process (`bin/asid-replay.js`) run dist/, so a stale build would test old code: when a source
 * file is newer than dist/.tsbuildinfo (or dist/ is missing), as after an edit followed by a bare
 * `npx vitest`, this builds incrementally (`tsc -b tsconfig.build.json`) and says so. A compile
 * error fails the whole run here. Then, if dist/bundle/ is older than that build, it bundles it
 * again (scripts/bundle.mjs): the launcher would run the modules instead, and the tests should run
 * what a user runs.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

/** The newest modification time of the files under `dir`. */
function newest(dir: string): number {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

function builtAt(): number {
  try {
    return statSync('dist/.tsbuildinfo').mtimeMs;
  } catch {
    return -1;
  }
}

/** When dist/bundle/main.js was written (-1: never). */
function bundledAt(): number {
  return statSync('dist/bundle/main.js', { throwIfNoEntry: false })?.mtimeMs ?? -1;
}

export default function setup(): void {
  const sources = Math.max(newest('src'), statSync('tsconfig.build.json').mtimeMs, statSync('tsconfig.json').mtimeMs);
  if (builtAt() < sources) {
    console.log('test/setup/build.ts: dist/ is older than src/ (or missing): tsc -b tsconfig.build.json');
    const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
    execFileSync(process.execPath, [tsc, '-b', 'tsconfig.build.json'], { stdio: 'inherit' });
  }
  // A bundle older than the build is not run (the launcher falls back to the modules), but the CLI
  // tests are meant to run the bundle a user gets.
  if (bundledAt() < builtAt()) {
    console.log('test/setup/build.ts: dist/bundle/ is older than dist/: node scripts/bundle.mjs');
    execFileSync(process.execPath, ['scripts/bundle.mjs'], { stdio: 'inherit' });
  }
}
