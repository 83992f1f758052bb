/**
 * Recordings that lost events (the writer overran the ring buffer) are refused, exit 2, naming the
 * file, the line (and for a trace.dat the byte offset of the page), the CPU and the count; with
 * --allow-lost-events they are imported with a warning in the summary and a comment in the trace.
 *
 * The text forms: the kernel's `CPU:%d [LOST %lu EVENTS]` / `CPU:%d [LOST EVENTS]`
 * (kernel/trace/trace.c print_trace_line) and trace-cmd report's `CPU:%d [%lld EVENTS DROPPED]` /
 * `CPU:%d [EVENTS DROPPED]`, inserted into the shipped report text. The trace.dat: a copy of the
 * shipped LISA file with the missed-events flags set in one page's commit field
 * (include/linux/ring_buffer.h, kernel/trace/ring_buffer.c: RB_MISSED_EVENTS bit 31,
 * RB_MISSED_STORED bit 30 with the count stored as a long right after the page's data).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, tmp, tmpFile } from './helpers/cli.js';

const DIR = 'traces/real/recordings/lisa-juno-rtapp';
const V6 = readFileSync(join(DIR, 'trace.dat'));
const REPORT = readFileSync(join(DIR, 'trace.dat.report.txt'), 'utf8');

/** The report text with `lines` inserted so that each lands on its line number (1-based, in order). */
function withLines(text: string, lines: [number, string][]): string {
  const out = text.split('\n');
  for (const [at, l] of lines) out.splice(at - 1, 0, l);
  return out.join('\n');
}

/** Event rows of a trace (the comments and the header dropped). */
const events = (csv: string) => csv.split('\n').filter((l) => /^\d/.test(l));

describe('text recordings that lost events', () => {
  it.each([
    ['the kernel', 'CPU:2 [LOST 123 EVENTS]', 'CPU:3 [LOST EVENTS]'],
    ['trace-cmd report', 'CPU:2 [123 EVENTS DROPPED]', 'CPU:3 [EVENTS DROPPED]'],
  ])('as %s prints them: refused at the first, naming file, line, CPU and count, then the others', async (_, first, second) => {
    const f = tmpFile(
      withLines(REPORT, [
        [40, first],
        [90, second],
      ]),
      'lost.txt',
    );
    const out = join(tmp(), 'out.csv');
    const r = await cli('import', 'auto', f, '-o', out);
    expect(r.code).toBe(2);
    expect(r.err).toContain(`${f}:40:1: the recording lost events: CPU 2 lost 123 events here (${JSON.stringify(first)})`);
    expect(r.err).toContain('2 overruns in all, at least 123 events (1 overrun without a count) lost on CPUs 2, 3');
    expect(r.err).toContain('--allow-lost-events');
    expect(() => readFileSync(out)).toThrow(); // nothing written
  });

  it('a count the recording does not know is said so', async () => {
    const f = tmpFile(withLines(REPORT, [[7, '  CPU:5 [LOST EVENTS]']]), 'unknown.txt');
    const r = await cli('import', 'ftrace', f, '-o', join(tmp(), 'out.csv'));
    expect(r.code).toBe(2);
    expect(r.err).toContain(`${f}:7:1: the recording lost events: CPU 5 lost events (how many is not recorded) here`);
  });

  it('--allow-lost-events: the same events as without the lines, a warning in the summary and a comment in the trace', async () => {
    const d = tmp();
    const whole = join(d, 'whole.csv');
    expect((await cli('import', 'ftrace', tmpFile(REPORT, 'report.txt'), '-o', whole)).code).toBe(0);
    const f = tmpFile(
      withLines(REPORT, [
        [40, 'CPU:2 [LOST 123 EVENTS]'],
        [90, 'CPU:3 [7 EVENTS DROPPED]'],
      ]),
      'lost.txt',
    );
    const out = join(d, 'lost.csv');
    const r = await cli('import', 'ftrace', f, '-o', out, '--allow-lost-events');
    expect(r.code, r.err).toBe(0);
    expect(r.err).toContain(
      'WARNING: the recording lost events (ring-buffer overruns): CPU 2 lost 123 events at line 40, CPU 3 lost 7 events at line 90; 130 events lost on CPUs 2, 3',
    );
    const csv = readFileSync(out, 'utf8');
    const comment = csv.split('\n').find((l) => l.startsWith('# WARNING: '));
    expect(comment).toContain('CPU 2 lost 123 events at line 40');
    expect(comment).toContain('--allow-lost-events');
    // the lost-events lines give no event and are not "unparsed"; every other line gives what it gave before,
    // with its line number shifted by the lines inserted before it
    const shift = (row: string) =>
      row.replace(/@L(\d+)$/, (_, n: string) => `@L${Number(n) + (Number(n) >= 89 ? 2 : Number(n) >= 40 ? 1 : 0)}`);
    expect(events(csv)).toEqual(events(readFileSync(whole, 'utf8')).map(shift));
    const j = await cli('import', 'ftrace', f, '-o', out, '--allow-lost-events', '--json');
    const s = JSON.parse(j.out);
    expect(s.unparsedLines).toBe(0);
    expect(s.lostEvents).toEqual({
      overruns: 2,
      total: 130,
      unknown: 0,
      cpus: [2, 3],
      at: [
        { line: 40, cpu: 2, count: 123, text: 'CPU:2 [LOST 123 EVENTS]' },
        { line: 90, cpu: 3, count: 7, text: 'CPU:3 [7 EVENTS DROPPED]' },
      ],
    });
  });
});

