/**
 * trace-cmd trace.dat reader: the shipped LISA recording (file version 6) and its version-7 zstd
 * copy (made once with Debian's trace-cmd 3.1.6: `trace-cmd convert --file-version 7 --compression
 * zstd`) import to the same trace v1 events as the `trace-cmd report` text of the same file.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { importFile } from '../src/import/import.js';
import { datLines, parseTraceDat, stateFlags } from '../src/import/tracedat/index.js';
import { cli, tmp } from './helpers/cli.js';

const DIR = 'traces/real/recordings/lisa-juno-rtapp';
const V6 = join(DIR, 'trace.dat');
const V7 = join(DIR, 'trace-v7-zstd.dat');
const REPORT = join(DIR, 'trace.dat.report.txt');

/** Event rows of a trace v1 CSV (comments and the header dropped). */
const rows = (file: string) =>
  readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => /^\d/.test(l))
    .map((l) => l.split(','));

/** trace-cmd report prints microseconds rounded to the nearest (libtraceevent print_event_time). */
const toMicros = (ns: string) => String(Math.round(Number(ns) / 1000) * 1000);

describe('trace.dat file versions 6 and 7', () => {
  it('reads both containers: 6 CPUs, the same pages, saved command lines and event formats', () => {
    const v6 = parseTraceDat(readFileSync(V6), V6);
    const v7 = parseTraceDat(readFileSync(V7), V7);
    expect([v6.version, v7.version, v7.compression]).toEqual([6, 7, 'zstd']);
    expect(v6.cpus).toBe(6);
    expect(v7.cpus).toBe(6);
    expect(v6.buffers.map((b) => b.data.length)).toEqual(v7.buffers.map((b) => b.data.length));
    for (let i = 0; i < v6.buffers.length; i++) expect(v6.buffers[i]!.data.equals(v7.buffers[i]!.data)).toBe(true);
    expect(v6.comms.get(6973)).toBe('trace-cmd');
    const names = new Set([...v6.events.values()].map((e) => e.name));
    expect(names.has('sched_switch')).toBe(true);
    expect(v6.pageHeader).toEqual({ timestampOffset: 0, timestampSize: 8, commitOffset: 8, commitSize: 8, dataOffset: 16 });
  });

  it('decodes the first events as trace-cmd report prints them (nanoseconds kept)', () => {
    const dat = parseTraceDat(readFileSync(V6), V6);
    const lines = [...datLines(dat, V6)].map(([, l]) => l);
    expect(lines[0]).toBe('cpus=6');
    expect(lines.length - 1).toBe(7820); // SOURCE.md: 7,820 event lines
    expect(lines.find((l) => l.includes('sched_switch'))).toBe(
      'trace-cmd-6973 [002] 259445.106979220: sched_switch: prev_comm=trace-cmd prev_pid=6973 prev_prio=120 prev_state=x ==> next_comm=swapper/2 next_pid=0 next_prio=120',
    );
    const report = readFileSync(REPORT, 'utf8').split('\n');
    expect(report.find((l) => l.includes('sched_switch'))).toContain(
      '259445.106979: sched_switch:         trace-cmd:6973 [120] x ==> swapper/2:0 [120]',
    );
  });

  it.each([
    ['version 6', V6],
    ['version 7, zstd', V7],
  ])('%s: import trace-dat gives the events of the report text (times in ns, the text rounded to µs)', async (_, dat) => {
    const out = tmp();
    const a = await importFile('trace-dat', dat, join(out, 'dat.csv'));
    const b = await importFile('ftrace', REPORT, join(out, 'txt.csv'));
    expect(a.sched_switch).toBe(1552);
    expect(a.otherEvents).toEqual(b.otherEvents);
    expect(a.eventsByKind).toEqual(b.eventsByKind);
    const ra = rows(join(out, 'dat.csv'));
    const rb = rows(join(out, 'txt.csv'));
    expect(ra.length).toBe(rb.length);
    // src: the .dat's event number is the report's line number; its time keeps the nanoseconds
    const srcMicros = (src: string) => {
      const [, sec, ns, line] = /^(\d+)\.(\d{9})@L(\d+)$/.exec(src)!;
      return `${Math.round(Number(`${sec}${ns}`) / 1000)}@L${line}`;
    };
    const textSrc = (src: string) => src.replace(/^(\d+)\.(\d{6})@/, '$1$2@');
    expect(ra.map(([t, ...rest]) => [toMicros(t!), ...rest.slice(0, -1), srcMicros(rest.at(-1)!)])).toEqual(
      rb.map((r) => [...r.slice(0, -1), textSrc(r.at(-1)!)]),
    );
    expect(ra.some(([t]) => !t!.endsWith('000'))).toBe(true); // the .dat keeps nanoseconds
  });

  it('v6 and its v7 zstd copy give byte-identical traces; import auto recognises both', async () => {
    const out = tmp();
    for (const [f, name] of [
      [V6, 'a.csv'],
      [V7, 'b.csv'],
    ] as const) {
      const r = await cli('import', 'auto', f, '-o', join(out, name), '--json');
      expect(r.code).toBe(0);
      expect(JSON.parse(r.out).kind).toBe('trace-dat');
    }
    const body = (n: string) => readFileSync(join(out, n), 'utf8').split('\n').slice(1).join('\n');
    expect(body('a.csv')).toBe(body('b.csv'));
  });
});

