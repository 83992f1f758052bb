/**
 * `replay --perfetto` on a worker thread (src/report/perfetto-thread.ts) writes the bytes the
 * writer makes in the replay's own thread (src/report/perfetto.ts, the definition): for any
 * slices and instants in any order, across batch boundaries and label renumberings, on both axes;
 * to a file the worker writes itself, plain or gzip; and a replay's whole file, from the command
 * line, equals the in-thread writer's.
 */
import { spawnSync } from 'node:child_process';
import { closeSync, constants, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PerfettoWriter } from '../src/report/perfetto.js';
import { BATCH, LABEL_SLOTS, MAX_LABELS, PerfettoThread, PerfettoWriteError } from '../src/report/perfetto-thread.js';
import type { FindingPoint, Series } from '../src/report/series.js';
import { replayFile } from '../src/replay/engine.js';
import { SeriesCollector } from '../src/report/series.js';
import { cli, tmp } from './helpers/cli.js';
import { emptySeries } from './helpers/series.js';

/** A slice's arguments, the mm's key last (one key per label, or -1: none). */
type Call =
  { slice: [number, number, number, string, number, number, number, number, number, number] } | { instant: [number, FindingPoint] };

/** The closing counters are the writer's, through either thread: an empty series with one rollover counted. */
const SERIES = (axis: 'time' | 'row'): Series => ({
  ...emptySeries(axis),
  findingCounts: { ...emptySeries(axis).findingCounts, rollover: 1 },
});

function drive(w: { slice: PerfettoThread['slice']; instant: PerfettoWriter['instant'] }, calls: Call[]): void {
  for (const c of calls)
    if ('slice' in c) w.slice(...c.slice);
    else w.instant(...c.instant);
}

async function both(axis: 'time' | 'row', calls: Call[], smmus: string[] = ['smmu0']): Promise<[Buffer, Buffer]> {
  const inThread: Buffer[] = [];
  const w = new PerfettoWriter({ write: (c: Uint8Array) => inThread.push(Buffer.from(c)) }, 2, smmus, () => axis);
  drive(w, calls);
  w.finish(SERIES(axis));
  const threaded: Buffer[] = [];
  const t = new PerfettoThread({ write: (c: Uint8Array) => threaded.push(Buffer.from(c)) }, 2, smmus, () => axis);
  drive(t, calls);
  await t.finish(SERIES(axis));
  return [Buffer.concat(inThread), Buffer.concat(threaded)];
}

/** Labels of the fast-check slices, by key. */
const LABELS = ['a', 'b"q', 'ü', 'm9', '1@2'];

const rollover = (row: number): FindingPoint => ({ x: row, row, class: 'rollover', kind: 'rollover', detail: `generation ${row}` });

