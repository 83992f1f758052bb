/**
 * `replay --perfetto` on a second thread. Formatting the timeline as JSON (about 180 bytes and a
 * microsecond per slice, one slice per switch) cost the replay's thread more than the replay
 * itself; here that thread only packs each slice into a record (nine numbers, the mm label by id)
 * and a worker (perfetto-worker.ts) runs the same {@link PerfettoWriter} on them, in order, and
 * writes the bytes to the file itself (compressing them for a gzip file) or sends them back to be
 * written (standard output). The file is byte for byte what the writer makes in this thread
 * (test/perfetto-thread.test.ts).
 *
 * Memory stays bounded: at most {@link MAX_AHEAD} batches wait for the worker (the replay's thread
 * waits, `Atomics.wait`, when it is that far ahead), and the bytes are written or come back after
 * every batch.
 */
import { Worker } from 'node:worker_threads';
import type { ByteSink } from './gzip.js';
import type { FindingPoint, Series, TimelineSink } from './series-types.js';
import {
  type ChunksMessage,
  type ErrorMessage,
  type RecordBatch,
  REC,
  TAG_INSTANT,
  TAG_SLICE,
  type WorkerInit,
} from './perfetto-records.js';

/** Records per batch. */
export const BATCH = 4096;
/** Batches sent and not yet handled by the worker before the sender waits (about 3 MB of records). */
export const MAX_AHEAD = 8;
/**
 * Records' arrays kept for re-use once the worker hands them back. A fresh array for every batch
 * (320 KiB, mapped and zeroed by the system, then freed by the worker) cost the replay's thread
 * about 1 ms each, a fifth of a 10^6-event picture run's time on this 2-core VM: the pages were new
 * each time.
 */
export const SPARE_BATCHES = MAX_AHEAD + 2;
/** Labels numbered before the numbering starts again (the busiest mms switch in again and again). */
export const MAX_LABELS = 4096;
/**
 * Slots of the cache that finds an mm's label number by the model's key of the mm (`key & (SLOTS -
 * 1)`): a Map from label strings cost a third of this thread's share of a picture run. A miss (a
 * new mm, or two live mms in one slot) numbers the label again: the worker is sent it once more.
 */
export const LABEL_SLOTS = 8192;

/** The compiled worker, found the same way from `src/report` (tests) and `dist/report` (the CLI). */
const WORKER = new URL('../../dist/report/perfetto-worker.js', import.meta.url);

/**
 * The worker could not write the file (no space left, ...): `code` is the system's (ENOSPC, ...),
 * for the caller to name the file (util/output.ts `unwritable`: exit 2).
 */
export class PerfettoWriteError extends Error {
  constructor(
    detail: string,
    readonly code: string,
  ) {
    // the system's one-line message (`EFBIG: file too large, write`): util/output.ts adds the file
    super(detail);
  }
}

/** A {@link TimelineSink} whose JSON a worker thread writes (see the file comment). */
export class PerfettoThread implements TimelineSink {
  private nums: Float64Array = new Float64Array(BATCH * REC);
  /** Arrays the worker has handed back (at most {@link SPARE_BATCHES}). */
  private readonly spare: Float64Array[] = [];
  private n = 0;
  /** Batches sent in an array the worker had handed back (tests: the arrays are re-used). */
  reused = 0;
  /** Per slot: the mm key it holds (-1: none), the label number given it, in which numbering. */
  private readonly slotKey = new Float64Array(LABEL_SLOTS).fill(-1);
  private readonly slotId = new Int32Array(LABEL_SLOTS);
  private readonly slotRound = new Int32Array(LABEL_SLOTS);
  /** Labels numbered in this numbering; the numbering (bumped when it starts again). */
  private labelCount = 0;
  private round = 0;
  /** Times the label numbering started again (tests: the worker's label table stays bounded). */
  get renumberings(): number {
    return this.round;
  }
  private newLabels: string[] = [];
  private reset = false;
  private objs: FindingPoint[] = [];
  private readonly worker: Worker;
  private readonly progress = new Int32Array(new SharedArrayBuffer(4));
  /** Messages sent (batches, and the finish). */
  private sent = 0;
  private failure: Error | null = null;
  private readonly ended: Promise<void>;

  /**
   * @param out where the JSON goes: a Writable, or a GzipSegments, in chunks of about 64 KiB sent
   *   back by the worker; or a file descriptor (`{ fd }`, util/output.ts `Output.fd`) the worker writes to
   *   itself, gzip-compressed at `gzipLevel` when given, so that the bytes never cross to this
   *   thread (done when {@link finish} resolves)
   * @param cpus number of CPUs; @param smmus SMMU names (as {@link PerfettoWriter} takes them)
   * @param axisOf the collector's axis (read at each batch)
   */
  constructor(
    out: ByteSink | { fd: number; gzipLevel?: number },
    cpus: number,
    smmus: readonly string[],
    private readonly axisOf: () => 'time' | 'row',
  ) {
    const init: WorkerInit = {
      cpus,
      smmus: [...smmus],
      progress: this.progress,
      // Stryker disable next-line ConditionalExpression: equivalent, -> true passes gzipLevel: undefined, which the worker reads as absent
      ...('fd' in out ? { fd: out.fd, ...(out.gzipLevel !== undefined ? { gzipLevel: out.gzipLevel } : {}) } : {}),
    };
    this.worker = new Worker(WORKER, { workerData: init });
    this.ended = new Promise<void>((resolve, reject) => {
      this.worker.on('message', (m: ChunksMessage | { done: true } | ErrorMessage) => {
        if ('chunks' in m) {
          // Stryker disable next-line ConditionalExpression,StringLiteral: equivalent, a worker writing the file itself sends no chunks
          if (!('fd' in out)) for (const c of m.chunks) out.write(c);
          // Stryker disable next-line ConditionalExpression,LogicalOperator,EqualityOperator: equivalent, memory only: an array is made only when none is spare, so no more come back than were made (at most the batches in flight)
          if (m.nums && this.spare.length < SPARE_BATCHES) this.spare.push(m.nums);
        } else if ('done' in m) resolve();
        else if (m.code !== undefined) this.fail(new PerfettoWriteError(m.error, m.code), reject);
        else this.fail(new Error(`the Perfetto writer failed: ${m.error}`), reject);
      });
      this.worker.on('error', (e) => this.fail(e, reject));
      this.worker.on('exit', (code) => this.fail(new Error(`the Perfetto writer's thread ended (exit ${code})`), reject));
    });
    this.ended.catch(() => {}); // read by finish()
  }

