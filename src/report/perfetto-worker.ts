/**
 * The worker thread of `replay --perfetto` (see perfetto-thread.ts): runs the
 * {@link PerfettoWriter} on the records the replay's thread sends, and writes the bytes to the file
 * (gzip-compressed when asked: {@link GzipSegments}, here) or sends them back.
 * Loaded from `dist/` (compiled by `npm ci` / `npm run build`; the test suite builds it first).
 *
 * Messages in: {@link RecordBatch} (records in order, in a slot of the shared ring or in the
 * message), then {@link FinishMessage}. Out: {@link ChunksMessage} after every batch when the bytes go
 * back (their buffers transferred), then `{ done: true }`; an {@link ErrorMessage} if the writer, or
 * a write to the file, failed. `workerData.progress[0]` counts the ring's batches done (their slots
 * free again: the sending thread waits on it when too many are in flight).
 */
import { writeSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { type ByteSink, GzipSegments } from './gzip.js';
import { PerfettoWriter } from './perfetto.js';
import {
  type ChunksMessage,
  type ErrorMessage,
  type FinishMessage,
  type RecordBatch,
  REC,
  TAG_SLICE,
  type WorkerInit,
} from './perfetto-records.js';

const init = workerData as WorkerInit;
let axis: 'time' | 'row' = 'row';
let chunks: Uint8Array[] = [];
/**
 * The first write to the file that failed (no space left, ...). Kept, not thrown where it happens
 * (inside the writer or the compressor): nothing more is written, and {@link checkWrites} throws
 * it after each batch and at the finish as the file's error, told apart from a bug's.
 */
let writeError: unknown = null;
/** Slept on while a pipe is full ({@link writeAll}). */
const pause = new Int32Array(new SharedArrayBuffer(4));
/**
 * How long to sleep when a pipe is full (ms): from the first value, doubled at each full pipe in a
 * row up to the last. A fixed 2 ms nearly halved the rate into `| gzip -1`, which empties a 64 KiB
 * pipe much sooner than that.
 */
const FULL_PIPE_WAIT_MS = [0.02, 2] as const;
/**
 * The whole of `c` to the file (writeSync may write less than asked); nothing after a failed
 * write. Standard output may be a pipe the main thread's Node made non-blocking: when it is full
 * (EAGAIN), this thread sleeps and tries again, so the replay waits for the reader (through the
 * ring) instead of the bytes waiting in memory.
 */
function writeAll(fd: number, c: Uint8Array): void {
  let wait: number = FULL_PIPE_WAIT_MS[0];
  for (let done = 0; done < c.length && writeError === null;) {
    try {
      done += writeSync(fd, c, done, c.length - done);
      wait = FULL_PIPE_WAIT_MS[0];
    } catch (e) {
      if ((e as NodeJS.ErrnoException)?.code !== 'EAGAIN') writeError = e;
      else {
        Atomics.wait(pause, 0, 0, wait);
        wait = Math.min(2 * wait, FULL_PIPE_WAIT_MS[1]);
      }
    }
  }
}
function checkWrites(): void {
  if (writeError !== null) throw new FileWriteFailed(writeError);
}

/** A failed write to the file, as {@link checkWrites} throws it (only these are the file's errors). */
class FileWriteFailed extends Error {
  constructor(readonly failure: unknown) {
    super((failure as Error)?.message ?? String(failure));
  }
}
/**
 * To the file itself when given one (the writer then fills one chunk again and again; or, for
 * gzip, the compressor takes the chunks), else back to the sender.
 */
const file: ByteSink | undefined = init.fd !== undefined ? { write: (c: Uint8Array) => writeAll(init.fd!, c), consumes: true } : undefined;
const gzip = file && init.gzipLevel !== undefined ? new GzipSegments(file, init.gzipLevel) : undefined;
const sink: ByteSink = gzip ?? file ?? { write: (c: Uint8Array) => chunks.push(c) };
const writer = new PerfettoWriter(sink, init.cpus, init.smmus, () => axis, init.maxSlices);
/** Labels by id, as the sending thread numbered them (from 0 after each reset). */
let labels: string[] = [];
/** The ring's slots, as the sender cut them. */
const slotLength = init.ring.byteLength / Float64Array.BYTES_PER_ELEMENT / init.slots;
const slots = Array.from(
  { length: init.slots },
  (_, i) => new Float64Array(init.ring, i * slotLength * Float64Array.BYTES_PER_ELEMENT, slotLength),
);

/** Send the bytes made so far back (when the worker does not write the file itself). */
function sendChunks(): void {
  if (chunks.length === 0) return;
  const msg: ChunksMessage = { chunks };
  // Each chunk is a view of its own 64 KiB buffer (the writer starts a new one after a flush): transfer them.
  parentPort!.postMessage(
    msg,
    chunks.map((c) => c.buffer as ArrayBuffer),
  );
  chunks = [];
}

function replay(b: RecordBatch): void {
  axis = b.axis;
  if (b.reset) labels = [];
  for (const l of b.labels) labels.push(l);
  // the sender's count of batches sent, stored after it wrote the slot: its records are all there
  if (b.slot >= 0) Atomics.load(init.progress, 1);
  const d = b.slot >= 0 ? slots[b.slot]! : b.nums!;
  let obj = 0;
  for (let o = 0; o < b.n * REC; o += REC) {
    if (d[o] === TAG_SLICE)
      writer.slice(d[o + 1]!, d[o + 2]!, d[o + 3]!, labels[d[o + 4]!]!, d[o + 5]!, d[o + 6]!, d[o + 7]!, d[o + 8]!, d[o + 9]!);
    else writer.instant(d[o + 1]!, b.objs[obj++]!);
  }
}

/** The JSON closed; the gzip stream ended (its last segment compressed, its trailer written); then done. */
function finish(m: FinishMessage): void {
  axis = m.axis;
  writer.finish(m.finish, m.slicesDropped);
  sendChunks();
  gzip?.end();
  checkWrites();
  parentPort!.postMessage({ done: true });
}

/**
 * Tell the sender what failed: for a write to the file, the system's message and code (ENOSPC,
 * EFBIG, ...: the sender names the file, one line); for anything else, the stack (a bug).
 */
function failed(e: unknown): void {
  const code = e instanceof FileWriteFailed ? (e.failure as NodeJS.ErrnoException)?.code : undefined;
  const msg: ErrorMessage =
    e instanceof FileWriteFailed
      ? { error: e.message, code: typeof code === 'string' ? code : 'EIO' }
      : { error: (e as Error)?.stack ?? String(e) };
  parentPort!.postMessage(msg);
}

parentPort!.on('message', (m: RecordBatch | FinishMessage) => {
  try {
    if ('finish' in m) {
      finish(m);
      return;
    }
    try {
      replay(m);
    } finally {
      // the slot is read: free it (whatever happened, so the sender never waits on a failed batch)
      if (m.slot >= 0) {
        Atomics.add(init.progress, 0, 1);
        Atomics.notify(init.progress, 0);
      }
    }
    checkWrites();
    sendChunks();
  } catch (e) {
    failed(e);
  }
});
