/**
 * vitest global setup: compile src/ to dist/ before any test runs, so the tests that start worker
 * threads (the parallel reader, `check --jobs`) or the CLI process (`bin/asid-replay.js`) run the
 * current sources, never a stale build. A compile error fails the whole run here.
 */
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';

export default function setup(): void {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
}
