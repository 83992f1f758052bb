/**
 * A picture written to standard output (`-`) has it to itself: the report (or the comparison) goes
 * to standard error, so that what standard output holds reads as one page, one CSV or one JSON
 * (docs/pictures.md). The Perfetto timeline's case, byte for byte: test/perfetto-thread.test.ts.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const TRACE = 'traces/generated/hetero-smmu.csv';
const run = (...args: string[]) => spawnSync(process.execPath, ['bin/asid-replay.js', ...args], { encoding: 'utf8', maxBuffer: 1 << 28 });

describe('a picture on standard output', () => {
  it('replay --timeseries - and --html -: the picture on standard output, the report on standard error', () => {
    const plain = run('replay', TRACE, '--json');
    expect(plain.status).toBe(0);
    const csv = run('replay', TRACE, '--json', '--timeseries', '-');
    expect(csv.status, csv.stderr).toBe(0);
    expect(csv.stdout.split('\n')[0]).toMatch(/^time_ns,events,/);
    expect(csv.stderr).toBe(plain.stdout);
    const html = run('replay', TRACE, '--html', '-');
    expect(html.status, html.stderr).toBe(0);
    expect(html.stdout.trimStart().toLowerCase()).toMatch(/^<!doctype html>/);
    expect(html.stdout.trimEnd().toLowerCase()).toMatch(/<\/html>$/);
    expect(html.stderr).toContain('ASID');
  });

  it('two pictures on standard output: exit 2 naming both, before any work; one of them on standard output: exit 0', () => {
    for (const args of [
      ['--html', '-', '--perfetto', '-'],
      ['--perfetto', '-', '--timeseries', '-'],
      ['--html', '-', '--perfetto', '-', '--timeseries', '-'],
    ]) {
      const r = run('replay', TRACE, ...args);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stdout, args.join(' ')).toBe('');
      const named = args.filter((a) => a.startsWith('--'));
      expect(r.stderr, args.join(' ')).toContain(`${named.join(' and ')} ${named.length === 2 ? 'both' : 'all'} name standard output (-)`);
      expect(r.stderr.trim().split('\n'), 'one line').toHaveLength(1);
    }
    const one = run('replay', TRACE, '--html', '-', '--perfetto', '/dev/null');
    expect(one.status, one.stderr).toBe(0);
    expect(statSync('/dev/null').isCharacterDevice(), 'written in place').toBe(true);
  });

  it('a FIFO as the output: opened once, the page arrives whole, the FIFO stays a FIFO', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fifo-'));
    const fifo = join(dir, 'page');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    const r = spawnSync(
      'bash',
      [
        '-c',
        `cat ${fifo} > ${join(dir, 'got')} & ${JSON.stringify(process.execPath)} bin/asid-replay.js replay ${TRACE} --html ${fifo} > /dev/null; s=$?; wait; echo $s`,
      ],
      { encoding: 'utf8', timeout: 60_000 },
    );
    expect(r.stdout.trim(), r.stderr).toBe('0');
    const got = readFileSync(join(dir, 'got'), 'utf8');
    expect(got.trimStart().toLowerCase()).toMatch(/^<!doctype html>/);
    expect(got.trimEnd().toLowerCase()).toMatch(/<\/html>$/);
    expect(statSync(fifo).isFIFO()).toBe(true);
  });

  it('a picture to a file leaves the report on standard output', () => {
    const plain = run('replay', TRACE, '--json');
    const r = run('replay', TRACE, '--json', '--timeseries', '/dev/null');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe(plain.stdout);
    expect(r.stderr).toBe('');
  });

  it('compare --html -: the page on standard output, the comparison on standard error', () => {
    const plain = run('compare', TRACE, '--kernel', '6.1,6.11', '--json');
    expect(plain.status, plain.stderr).toBe(0);
    const r = run('compare', TRACE, '--kernel', '6.1,6.11', '--json', '--html', '-');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trimStart().toLowerCase()).toMatch(/^<!doctype html>/);
    expect(JSON.parse(r.stderr).schema).toBe('asid-replay/compare');
    expect(r.stderr).toBe(plain.stdout);
  });
});