describe('a trace.dat page with the missed-events flags', () => {
  const PAGE = 4096; // the file's page size (header_page)
  const COMMIT = 8; // offset of the commit field in the page header (u64 timestamp, then local_t commit)
  const DATA = 16; // offset of the page's data
  /** Byte offset of CPU `cpu`'s data in the v6 file (its flyrecord table entry). */
  const cpuData = (cpu: number) => Number(V6.readBigUInt64LE(V6.indexOf('flyrecord\0') + 10 + cpu * 16));

  /** A copy of the v6 file whose CPU 2 page 1 has RB_MISSED_EVENTS, and RB_MISSED_STORED with `stored`. */
  function flagged(stored?: bigint): { file: string; page: number } {
    const b = Buffer.from(V6);
    const page = cpuData(2) + PAGE;
    const commit = b.readBigUInt64LE(page + COMMIT);
    expect(commit).toBe(4012n); // the page as shipped: 4012 bytes of events, room for the count after them
    b.writeBigUInt64LE(commit | (1n << 31n) | (stored === undefined ? 0n : 1n << 30n), page + COMMIT);
    if (stored !== undefined) b.writeBigUInt64LE(stored, page + DATA + Number(commit));
    const file = join(tmp(), 'lost.dat');
    writeFileSync(file, b);
    return { file, page };
  }

  it('refused: the file, the line trace-cmd report prints "CPU:2 [4242 EVENTS DROPPED]" on, the page byte offset, CPU and count', async () => {
    const { file, page } = flagged(4242n);
    const r = await cli('import', 'trace-dat', file, '-o', join(tmp(), 'o.csv'));
    expect(r.code).toBe(2);
    // trace-cmd report (3.1.6) of this file prints the line as its line 107, before the page's first event
    expect(r.err).toContain(`${file}:107: the recording lost events: CPU 2 lost 4242 events: the page at byte offset ${page} of the file`);
    expect(r.err).toContain('"CPU:2 [4242 EVENTS DROPPED]"');
  });

  it('RB_MISSED_EVENTS without RB_MISSED_STORED: lost events, how many not recorded', async () => {
    const { file, page } = flagged();
    const r = await cli('import', 'auto', file, '-o', join(tmp(), 'o.csv'));
    expect(r.code).toBe(2);
    expect(r.err).toContain(`CPU 2 lost events (how many is not recorded): the page at byte offset ${page} of the file`);
    expect(r.err).toContain('"CPU:2 [EVENTS DROPPED]"');
  });

  it('--allow-lost-events: the events of the unmodified file, the overrun in the summary and the trace', async () => {
    const d = tmp();
    const whole = join(d, 'whole.csv');
    expect((await cli('import', 'trace-dat', join(DIR, 'trace.dat'), '-o', whole)).code).toBe(0);
    const { file, page } = flagged(4242n);
    const out = join(d, 'lost.csv');
    const r = await cli('import', 'trace-dat', file, '-o', out, '--allow-lost-events', '--json');
    expect(r.code, r.err).toBe(0);
    expect(JSON.parse(r.out).lostEvents).toEqual({
      overruns: 1,
      total: 4242,
      unknown: 0,
      cpus: [2],
      at: [{ line: 107, cpu: 2, count: 4242, text: 'CPU:2 [4242 EVENTS DROPPED]', where: `the page at byte offset ${page} of the file` }],
    });
    const csv = readFileSync(out, 'utf8');
    expect(csv).toMatch(/^# WARNING: the recording lost events \(ring-buffer overruns\): CPU 2 lost 4242 events at line 107/m);
    const shift = (row: string) => row.replace(/@L(\d+)$/, (_, n: string) => `@L${Number(n) + (Number(n) >= 107 ? 1 : 0)}`);
    expect(events(csv)).toEqual(events(readFileSync(whole, 'utf8')).map(shift));
  });
});
