/**
 * The one-pass trace.dat import (src/import/tracedat/fast.ts, `datRecording` in import.ts) against
 * its definition, the import of the records' ftrace text (`importFile(..., { datText: true })`, the
 * lines of `datLines`): the same trace (byte for byte), the same summary, the same error with the
 * same line, column and byte offset. On the shipped recordings, on trace.dat files written here
 * with every kind of line the fast path must leave to the text (comms with spaces, `#`, `cpus=`,
 * `#P:`, a pid pattern inside, negative pids, timestamps beyond 2^53, event names with `:`, perf_
 * names, state letters with spaces, newlines in strings, lost events, events without a format), on
 * random files made of those parts, and on the fuzzer's mutated trace.dat samples. And record by
 * record: whenever the fast path reads a record, the text parsers read its line the same way.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { importFile } from '../src/import/import.js';
import { parseFtraceLine, parseLostEvents, parseSchedSwitch } from '../src/import/ftrace-line.js';
import { LIFECYCLE_EVENTS } from '../src/import/lifecycle.js';
import { DatEvents, OTHER, SWITCH, TEXT } from '../src/import/tracedat/fast.js';
import { RecordMerge, parseTraceDat } from '../src/import/tracedat/index.js';
import { InputError } from '../src/trace/errors.js';
import { formatCaseArb } from './fuzz/formats.js';

const REC = 'traces/real/recordings/lisa-juno-rtapp';
const dir = mkdtempSync(join(tmpdir(), 'asid-replay-tracedat-fast-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

type Opts = NonNullable<Parameters<typeof importFile>[3]>;

/** The import of `file` both ways: trace, summary (JSON) or error (as the CLI prints it). */
async function importBoth(file: string, opts: Opts = {}): Promise<[string, string]> {
  const out = join(dir, 'out.csv');
  const run = async (datText: boolean) => {
    rmSync(out, { force: true });
    try {
      const s = await importFile('trace-dat', file, out, { ...opts, datText });
      return `${JSON.stringify(s, null, 1)}\n${readFileSync(out, 'utf8')}`;
    } catch (e) {
      if (e instanceof InputError) return `error ${e.format()}`;
      throw e;
    }
  };
  return [await run(true), await run(false)];
}

async function expectSame(bytes: Buffer, opts: Opts = {}): Promise<string> {
  const f = join(dir, 'in.dat');
  writeFileSync(f, bytes);
  const [text, fast] = await importBoth(f, opts);
  expect(fast).toBe(text);
  return fast;
}

// ---------------------------------------------------------------------------------------------
// trace.dat version 6 written here (the layout of test/ux-tracedat-lines.test.ts, several CPUs).

