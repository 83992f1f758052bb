/**
 * Provenance of a trace.dat import (`src` = `<seconds>@L<line>`): the line is the one `trace-cmd
 * report` prints the event on, also after an event whose printed text holds newlines (a
 * trace_marker write of several lines: `trace-cmd report` prints them as they are, so the events
 * after it move down). A version-6 file written by hand: sched_switch, a `print` event whose buffer
 * is "one\ntwo\nthree\n", sched_switch, a one-line `print`, sched_switch.
 *
 * What `trace-cmd report` prints for it (line: text):
 *   1: cpus=1
 *   2: <idle>-0 [000] 1.000000010: sched_switch: ... ==> next_comm=bash next_pid=100 ...
 *   3: bash-100 [000] 1.000000020: print: 0x0: one
 *   4: two
 *   5: three
 *   6: bash-100 [000] 1.000000030: sched_switch: prev_comm=bash ... ==> next_comm=sh next_pid=200 ...
 *   7: sh-200 [000] 1.000000040: print: 0x0: plain
 *   8: sh-200 [000] 1.000000050: sched_switch: prev_comm=sh ... ==> next_comm=swapper/0 ...
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { datLines, parseTraceDat } from '../src/import/tracedat/index.js';
import { tmp } from './helpers/cli.js';

const u = (n: number, v: number | bigint) => {
  const b = Buffer.alloc(n);
  if (n === 2) b.writeUInt16LE(Number(v));
  else if (n === 4) b.writeUInt32LE(Number(v));
  else b.writeBigUInt64LE(BigInt(v));
  return b;
};
const str = (s: string) => Buffer.from(s, 'latin1');
const sized = (s: string) => [u(8, Buffer.byteLength(s, 'latin1')), str(s)];
const COMMON =
  '\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;\n\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;\n\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;\n\n';
const field = (decl: string, off: number, size: number, signed = 0) =>
  `\tfield:${decl};\toffset:${off};\tsize:${size};\tsigned:${signed};\n`;
const format = (name: string, id: number, fields: string, print: string) =>
  `name: ${name}\nID: ${id}\nformat:\n${COMMON}${fields}\nprint fmt: ${print}\n`;

/** trace.dat v6, one CPU, one page of `events` ([delta ns, record]). */
function dat(events: [number, Buffer][]): Buffer {
  const sw = format(
    'sched_switch',
    316,
    field('char prev_comm[16]', 8, 16) +
      field('pid_t prev_pid', 24, 4, 1) +
      field('int prev_prio', 28, 4, 1) +
      field('long prev_state', 32, 8, 1) +
      field('char next_comm[16]', 40, 16) +
      field('pid_t next_pid', 56, 4, 1) +
      field('int next_prio', 60, 4, 1),
    '"prev_comm=%s prev_pid=%d prev_prio=%d prev_state=%s ==> next_comm=%s next_pid=%d next_prio=%d", REC->prev_comm, REC->prev_pid, REC->prev_prio, "R", REC->next_comm, REC->next_pid, REC->next_prio',
  );
  // ftrace's own print event (kernel/trace/trace_entries.h): ip, then the buffer to the record's end
  const print = format('print', 5, field('unsigned long ip', 8, 8) + field('char buf[]', 16, 0), '"%ps: %s", (void *)REC->ip, REC->buf');
  const headerPage =
    '\tfield: u64 timestamp;\toffset:0;\tsize:8;\tsigned:0;\n\tfield: local_t commit;\toffset:8;\tsize:8;\tsigned:1;\n\tfield: int overwrite;\toffset:8;\tsize:1;\tsigned:1;\n\tfield: char data;\toffset:16;\tsize:4080;\tsigned:0;\n';
  const head = Buffer.concat([
    Buffer.from([0x17, 0x08, 0x44]),
    str('tracing6\0'),
    Buffer.from([0, 8]),
    u(4, 4096),
    str('header_page\0'),
    ...sized(headerPage),
    str('header_event\0'),
    ...sized('# compressed entry header\n'),
    u(4, 1),
    ...sized(print),
    u(4, 1),
    str('sched\0'),
    u(4, 1),
    ...sized(sw),
    u(4, 0),
    u(4, 0),
    ...sized('100 bash\n200 sh\n'),
    u(4, 1),
    str('options  \0'),
    u(2, 8),
    u(4, 4),
    u(4, 1),
    u(2, 0),
    str('flyrecord\0'),
  ]);
  const at = Math.ceil((head.length + 16) / 4096) * 4096;
  const meta = Buffer.concat([head, u(8, at), u(8, 4096)]);
  const body = Buffer.concat(
    events.map(([delta, rec]) => {
      const words = Math.ceil(rec.length / 4);
      const padded = Buffer.concat([rec, Buffer.alloc(words * 4 - rec.length)]);
      const h = Buffer.alloc(4);
      h.writeUInt32LE(((delta << 5) | words) >>> 0); // type_len = the length in 4-byte words
      return Buffer.concat([h, padded]);
    }),
  );
  const page = Buffer.alloc(4096);
  page.writeBigUInt64LE(1_000_000_000n, 0);
  page.writeBigUInt64LE(BigInt(body.length), 8);
  body.copy(page, 16);
  return Buffer.concat([meta, Buffer.alloc(at - meta.length), page]);
}

