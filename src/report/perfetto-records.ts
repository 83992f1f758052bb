/**
 * The messages between the replay's thread and the Perfetto writer's worker (perfetto-thread.ts,
 * perfetto-worker.ts): the timeline as packed records, in the order the replay made them.
 */
import type { FindingPoint, Series } from './series-types.js';

/** Numbers per record: a tag, then a slice's nine fields (an instant uses two). */
export const REC = 10;
/** A slice: cpu, start, end, label id, task, row, endRow, generation, asid. */
export const TAG_SLICE = 0;
/** An instant: x, then its finding is the batch's next `objs` entry. */
export const TAG_INSTANT = 1;

/** What the worker starts with (`workerData`). */
export interface WorkerInit {
  cpus: number;
  smmus: readonly string[];
  /** The writer's cap on slices (perfetto.ts `MAX_SLICES`; tests set fewer): the sender sends no more. */
  maxSlices: number;
  /** A file descriptor the worker writes the JSON to itself (`writeSync`); absent: the bytes are sent back. */
  fd?: number;
  /** With `fd`: write gzip at this zlib level (pictures.ts `GZIP_LEVEL`). */
  gzipLevel?: number;
  /**
   * [0]: batches of the ring the worker is done with (their slots free again), for the sender's
   * flow control; [1]: batches of the ring sent (stored before each message, loaded by the worker
   * before it reads the slot).
   */
  progress: Int32Array;
  /** The ring of record batches (perfetto-thread.ts): `slots` equal parts, one batch each. */
  ring: SharedArrayBuffer;
  slots: number;
}

/** Records in order; the labels the slices name by id. */
export interface RecordBatch {
  /** The slot of the ring holding the records; -1: they are in {@link nums}. */
  slot: number;
  /** The records when the sender could not wait for a slot (a copy of its own array). */
  nums?: Float64Array;
  /** Records: `n` of {@link REC} numbers. */
  n: number;
  /** The collector's axis when the batch was sent. */
  axis: 'time' | 'row';
  /** The label ids start again from 0 with this batch. */
  reset: boolean;
  /** Labels first used in this batch, numbered on from the last one. */
  labels: string[];
  /** The instants' findings, in record order. */
  objs: FindingPoint[];
}

/** The end: the series whose counters close the JSON. */
export interface FinishMessage {
  finish: Series;
  axis: 'time' | 'row';
  /** Slices the sender did not send, past the writer's cap ({@link WorkerInit.maxSlices}). */
  slicesDropped: number;
}

/** JSON bytes, in order (when the worker does not write the file itself). */
export interface ChunksMessage {
  chunks: Uint8Array[];
}

/** The worker failed: the error's stack, and its system error code when a write to the file failed. */
export interface ErrorMessage {
  error: string;
  code?: string;
}