const u = (n: number, v: number | bigint) => {
  const b = Buffer.alloc(n);
  if (n === 2) b.writeUInt16LE(Number(v));
  else if (n === 4) b.writeUInt32LE(Number(v) >>> 0);
  else b.writeBigUInt64LE(BigInt.asUintN(64, BigInt(v)));
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

const ID = {
  print: 5,
  bprint: 6,
  sw: 316,
  fork: 317,
  exec: 318,
  exit: 319,
  rename: 320,
  newtask: 321,
  colon: 400,
  perf: 401,
  numeric: 402,
};

/** The `prev_state` letters of the sched_switch print fmt (`{ value, "letters" }` pairs). */
const stateFmt = (letters: readonly string[]) =>
  `"prev_comm=%s prev_pid=%d prev_prio=%d prev_state=%s ==> next_comm=%s next_pid=%d next_prio=%d", REC->prev_comm, REC->prev_pid, REC->prev_prio, ` +
  `__print_flags(REC->prev_state & 63, "|", ${letters.map((l, i) => `{ 0x${(1 << i).toString(16)}, "${l}" }`).join(', ')}), REC->next_comm, REC->next_pid, REC->next_prio`;

function formats(letters: readonly string[]): { ftrace: string[]; systems: [string, string[]][] } {
  const other = (name: string, id: number) =>
    format(name, id, field('unsigned long ip', 8, 8) + field('const char * fmt', 16, 8) + field('u32 buf[]', 24, 0), '"%ps", REC->ip');
  return {
    ftrace: [
      format('print', ID.print, field('unsigned long ip', 8, 8) + field('char buf[]', 16, 0), '"%ps: %s", (void *)REC->ip, REC->buf'),
      other('bprint', ID.bprint),
    ],
    systems: [
      [
        'sched',
        [
          format(
            'sched_switch',
            ID.sw,
            field('char prev_comm[16]', 8, 16) +
              field('pid_t prev_pid', 24, 4, 1) +
              field('int prev_prio', 28, 4, 1) +
              field('long prev_state', 32, 8, 1) +
              field('char next_comm[16]', 40, 16) +
              field('pid_t next_pid', 56, 4, 1) +
              field('int next_prio', 60, 4, 1),
            stateFmt(letters),
          ),
          format(
            'sched_process_fork',
            ID.fork,
            field('char parent_comm[16]', 8, 16) +
              field('pid_t parent_pid', 24, 4, 1) +
              field('char child_comm[16]', 28, 16) +
              field('pid_t child_pid', 44, 4, 1),
            '"comm=%s pid=%d child_comm=%s child_pid=%d"',
          ),
          format(
            'sched_process_exec',
            ID.exec,
            field('__data_loc char[] filename', 8, 4) + field('pid_t pid', 12, 4, 1) + field('pid_t old_pid', 16, 4, 1),
            '"filename=%s pid=%d old_pid=%d"',
          ),
          format(
            'sched_process_exit',
            ID.exit,
            field('char comm[16]', 8, 16) + field('pid_t pid', 24, 4, 1) + field('int prio', 28, 4, 1),
            '"comm=%s pid=%d prio=%d"',
          ),
        ],
      ],
      [
        'task',
        [
          format(
            'task_rename',
            ID.rename,
            field('pid_t pid', 8, 4, 1) +
              field('char oldcomm[16]', 12, 16) +
              field('char newcomm[16]', 28, 16) +
              field('short oom_score_adj', 44, 2, 1),
            '"pid=%d oldcomm=%s newcomm=%s oom_score_adj=%hd"',
          ),
          format(
            'task_newtask',
            ID.newtask,
            field('pid_t pid', 8, 4, 1) +
              field('char comm[16]', 12, 16) +
              field('unsigned long clone_flags', 32, 8) +
              field('short oom_score_adj', 40, 2, 1),
            '"pid=%d comm=%s clone_flags=%lx oom_score_adj=%hd"',
          ),
        ],
      ],
      ['odd', [other('ev:colon', ID.colon), other('perf_fork', ID.perf), other('123', ID.numeric)]],
    ],
  };
}

/** One CPU's page: its timestamp, the records ([delta ns, bytes]) and the events lost before it (-1: not counted). */
interface Page {
  ts: bigint;
  records: [number, Buffer][];
  lost?: number;
}

/** A version-6 trace.dat: saved command lines, `prev_state` letters, and each CPU's pages. */
function writeDat(cmdlines: string, cpus: Page[][], letters: readonly string[] = ['S', 'D', 'T', 't', 'X', 'Z']): Buffer {
  const f = formats(letters);
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
    u(4, f.ftrace.length),
    ...f.ftrace.flatMap(sized),
    u(4, f.systems.length),
    ...f.systems.flatMap(([name, list]) => [str(`${name}\0`), u(4, list.length), ...list.flatMap(sized)]),
    u(4, 0),
    u(4, 0),
    ...sized(cmdlines),
    u(4, cpus.length),
    str('options  \0'),
    u(2, 0),
    str('flyrecord\0'),
  ]);
  const at = Math.ceil((head.length + 16 * cpus.length) / 4096) * 4096;
  const data = cpus.map((pages) => Buffer.concat(pages.map(pageBytes)));
  const table: Buffer[] = [];
  let offset = at;
  for (const d of data) {
    table.push(u(8, d.length ? offset : 0), u(8, d.length));
    offset += d.length;
  }
  const meta = Buffer.concat([head, ...table]);
  return Buffer.concat([meta, Buffer.alloc(at - meta.length), ...data]);
}

