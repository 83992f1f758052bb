/**
 * A headless Chromium for the browser tests: Debian's `chromium` package, installed here with
 * apt-get when missing and the process may install packages. Returns the executable, or the reason
 * it cannot be had (the caller skips its tests and prints the reason).
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];

const found = (): string | undefined =>
  process.env.CHROMIUM_PATH && existsSync(process.env.CHROMIUM_PATH) ? process.env.CHROMIUM_PATH : CANDIDATES.find((p) => existsSync(p));

/** The Chromium executable, installing Debian's package if needed; or why there is none. */
export function ensureChromium(): { path: string } | { skip: string } {
  let p = found();
  if (p) return { path: p };
  if (process.platform !== 'linux' || !existsSync('/usr/bin/apt-get')) return { skip: 'no Chromium found and no apt-get to install it' };
  if (process.getuid?.() !== 0)
    return { skip: 'no Chromium found; installing the chromium package needs root (apt-get install -y chromium)' };
  try {
    execFileSync('apt-get', ['install', '-y', '--no-install-recommends', 'chromium'], {
      stdio: 'ignore',
      timeout: 300_000,
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
  } catch (e) {
    try {
      execFileSync('apt-get', ['update'], { stdio: 'ignore', timeout: 120_000 });
      execFileSync('apt-get', ['install', '-y', '--no-install-recommends', 'chromium'], {
        stdio: 'ignore',
        timeout: 300_000,
        env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
      });
    } catch {
      return { skip: `apt-get install chromium failed: ${(e as Error).message.split('\n')[0]}` };
    }
  }
  p = found();
  return p ? { path: p } : { skip: 'chromium installed but no executable found' };
}
