/**
 * The fast path of the trace v1 reader (src/trace/row-tokenizer.ts, `readEventBatches`) against
 * csv-parse, which stays the definition of the format (`csvEventBatches`, the reader as it was):
 *
 * - the tokenizer, on any line, gives the event {@link fastEvent} builds from csv-parse's cells of
 *   that line, or leaves it undecided; it never decides a line that is not plain;
 * - the two readers give the same batches of events (so a replay steps the same rows before it
 *   stops) and the same first error (class, message, line:column) on the fuzz corpus (the shipped
 *   traces mutated by test/fuzz/ as `npm run fuzz` does), on generated traces of every profile,
 *   and on generated traces with rows broken on purpose around the 64 KiB batch boundaries.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseCsv } from 'csv-parse/sync';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { generateToFile } from '../src/generate/generate.js';
import { PROFILES } from '../src/generate/profiles.js';
import { replayEvents, replayFile, systemOfTrace } from '../src/replay/engine.js';
import { InputError } from '../src/trace/errors.js';
import { COLUMNS, EVENT_COLUMNS, EVENT_KINDS, type EventKind, type TraceEvent } from '../src/trace/events.js';
import { readEventBatchesParallel } from '../src/trace/parallel-reader.js';
import { fastEvent, headerIndex } from '../src/trace/fast-row.js';
import { CSV_OPTIONS, csvEventBatches, csvHeaderRecord, fastPathStats, plainHeaderRecord, readEventBatches } from '../src/trace/reader.js';
import { RowTokenizer, isPlain } from '../src/trace/row-tokenizer.js';
import { formatCaseArb } from './fuzz/formats.js';
import { traceCase } from './fuzz/targets.js';
import { tmp, tmpFile } from './helpers/cli.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
/** Cases of each property: `n` in npm test; FAST_PATH_RUNS=k runs k times as many (a long run). */
const RUNS = (n: number): number => n * Number(process.env.FAST_PATH_RUNS ?? 1);

/** What a reader gives for a file: its batches, then its error (class, where, message), if any. */
async function outcome(gen: AsyncGenerator<unknown[]>): Promise<{ batches: unknown[][]; error?: string }> {
  const batches: unknown[][] = [];
  try {
    for await (const b of gen) batches.push(b);
  } catch (e) {
    if (!(e instanceof InputError)) throw e;
    return { batches, error: `${e.constructor.name} ${e.format()} [${e.field}]` };
  }
  return { batches };
}

/** Both readers on `file`: the same outcome. */
async function sameAsCsv(file: string): Promise<{ batches: unknown[][]; error?: string }> {
  const want = await outcome(csvEventBatches(file));
  const got = await outcome(readEventBatches(file));
  expect(got.error).toBe(want.error);
  expect(got.batches).toStrictEqual(want.batches);
  return got;
}

// ---------------------------------------------------------------------------------------------
// The tokenizer alone.

/** Cells by kind of column: valid ones (decided by the fast path), then near misses. */
const GOOD: Record<string, string[]> = {
  int: ['0', '7', '4096', '0x1000', '0XfF', '000012', '123456789012345', '0x1fffffffffff'],
  name: ['P', 'dev0', 'a.b:c-d/e@f#1', '_'],
  prot: ['r', 'w', 'rw'],
  src: ['2094.163981@L5173', '1@L1'],
  event: [...EVENT_KINDS],
};
const BAD: Record<string, string[]> = {
  int: ['9007199254740991', '1234567890123456', '0x20000000000000', '0x', '0xg', '-1', '1.5', '12a', 'x'],
  name: ['P!', 'a=b', 'P[1]'],
  prot: ['wr', 'R', 'rr'],
  src: ['1.5@L0', '1.@L2', '@L3', '1.5@l3', '1@L1234567890123456'],
  event: ['Fork', 'forks', 'frok', 'scheduled', 'pn', 'toString', 'rsume', 'dmb'],
};
const CLASS: Record<string, string> = {
  time: 'int',
  cpu: 'int',
  task: 'int',
  pasid: 'int',
  va: 'int',
  size: 'int',
  mm: 'name',
  device: 'name',
  domain: 'name',
  op: 'name',
  prot: 'prot',
  src: 'src',
  event: 'event',
};