function pageBytes(p: Page): Buffer {
  const body = Buffer.concat(
    p.records.map(([delta, rec]) => {
      const words = Math.ceil(rec.length / 4);
      const padded = Buffer.concat([rec, Buffer.alloc(words * 4 - rec.length)]);
      if (words <= 28) return Buffer.concat([u(4, ((delta << 5) | words) >>> 0), padded]);
      return Buffer.concat([u(4, (delta << 5) >>> 0), u(4, padded.length + 4), padded]); // type_len 0: the length follows
    }),
  );
  const page = Buffer.alloc(4096);
  page.writeBigUInt64LE(p.ts, 0);
  let commit = BigInt(body.length);
  if (p.lost !== undefined) {
    commit |= 1n << 31n;
    if (p.lost >= 0) {
      commit |= 1n << 30n;
      page.writeBigUInt64LE(BigInt(p.lost), 16 + body.length);
    }
  }
  page.writeBigUInt64LE(commit, 8);
  body.copy(page, 16);
  return page;
}

const rec = (id: number, pid: number, size: number, fill: (b: Buffer) => void = () => {}) => {
  const b = Buffer.alloc(size);
  b.writeUInt16LE(id, 0);
  b.writeInt32LE(pid, 4);
  fill(b);
  return b;
};
const put = (b: Buffer, s: string, at: number, size: number) => b.write(s.slice(0, size), at, 'latin1');
const R = {
  sw: (pid: number, prev: [string, number, number?], next: [string, number]) =>
    rec(ID.sw, pid, 64, (b) => {
      put(b, prev[0], 8, 16);
      b.writeInt32LE(prev[1], 24);
      b.writeInt32LE(120, 28);
      b.writeBigInt64LE(BigInt(prev[2] ?? 1), 32);
      put(b, next[0], 40, 16);
      b.writeInt32LE(next[1], 56);
      b.writeInt32LE(120, 60);
    }),
  print: (pid: number, text: string) => rec(ID.print, pid, 16 + text.length + 1, (b) => put(b, text, 16, text.length)),
  other: (id: number, pid: number) => rec(id, pid, 24),
  fork: (pid: number, parent: [string, number], child: [string, number]) =>
    rec(ID.fork, pid, 48, (b) => {
      put(b, parent[0], 8, 16);
      b.writeInt32LE(parent[1], 24);
      put(b, child[0], 28, 16);
      b.writeInt32LE(child[1], 44);
    }),
  exec: (pid: number, file: string, execPid = pid) =>
    rec(ID.exec, pid, 20 + file.length + 1, (b) => {
      b.writeUInt32LE(((file.length + 1) << 16) | 20, 8);
      b.writeInt32LE(execPid, 12);
      b.writeInt32LE(execPid, 16);
      put(b, file, 20, file.length);
    }),
  exit: (pid: number, comm: string, exitPid = pid) =>
    rec(ID.exit, pid, 32, (b) => {
      put(b, comm, 8, 16);
      b.writeInt32LE(exitPid, 24);
      b.writeInt32LE(120, 28);
    }),
  rename: (pid: number, from: string, to: string) =>
    rec(ID.rename, pid, 48, (b) => {
      b.writeInt32LE(pid, 8);
      put(b, from, 12, 16);
      put(b, to, 28, 16);
    }),
  newtask: (pid: number, child: number, comm: string, flags: number) =>
    rec(ID.newtask, pid, 48, (b) => {
      b.writeInt32LE(child, 8);
      put(b, comm, 12, 16);
      b.writeBigUInt64LE(BigInt(flags), 32);
    }),
  unknown: (pid: number) => rec(999, pid, 16),
};

/** Saved command lines: plain, and every comm the line pattern or the header rules would read otherwise. */
const CMDLINES = [
  [100, 'bash'],
  [101, 'rt-app'],
  [102, 'UI Thread'],
  [103, '#hash'],
  [104, 'cpus=4'],
  [105, 'TRACE:x'],
  [106, 'x#P:9'],
  [107, 'a-12 [003] 1.5: y: z'],
  [108, 'foo-12'],
  [109, ' lead'],
  [110, 'trail '],
  [111, 'cr\rx'],
  [112, '[br]'],
  [113, 'kworker/u12:1'],
  [114, 'cpus='],
  [115, 'x-5 (7) [001]'],
  [116, 'CPU:1 [LOST 3 EVENTS]'],
  [117, 'version = 6'],
  [119, 'x-5 (7) [001] 1.5: y: z'], // its lines read as pid 5 of thread group 7: the TGID names tasks 5 and 7
  [120, 'CPU 1 is empty'],
  [121, 'a-1 b'],
  [122, 'nb\u00a0sp'],
  [123, 'x -7 y'],
  [124, '\u00a0lead'],
  [125, 'Binder:1234_5'],
] as const;
const cmdlines = (list: readonly (readonly [number, string])[]) => list.map(([p, c]) => `${p} ${c}\n`).join('') + '118 \n';

