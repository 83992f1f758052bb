/**
 * Bad recordings are refused loudly: exit 2, a message naming the file (and the line or byte
 * offset where it applies), what the file looks like and what to run; never a stack trace, never
 * an empty trace with exit 0. Damaged trace.dat files are derived from the shipped LISA recording.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { cli, tmp, tmpFile } from './helpers/cli.js';

const DIR = 'traces/real/recordings/lisa-juno-rtapp';
const V6 = readFileSync(join(DIR, 'trace.dat'));
const V7 = readFileSync(join(DIR, 'trace-v7-zstd.dat'));
const REPORT = readFileSync(join(DIR, 'trace.dat.report.txt'), 'utf8');

/** Binary data: a fixed pseudo-random sequence with NUL bytes. */
function garbage(n: number): Buffer {
  const b = Buffer.alloc(n);
  let x = 12345;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  b[7] = 0;
  return b;
}

/** The v6 file with CPU `cpu`'s (offset, size) entry of the flyrecord table replaced. */
function withCpuEntry(cpu: number, offset: bigint): Buffer {
  const b = Buffer.from(V6);
  const at = b.indexOf('flyrecord\0') + 10 + cpu * 16;
  b.writeBigUInt64LE(offset, at);
  return b;
}

/** Byte offset of CPU `cpu`'s data in the v6 file. */
const cpuData = (cpu: number) => Number(V6.readBigUInt64LE(V6.indexOf('flyrecord\0') + 10 + cpu * 16));

async function refused(kind: string, data: Buffer | string, name: string, ...expected: (string | RegExp)[]): Promise<string> {
  const f = tmpFile('', name);
  const { writeFileSync } = await import('node:fs');
  writeFileSync(f, data);
  const out = join(tmp(), 'out.csv');
  const r = await cli('import', kind, f, '-o', out);
  expect(r.code).toBe(2);
  expect(r.out).toBe('');
  expect(r.err).toContain(name);
  expect(r.err).not.toMatch(/\n\s+at /); // no stack trace
  for (const e of expected) expect(r.err).toMatch(e);
  expect(existsSync(out)).toBe(false); // nothing written, not even an empty trace
  return r.err;
}