/** A header (a random subset of the columns, `event` always, in any order) and lines under it. */
const headerArb = fc
  .shuffledSubarray([...COLUMNS].filter((c) => c !== 'event'))
  .chain((cols) => fc.nat(cols.length).map((at) => [...cols.slice(0, at), 'event', ...cols.slice(at)]));

/** A cell, with now and then an odd byte in it (space, quote, CR, tab, non-ASCII, `#`, `,`, ...). */
const oddArb = (cells: string[]) =>
  fc
    .tuple(fc.constantFrom(...cells), fc.nat(), fc.constantFrom(' ', '"', '\r', '\t', '\u00e9', '\u00a0', '#', ',', '\f', '\x7f'))
    .map(([s, at, ch]) => s.slice(0, at % (s.length + 1)) + ch + s.slice(at % (s.length + 1)));

/** A cell of `column` in a row of event `kind`: mostly what the kind wants (a value where it uses the column, else empty). */
function cellArb(column: string, kind: EventKind): fc.Arbitrary<string> {
  const good = GOOD[CLASS[column]!]!;
  const bad = BAD[CLASS[column]!]!;
  const some = (weights: [number, number, number, number]) =>
    fc.oneof(
      { weight: weights[0], arbitrary: fc.constant('') },
      { weight: weights[1], arbitrary: fc.constantFrom(...good) },
      { weight: weights[2], arbitrary: fc.constantFrom(...bad) },
      { weight: weights[3], arbitrary: oddArb([...good, ...bad]) },
    );
  if (column === 'event') return fc.oneof({ weight: 30, arbitrary: fc.constant(kind) }, { weight: 1, arbitrary: some([1, 1, 2, 2]) });
  const { required, optional } = EVENT_COLUMNS[kind];
  const used = column === 'time' || column === 'src' || ([...required, ...optional] as string[]).includes(column);
  return used ? some([2, 40, 1, 1]) : some([80, 1, 1, 1]);
}

const lineArb = fc.tuple(headerArb, fc.constantFrom(...EVENT_KINDS)).chain(([header, kind]) =>
  fc.tuple(
    fc.constant(header),
    fc.tuple(...header.map((c) => cellArb(c, kind))),
    // a cell more or less, now and then
    fc.constantFrom(0, 0, 0, 0, 0, 0, 1, -1),
  ),
);

