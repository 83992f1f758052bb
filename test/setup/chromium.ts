/**
 * A headless Chromium for the browser tests (test/html.test.ts): `CHROMIUM_PATH`, or Debian's
 * `chromium` package where it installs its executable. Loading this file never installs anything:
 * `.ci/run` installs the package (`apt-get install -y chromium`) before `npm test`, so CI always
 * runs the browser tests; elsewhere they are skipped with the reason printed.
 */
import { existsSync } from 'node:fs';

const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];

/** The Chromium executable, or why there is none (the caller skips its tests and prints the reason). */
export function findChromium(): { path: string } | { skip: string } {
  const env = process.env.CHROMIUM_PATH;
  if (env) return existsSync(env) ? { path: env } : { skip: `CHROMIUM_PATH=${env} does not exist` };
  const p = CANDIDATES.find((c) => existsSync(c));
  if (p) return { path: p };
  return {
    skip: `no Chromium found (${CANDIDATES.join(', ')}; or set CHROMIUM_PATH): install it with "apt-get install -y chromium" (.ci/run does)`,
  };
}
