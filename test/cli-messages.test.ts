/**
 * What a user reads when something is wrong: every error starts with `asid-replay:`, a bad flag is
 * named by the flag (not blamed on the trace), `generate -o` into nowhere fails before any output,
 * and `check` says which finding classes the traces have and what `--fail-on` would make of them.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, tmp } from './helpers/cli.js';

const RACE = 'traces/scenarios/asid-move-race.csv';

describe('flag errors name the flag', () => {
  it('--kernel 99.1 is the flag\'s fault, not the trace\'s "# system:" line', async () => {
    const r = await cli('replay', RACE, '--kernel', '99.1');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^asid-replay: --kernel 99\.1: kernel 99\.1 is newer than 7\.0/);
    expect(r.err).not.toContain('.csv');
    expect(r.err).not.toContain('invalid system');
    expect(r.out).toBe('');
  });

  it('--kernel is checked for shrink and explore too (the shared system flags)', async () => {
    const r = await cli('explore', '--kernel', 'banana', '-o', join(tmp(), 'x.csv'));
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^asid-replay: --kernel banana: unknown kernel "banana"/);
  });

  it('--cpus -1: a negative number, and the range', async () => {
    const r = await cli('replay', RACE, '--cpus', '-1');
    expect(r.code).toBe(2);
    expect(r.err.split('\n')[0]).toBe('asid-replay: --cpus must be between 1 and 4096, got -1 (a negative number)');
  });

  it('a non-integer and an out-of-range value say the range', async () => {
    expect((await cli('replay', RACE, '--cpus', 'four')).err).toMatch(
      /^asid-replay: --cpus must be an integer between 1 and 4096, got "four"/,
    );
    expect((await cli('replay', RACE, '--cpus', '5000')).err).toMatch(/^asid-replay: --cpus must be between 1 and 4096, got 5000/);
    expect((await cli('generate', 'mixed', '-o', '-', '-n', '0')).err).toMatch(/^asid-replay: --events must be at least 1, got 0/);
  });

  it.each([
    [['replay', RACE, '--allocator', 'v9'], /^asid-replay: --allocator v9: Allowed choices are v4\.19/],
    [['replay', RACE, '--fail-on', 'bugs'], /^asid-replay: --fail-on bugs: unknown kind "bugs"/],
    [['generate', 'nope', '-o', '-'], /^asid-replay: <profile> nope: Allowed choices are kernel-build/],
    [['replay'], /^asid-replay: missing required argument 'trace'/],
    [['replya'], /^asid-replay: unknown command 'replya'/],
    [['replay', RACE, '--no-such-flag'], /^asid-replay: unknown option '--no-such-flag'/],
    [['replay', 'nope.csv'], /^asid-replay: nope\.csv: /],
    [['check', 'nope-dir'], /^asid-replay: nope-dir: no such file or folder/],
    [['check', 'traces/scenarios', '--shard', '3/2'], /^asid-replay: --shard must be i\/n/],
    [['replay', RACE, '--interval', '5'], /^asid-replay: --interval needs --timeseries/],
  ])('%j: one prefix, asid-replay:', async (argv, message) => {
    const r = await cli(...argv);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(message);
    // every line of an error is the message or the hint to --help
    for (const line of r.err.trimEnd().split('\n'))
      expect(line).toMatch(/^asid-replay: |^\(run with --help for usage\)$|^\(Did you mean \w+\?\)$/);
  });
});

describe('generate -o checks the output first', () => {
  it('a folder that does not exist: exit 2, nothing written, no summary line', async () => {
    const d = tmp();
    const r = await cli('generate', 'mixed', '-n', '1000', '-o', join(d, 'missing', 'x.csv'));
    expect(r.code).toBe(2);
    expect(r.err).toBe(`asid-replay: ${join(d, 'missing', 'x.csv')}: cannot write the output file: no such folder (ENOENT)\n`);
    expect(r.out).toBe('');
    expect(readdirSync(d)).toEqual([]);
  });

  it('an existing folder as -o fails at once, before generating (not at the final rename)', async () => {
    const d = tmp();
    const t0 = Date.now();
    const r = await cli('generate', 'mixed', '-n', '5000000', '-o', d);
    expect(r.code).toBe(2);
    expect(r.err).toBe(`asid-replay: ${d}: cannot write the output file: it is a folder\n`);
    expect(Date.now() - t0).toBeLessThan(3000); // 5M events take far longer
    expect(readdirSync(d)).toEqual([]); // no temporary file left
  });
});

describe('check says what it counted and what --fail-on would fail', () => {
  /** Three traces: violations (pin-v1), a refused pin (4-bit), stale entries (asid-move-race). */
  function corpus(): string {
    const d = tmp();
    for (const t of ['pin-v1-ordering-bug', 'pin-limit-4bit', 'asid-move-race', 'pin-bound-tight'])
      for (const ext of ['.csv', '.expected.json']) cpSync(join('traces/scenarios', t + ext), join(d, t + ext));
    return d;
  }

  it('without --fail-on: the classes found, and the --fail-on that would fail on them (exit 0)', async () => {
    const r = await cli('check', corpus());
    expect(r.code).toBe(0);
    expect(r.out).toContain('4 traces: 4 same, 0 differ, 0 missing, 0 errors, 0 obsolete expectations\n');
    expect(r.out).toContain(
      'findings (they fail nothing without --fail-on): violations 2 in 1 trace, pin-failures 1 in 1 trace, stale 2 in 1 trace; ' +
        '--fail-on violations,pin-failures,stale would fail 3 traces\n',
    );
    expect(r.out).not.toContain('with findings');
    expect(r.out).toMatch(/pin-v1-ordering-bug\.csv\s*│ ok\s*│ violations 2/);
  });

  it('with --fail-on: which traces fail on what, and what was found but not selected (exit 1)', async () => {
    const r = await cli('check', corpus(), '--fail-on', 'violations,S-UNMAP');
    expect(r.code).toBe(1);
    expect(r.out).toContain(
      '--fail-on violations,S-UNMAP: 2 traces fail on violations, S-UNMAP; also found, not selected: pin-failures 1 in 1 trace\n',
    );
    expect(r.out).toMatch(/pin-v1-ordering-bug\.csv\s*│ ok, failing on --fail-on/);
  });

  it('a clean corpus says so', async () => {
    const d = tmp();
    for (const ext of ['.csv', '.expected.json'])
      cpSync(join('traces/scenarios', 'pin-bound-tight' + ext), join(d, 'pin-bound-tight' + ext));
    const r = await cli('check', d, '--fail-on', 'stale');
    expect(r.code).toBe(0);
    expect(r.out).toContain('--fail-on stale: no trace has these findings\n');
    expect((await cli('check', d)).out).toContain('findings: none');
  });

  it('--json counts the traces per class', async () => {
    const j = JSON.parse((await cli('check', corpus(), '--json')).out);
    expect(j.findingClasses).toEqual({ violations: 1, 'pin-failures': 1, stale: 1, 'device-failures': 0 });
  });
});

describe('the installed executable', () => {
  const run = (...argv: string[]) => spawnSync(process.execPath, ['bin/asid-replay.js', ...argv], { encoding: 'utf8' });
  it.skipIf(!existsSync('dist/cli/main.js'))('flag errors exit 2 with one asid-replay: line and the --help hint', () => {
    const k = run('replay', RACE, '--kernel', '99.1');
    expect(k.status).toBe(2);
    expect(k.stdout).toBe('');
    expect(k.stderr).toMatch(/^asid-replay: --kernel 99\.1: kernel 99\.1 is newer than 7\.0.*\n\(run with --help for usage\)\n$/);
    const c = run('replay', RACE, '--cpus', '-1');
    expect(c.status).toBe(2);
    expect(c.stderr).toBe('asid-replay: --cpus must be between 1 and 4096, got -1 (a negative number)\n(run with --help for usage)\n');
    const g = run('generate', 'mixed', '-o', '/nonexistent-asid-replay-dir/x.csv');
    expect(g.status).toBe(2);
    expect(g.stderr).toBe('asid-replay: /nonexistent-asid-replay-dir/x.csv: cannot write the output file: no such folder (ENOENT)\n');
  });
});
