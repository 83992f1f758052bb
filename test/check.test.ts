/**
 * Corpus regression checking: differences, missing expectations, corrupted traces, shards, atomic update.
 */
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findTraces, shard } from '../src/check/corpus.js';
import { openOutput, writeAtomic } from '../src/util/output.js';
import { cli, tmp } from './helpers/cli.js';

/** A private copy of part of the shipped corpus. */
function corpus(): string {
  const d = tmp();
  for (const f of ['pin-v1-ordering-bug.csv', 'pin-v1-ordering-bug.expected.json']) cpSync(join('traces/scenarios', f), join(d, f));
  for (const f of ['tegra3-atrace-tgids.csv', 'tegra3-atrace-tgids.expected.json']) cpSync(join('traces/real', f), join(d, f));
  return d;
}

describe('check', () => {
  it('passes on an unchanged corpus (exit 0)', async () => {
    const r = await cli('check', corpus());
    expect(r.code).toBe(0);
    expect(r.out).toContain('2 traces: 2 same');
  });

  it('a changed report: exit 1 and a unified diff naming what changed', async () => {
    const d = corpus();
    const exp = join(d, 'pin-v1-ordering-bug.expected.json');
    writeFileSync(exp, readFileSync(exp, 'utf8').replace('"rollovers": 2', '"rollovers": 3'));
    const r = await cli('check', d);
    expect(r.code).toBe(1);
    expect(r.out).toContain('-    "rollovers": 3,');
    expect(r.out).toContain('+    "rollovers": 2,');
    expect(r.out).toContain('1 differ');
  });

  it('a trace whose behaviour changed (edited trace) is caught too', async () => {
    const d = corpus();
    const t = join(d, 'pin-v1-ordering-bug.csv');
    writeFileSync(t, readFileSync(t, 'utf8').replace('"allocator": "pin-v1"', '"allocator": "v5.10"'));
    const r = await cli('check', d, '--json');
    expect(r.code).toBe(1);
    expect(JSON.parse(r.out).results.find((x: { trace: string }) => x.trace === t).status).toBe('differs');
  });

  it('a missing expectation: exit 1; --update creates it, then the corpus passes', async () => {
    const d = corpus();
    cpSync('traces/real/juno-rtapp.csv', join(d, 'juno-rtapp.csv'));
    const r = await cli('check', d);
    expect(r.code).toBe(1);
    expect(r.out).toContain('missing: no');
    const u = await cli('check', d, '--update');
    expect(u.code).toBe(0);
    expect(u.out).toContain('1 expectations written');
    expect(JSON.parse(readFileSync(join(d, 'juno-rtapp.expected.json'), 'utf8')).trace.name).toBe('juno-rtapp.csv');
    expect((await cli('check', d)).code).toBe(0);
    expect(readdirSync(d).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('a corrupted trace: exit 2, the error names file:line, the other traces are still checked', async () => {
    const d = corpus();
    const t = join(d, 'tegra3-atrace-tgids.csv');
    writeFileSync(t, readFileSync(t, 'utf8').replace(/\nschedule|\n([0-9]+),schedule,/, '\n$1,schedul,'));
    const r = await cli('check', d, '--update');
    expect(r.code).toBe(2);
    expect(r.out).toMatch(/error: .*tegra3-atrace-tgids\.csv:\d+:\d+: unknown event "schedul"/);
    expect(r.out).toContain('1 same');
    // --update never overwrites the expectation of a trace that could not be replayed.
    expect(readFileSync(join(d, 'tegra3-atrace-tgids.expected.json'), 'utf8')).toBe(
      readFileSync('traces/real/tegra3-atrace-tgids.expected.json', 'utf8'),
    );
  });

  it('--jobs 2 gives the same results as --jobs 1, and --junit writes one testcase per trace', async () => {
    const d = corpus();
    const a = await cli('check', d, '--json');
    const x = join(d, 'out.xml');
    const b = await cli('check', d, '--json', '--jobs', '2', '--junit', x);
    expect(JSON.parse(b.out)).toEqual(JSON.parse(a.out));
    const junit = readFileSync(x, 'utf8');
    expect(junit).toContain('tests="2" failures="0" errors="0"');
    expect(junit.match(/<testcase /g)).toHaveLength(2);
  });
});

describe('shards', () => {
  it('the n shards of the shipped corpus cover every trace exactly once', async () => {
    const all = await findTraces(['traces']);
    expect(all.length).toBeGreaterThan(5);
    for (const n of [1, 2, 3, 4, 7]) {
      const parts = Array.from({ length: n }, (_, i) => shard(all, i + 1, n));
      expect(parts.flat().sort()).toEqual(all);
      expect(new Set(parts.flat()).size).toBe(all.length);
    }
  });
  it('--shard through the CLI, and a bad --shard is a usage error', async () => {
    const d = corpus();
    const one = JSON.parse((await cli('check', d, '--json', '--shard', '1/2')).out);
    const two = JSON.parse((await cli('check', d, '--json', '--shard', '2/2')).out);
    expect(one.traces + two.traces).toBe(2);
    expect((await cli('check', d, '--shard', '3/2')).code).toBe(2);
  });
});

describe('atomic writes', () => {
  it('writeAtomic replaces the whole file or nothing: a failing write leaves the old file and no temporary', async () => {
    const d = tmp();
    const f = join(d, 'e.json');
    writeFileSync(f, 'old');
    await writeAtomic(f, 'new');
    expect(readFileSync(f, 'utf8')).toBe('new');
    // Writing into a folder that does not exist fails before anything is renamed.
    await expect(writeAtomic(join(d, 'no-such-dir', 'e.json'), 'x')).rejects.toThrow();
    expect(readFileSync(f, 'utf8')).toBe('new');
    expect(readdirSync(d)).toEqual(['e.json']);
    expect(existsSync(join(d, 'no-such-dir'))).toBe(false);
  });

  it('a device is written in place, never replaced by a file (/dev/null stays a character device); a folder is refused at open', async () => {
    const before = statSync('/dev/null');
    expect(before.isCharacterDevice()).toBe(true);
    await writeAtomic('/dev/null', 'x'.repeat(100_000));
    const after = statSync('/dev/null');
    expect(after.isCharacterDevice(), '/dev/null is still the device').toBe(true);
    expect(after.ino).toBe(before.ino);
    expect(readdirSync('/dev').filter((f) => f.startsWith('null.') && f.endsWith('.tmp'))).toEqual([]);
    const d = tmp();
    const o = openOutput(d);
    await expect(o).rejects.toThrow(/it is a folder \(EISDIR\)/);
    expect(readdirSync(join(d, '..')).filter((f) => f.startsWith(`${basename(d)}.`))).toEqual([]);
  });
});

describe('check as a snapshot runner', () => {
  it('no trace found is exit 2 naming the paths; --allow-empty accepts it', async () => {
    const d = tmp();
    const r = await cli('check', d);
    expect(r.code).toBe(2);
    expect(r.err).toContain(`${d}: no trace (*.csv) found`);
    expect((await cli('check', d, '--allow-empty')).code).toBe(0);
    expect((await cli('check', corpus(), '--filter', 'no-such-name')).code).toBe(2);
  });

  it('an expectation whose trace was deleted is obsolete: exit 1; --update removes it', async () => {
    const d = corpus();
    rmSync(join(d, 'tegra3-atrace-tgids.csv'));
    const r = await cli('check', d);
    expect(r.code).toBe(1);
    expect(r.out).toContain(`obsolete: ${join(d, 'tegra3-atrace-tgids.expected.json')}`);
    const u = await cli('check', d, '--update');
    expect(u.code).toBe(0);
    expect(existsSync(join(d, 'tegra3-atrace-tgids.expected.json'))).toBe(false);
    expect((await cli('check', d)).code).toBe(0);
  });

  it('expectations are compared as JSON values: a reformatted one is the same', async () => {
    const d = corpus();
    const exp = join(d, 'pin-v1-ordering-bug.expected.json');
    writeFileSync(exp, JSON.stringify(JSON.parse(readFileSync(exp, 'utf8'))));
    expect((await cli('check', d)).code).toBe(0);
  });

  it('a changed figure is named with its old and new value above the unified diff', async () => {
    const d = corpus();
    const exp = join(d, 'pin-v1-ordering-bug.expected.json');
    writeFileSync(exp, readFileSync(exp, 'utf8').replace('"rollovers": 2', '"rollovers": 3'));
    const r = await cli('check', d);
    expect(r.code).toBe(1);
    const figure = r.out.indexOf('churn.rollovers 3 -> 2');
    expect(figure).toBeGreaterThan(-1);
    expect(figure).toBeLessThan(r.out.indexOf('-    "rollovers": 3,'));
  });

  it('an expectation that is not JSON is exit 2 naming file:line:col; --update rewrites it', async () => {
    const d = corpus();
    const exp = join(d, 'pin-v1-ordering-bug.expected.json');
    writeFileSync(exp, '{\n  "schema": oops\n}\n');
    const r = await cli('check', d);
    expect(r.code).toBe(2);
    expect(r.out).toMatch(new RegExp(`${exp.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:2:\\d+: the expectation is not valid JSON`));
    expect((await cli('check', d, '--update')).code).toBe(0);
    expect((await cli('check', d)).code).toBe(0);
  });

  it('--ci refuses to write', async () => {
    const r = await cli('check', corpus(), '--ci', '--update');
    expect(r.code).toBe(2);
    expect(r.err).toContain('--ci never writes');
  });

  it('--filter checks only matching traces', async () => {
    const r = JSON.parse((await cli('check', corpus(), '--filter', 'PIN-v1', '--json')).out);
    expect(r.traces).toBe(1);
    expect(r.results[0].trace).toContain('pin-v1-ordering-bug.csv');
  });

  it('--fail-on fails a trace whose report matches but has the findings', async () => {
    const d = corpus();
    const r = await cli('check', d, '--fail-on', 'violations');
    expect(r.code).toBe(1); // the pin-v1 scenario has violations by design
    expect(r.out).toContain('findings: ');
    expect((await cli('check', d, '--fail-on', 'stale')).code).toBe(0);
  });

  it('trace names are matched case-insensitively (*.CSV is a trace)', async () => {
    const d = corpus();
    cpSync(join(d, 'pin-v1-ordering-bug.csv'), join(d, 'UPPER.CSV'));
    const r = JSON.parse((await cli('check', d, '--json')).out);
    expect(r.traces).toBe(3);
    expect(r.missing).toBe(1);
    expect((await cli('check', d, '--update')).code).toBe(0);
    expect(existsSync(join(d, 'UPPER.expected.json'))).toBe(true);
    expect((await cli('check', d)).code).toBe(0);
  });
});

describe('check: inputs found by the fuzzer', () => {
  it('a deeply nested expectation differs without a crash (exit 1, not 3)', async () => {
    const d = corpus();
    writeFileSync(join(d, 'pin-v1-ordering-bug.expected.json'), '['.repeat(20000) + '0' + ']'.repeat(20000));
    const r = await cli('check', d, '--jobs', '1');
    expect(r.code).toBe(1);
    expect(r.err).not.toContain('internal error');
  });
  it('an empty path is named as "" (exit 2)', async () => {
    const r = await cli('check', '');
    expect(r.code).toBe(2);
    expect(r.err).toContain('"": a trace path is empty');
    const g = await cli('generate', 'mixed', '-n', '5', '-o', '');
    expect(g.code).toBe(2);
    expect(g.err).toContain('"": the output path is empty');
  });
  it('--junit leaves no temporary file when the check fails', async () => {
    const d = corpus();
    rmSync(join(d, 'tegra3-atrace-tgids.expected.json'));
    mkdirSync(join(d, 'tegra3-atrace-tgids.expected.json')); // --update cannot write it
    const x = join(tmp(), 'j.xml');
    const r = await cli('check', d, '--update', '--junit', x);
    expect(r.code).toBe(2);
    expect(readdirSync(join(x, '..'))).toEqual([]);
  });
});