describe('sched_switch prev_state from the format file', () => {
  it('old numbering (TASK_STATE_MAX 2048): 64 is x, 2048 is +, 0 is R', () => {
    const f = stateFlags(
      '"...", REC->prev_state & (2048-1) ? __print_flags(REC->prev_state & (2048-1), "|", { 1, "S"} , { 2, "D" }, { 16, "Z" }, { 32, "X" }, { 64, "x" }, { 1024, "N" }) : "R", REC->prev_state & 2048 ? "+" : ""',
    )!;
    expect([f(64), f(0), f(2048), f(1), f(3)]).toEqual(['x', 'R', 'R+', 'S', 'S|D']);
  });
  it('v4.14+ numbering (TASK_REPORT_MAX 0x100): 0x40 is P (parked), not a dead task', () => {
    const f = stateFlags(
      '__print_flags(REC->prev_state & ((((0x0000 | 0x0001) + 1) << 1) - 1), "|", { 0x01, "S" }, { 0x02, "D" }, { 0x10, "X" }, { 0x20, "Z" }, { 0x40, "P" }, { 0x80, "I" }) : "R", REC->prev_state & (((0x0000 | 0x0001) + 1) << 1) ? "+" : ""',
    )!;
    expect([f(0x40), f(0x10), f(0x100)]).toEqual(['P', 'X', 'R+']);
  });
});