/** Comms of event fields: plain, with spaces, the sched_switch keys, `#P:`, control characters. */
const COMMS = ['bash', 'sh', 'UI Thread', 'a prev_pid=1 x', 'b next_pid=2 y', '#P:3', 'nl\nx', 'x ==> y', 'swapper/0', '', ' '];
const PIDS = [
  0, 2, 5, 7, 100, 101, 102, 103, 104, 105, 106, 107, 108, 109, 110, 111, 112, 113, 114, 115, 116, 117, 118, 119, 120, 121, 122, 123, 124,
  125, 200, -5,
];

// ---------------------------------------------------------------------------------------------

describe('trace.dat import: the records read directly give the import of their text', () => {
  it.each([
    ['v6', 'trace.dat', {}],
    ['v7 zstd', 'trace-v7-zstd.dat', {}],
    ['v6 --overlay top:2', 'trace.dat', { overlay: { processes: 'top:2', dmaPerSwitch: 2, unmapEvery: 8 } }],
    ['v6 --cpus 2 (a CPU outside the system)', 'trace.dat', { cpus: 2 }],
    ['v6 --comm-change rename --kernel-threads ^sh$', 'trace.dat', { commChange: 'rename', kernelThreads: /^sh$/ }],
  ] as [string, string, Opts][])('the LISA recording, %s', async (_, name, opts) => {
    const [text, fast] = await importBoth(join(REC, name), opts);
    expect(fast).toBe(text);
  });

  it('comms, names, numbers and strings the text reads otherwise (each fast record checked against its line too)', async () => {
    const cpu0: Page[] = [
      {
        ts: 1_000_000_000n,
        records: [
          [10, R.sw(0, ['swapper/0', 0], ['bash', 100])],
          ...PIDS.map((p, i): [number, Buffer] => [3, i % 2 ? R.other(ID.bprint, p) : R.print(p, `hi ${p}`)]),
          [10, R.sw(100, ['bash', 100], ['UI Thread', 102])],
          [10, R.sw(102, ['UI Thread', 102], ['a prev_pid=1 x', 103])],
          [10, R.sw(103, ['a prev_pid=1 x', 103], ['b next_pid=2 y', 104])],
          [10, R.sw(104, ['b next_pid=2 y', 104], ['#P:3', 105])],
          [10, R.sw(105, ['#P:3', 105], ['nl\nx', 106])],
          [10, R.sw(106, ['nl\nx', 106], ['x ==> y', 107])],
          [10, R.sw(107, ['x ==> y', 107, 16], ['sh', 108])],
          [10, R.sw(-5, ['sh', -5], ['sh', 109])],
          [10, R.other(ID.colon, 100)],
          [10, R.other(ID.perf, 100)],
          [10, R.other(ID.numeric, 100)],
          [10, R.unknown(100)],
          [10, R.print(100, 'a\nb\nc\n')],
          [10, R.print(100, 'cpus #P:16 x')],
          [10, R.fork(109, ['sh', 109], ['sh', 201])],
          [10, R.exec(201, '/bin/with space #P:2')],
          [10, R.exec(201, '/bin/ls')],
          [10, R.rename(201, 'ls', 'UI Thread')],
          [10, R.newtask(201, 202, 'ls', 0x100)],
          [10, R.exit(201, 'ls')],
          [10, R.sw(201, ['ls', 201, 16], ['swapper/0', 0])],
        ],
      },
    ];
    const cpu1: Page[] = [
      { ts: 1_000_000_005n, records: PIDS.map((p): [number, Buffer] => [7, R.sw(p, ['sh', p], ['bash', 100])]) },
      { ts: 1_000_010_000n, lost: 3, records: [[5, R.sw(100, ['bash', 100], ['sh', 110])]] },
      { ts: 1_000_020_000n, lost: -1, records: [[5, R.sw(110, ['sh', 110], ['sh', 111])]] },
    ];
    const file = writeDat(cmdlines(CMDLINES), [cpu0, cpu1]);
    const out = await expectSame(file, { allowLostEvents: true });
    expect(out).toMatch(/"sched_switch": \d+/);
    const counts = checkRecords(file);
    expect(counts.text).toBeGreaterThan(20); // the odd records went to the text
    expect(counts.fast).toBeGreaterThan(10);
    expect(await expectSame(file)).toMatch(/^error .*the recording lost events/); // refused at the same line
    expect(await expectSame(file, { allowLostEvents: true, cpus: 1 })).toMatch(/^error .*CPU 1 is outside/);
  });

  it('state letters with a space, or #P:, and timestamps beyond 2^53 ns go to the text', async () => {
    for (const letters of [
      ['S x', 'D'],
      ['#P:1', 'D'],
      ['S', 'D', 'T', 't', 'X', 'Z'],
    ]) {
      const pages = (ts: bigint): Page[] => [
        {
          ts,
          records: [
            [10, R.sw(0, ['swapper/0', 0, 0], ['bash', 100])],
            [10, R.sw(100, ['bash', 100, 1], ['sh', 200])],
            [10, R.sw(200, ['sh', 200, 3], ['bash', 100])],
            [10, R.sw(100, ['bash', 100, 16], ['swapper/0', 0])],
          ],
        },
      ];
      for (const ts of [1_000_000_000n, 2n ** 53n - 20n, 2n ** 53n + 1000n, 2n ** 64n - 1000n]) {
        const file = writeDat(cmdlines(CMDLINES), [pages(ts)], letters);
        await expectSame(file);
        checkRecords(file);
      }
    }
  });

  it('random recordings made of these parts', async () => {
    const record = fc.oneof(
      fc.record({
        k: fc.constant('sw'),
        pid: fc.constantFrom(...PIDS),
        a: fc.constantFrom(...COMMS),
        b: fc.constantFrom(...COMMS),
        p: fc.constantFrom(...PIDS),
        q: fc.constantFrom(...PIDS),
        s: fc.nat(80),
      }),
      fc.record({
        k: fc.constantFrom('print', 'bprint', 'colon', 'perf', 'numeric', 'unknown', 'exit', 'rename'),
        pid: fc.constantFrom(...PIDS),
        a: fc.constantFrom(...COMMS),
      }),
      fc.record({
        k: fc.constantFrom('fork', 'exec', 'newtask'),
        pid: fc.constantFrom(...PIDS),
        a: fc.constantFrom(...COMMS),
        p: fc.constantFrom(...PIDS),
      }),
    );
    const page = fc.record({
      ts: fc.constantFrom(1_000_000_000n, 5_000_000_000n, 2n ** 53n - 500n),
      lost: fc.option(fc.constantFrom(-1, 0, 2), { nil: undefined }),
      records: fc.array(fc.tuple(fc.nat(1000), record), { minLength: 0, maxLength: 14 }),
    });
    const arb = fc.record({
      cpus: fc.array(fc.array(page, { maxLength: 2 }), { minLength: 1, maxLength: 3 }),
      names: fc.subarray([...CMDLINES]),
      letters: fc.constantFrom(['S', 'D', 'T', 't', 'X', 'Z'], ['S x', 'D']),
      allowLostEvents: fc.boolean(),
      overlay: fc.boolean(),
    });
    const make = (r: { k: string; pid: number; a?: string; b?: string; p?: number; q?: number; s?: number }): Buffer => {
      const [a, p] = [r.a ?? '', r.p ?? 0];
      switch (r.k) {
        case 'sw':
          return R.sw(r.pid, [a, r.pid, r.s], [r.b ?? '', r.q ?? 0]);
        case 'print':
          return R.print(r.pid, a);
        case 'exit':
          return R.exit(r.pid, a);
        case 'rename':
          return R.rename(r.pid, 'x', a);
        case 'fork':
          return R.fork(r.pid, [a, r.pid], [a, p]);
        case 'exec':
          return R.exec(r.pid, `/bin/${a}`, p);
        case 'newtask':
          return R.newtask(r.pid, p, a, p % 2 ? 0x100 : 0x10100);
        case 'unknown':
          return R.unknown(r.pid);
        default:
          return R.other(ID[r.k as 'bprint'], r.pid);
      }
    };
    await fc.assert(
      fc.asyncProperty(arb, async (c) => {
        const cpus = c.cpus.map((pages, cpu) =>
          pages.map((p, i): Page => ({
            ts: p.ts + BigInt(i * 1_000_000 + cpu),
            lost: p.lost,
            records: p.records.map(([d, r]) => [d, make(r)]),
          })),
        );
        const file = writeDat(cmdlines(c.names), cpus, c.letters);
        checkRecords(file);
        await expectSame(file, {
          allowLostEvents: c.allowLostEvents,
          overlay: c.overlay ? { processes: 'top:1', dmaPerSwitch: 2, unmapEvery: 8 } : undefined,
        });
      }),
      { numRuns: 150, seed: 22_006 },
    );
  });

  it.each(['trace-dat-v6', 'trace-dat-v7'] as const)('the fuzzer’s mutated %s samples', async (format) => {
    await fc.assert(
      fc.asyncProperty(formatCaseArb(format, '.'), async (c) => {
        await expectSame(c.bytes, {
          allowLostEvents: c.allowLostEvents,
          overlay: c.overlay ? { processes: 'top:1', dmaPerSwitch: 2, unmapEvery: 8 } : undefined,
        });
      }),
      { numRuns: 120, seed: 22_060 },
    );
  });
});

