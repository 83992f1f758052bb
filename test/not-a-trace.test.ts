/**
 * `replay`, `check` and `compare` given a recording (or other data) instead of a trace v1 CSV: exit
 * 2 with what the file is, recognised as `import auto` recognises it, and the import that converts
 * it; never raw binary in the message (at most a short, escaped excerpt).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { cli, tmp, tmpFile } from './helpers/cli.js';

const DIR = 'traces/real/recordings/lisa-juno-rtapp';
const BIN = 'bin/asid-replay.js';
const PERF = `            bash   100 [000]  5000.000010: sched:sched_switch: prev_comm=bash prev_pid=100 prev_prio=120 prev_state=S ==> next_comm=swapper/0 next_pid=0 next_prio=120
`;

/** Pseudo-random bytes (a fixed sequence, NUL bytes included). */
function garbage(n: number): Buffer {
  const b = Buffer.alloc(n);
  let x = 7;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}

/** No control character other than the newline, no U+FFFD (undecodable bytes), and short. */
function printable(message: string): void {
  const bad = [...message].filter((c) => {
    const k = c.codePointAt(0)!;
    return (k < 0x20 && k !== 0x0a) || (k >= 0x7f && k <= 0x9f) || k === 0xfffd;
  });
  expect(bad).toEqual([]);
  expect(message.length).toBeLessThan(600);
}

describe('replay of something that is not a trace v1 CSV', () => {
  it.each([
    ['trace.dat', join(DIR, 'trace.dat'), 'a trace-cmd binary file (trace.dat, file version 6)', 'trace-dat'],
    ['version-7 zstd trace.dat', join(DIR, 'trace-v7-zstd.dat'), 'a trace-cmd binary file (trace.dat, file version 7)', 'trace-dat'],
    ['trace-cmd report text', join(DIR, 'trace.dat.report.txt'), 'ftrace / trace-cmd report text', 'ftrace'],
    [
      'systrace HTML',
      'traces/real/recordings/trappy-android-msm8998-systrace/trace_surfaceflinger.html',
      'an Android systrace HTML file',
      'systrace',
    ],
    ['perf script text', 'PERF', 'perf script text', 'perf-script'],
  ])('%s: what it is and the import that converts it', async (_, path, what, kind) => {
    const file = path === 'PERF' ? tmpFile(PERF, 'perf.txt') : path;
    const r = await cli('replay', file);
    expect(r.code).toBe(2);
    expect(r.err).toBe(
      `asid-replay: ${file}: this is ${what}, not a trace v1 CSV: convert it with \`asid-replay import ${kind} ${file} -o trace.csv\`, then replay trace.csv\n`,
    );
    printable(r.err);
  });

  it('binary garbage, gzip and perf.data: what they are and what to do, no raw bytes', async () => {
    const d = tmp();
    const cases: [string, Buffer, string][] = [
      ['garbage.bin', garbage(3000), 'this is binary data in no known format'],
      [
        'report.txt.gz',
        gzipSync(readFileSync(join(DIR, 'trace.dat.report.txt'))),
        `gunzip -c ${join(d, 'report.txt.gz')} | asid-replay import auto -`,
      ],
      ['perf.data', Buffer.concat([Buffer.from('PERFILE2'), garbage(500)]), 'perf script -F comm,pid,tid,cpu,time,event,trace'],
    ];
    for (const [name, data, phrase] of cases) {
      const f = join(d, name);
      writeFileSync(f, data);
      const r = await cli('replay', f);
      expect(r.code, name).toBe(2);
      expect(r.err).toContain(`asid-replay: ${f}: this is `);
      expect(r.err).toContain(phrase);
      printable(r.err);
    }
  });

  it('garbage and a trace.dat on standard input: named "-", the import to put in the pipe', () => {
    const g = spawnSync(process.execPath, [BIN, 'replay', '-'], { input: garbage(5000), encoding: 'utf8' });
    expect(g.status).toBe(2);
    expect(g.stderr).toMatch(/^asid-replay: -: this is binary data in no known format/);
    printable(g.stderr);
    const dat = spawnSync(process.execPath, [BIN, 'replay', '-'], { input: readFileSync(join(DIR, 'trace.dat')), encoding: 'utf8' });
    expect(dat.status).toBe(2);
    expect(dat.stderr).toContain('-: this is a trace-cmd binary file (trace.dat, file version 6), not a trace v1 CSV');
    expect(dat.stderr).toContain('`... | asid-replay import trace-dat - -o - | asid-replay replay -`');
  });

  it('check and compare say the same', async () => {
    const dat = join(DIR, 'trace.dat');
    const c = await cli('check', dat, '--expect', join(tmp(), 'x.expected.json'));
    expect(c.code).toBe(2);
    expect(c.out).toContain(`error: ${dat}: this is a trace-cmd binary file (trace.dat, file version 6), not a trace v1 CSV`);
    const report = join(DIR, 'trace.dat.report.txt');
    const m = await cli('compare', report, '--kernel', '6.1,6.12');
    expect(m.code).toBe(2);
    expect(m.err).toContain(
      `${report}: this is ftrace / trace-cmd report text, not a trace v1 CSV: convert it with \`asid-replay import ftrace`,
    );
  });

  it('a CSV with a bad header keeps the reader message; text in no known form is quoted short and escaped', async () => {
    const csv = await cli('replay', tmpFile('time,evnt,cpu\n1,fork,\n', 'bad.csv'));
    expect(csv.err).toMatch(/bad\.csv:1:6: unknown column "evnt" in the header; expected some of time, event/);
    const prose = await cli('replay', tmpFile(`hello\tworld ${'x'.repeat(200)}\n`, 'prose.txt'));
    expect(prose.code).toBe(2);
    expect(prose.err).toContain('unknown column "hello\\tworld xxxxxxxxxxxxxxxxxxxxxxxxxxxx"... in the header');
    printable(prose.err);
  });
});