const rec = (id: number, pid: number, size: number, fill: (b: Buffer) => void) => {
  const b = Buffer.alloc(size);
  b.writeUInt16LE(id, 0);
  b.writeInt32LE(pid, 4);
  fill(b);
  return b;
};
const sw = (prev: [string, number], next: [string, number]) =>
  rec(316, prev[1], 64, (b) => {
    b.write(prev[0], 8, 'latin1');
    b.writeInt32LE(prev[1], 24);
    b.writeInt32LE(120, 28);
    b.write(next[0], 40, 'latin1');
    b.writeInt32LE(next[1], 56);
    b.writeInt32LE(120, 60);
  });
const print = (pid: number, text: string) => rec(5, pid, 16 + text.length + 1, (b) => b.write(text, 16, 'latin1'));

const FILE = dat([
  [10, sw(['swapper/0', 0], ['bash', 100])],
  [10, print(100, 'one\ntwo\nthree\n')],
  [10, sw(['bash', 100], ['sh', 200])],
  [10, print(200, 'plain\n')],
  [10, sw(['sh', 200], ['swapper/0', 0])],
]);

describe('trace.dat line numbers after an event whose text holds newlines', () => {
  it('datLines numbers each event with the line trace-cmd report prints it on', () => {
    const lines = [...datLines(parseTraceDat(FILE, 'ml.dat'), 'ml.dat')];
    expect(lines.map(([n, l]) => [n, / (sched_switch|print):/.exec(l)?.[1] ?? l])).toEqual([
      [1, 'cpus=1'],
      [2, 'sched_switch'],
      [3, 'print'],
      [6, 'sched_switch'], // was 4: off by two after the three-line print
      [7, 'print'], // a trailing newline alone adds no line
      [8, 'sched_switch'],
    ]);
    expect(lines[2]![1]).toContain('buf=one?two?three?'); // the text stays one line for the importer
  });

  it('import: the src column of every row names that line (a real process, as a user runs it)', () => {
    const dir = tmp();
    const f = join(dir, 'ml.dat');
    writeFileSync(f, FILE);
    const out = join(dir, 'ml.csv');
    const r = spawnSync(process.execPath, ['bin/asid-replay.js', 'import', 'auto', f, '-o', out], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const rows = readFileSync(out, 'utf8')
      .split('\n')
      .filter((l) => /^\d/.test(l))
      .map((l) => l.split(','));
    const schedules = rows.filter((c) => c[1] === 'schedule').map((c) => c[c.length - 1]);
    expect(schedules).toEqual(['1.000000010@L2', '1.000000030@L6', '1.000000050@L8']);
  });
});