  private fail(e: Error, reject: (e: Error) => void): void {
    this.failure ??= e;
    reject(this.failure);
  }

  slice(
    cpu: number,
    start: number,
    end: number,
    mm: string,
    task: number,
    row: number,
    endRow: number,
    generation: number,
    asid: number,
    mmKey: number,
  ): void {
    // Stryker disable next-line ArithmeticOperator: equivalent, a wrong mask only finds fewer hits (a slot past the arrays reads undefined): a miss numbers the label again
    const slot = mmKey & (LABEL_SLOTS - 1);
    let id: number;
    // Stryker disable next-line EqualityOperator: equivalent, mmKey > 0 or < 0 only misses more (a miss numbers the label again: the same file)
    if (mmKey >= 0 && this.slotKey[slot] === mmKey && this.slotRound[slot] === this.round) id = this.slotId[slot]!;
    else {
      if (this.labelCount >= MAX_LABELS) {
        // The batch so far names labels by the old numbers: send it first.
        this.flush();
        this.labelCount = 0;
        // Stryker disable next-line UpdateOperator: equivalent, round-- gives each numbering a number of its own all the same
        this.round++;
        this.reset = true;
      }
      id = this.labelCount++;
      this.newLabels.push(mm);
      // Stryker disable next-line ConditionalExpression,EqualityOperator,BlockStatement: equivalent, a key of -1 is never looked up (mmKey >= 0 above); not storing only misses more
      if (mmKey >= 0) {
        this.slotKey[slot] = mmKey;
        this.slotId[slot] = id;
        this.slotRound[slot] = this.round;
      }
    }
    const d = this.nums;
    const o = this.n * REC;
    d[o] = TAG_SLICE;
    d[o + 1] = cpu;
    d[o + 2] = start;
    d[o + 3] = end;
    d[o + 4] = id;
    d[o + 5] = task;
    d[o + 6] = row;
    d[o + 7] = endRow;
    d[o + 8] = generation;
    d[o + 9] = asid;
    if (++this.n === BATCH) this.flush();
  }

  instant(x: number, p: FindingPoint): void {
    const o = this.n * REC;
    this.nums[o] = TAG_INSTANT;
    this.nums[o + 1] = x;
    this.objs.push(p);
    if (++this.n === BATCH) this.flush();
  }

  /** Send the records gathered (the array goes with them: a spare one, or a fresh one, follows). */
  private flush(): void {
    if (this.n === 0 && this.newLabels.length === 0 && !this.reset) return;
    const batch: RecordBatch = {
      nums: this.nums,
      n: this.n,
      axis: this.axisOf(),
      reset: this.reset,
      labels: this.newLabels,
      objs: this.objs,
    };
    this.post(batch, [this.nums.buffer as ArrayBuffer]);
    const spare = this.spare.pop();
    if (spare) this.reused++;
    this.nums = spare ?? new Float64Array(BATCH * REC);
    this.n = 0;
    this.newLabels = [];
    this.reset = false;
    this.objs = [];
  }

  private post(msg: unknown, transfer: ArrayBuffer[] = []): void {
    if (this.failure) return;
    this.worker.postMessage(msg, transfer);
    this.sent++;
    // Too far ahead of the worker: wait for it (a few seconds at most per wait, then look again:
    // a thread that died says so through the 'error'/'exit' events, read once this one yields).
    for (let waits = 0; this.sent - Atomics.load(this.progress, 0) > MAX_AHEAD && waits < 10; waits++)
      Atomics.wait(this.progress, 0, Atomics.load(this.progress, 0), 500);
  }

  /**
   * Send the rest and the series whose counters close the JSON; resolves once every byte has been
   * handed to the output (the caller then ends it).
   * @throws Error if the worker failed.
   */
  async finish(s: Series): Promise<void> {
    this.flush();
    this.post({ finish: s, axis: this.axisOf() });
    try {
      await this.ended;
    } catch (e) {
      // Stopped before the caller drops the output: the worker may still have batches to write.
      await this.worker.terminate();
      throw e;
    }
    // Not waited for: the worker has nothing left to do, and its teardown took 20-50 ms.
    void this.worker.terminate();
  }

  /** Stop the worker (the replay failed; the output is discarded). */
  async abort(): Promise<void> {
    this.failure ??= new Error('aborted');
    await this.worker.terminate();
  }
}