/** A minimal version-6 trace.dat written by hand (layout of trace-cmd.dat.v6.5), 2 CPUs. */
function buildDat(cpuPages: Buffer[][]): Buffer {
  const parts: Buffer[] = [];
  const u16 = (v: number) => {
    const b = Buffer.alloc(2);
    b.writeUInt16LE(v);
    return b;
  };
  const u32 = (v: number) => {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(v);
    return b;
  };
  const u64 = (v: number) => {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(BigInt(v));
    return b;
  };
  const str = (s: string) => Buffer.from(s, 'latin1');
  const sized = (s: string, size = u64) => [size(Buffer.byteLength(s, 'latin1')), str(s)];
  const common =
    '\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;\n\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;\n\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;\n\n';
  const fmt = (name: string, id: number, fields: string, print: string) =>
    `name: ${name}\nID: ${id}\nformat:\n${common}${fields}\nprint fmt: ${print}\n`;
  const f = (decl: string, off: number, size: number, signed = 0) => `\tfield:${decl};\toffset:${off};\tsize:${size};\tsigned:${signed};\n`;
  const mask = '((((0x0000 | 0x0001 | 0x0002 | 0x0004 | 0x0008 | 0x0010 | 0x0020 | 0x0040) + 1) << 1) - 1)';
  const formats = [
    fmt(
      'sched_switch',
      316,
      f('char prev_comm[16]', 8, 16) +
        f('pid_t prev_pid', 24, 4, 1) +
        f('int prev_prio', 28, 4, 1) +
        f('long prev_state', 32, 8, 1) +
        f('char next_comm[16]', 40, 16) +
        f('pid_t next_pid', 56, 4, 1) +
        f('int next_prio', 60, 4, 1),
      `"prev_comm=%s prev_pid=%d prev_prio=%d prev_state=%s%s ==> next_comm=%s next_pid=%d next_prio=%d", REC->prev_comm, REC->prev_pid, REC->prev_prio, (REC->prev_state & ${mask}) ? __print_flags(REC->prev_state & ${mask}, "|", { 0x0001, "S" }, { 0x0002, "D" }, { 0x0004, "T" }, { 0x0008, "t" }, { 0x0010, "X" }, { 0x0020, "Z" }, { 0x0040, "P" }, { 0x0080, "I" }) : "R", REC->prev_state & (((0x0000 | 0x0001 | 0x0002 | 0x0004 | 0x0008 | 0x0010 | 0x0020 | 0x0040) + 1) << 1) ? "+" : "", REC->next_comm, REC->next_pid, REC->next_prio`,
    ),
    fmt(
      'sched_process_fork',
      311,
      f('char parent_comm[16]', 8, 16) +
        f('pid_t parent_pid', 24, 4, 1) +
        f('char child_comm[16]', 28, 16) +
        f('pid_t child_pid', 44, 4, 1),
      '"comm=%s pid=%d child_comm=%s child_pid=%d", REC->parent_comm, REC->parent_pid, REC->child_comm, REC->child_pid',
    ),
    fmt(
      'sched_process_exec',
      310,
      f('__data_loc char[] filename', 8, 4) + f('pid_t pid', 12, 4, 1) + f('pid_t old_pid', 16, 4, 1),
      '"filename=%s pid=%d old_pid=%d", __get_str(filename), REC->pid, REC->old_pid',
    ),
    fmt(
      'sched_process_exit',
      313,
      f('char comm[16]', 8, 16) + f('pid_t pid', 24, 4, 1) + f('int prio', 28, 4, 1),
      '"comm=%s pid=%d prio=%d", REC->comm, REC->pid, REC->prio',
    ),
  ];
  const headerPage =
    '\tfield: u64 timestamp;\toffset:0;\tsize:8;\tsigned:0;\n\tfield: local_t commit;\toffset:8;\tsize:8;\tsigned:1;\n\tfield: int overwrite;\toffset:8;\tsize:1;\tsigned:1;\n\tfield: char data;\toffset:16;\tsize:4080;\tsigned:0;\n';
  parts.push(Buffer.from([0x17, 0x08, 0x44]), str('tracing6\0'), Buffer.from([0, 8]), u32(4096));
  parts.push(str('header_page\0'), ...sized(headerPage), str('header_event\0'), ...sized('# compressed entry header\n'));
  parts.push(u32(0), u32(1), str('sched\0'), u32(formats.length), ...formats.flatMap((t) => sized(t)));
  parts.push(u32(0), u32(0), ...sized('100 bash\n101 ls\n200 sh\n'), u32(cpuPages.length));
  parts.push(str('options  \0'), u16(8), u32(4), u32(cpuPages.length), u16(0), str('flyrecord\0'));
  const head = Buffer.concat(parts);
  let at = Math.ceil((head.length + 16 * cpuPages.length) / 4096) * 4096;
  const table: Buffer[] = [];
  for (const pages of cpuPages) {
    table.push(u64(at), u64(pages.length * 4096));
    at += pages.length * 4096;
  }
  const meta = Buffer.concat([head, ...table]);
  return Buffer.concat([meta, Buffer.alloc(Math.ceil(meta.length / 4096) * 4096 - meta.length), ...cpuPages.flat()]);
}