describe('trace.dat fields of 8 bytes', () => {
  it('read as two halves: the number Number(BigInt) gives, also beyond 2^53 and negative', async () => {
    const { FieldReader } = await import('../src/import/tracedat/records.js');
    await fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), fc.boolean(), fc.boolean(), (v, little, signed) => {
        const data = Buffer.alloc(16);
        if (little) data.writeBigUInt64LE(v, 4);
        else data.writeBigUInt64BE(v, 4);
        const f = { name: 'x', offset: 4, size: 8, signed, isString: false };
        const want = Number(signed ? BigInt.asIntN(64, v) : v);
        expect(new FieldReader(little).num({ data, start: 0, length: 16 }, f)).toBe(want);
      }),
      {
        numRuns: 2000,
        seed: 22_008,
        examples: [
          [2n ** 64n - 1n, true, true],
          [2n ** 53n + 1n, true, false],
          [2n ** 63n, false, true],
        ],
      },
    );
  });
});

/**
 * Every record the fast path reads is read the same way by the text parsers from its line; the
 * line is no header, comment, CPU count or lost-events line. Returns how many records went each way.
 */
function checkRecords(file: Buffer): { fast: number; text: number } {
  let dat;
  try {
    dat = parseTraceDat(file, 'x.dat');
  } catch {
    return { fast: 0, text: 0 };
  }
  const ev = new DatEvents(dat, new Set(['sched_switch', ...LIFECYCLE_EVENTS]), new Set(LIFECYCLE_EVENTS));
  const counts = { fast: 0, text: 0 };
  try {
    const merge = new RecordMerge(dat, 'x.dat');
    for (let r = merge.next(); r; r = merge.next()) {
      const as = ev.read(r, r.buf.cpu, r.time);
      if (as === TEXT) {
        counts.text++;
        continue;
      }
      counts.fast++;
      const line = ev.fm.line(r, r.buf.cpu, r.time, r.buf.fileOffset + r.start);
      const f = parseFtraceLine(line);
      expect(/^(#|cpus=\d|TRACE:|version = \d|CPU \d+ is empty)/.test(line.trim()), line).toBe(false);
      expect(/#P:\d/.test(line), line).toBe(false);
      expect(parseLostEvents(line), line).toBeUndefined();
      if (as === OTHER) {
        expect(f, line).toMatchObject({ event: ev.names[ev.ev!.nameIndex], body: '', tgid: undefined, cpu: r.buf.cpu });
        continue;
      }
      expect(ev.line, line).toEqual({ ...f, body: as === SWITCH ? '' : f!.body }); // a sched_switch's body is read as ev.sw
      if (as === SWITCH) expect(ev.sw, line).toEqual(parseSchedSwitch(f!.body));
    }
  } catch (e) {
    if (!(e instanceof InputError)) throw e; // a damaged page: the import refuses it both ways
  }
  return counts;
}
