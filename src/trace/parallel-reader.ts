/**
 * The parallel reader: the same events as {@link readEventBatches}, parsed by worker threads
 * (piscina), for big traces on machines with cores to spare.
 *
 * The data rows are cut into chunks of about `chunkBytes` at line boundaries; workers parse and
 * validate chunks while this thread decodes the previous ones in order, so at most
 * `2 * threads` chunks are in memory at a time (memory stays flat in trace length). Row numbers are
 * the file's line numbers: each chunk's line count gives where the next one starts.
 *
 * The workers read plain rows only (the sequential fast path's scanner, which hands over at any
 * CR, so line numbers are counts of '\n'). From the first chunk a worker does not decide, the
 * file is read by the sequential reader from that chunk's start: events and errors (file, line,
 * column) are the sequential reader's.
 */
import { stat } from 'node:fs/promises';
import type { ChunkResult, ChunkTask } from './chunk-worker.js';
import type { TraceEvent } from './events.js';
import { ABSENT, PackedBatch, STRIDE, S_TIME } from './packed.js';
import { type Resume, assertReadable, readHeaderRecord, readPackedBatches, readPackedBatchesFrom } from './reader.js';
import { newPool } from '../util/pool.js';

/** Default chunk size: about 60k events of a generated trace. */
export const CHUNK_BYTES = 2 * 1024 * 1024;

/**
 * Stream the validated events of a trace v1 file in batches (one per chunk), parsed by `threads`
 * worker threads (see {@link readPackedBatchesParallel}).
 * @throws InputError (file, line, column, what was expected) for the first bad row, as
 *   {@link readEventBatches} does.
 */
export async function* readEventBatchesParallel(file: string, threads: number, chunkBytes = CHUNK_BYTES): AsyncGenerator<TraceEvent[]> {
  for await (const b of readPackedBatchesParallel(file, threads, chunkBytes)) yield b.events();
}

/**
 * Stream the validated events of a trace v1 file in packed batches (one per chunk; each valid
 * until the next is asked for), parsed by `threads` worker threads.
 *
 * The workers read plain rows only (the fast path's scanner). From the first chunk a worker did
 * not decide (a row csv-parse must read, an invalid row) or whose first time is earlier than the
 * last one before it, the file is read sequentially ({@link readPackedBatchesFrom}): the same
 * events, or the sequential reader's first error. A file whose record delimiter is not `\n` is
 * read sequentially from the start.
 * @throws InputError (file, line, column, what was expected) for the first bad row, as
 *   {@link readPackedBatches} does.
 */
export async function* readPackedBatchesParallel(file: string, threads: number, chunkBytes = CHUNK_BYTES): AsyncGenerator<PackedBatch> {
  await assertReadable(file);
  const head = await readHeaderRecord(file);
  if (head === undefined || head.recordDelimiter !== '\n') {
    yield* readPackedBatches(file);
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
    const task: ChunkTask = { file, start: next, end: next + chunkBytes, dataStart, size, header: head.header };
    const p = pool.run(task) as Promise<ChunkResult>;
    p.catch(() => {}); // awaited below in order; an early return must not leave it unhandled
    pending.push(p);
    next += chunkBytes;
  };
  // the line of the next chunk's first byte, and what was yielded before it
  let line = head.line + 1;
  const resume: Resume = { afterLine: head.line, lastTime: -1, lastTimeRow: 0 };
  let rest: number | undefined;
  try {
    for (let i = 0; i < 2 * threads; i++) submit();
    while (pending.length > 0) {
      const r = await pending.shift()!;
      submit();
      const b = PackedBatch.of(r.data, r.strings, r.events);
      if (!r.ok || (b.n > 0 && firstTime(b) !== ABSENT && firstTime(b) < resume.lastTime)) {
        rest = r.from;
        break;
      }
      const d = b.data;
      for (let o = 0; o < b.n * STRIDE; o += STRIDE) {
        d[o] = d[o]! + line - 1;
        const t = d[o + S_TIME]!;
        if (t !== ABSENT) {
          resume.lastTime = t;
          resume.lastTimeRow = d[o]!;
        }
      }
      line += r.newlines;
      if (b.n > 0) {
        resume.afterLine = b.row(b.n - 1);
        yield b;
      }
    }
  } finally {
    // Let the chunks in flight (at most 2 * threads) finish first: piscina throws an uncaught
    // "Unexpected message from Worker" when a task's answer arrives after destroy().
    await Promise.allSettled(pending);
    await pool.destroy();
  }
  if (rest !== undefined) yield* readPackedBatchesFrom(file, head, rest, line, resume);
}

/** Time of the first event of `b` that has one ({@link ABSENT} if none): the workers check the order within a chunk. */
function firstTime(b: PackedBatch): number {
  for (let i = 0; i < b.n; i++) {
    const t = b.time(i);
    if (t !== ABSENT) return t;
  }
  return ABSENT;
}