/** A ring-buffer page: timestamp, commit, then events (`[typeLen, delta, payload]`). */
function page(ts: number, events: [number, number, Buffer][]): Buffer {
  const body = Buffer.concat(
    events.map(([type, delta, payload]) => {
      const h = Buffer.alloc(4);
      h.writeUInt32LE(((delta << 5) | type) >>> 0);
      return Buffer.concat([h, payload]);
    }),
  );
  const p = Buffer.alloc(4096);
  p.writeBigUInt64LE(BigInt(ts), 0);
  p.writeBigUInt64LE(BigInt(body.length), 8);
  body.copy(p, 16);
  return p;
}

function rec(id: number, pid: number, size: number, fill: (b: Buffer) => void): Buffer {
  const b = Buffer.alloc(size);
  b.writeUInt16LE(id, 0);
  b.writeInt32LE(pid, 4);
  fill(b);
  return b;
}
const sw = (prev: [string, number], state: number, next: [string, number]) =>
  rec(316, prev[1], 64, (b) => {
    b.write(prev[0], 8, 'latin1');
    b.writeInt32LE(prev[1], 24);
    b.writeInt32LE(120, 28);
    b.writeBigInt64LE(BigInt(state), 32);
    b.write(next[0], 40, 'latin1');
    b.writeInt32LE(next[1], 56);
    b.writeInt32LE(120, 60);
  });
const u32le = (v: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v);
  return b;
};