describe('row tokenizer', () => {
  it('gives fastEvent of csv-parse cells, or nothing; never decides a line that is not plain', () => {
    let decided = 0;
    fc.assert(
      fc.property(lineArb, ([header, cells, extra]) => {
        const row = extra > 0 ? [...cells, '1'] : extra < 0 ? cells.slice(0, -1) : cells;
        const text = row.join(',');
        const buf = Buffer.from(`x${text}\ny`, 'utf8');
        const tok = new RowTokenizer(header);
        const got = tok.event(buf, 1, buf.length - 2, 42);
        if (got === undefined) return;
        decided++;
        expect(isPlain(buf, 1, buf.length - 2)).toBe(true);
        // csv-parse's record of the line (the reader's options, the header first for its length)
        const [, rec] = parseCsv(`${header.join(',')}\n${text}\n`, CSV_OPTIONS) as string[][];
        expect(rec).toStrictEqual(text.split(','));
        expect(got).toStrictEqual(fastEvent(rec!, headerIndex(header), 42));
      }),
      { numRuns: RUNS(2000), seed: 20261204 },
    );
    expect(decided).toBeGreaterThan(RUNS(2000) / 10);
  });

  it('decides every plain line fastEvent decides', () => {
    fc.assert(
      fc.property(lineArb, ([header, cells]) => {
        const text = cells.join(',');
        const buf = Buffer.from(text, 'utf8');
        if (!isPlain(buf, 0, buf.length)) return;
        const want = fastEvent(text.split(','), headerIndex(header), 7);
        expect(new RowTokenizer(header).event(buf, 0, buf.length, 7)).toStrictEqual(want);
      }),
      { numRuns: RUNS(2000), seed: 20261205 },
    );
  });

  it('identifiers come from its cache once seen, and a different name in the same slot is not mistaken for it', () => {
    const tok = new RowTokenizer(['event', 'task', 'mm']);
    const line = (s: string) => Buffer.from(s);
    const a = tok.event(line('fork,1,make'), 0, 11, 1)!;
    const b = tok.event(line('fork,2,make'), 0, 11, 2)!;
    expect(a.mm).toBe('make');
    expect(b.mm).toBe('make');
    // 5000 distinct names through 4096 slots: each comes back as written
    for (let i = 0; i < 5000; i++) {
      const s = `fork,${i},m${i}`;
      expect(tok.event(line(s), 0, s.length, i)!.mm).toBe(`m${i}`);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// The reader, both paths.

describe('fast path and csv-parse give the same events and errors', () => {
  it('on the fuzz corpus (shipped traces, mutated)', async () => {
    const dir = tmp();
    let n = 0;
    let errors = 0;
    let plainHeaders = 0;
    await fc.assert(
      fc.asyncProperty(formatCaseArb('trace-v1', ROOT), async (c) => {
        const f = `${dir}/case-${n++}.csv`;
        writeFileSync(f, c.bytes);
        const r = await sameAsCsv(f);
        if (r.error) errors++;
        // the header without csv-parse, when the file lets it tell: csv-parse's record, line, delimiter and end
        const plain = await plainHeaderRecord(f);
        if (plain !== null) {
          plainHeaders++;
          expect(plain).toStrictEqual(await csvHeaderRecord(f));
        }
      }),
      { numRuns: RUNS(60), seed: 20261206 },
    );
    expect(errors).toBeGreaterThan(RUNS(60) / 5);
    expect(plainHeaders).toBeGreaterThan(RUNS(60) / 5);
  });

  it('on the traces of the CLI fuzzer (shipped and generated traces, cell, line and byte edits of test/fuzz/mutate.ts)', async () => {
    const dir = tmp();
    let n = 0;
    await fc.assert(
      fc.asyncProperty(traceCase, async (c) => {
        const f = `${dir}/case-${n++}.csv`;
        writeFileSync(f, c.files['t.csv']!);
        await sameAsCsv(f);
      }),
      { numRuns: RUNS(20), seed: 20261209 },
    );
  });

  it('on generated traces of every profile, without csv-parse', async () => {
    const dir = tmp();
    for (const profile of Object.keys(PROFILES)) {
      const f = `${dir}/${profile}.csv`;
      await generateToFile(profile, { events: 4000, seed: 3, cpus: 4, asidBits: 8, kpti: false }, f);
      const before = { ...fastPathStats };
      const r = await sameAsCsv(f);
      expect(r.error).toBeUndefined();
      expect(r.batches.flat()).toHaveLength(4000);
      expect(fastPathStats).toStrictEqual(before);
    }
  });

  it('on the shipped traces, all without csv-parse after their header', async () => {
    const { findTraces } = await import('../src/check/corpus.js');
    const before = { ...fastPathStats };
    for (const f of await findTraces([`${ROOT}traces`])) await sameAsCsv(f);
    expect(fastPathStats.handOvers).toBe(before.handOvers);
  });

  /** Edits of one line of a generated trace: plain but invalid, valid but slow, or not plain. */
  const LINE_EDITS: [string, (line: string) => string][] = [
    ['bad integer', (l) => l.replace(/^\d+/, '0x')],
    ['16-digit time', (l) => l.replace(/^\d+/, (t) => t.padStart(16, '0'))],
    ['huge time', (l) => l.replace(/^\d+/, '99999999999999999999')],
    ['time going back', (l) => l.replace(/^\d+/, '1')],
    ['unknown event', (l) => l.replace(/,[a-z]+,/, ',frok,')],
    ['a cell less', (l) => l.replace(/,$/, '')],
    ['a cell more', (l) => `${l},`],
    ['a used column emptied', (l) => l.replace(/^(\d+),([a-z]+),([^,]*),([^,]*),/, '$1,$2,,,')],
    ['an unused column filled', (l) => l.replace(/,$/, ',op1')],
    ['a space', (l) => l.replace(',', ' ,')],
    ['a tab at the start', (l) => `\t${l}`],
    ['quoted event', (l) => l.replace(/,([a-z]+),/, ',"$1",')],
    ['quoted line break', (l) => l.replace(/,([a-z]+),/, ',"$1\n",')],
    ['stray quote', (l) => l.replace(',', ',x"')],
    ['CR at the end', (l) => `${l}\r`],
    ['CR alone', (l) => `${l}\r\r`],
    ['non-ASCII byte', (l) => l.replace(',', ',\u00e9')],
    ['NBSP after a cell', (l) => l.replace(/,([a-z]+),/, ',$1\u00a0,')],
    ['comment line', (l) => `# a comment, "quoted"\n${l}`],
    ['comment with a CR', (l) => `# a\rcomment\n${l}`],
    ['blank lines', (l) => `\n\n${l}`],
    ['a line of spaces', (l) => `   \n${l}`],
    ['# inside a name', (l) => l.replace(/,(make|m\d+|jobserver),/, ',$1#2,')],
  ];

  it('on generated traces with rows broken around the 64 KiB batch boundaries', async () => {
    const dir = tmp();
    const base = `${dir}/base.csv`;
    await generateToFile('kernel-build', { events: 6000, seed: 5, cpus: 4, asidBits: 8, kpti: false }, base);
    const text = readFileSync(base, 'utf8');
    const lines = text.split('\n');
    const first = lines.findIndex((l) => l.startsWith('time,'));
    // lines whose end is near a multiple of 64 KiB (where csv-parse's chunks end), and others
    const near: number[] = [];
    for (let i = first + 1, off = lines.slice(0, first + 1).join('\n').length + 1; i < lines.length - 1; off += lines[i]!.length + 1, i++) {
      const r = (off + lines[i]!.length) % 65536;
      if (r < 80 || r > 65536 - 80) near.push(i);
    }
    expect(near.length).toBeGreaterThan(3);
    let n = 0;
    const seen = new Set<string>();
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.tuple(
            fc.nat(LINE_EDITS.length - 1),
            fc.oneof(fc.constantFrom(...near), fc.integer({ min: first + 1, max: lines.length - 2 })),
          ),
          {
            minLength: 1,
            maxLength: 3,
          },
        ),
        fc.boolean(),
        async (edits, trailingNewline) => {
          const out = [...lines];
          for (const [e, at] of edits) {
            out[at] = LINE_EDITS[e]![1](out[at]!);
            seen.add(LINE_EDITS[e]![0]);
          }
          let body = out.join('\n');
          if (!trailingNewline) body = body.replace(/\n$/, '');
          const f = `${dir}/case-${n++}.csv`;
          writeFileSync(f, body);
          await sameAsCsv(f);
        },
      ),
      { numRuns: RUNS(20), seed: 20261207 },
    );
    expect(seen.size).toBeGreaterThan(LINE_EDITS.length / 2);
  });

  it('replay: one reused event object gives the reports of fresh objects (the model keeps no event)', async () => {
    // the shipped corpus: real recordings, scenarios, and a generated trace of every profile
    const { findTraces } = await import('../src/check/corpus.js');
    for (const f of await findTraces([`${ROOT}traces`])) {
      const events = (await outcome(csvEventBatches(f))).batches.flat() as TraceEvent[];
      const want = replayEvents(events, await systemOfTrace(f), basename(f));
      expect(await replayFile(f), f).toStrictEqual(want);
    }
  });

  it('the parallel reader: the same events and first error (workers decide plain rows only)', async () => {
    const dir = tmp();
    const base = `${dir}/base.csv`;
    await generateToFile('mixed', { events: 3000, seed: 9, cpus: 4, asidBits: 8, kpti: false }, base);
    const lines = readFileSync(base, 'utf8').split('\n');
    const first = lines.findIndex((l) => l.startsWith('time,'));
    const flat = async (gen: AsyncGenerator<unknown[]>) => {
      const r = await outcome(gen);
      return { events: r.batches.flat(), error: r.error };
    };
    let n = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.nat(LINE_EDITS.length - 1), fc.integer({ min: first + 1, max: lines.length - 2 })), { maxLength: 2 }),
        async (edits) => {
          const out = [...lines];
          for (const [e, at] of edits) out[at] = LINE_EDITS[e]![1](out[at]!);
          const f = `${dir}/case-${n++}.csv`;
          writeFileSync(f, out.join('\n'));
          const par = await flat(readEventBatchesParallel(f, 2, 16384));
          const seq = await flat(csvEventBatches(f));
          expect(par.error).toBe(seq.error);
          // before an error each reader has yielded the rows of its own batches: the same rows as far as both went
          const k = Math.min(par.events.length, seq.events.length);
          expect(par.events.slice(0, k)).toStrictEqual(seq.events.slice(0, k));
          if (seq.error === undefined) expect(par.events).toHaveLength(seq.events.length);
        },
      ),
      { numRuns: RUNS(2), seed: 20261208 },
    );
  }, 300_000);

  it('the header without csv-parse: the same record as csv-parse, or csv-parse decides', async () => {
    const heads: [string, boolean][] = [
      ['# system: {"cpus": 2}\ntime,event,task\n1,fork,1\n', true],
      ['\n\n# a "quoted" comment, with commas\n\ntime,event,task\n', true],
      ['time,event,task\n', true],
      ['# \u00e9\x00 binary in a comment\nevent,task\n', true],
      ['event,tsak\nfork,1\n', true], // a bad header: undefined from both
      ['\uFEFFevent,task\nfork,1\n', false], // BOM
      ['# c\r\nevent,task\r\n', false], // CRLF
      ['# a\rb\nevent,task\n', false], // a lone CR: csv-parse's delimiter
      ['# x\n# a\rb\nevent,task\n', false], // a lone CR in a comment: csv-parse counts a line
      ['"event",task\n', false], // quoted
      [' event,task\n', false], // trimmed
      ['event,task', false], // no line break after the header
      ['', false],
    ];
    for (const [text, plain] of heads) {
      const f = tmpFile(text);
      const got = await plainHeaderRecord(f);
      if (!plain) expect(got, JSON.stringify(text)).toBeNull();
      else expect(got, JSON.stringify(text)).toStrictEqual(await csvHeaderRecord(f));
    }
  });

  it('every edit at least once, each alone (small file: one batch, the last line its own)', async () => {
    const body = [
      '# system: {"cpus": 2}',
      'time,event,cpu,task,mm,va,size',
      '1,fork,,1,make,,',
      '2,schedule,0,1,,,',
      '3,fork,,2,m1,,',
      '4,exit,,2,,,',
      '5,schedule,1,1,,,',
    ];
    for (const [what, edit] of LINE_EDITS) {
      for (const at of [2, 4, body.length - 1]) {
        const out = [...body];
        out[at] = edit(out[at]!);
        for (const eol of ['\n', '']) {
          const f = tmpFile(out.join('\n') + eol);
          await expect(sameAsCsv(f), `${what} on line ${at + 1}`).resolves.toBeDefined();
        }
      }
    }
  });
});