describe('bad recordings: exit 2 with a message', () => {
  it('1. binary garbage (auto): says it is binary data in no known format and lists what is supported', async () => {
    await refused('auto', garbage(5000), 'garbage.bin', 'binary data in no known format', 'trace-cmd trace.dat');
  });
  it('2. binary garbage (trace-dat): not the trace.dat magic, at byte offset 0', async () => {
    await refused('trace-dat', garbage(5000), 'garbage.dat', 'not a trace-cmd binary file', 'binary data');
  });
  it('3. wrong magic ("Tracing"): a damaged trace-cmd file', async () => {
    const b = Buffer.from(V6);
    b[3] = 'T'.charCodeAt(0);
    await refused('trace-dat', b, 'badmagic.dat', 'damaged trace-cmd binary file');
  });
  it('4. an unsupported file version, at byte offset 10, with the command that rewrites it', async () => {
    const b = Buffer.from(V6);
    b[10] = '5'.charCodeAt(0);
    await refused('trace-dat', b, 'v5.dat', 'file version "5" is not supported', 'byte offset 10', 'trace-cmd convert --file-version 7');
  });
  it('5. a .dat truncated in its headers: what was being read and the byte offset', async () => {
    await refused(
      'trace-dat',
      V6.subarray(0, 5000),
      'short.dat',
      /truncated trace-cmd file: an ftrace event format needs 444 bytes but the file ends after 409 \(byte offset 4591\)/,
    );
  });
  it('6. a .dat truncated in its trace data: the CPU whose pages are missing', async () => {
    await refused(
      'trace-dat',
      V6.subarray(0, cpuData(2) + 100),
      'cut.dat',
      /CPU 2's trace data \(\d+ bytes at offset \d+\) goes past the end of the file/,
      'truncated or a CPU buffer is missing',
    );
  });
  it('7. a .dat whose CPU buffer is missing (its offset points past the end)', async () => {
    await refused(
      'trace-dat',
      withCpuEntry(4, 0x7fffffffn),
      'nocpu.dat',
      /CPU 4's trace data .* at offset 2147483647\) goes past the end of the file/,
    );
  });
  it('8. a damaged ring-buffer page (commit larger than the page): CPU and byte offset', async () => {
    const b = Buffer.from(V6);
    b.writeBigUInt64LE(0xffffn, cpuData(1) + 8);
    await refused(
      'trace-dat',
      b,
      'page.dat',
      /a page says it holds 65535 bytes of events, more than a 4096-byte page, CPU 1 \(byte 8 of the CPU's data at file offset \d+\): the file is damaged/,
    );
  });
  it('9. a version-7 file with a damaged zstd block', async () => {
    const b = Buffer.from(V7);
    const at = 37; // the header section (compressed), see the v7 layout in src/import/tracedat/file.ts
    expect(b.readUInt16LE(at)).toBe(16);
    for (let i = at + 16 + 8 + 4; i < at + 16 + 8 + 40; i++) b[i]! ^= 0x5a;
    await refused('trace-dat', b, 'zstd.dat', /zstd block (does not decompress|decompresses to)/, 'the file is damaged');
  });
  it('10. empty text: an empty file, and how to record one', async () => {
    await refused('ftrace', '', 'empty.txt', 'this is an empty file', 'trace-cmd record -e sched');
  });
  it('11. only non-scheduling events: how many, which, and what to record', async () => {
    const only = REPORT.split('\n')
      .filter((l) => !l.includes('sched_switch'))
      .join('\n');
    await refused(
      'ftrace',
      only,
      'nosched.txt',
      'no scheduling events (sched_switch)',
      'the recording has 6268 events, none of them sched_switch (bprint 6242, print 14, cpu_frequency 12)',
      '-e sched_switch',
    );
  });
  it('12. text in no known form: the first lines quoted with their numbers', async () => {
    await refused(
      'ftrace',
      'hello\nthis is not a trace\n',
      'prose.txt',
      'no scheduling events',
      '2 of its 2 lines are in no known form (line 1: "hello")',
    );
  });
  it('13. a trace.dat given to import ftrace: use import trace-dat', async () => {
    await refused('ftrace', V6, 'trace.dat', 'this is a trace-cmd binary file (trace.dat, file version 6)', 'use `import trace-dat`');
  });
  it('14. a trace.dat given to import systrace, and ftrace text given to import trace-dat', async () => {
    await refused('systrace', V7, 'v7.dat', 'file version 7', 'use `import trace-dat`');
    await refused('trace-dat', REPORT, 'report.txt', 'this is ftrace / trace-cmd report text', 'use `import ftrace`');
  });
  it('15. perf.data, gzip, and a trace v1 CSV: what to run instead', async () => {
    await refused('auto', Buffer.concat([Buffer.from('PERFILE2'), garbage(200)]), 'perf.data', 'perf.data binary file', 'perf script -F');
    await refused('auto', gzipSync(REPORT.slice(0, 5000)), 'report.txt.gz', 'gzip-compressed', 'gunzip');
    await refused(
      'auto',
      '# system: {"cpus":1}\ntime,event,cpu,task,mm\n0,fork,,1,P\n',
      'trace.csv',
      'a trace v1 CSV (already imported)',
      'asid-replay replay',
    );
  });
  it('16. a folder and a missing file', async () => {
    const d = tmp();
    const r = await cli('import', 'auto', d, '-o', join(d, 'o.csv'));
    expect(r.code).toBe(2);
    const m = await cli('import', 'auto', join(d, 'missing.dat'), '-o', join(d, 'o.csv'));
    expect(m.code).toBe(2);
    expect(m.err).toContain('no such file');
  });
});

describe('standard input', () => {
  const bin = 'bin/asid-replay.js';
  it('import auto - reads a pipe once: the same trace as the file; - as output writes standard output', async () => {
    const file = join(tmp(), 'from-file.csv'); // the reference, in process: the pipes below are the subject
    expect((await cli('import', 'ftrace', join(DIR, 'trace.dat.report.txt'), '-o', file)).code).toBe(0);
    const piped = spawnSync(process.execPath, [bin, 'import', 'auto', '-', '-o', '-'], { input: REPORT, encoding: 'utf8' });
    expect(piped.status).toBe(0);
    const body = (s: string) => s.split('\n').slice(1).join('\n');
    expect(body(piped.stdout)).toBe(body(readFileSync(file, 'utf8')));
    const dat = spawnSync(process.execPath, [bin, 'import', 'trace-dat', '-', '-o', '-'], { input: V7 });
    expect(dat.status).toBe(0);
    expect(
      dat.stdout
        .toString()
        .split('\n')
        .filter((l) => /^\d/.test(l)).length,
    ).toBe(1639); // 1,607 events before comm changes were read: 32 execs inferred (no TGID in a trace.dat)
  });
  it('garbage on standard input: exit 2 naming "-"', () => {
    const r = spawnSync(process.execPath, [bin, 'import', 'auto', '-', '-o', '-'], { input: garbage(3000), encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^asid-replay: -: cannot import: this is binary data/);
    expect(r.stdout).toBe('');
  });
});