describe('ring-buffer pages written by hand (time extend, padding, long events, CPU merge)', () => {
  const T0 = 1_000_000_000;
  const exec = rec(310, 101, 28, (b) => {
    b.writeUInt32LE((8 << 16) | 20, 8);
    b.writeInt32LE(101, 12);
    b.writeInt32LE(101, 16);
    b.write('/bin/ls\0', 20, 'latin1');
  });
  const cpu0 = page(T0, [
    [16, 10, sw(['swapper/0', 0], 0, ['bash', 100])],
    [
      12,
      20,
      rec(311, 100, 48, (b) => {
        b.write('bash', 8);
        b.writeInt32LE(100, 24);
        b.write('bash', 28);
        b.writeInt32LE(101, 44);
      }),
    ],
    [30, 5, u32le(3)], // time extend: 3 << 27 + 5 ns
    [16, 0, sw(['bash', 100], 1, ['bash', 101])],
    [29, 7, Buffer.concat([u32le(12), Buffer.alloc(8)])], // a discarded event: padding that keeps its delta; array[0] counts the bytes after the header
    [0, 10, Buffer.concat([u32le(exec.length + 4), exec])], // type_len 0: the length in array[0]
    [
      8,
      10,
      rec(313, 101, 32, (b) => {
        b.write('ls', 8);
        b.writeInt32LE(101, 24);
        b.writeInt32LE(120, 28);
      }),
    ],
    [16, 10, sw(['ls', 101], 0x10, ['swapper/0', 0])],
    [29, 0, Buffer.alloc(0)], // the rest of the page is empty
  ]);
  const cpu1 = [
    page(T0 + 15, [[16, 0, sw(['swapper/1', 0], 0, ['sh', 200])]]),
    page(T0 + 1_000_000_000, [[16, 0, sw(['sh', 200], 0x100, ['swapper/1', 0])]]),
  ];
  const ext = T0 + 30 + 3 * 2 ** 27 + 5;

  it('decodes every record type and merges the CPUs by timestamp', () => {
    const file = buildDat([[cpu0], cpu1]);
    const lines = [...datLines(parseTraceDat(file, 'hand.dat'), 'hand.dat')].map(([, l]) => l);
    expect(lines).toEqual([
      'cpus=2',
      '<idle>-0 [000] 1.000000010: sched_switch: prev_comm=swapper/0 prev_pid=0 prev_prio=120 prev_state=R ==> next_comm=bash next_pid=100 next_prio=120',
      '<idle>-0 [001] 1.000000015: sched_switch: prev_comm=swapper/1 prev_pid=0 prev_prio=120 prev_state=R ==> next_comm=sh next_pid=200 next_prio=120',
      'bash-100 [000] 1.000000030: sched_process_fork: comm=bash pid=100 child_comm=bash child_pid=101',
      `bash-100 [000] 1.${String(ext - T0).padStart(9, '0')}: sched_switch: prev_comm=bash prev_pid=100 prev_prio=120 prev_state=S ==> next_comm=bash next_pid=101 next_prio=120`,
      `ls-101 [000] 1.${String(ext - T0 + 17).padStart(9, '0')}: sched_process_exec: filename=/bin/ls pid=101 old_pid=101`,
      `ls-101 [000] 1.${String(ext - T0 + 27).padStart(9, '0')}: sched_process_exit: comm=ls pid=101 prio=120`,
      `ls-101 [000] 1.${String(ext - T0 + 37).padStart(9, '0')}: sched_switch: prev_comm=ls prev_pid=101 prev_prio=120 prev_state=X ==> next_comm=swapper/0 next_pid=0 next_prio=120`,
      'sh-200 [001] 2.000000000: sched_switch: prev_comm=sh prev_pid=200 prev_prio=120 prev_state=R+ ==> next_comm=swapper/1 next_pid=0 next_prio=120',
    ]);
  });

  it('imports with the lifecycle events: fork, exec (fresh mm), exit; by hand', async () => {
    const f = join(tmp(), 'hand.dat');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(f, buildDat([[cpu0], cpu1]));
    const out = join(tmp(), 'hand.csv');
    const s = await importFile('auto', f, out);
    expect(s.kind).toBe('trace-dat');
    // src: the timestamp in ns, and the event's number after the cpus=2 line (as trace-cmd report numbers its lines)
    const src = (ns: number, line: number) => `1.${String(ns - T0).padStart(9, '0')}@L${line}`;
    expect(rows(out).map((r) => [...r.slice(0, 5), r[12]].join(','))).toEqual([
      `${T0 + 10},fork,,100,p100:bash,${src(T0 + 10, 2)}`,
      `${T0 + 10},schedule,0,100,,${src(T0 + 10, 2)}`,
      `${T0 + 15},fork,,200,p200:sh,${src(T0 + 15, 3)}`,
      `${T0 + 15},schedule,1,200,,${src(T0 + 15, 3)}`,
      `${T0 + 30},fork,,101,p101:bash,${src(T0 + 30, 4)}`,
      `${ext},schedule,0,101,,${src(ext, 5)}`,
      `${ext + 17},exec,,101,p101#1:ls,${src(ext + 17, 6)}`,
      `${ext + 27},exit,,101,,${src(ext + 27, 7)}`,
      `${ext + 37},schedule,0,0,,${src(ext + 37, 8)}`,
      `${T0 + 1_000_000_000},schedule,1,0,,2.000000000@L9`,
    ]);
  });

  it('a CPU table entry missing from the file: exit 2 naming the CPU', async () => {
    const file = buildDat([[cpu0], cpu1]);
    const cut = file.subarray(0, file.length - 4096);
    const f = join(tmp(), 'cut.dat');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(f, cut);
    const r = await cli('import', 'trace-dat', f, '-o', join(tmp(), 'x.csv'));
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/cut\.dat: CPU 1's trace data \(8192 bytes at offset \d+\) goes past the end of the file/);
  });
});
