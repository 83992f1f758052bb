#!/usr/bin/env node
/**
 * `npm test`, in five steps, with the time of each:
 *   1. one compiler run, `tsc -b tsconfig.test.json`: src/ into dist/ (incremental) and the tests
 *      type-checked, side by side with `npm run lint` (ESLint, Prettier, madge: the other core);
 *   2. `node scripts/bundle.mjs`: the launcher's start-up bundle of that build (dist/bundle/);
 *   3. `vitest run`: the fast suite (test/slow/ is `npm run test:slow`); its global setup does not
 *      compile again (test/setup/build.ts builds only a stale dist/, for a bare `npx vitest`);
 *   4. `check traces --jobs 2`: the shipped corpus against its expectations, as CI users run it.
 * Arguments after `--` go to vitest (`npm test -- test/cli.test.ts`). Exit status: the first failure's.
 */
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const node = process.execPath;
const tsc = require.resolve('typescript/bin/tsc');
const vitest = require.resolve('vitest/package.json').replace(/package\.json$/, 'vitest.mjs');
const npm = process.env.npm_execpath;

/** Run a command; `buffer` keeps its output until it ends (two steps side by side do not interleave). */
function run(name, cmd, args, buffer = false) {
  const t0 = performance.now();
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: buffer ? ['ignore', 'pipe', 'pipe'] : 'inherit' });
    const chunks = [];
    if (buffer) {
      child.stdout.on('data', (c) => chunks.push(c));
      child.stderr.on('data', (c) => chunks.push(c));
    }
    child.on('close', (code, signal) => {
      if (buffer) process.stdout.write(Buffer.concat(chunks));
      const s = ((performance.now() - t0) / 1000).toFixed(1);
      const status = code ?? (signal ? 128 : 1);
      console.log(`npm test: ${name}: ${status === 0 ? 'ok' : `failed (${signal ?? `exit ${code}`})`} in ${s} s`);
      resolve(status);
    });
  });
}

const t0 = performance.now();
const lintArgs = npm ? [npm, 'run', '--silent', 'lint'] : null;
const [built, linted] = await Promise.all([
  run('tsc -b tsconfig.test.json tsconfig.examples.json', node, [tsc, '-b', 'tsconfig.test.json', 'tsconfig.examples.json'], true),
  lintArgs ? run('lint', node, lintArgs, true) : run('lint', 'npm', ['run', '--silent', 'lint'], true),
]);
let status = built || linted;
// the launcher's start-up bundle of what tsc just wrote (scripts/bundle.mjs): the CLI tests run it
if (status === 0) status = await run('bundle', node, ['scripts/bundle.mjs']);
if (status === 0) status = await run('vitest run', node, [vitest, 'run', ...process.argv.slice(2)]);
if (status === 0) status = await run('check traces', node, ['bin/asid-replay.js', 'check', 'traces', '--jobs', '2']);
console.log(`npm test: ${status === 0 ? 'passed' : 'FAILED'} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
process.exit(status);