describe('PerfettoThread: the bytes of the in-thread writer', () => {
  it('past the cap on slices: the slices the writer would drop are not sent, and are counted the same', async () => {
    const calls: Call[] = [];
    for (let i = 0; i < 40; i++) {
      calls.push({ slice: [i % 2, 1000 * i, 1000 * i + 500, LABELS[i % 4]!, i, i, i + 1, 1, i % 7, i % 4] });
      if (i % 9 === 0) calls.push({ instant: [1000 * i, rollover(i)] });
    }
    const inThread: Buffer[] = [];
    const w = new PerfettoWriter({ write: (c: Uint8Array) => inThread.push(Buffer.from(c)) }, 2, [], () => 'time', 7);
    drive(w, calls);
    w.finish(SERIES('time'));
    const threaded: Buffer[] = [];
    const t = new PerfettoThread({ write: (c: Uint8Array) => threaded.push(Buffer.from(c)) }, 2, [], () => 'time', { maxSlices: 7 });
    drive(t, calls);
    await t.finish(SERIES('time'));
    expect(t.slicesNotSent, 'slices 8 to 40: not sent').toBe(33);
    const json = Buffer.concat(threaded);
    expect(json.equals(Buffer.concat(inThread))).toBe(true);
    const parsed = JSON.parse(json.toString()) as { traceEvents: { ph: string }[]; otherData: { slicesDropped: number } };
    expect(parsed.traceEvents.filter((e) => e.ph === 'X')).toHaveLength(7);
    expect(
      parsed.traceEvents.filter((e) => e.ph === 'i'),
      'the instants after the cap too',
    ).toHaveLength(5);
    expect(parsed.otherData.slicesDropped).toBe(33);
  });

  it('for any slices and instants (fast-check), on both axes', async () => {
    const call = fc.oneof(
      {
        weight: 9,
        arbitrary: fc
          .tuple(
            fc.nat(1),
            fc.nat(2 ** 40),
            fc.nat(2 ** 20),
            fc.constantFrom(0, 1, 2, 3, 4),
            fc.nat(100),
            fc.nat(1e6),
            fc.nat(1e6),
            fc.nat(5),
            fc.integer({ min: -1, max: 255 }),
          )
          // a label's key is its index, or -1 (no key) for the last one
          .map(
            ([c, s, d, k, task, row, end, gen, asid]) =>
              ({ slice: [c, s, s + d, LABELS[k]!, task, row, end, gen, asid, k === 4 ? -1 : k] }) as Call,
          ),
      },
      { weight: 1, arbitrary: fc.nat(1e6).map((r) => ({ instant: [r, rollover(r)] }) as Call) },
    );
    await fc.assert(
      fc.asyncProperty(fc.constantFrom<'time' | 'row'>('time', 'row'), fc.array(call, { maxLength: 300 }), async (axis, calls) => {
        const [want, got] = await both(axis, calls);
        expect(got.equals(want)).toBe(true);
      }),
      { numRuns: 25 },
    );
  });

  it('across batch boundaries and label renumberings (more records than a batch, more labels than are numbered)', async () => {
    const calls: Call[] = [];
    const n = 2 * BATCH + 17;
    for (let i = 0; i < n; i++) {
      // labels cycle through more than MAX_LABELS, so the numbering starts again mid-trace
      const mm = `m${i % (MAX_LABELS + 300)}`;
      calls.push({ slice: [i % 2, 1000 * i, 1000 * i + 777, mm, i, i + 1, i + 2, i >> 10, i % 256, i % (MAX_LABELS + 300)] });
      if (i % 1000 === 999) calls.push({ instant: [1000 * i, rollover(i)] });
    }
    const [want, got] = await both('time', calls, []);
    expect(got.length).toBe(want.length);
    expect(got.equals(want)).toBe(true);
  });

  it('when mms share a slot of the label cache, and when a key comes back after the numbering starts again', async () => {
    const calls: Call[] = [];
    const slice = (i: number, mm: string, key: number): Call => ({ slice: [i % 2, 10 * i, 10 * i + 5, mm, i, i, i + 1, 1, 7, key] });
    // keys 5 and 5 + LABEL_SLOTS take turns in one slot: each names its own label every time
    for (let i = 0; i < 40; i++) calls.push(i % 2 ? slice(i, 'five', 5) : slice(i, 'other', 5 + LABEL_SLOTS));
    // then more new mms than are numbered before the numbering starts again, and key 5 again
    for (let i = 0; i < MAX_LABELS + 10; i++) calls.push(slice(40 + i, `n${i}`, 100 + i));
    calls.push(slice(9000, 'five', 5), slice(9001, 'five', 5));
    const [want, got] = await both('time', calls, []);
    expect(got.equals(want)).toBe(true);
    expect(want.toString().match(/"mm":"five"/g)).toHaveLength(22);
    expect(want.toString().match(/"mm":"other"/g)).toHaveLength(20);
  });

  /** A small ring for these tests (the default one holds 25 batches): 3 in flight, 4 slots. */
  const AHEAD = 3;
  const RING_SLOTS = AHEAD + 1;

  /**
   * Slices in `batches` batches (more than the ring has slots) through a {@link PerfettoThread}
   * with a ring of {@link RING_SLOTS}, waiting at most `slotWaitMs` for a slot, fed by `feed`; the bytes it wrote, the in-thread
   * writer's for the same slices, and the batches it sent as copies.
   */
  async function throughRing(
    batches: number,
    slotWaitMs: number | undefined,
    feed: (t: PerfettoThread, calls: Call[]) => Promise<void>,
  ): Promise<{ got: Buffer; want: Buffer; copied: number }> {
    const calls: Call[] = [];
    for (let i = 0; i < batches * BATCH; i++)
      calls.push({ slice: [i % 2, 1000 * i, 1000 * i + 1, `m${i % 50}`, i, i, i + 1, 1, i % 256, i % 50] });
    const inThread: Buffer[] = [];
    const w = new PerfettoWriter({ write: (c: Uint8Array) => inThread.push(Buffer.from(c)) }, 2, [], () => 'time');
    drive(w, calls);
    w.finish(SERIES('time'));
    const threaded: Buffer[] = [];
    const t = new PerfettoThread({ write: (c: Uint8Array) => threaded.push(Buffer.from(c)) }, 2, [], () => 'time', {
      ahead: AHEAD,
      ...(slotWaitMs !== undefined ? { slotWaitMs } : {}),
    });
    await feed(t, calls);
    await t.finish(SERIES('time'));
    return { got: Buffer.concat(threaded), want: Buffer.concat(inThread), copied: t.copied };
  }

  it('when the slots of the ring are filled again (the replay yields between batches)', async () => {
    const { got, want, copied } = await throughRing(2 * RING_SLOTS + 3, undefined, async (t, calls) => {
      for (let b = 0; b * BATCH < calls.length; b++) {
        drive(t, calls.slice(b * BATCH, (b + 1) * BATCH));
        // a turn of the event loop, as the replay takes one now and then: the worker's messages come in
        await new Promise((r) => setTimeout(r, 5));
      }
    });
    expect(copied).toBe(0);
    expect(got.equals(want)).toBe(true);
  });

  it('when the worker is behind: the sender waits for a slot (no copies), the bytes the same', async () => {
    // No turn of the event loop: the worker is still starting when the ring is full; within the
    // default wait it frees the slots, and every batch goes through the ring.
    const { got, want, copied } = await throughRing(3 * RING_SLOTS, undefined, async (t, calls) => drive(t, calls));
    expect(copied).toBe(0);
    expect(got.equals(want)).toBe(true);
  });

  it('when the worker is too slow to free a slot: the batches go in arrays of their own, the bytes the same', async () => {
    // No wait for a slot: the worker is still starting when the ring is full, so the batches after
    // it are copies; then, once it has caught up, a burst through the ring again. A worker that
    // counted the copies as slots freed would let the burst overwrite slots it has not read.
    let copiedFirst = 0;
    const { got, want } = await throughRing(4 * RING_SLOTS, 0, async (t, calls) => {
      const first = 2 * RING_SLOTS * BATCH;
      drive(t, calls.slice(0, first));
      copiedFirst = t.copied;
      await new Promise((r) => setTimeout(r, 1000));
      drive(t, calls.slice(first));
    });
    expect(copiedFirst).toBeGreaterThan(0);
    expect(got.equals(want)).toBe(true);
  });

  it('a replay writes the same file through the thread as through the in-thread writer', async () => {
    const trace = 'traces/generated/hetero-smmu.csv';
    const out = join(tmp(), 'p.json');
    const r = await cli('replay', trace, '--perfetto', out, '--json');
    expect(r.code, r.err).toBe(0);
    const chunks: Buffer[] = [];
    let w: PerfettoWriter | undefined;
    let col: SeriesCollector | undefined;
    await replayFile(trace, {
      tap: (system, model) => {
        w = new PerfettoWriter(
          { write: (c: Uint8Array) => chunks.push(Buffer.from(c)) },
          system.cpus,
          system.smmus.map((s) => s.name),
          () => col!.axisName,
        );
        return (col = new SeriesCollector(system, model, { timeline: w }));
      },
    });
    w!.finish(col!.end());
    expect(readFileSync(out).equals(Buffer.concat(chunks))).toBe(true);
  });

  it('--perfetto - writes the timeline of --perfetto x.json to standard output, the report to standard error (a file, and a pipe)', () => {
    const trace = 'traces/generated/hetero-smmu.csv';
    const dir = tmp();
    const run = (args: string[], stdout: 'pipe' | number) =>
      spawnSync(process.execPath, ['bin/asid-replay.js', 'replay', trace, '--json', ...args], {
        stdio: ['ignore', stdout, 'pipe'],
        maxBuffer: 1 << 28,
      });
    expect(run(['--perfetto', join(dir, 'p.json')], 'pipe').status).toBe(0);
    const file = readFileSync(join(dir, 'p.json'));
    const report = run([], 'pipe').stdout;
    const fd = openSync(join(dir, 'out'), 'w');
    const toFile = run(['--perfetto', '-'], fd);
    closeSync(fd);
    const toPipe = run(['--perfetto', '-'], 'pipe');
    for (const [how, r, out] of [
      ['file', toFile, readFileSync(join(dir, 'out'))],
      ['pipe', toPipe, toPipe.stdout],
    ] as const) {
      expect(r.status, `${how}: ${r.stderr}`).toBe(0);
      expect(file.length).toBeGreaterThan(1 << 16);
      expect(out.equals(file), how).toBe(true);
      expect(r.stderr.equals(report), how).toBe(true);
    }
  });

  it('--perfetto - to a pipe whose reader waits: the worker waits for it (the pipe full: EAGAIN), the same bytes', () => {
    const trace = 'traces/generated/hetero-smmu.csv';
    const dir = tmp();
    const file = join(dir, 'p.json');
    expect(spawnSync(process.execPath, ['bin/asid-replay.js', 'replay', trace, '--perfetto', file]).status).toBe(0);
    expect(readFileSync(file).length, 'more than a pipe holds').toBeGreaterThan(1 << 17);
    // the reader starts after the replay has filled the pipe (64 KiB); the status is the replay's
    const r = spawnSync(
      'bash',
      [
        '-c',
        `${JSON.stringify(process.execPath)} bin/asid-replay.js replay ${trace} --perfetto - 2>/dev/null | (sleep 0.5; cat > ${join(dir, 'piped.json')}); echo "\${PIPESTATUS[0]}"`,
      ],
      { encoding: 'utf8' },
    );
    expect(r.stdout.trim(), r.stderr).toBe('0');
    expect(readFileSync(join(dir, 'piped.json')).equals(readFileSync(file))).toBe(true);
  });

  it('a pipe whose reader has gone (EPIPE): onClosedPipe is told, finish rejects with the code; without it, finish rejects all the same', async () => {
    const calls: Call[] = [];
    for (let i = 0; i < 3000; i++) calls.push({ slice: [i % 2, 1000 * i, 1000 * i + 3, `m${i % 9}`, i, i, i + 1, 2, i % 200, i % 9] });
    for (const told of [true, false]) {
      const fifo = join(tmp(), 'fifo');
      expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
      const reader = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
      const fd = openSync(fifo, 'w');
      closeSync(reader); // the reader goes: every write is EPIPE
      const seen: string[] = [];
      const t = new PerfettoThread(
        { fd, ...(told ? { onClosedPipe: (e: Error) => seen.push((e as PerfettoWriteError).code) } : {}) },
        2,
        [],
        () => 'time',
      );
      drive(t, calls);
      const err = await t.finish(SERIES('time')).then(
        () => null,
        (e: unknown) => e,
      );
      closeSync(fd);
      expect(err, String(told)).toBeInstanceOf(PerfettoWriteError);
      expect((err as PerfettoWriteError).code).toBe('EPIPE');
      expect(seen, String(told)).toEqual(told ? ['EPIPE'] : []);
    }
    // another failure of the descriptor (read-only: EBADF) is not a closed pipe
    const path = join(tmp(), 'ro');
    closeSync(openSync(path, 'w'));
    const ro = openSync(path, 'r');
    const seen: string[] = [];
    const t = new PerfettoThread({ fd: ro, onClosedPipe: () => seen.push('told') }, 2, [], () => 'time');
    drive(t, calls);
    const err = await t.finish(SERIES('time')).then(
      () => null,
      (e: unknown) => e,
    );
    closeSync(ro);
    expect((err as PerfettoWriteError).code).toBe('EBADF');
    expect(seen).toEqual([]);
  });

  it('to a file descriptor the worker writes itself, plain and gzip-compressed (more bytes than a chunk)', async () => {
    const calls: Call[] = [];
    for (let i = 0; i < 3000; i++) calls.push({ slice: [i % 2, 1000 * i, 1000 * i + 3, `m${i % 9}`, i, i, i + 1, 2, i % 200, i % 9] });
    const [want] = await both('time', calls, ['smmu0']);
    for (const gzipLevel of [undefined, 1]) {
      const path = join(tmp(), gzipLevel ? 'p.json.gz' : 'p.json');
      const fd = openSync(path, 'w');
      const t = new PerfettoThread({ fd, ...(gzipLevel ? { gzipLevel } : {}) }, 2, ['smmu0'], () => 'time');
      drive(t, calls);
      await t.finish(SERIES('time'));
      closeSync(fd);
      const file = readFileSync(path);
      expect(want.length).toBeGreaterThan(1 << 16);
      expect((gzipLevel ? gunzipSync(file) : file).equals(want), String(gzipLevel)).toBe(true);
      if (gzipLevel) expect(file.length).toBeLessThan(want.length / 4);
    }
  });

  it('numbers labels again after MAX_LABELS of them, and only then (the worker keeps at most that many)', async () => {
    const calls: Call[] = [];
    const n = 2 * MAX_LABELS + 1; // the third numbering starts at the last label
    for (let i = 0; i < n; i++) calls.push({ slice: [0, i, i + 1, `m${i}`, 1, i, i + 1, 1, 1, i] });
    for (const count of [n - 1, n]) {
      const t = new PerfettoThread({ write: () => {} }, 1, [], () => 'row');
      drive(t, calls.slice(0, count));
      await t.finish(SERIES('row'));
      expect(t.renumberings, String(count)).toBe(count === n ? 2 : 1);
    }
  });

  it("a writer that fails otherwise says so as it is: not as the file's error", async () => {
    const t = new PerfettoThread({ write: () => {} }, 1, [], () => 'row');
    // JSON.stringify cannot write a BigInt: the writer throws in the worker
    t.instant(5, { ...rollover(5), detail: 10n as unknown as string });
    const e = await t.finish(SERIES('row')).catch((x: unknown) => x);
    expect(e).not.toBeInstanceOf(PerfettoWriteError);
    expect(String(e)).toMatch(/Perfetto writer failed.*BigInt/s);
  });

  it('a file the worker cannot write fails the finish, with the reason, plain or gzip', async () => {
    const path = join(tmp(), 'read-only.json');
    closeSync(openSync(path, 'w'));
    for (const gzipLevel of [undefined, 1]) {
      const fd = openSync(path, 'r'); // writes to it fail: EBADF
      const t = new PerfettoThread({ fd, ...(gzipLevel ? { gzipLevel } : {}) }, 1, [], () => 'row');
      for (let i = 0; i < 8000; i++) t.slice(0, i, i + 1, 'a', 1, i, i + 1, 1, 3, 0);
      // a write error with its code: pictures.ts names the file for it (exit 2, as any output that cannot be written)
      const e = await t.finish(SERIES('row')).catch((x: unknown) => x);
      expect(e, String(gzipLevel)).toBeInstanceOf(PerfettoWriteError);
      // the system's one-line message, no stack (util/output.ts puts the file before it)
      expect(e).toMatchObject({ code: 'EBADF', message: 'EBADF: bad file descriptor, write' });
      closeSync(fd);
    }
  });

  it('abort stops the thread (a failed replay leaves no worker behind)', async () => {
    const t = new PerfettoThread({ write: () => {} }, 1, [], () => 'row');
    t.slice(0, 0, 1, 'a', 1, 1, 2, 1, 3, 0);
    await t.abort();
    await expect(t.finish(SERIES('row'))).rejects.toThrow();
  });
});
