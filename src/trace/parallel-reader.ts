/**
 * The parallel reader: the same events as {@link readEventBatches}, parsed by worker threads
 * (piscina), for big traces on machines with cores to spare.
 *
 * The data rows are cut into chunks of about `chunkBytes` at line boundaries; workers parse and
 * validate chunks while this thread decodes the previous ones in order, so at most
 * `2 * threads` chunks are in memory at a time (memory stays flat in trace length). Row numbers are
 * the file's line numbers: each chunk's line count gives where the next one starts.
 *
 * Errors are the sequential reader's: when a worker rejects a chunk, or times decrease, the file
 * is re-read sequentially up to its first bad row, and that InputError (file, line, column) is
 * thrown. The two readers agree on every valid trace because a valid trace has no quoted line
 * break (no cell may contain one), so csv-parse is at a row start at every '\n'.
 */
import { stat } from 'node:fs/promises';
import { ABSENT, type ChunkResult, type ChunkTask, STRIDE } from './chunk-worker.js';
import { EVENT_KINDS, type TraceEvent } from './events.js';
import { assertReadable, readEventBatches, readHeaderRecord } from './reader.js';
import { newPool } from '../util/pool.js';

/** Default chunk size: about 60k events of a generated trace. */
export const CHUNK_BYTES = 2 * 1024 * 1024;

/**
 * Stream the validated events of a trace v1 file in batches (one per chunk), parsed by `threads`
 * worker threads.
 * @throws InputError (file, line, column, what was expected) for the first bad row, as
 *   {@link readEventBatches} does.
 */
export async function* readEventBatchesParallel(file: string, threads: number, chunkBytes = CHUNK_BYTES): AsyncGenerator<TraceEvent[]> {
  await assertReadable(file);
  const head = await readHeaderRecord(file);
  if (head === undefined || (head.recordDelimiter !== '\n' && head.recordDelimiter !== '\r\n')) {
    yield* readEventBatches(file);
    return;
  }
  const size = (await stat(file)).size;
  // csv-parse's own offset: counting '\n's would be wrong after a lone CR in the preamble, which csv-parse counts as a line
  const dataStart = head.dataStart;
  const pool = await newPool('parseChunk', threads);
  const pending: Promise<ChunkResult>[] = [];
  let next = dataStart;
  const submit = () => {
    if (next >= size) return;
    const task: ChunkTask = {
      file,
      start: next,
      end: next + chunkBytes,
      dataStart,
      size,
      header: head.header,
      recordDelimiter: head.recordDelimiter,
    };
    const p = pool.run(task) as Promise<ChunkResult>;
    p.catch(() => {}); // awaited below in order; an early return must not leave it unhandled
    pending.push(p);
    next += chunkBytes;
  };
  try {
    for (let i = 0; i < 2 * threads; i++) submit();
    let base = head.line + 1;
    let lastTime = -1;
    while (pending.length > 0) {
      const r = await pending.shift()!;
      submit();
      if (!r.ok) throw await sequentialError(file);
      const events = decode(r, base - 1);
      for (const e of events) {
        if (e.time === undefined) continue;
        if (e.time < lastTime) throw await sequentialError(file);
        lastTime = e.time;
      }
      base += r.newlines;
      if (events.length > 0) yield events;
    }
  } finally {
    // Let the chunks in flight (at most 2 * threads) finish first: piscina throws an uncaught
    // "Unexpected message from Worker" when a task's answer arrives after destroy().
    await Promise.allSettled(pending);
    await pool.destroy();
  }
}

/** Unpack a worker's events; `lineOffset` turns chunk line numbers into file line numbers. */
function decode(r: ChunkResult, lineOffset: number): TraceEvent[] {
  const d = r.data;
  const s = r.strings;
  const num = (v: number) => (v === ABSENT ? undefined : v);
  const str = (v: number) => (v === ABSENT ? undefined : s[v]);
  const out = new Array<TraceEvent>(r.events);
  for (let i = 0, o = 0; i < r.events; i++, o += STRIDE) {
    out[i] = {
      row: d[o]! + lineOffset,
      kind: EVENT_KINDS[d[o + 2]!]!,
      time: num(d[o + 1]!),
      cpu: num(d[o + 3]!),
      task: num(d[o + 4]!),
      mm: str(d[o + 5]!),
      device: str(d[o + 6]!),
      domain: str(d[o + 7]!),
      pasid: num(d[o + 8]!),
      va: num(d[o + 9]!),
      size: num(d[o + 10]!),
      prot: num(d[o + 11]!),
      op: str(d[o + 12]!),
      src: str(d[o + 13]!),
    };
  }
  return out;
}

/** The error the sequential reader stops at (it must stop: the parallel one found a bad row). */
async function sequentialError(file: string): Promise<unknown> {
  try {
    for await (const _ of readEventBatches(file)) {
      // read to the first bad row
    }
  } catch (e) {
    return e;
  }
  return new Error(`internal error: the parallel reader rejected ${file} but the sequential reader accepts it`);
}
