/**
 * The process around the commands: closed pipes, unwritable outputs, signals, packaging. These run
 * the real entry point (bin/asid-replay.js over dist/, built from the sources by the global setup).
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, tmp } from './helpers/cli.js';

const BIN = 'bin/asid-replay.js';

/** Run `cmd` in bash with pipefail, so the status is the CLI's when `head` closes the pipe early. */
function piped(cmd: string): { status: number | null; stderr: string } {
  const r = spawnSync('bash', ['-c', `set -o pipefail; ${cmd}`], { encoding: 'utf8' });
  return { status: r.status, stderr: r.stderr };
}

describe('a reader that closes the pipe ends the run quietly with status 0', () => {
  for (const args of [
    'check traces/scenarios --jobs 1',
    'help replay',
    'generate kernel-build -n 300000 -o -',
    'replay traces/real/juno-rtapp.csv',
  ]) {
    it(`asid-replay ${args} | head -c 1`, () => {
      const r = piped(`node ${BIN} ${args} | head -c 1 >/dev/null`);
      expect(r.stderr).not.toMatch(/EPIPE|internal error|\n\s+at /);
      expect(r.status).toBe(0);
    });
  }
});

describe('an output path that cannot be written is exit 2 naming the path, before any work', () => {
  const bad = '/nonexistent-dir/x';
  it('import -o', async () => {
    const r = await cli('import', 'ftrace', 'traces/real/recordings/lisa-juno-trace-txt/trace.txt', '-o', `${bad}.csv`);
    expect(r.code).toBe(2);
    expect(r.err).toContain(`${bad}.csv: cannot write the output file: no such folder`);
  });
  it('generate -o', async () => {
    const r = await cli('generate', 'mixed', '-n', '100', '-o', `${bad}.csv`);
    expect(r.code).toBe(2);
    expect(r.err).toContain(`${bad}.csv`);
  });
  it('check --junit', async () => {
    const r = await cli('check', 'traces/scenarios/pin-limit-4bit.csv', '--junit', `${bad}.xml`);
    expect(r.code).toBe(2);
    expect(r.err).toContain(`${bad}.xml`);
    expect(r.out).toBe(''); // refused before checking anything
  });
  it('an output that is a folder', async () => {
    const d = tmp();
    const r = await cli('generate', 'mixed', '-n', '100', '-o', d);
    expect(r.code).toBe(2);
    expect(r.err).toContain(d);
    expect(readdirSync(d)).toEqual([]);
  });
});

describe('signals', () => {
  for (const [signal, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const) {
    it(`${signal} during a long generate removes the temporary file and exits ${code}`, async () => {
      const d = tmp();
      const child = spawn(process.execPath, [BIN, 'generate', 'kernel-build', '-n', '50000000', '-o', join(d, 'big.csv')], {
        stdio: 'ignore',
      });
      let early: number | null | undefined;
      const exited = new Promise<number | null>((res) =>
        child.on('exit', (c) => {
          early = c;
          res(c);
        }),
      );
      // Up to 30 s for the temporary file: a loaded 2-core machine running the suite's other files
      // once took more than 10 s to start the command; a command that ended first says so.
      for (let i = 0; i < 600 && early === undefined && !readdirSync(d).some((f) => f.endsWith('.tmp')); i++)
        await new Promise((r) => setTimeout(r, 50));
      expect(early, 'the command ended before its temporary file appeared').toBeUndefined();
      expect(readdirSync(d).some((f) => f.endsWith('.tmp'))).toBe(true);
      child.kill(signal);
      expect(await exited).toBe(code);
      expect(readdirSync(d)).toEqual([]);
    });
  }
});

describe('packaging', () => {
  it('every package the sources import at run time is a dependency, not a devDependency', () => {
    const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { dependencies: Record<string, string> };
    const files = (dir: string): string[] =>
      readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
        e.isDirectory() ? files(join(dir, e.name)) : /\.c?ts$/.test(e.name) ? [join(dir, e.name)] : [],
      );
    const used = new Set<string>();
    for (const f of files('src')) {
      const text = readFileSync(f, 'utf8');
      for (const m of text.matchAll(/(?:^|\n)\s*import(?!\s+type\b)[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g)) {
        const spec = m[1] ?? m[2]!;
        if (spec.startsWith('.') || spec.startsWith('node:') || spec.startsWith('asid-replay/')) continue; // itself (a doc comment's type import)
        used.add(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!);
      }
    }
    expect(used.size).toBeGreaterThan(3);
    for (const p of used) expect(pkg.dependencies, `${p} is imported by src/ at run time`).toHaveProperty(p);
  });
  it('the launcher runs from the built files', () => {
    expect(existsSync('dist/cli/main.js')).toBe(true);
    const r = spawnSync(process.execPath, [BIN, '--version'], { encoding: 'utf8' });
    expect(r.status).toBe(0);
  });
});

// scripts/regen-corpus.sh (it re-imports and regenerates the whole corpus: 12 s) is in
// test/slow/regen-corpus.test.ts.