describe('import messages', () => {
  it('import auto of a folder expects a recording, not a trace v1 CSV', async () => {
    const d = tmp();
    const r = await cli('import', 'auto', d, '-o', join(d, 'o.csv'));
    expect(r.code).toBe(2);
    expect(r.err).toBe(`asid-replay: ${d}: this is a folder, not a recording\n`);
  });

  it('an input from process substitution is named as given (/dev/fd/N) in the summary and the trace', () => {
    const r = spawnSync('bash', ['-c', `"${process.execPath}" ${BIN} import auto <(cat ${join(DIR, 'trace.dat.report.txt')}) -o -`], {
      encoding: 'utf8',
    });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/^imported \/dev\/fd\/\d+ \(ftrace\) -> -: 1639 events/);
    expect(r.stdout).toMatch(/^# imported by asid-replay from \/dev\/fd\/\d+ \(ftrace\)\n/);
  });

  it('--overlay messages count switch-ins in the singular and plural', async () => {
    // a (pid 10) runs when the recording starts and is switched in again: 2 switch-ins; b once
    const rec = [
      'cpus=1',
      '  a-10 [000] 1.000001: sched_switch: prev_comm=a prev_pid=10 prev_prio=120 prev_state=S ==> next_comm=b next_pid=20 next_prio=120',
      '  b-20 [000] 1.000002: sched_switch: prev_comm=b prev_pid=20 prev_prio=120 prev_state=S ==> next_comm=a next_pid=10 next_prio=120',
      '',
    ].join('\n');
    const r = await cli('import', 'ftrace', tmpFile(rec, 'r.txt'), '-o', join(tmp(), 'o.csv'), '--overlay', 'nosuch');
    expect(r.code).toBe(2);
    expect(r.err).toContain('most switched-in: p10:a (2 switch-ins), p20:b (1 switch-in))');
  });
});
