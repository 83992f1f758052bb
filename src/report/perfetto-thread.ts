/**
 * `replay --perfetto` on a second thread. Formatting the timeline as JSON (about 180 bytes and a
 * microsecond per slice, one slice per switch) cost the replay's thread more than the replay
 * itself; here that thread only packs each slice into a record (nine numbers, the mm label by id)
 * and a worker (perfetto-worker.ts) runs the same {@link PerfettoWriter} on them, in order, and
 * writes the bytes to the file (or standard output) itself, compressing them for a gzip file; a
 * caller may instead have them sent back (a {@link ByteSink}: the tests). The file is byte for
 * byte what the writer makes in this thread (test/perfetto-thread.test.ts).
 *
 * The records go through a ring of {@link RING_SLOTS} batches in a SharedArrayBuffer both threads
 * see: a message names the slot, and the worker's count of batches done frees it. Handing each
 * batch's own array over (transferred, and handed back) made an ArrayBuffer on each side per batch,
 * and with them the replay's heap went into a regime where most young objects were promoted (its
 * old generation grew 3x, and a replay with `--perfetto` ran 0.1-0.2 s slower with a worker that
 * did nothing: docs/performance.md).
 *
 * Memory stays bounded while the worker keeps up within {@link SLOT_WAIT_MS}: at most
 * {@link MAX_AHEAD} batches wait for it (the replay's thread waits, `Atomics.wait`, when it is that
 * far ahead: the slot it fills next is then free), and the bytes are written after every batch. A
 * worker later than that (a reader of standard output that stopped reading) is sent copies, which
 * wait in its message queue: memory then grows, bounded by the cap on slices.
 */
import { Worker } from 'node:worker_threads';
import type { ByteSink } from './gzip.js';
import { MAX_SLICES } from './perfetto.js';
import type { FindingPoint, Series, TimelineSink } from './series-types.js';
import {
  type ChunksMessage,
  type ErrorMessage,
  type FinishMessage,
  type RecordBatch,
  REC,
  TAG_INSTANT,
  TAG_SLICE,
  type WorkerInit,
} from './perfetto-records.js';

/** Records per batch. */
export const BATCH = 4096;
/**
 * Batches sent and not yet handled by the worker before the sender waits (about 8 MB of records).
 * The worker takes 100-300 ms to start on this project's 2-core VM, while the replay makes about
 * one batch every 5 ms: with 8, the replay waited 20-210 ms for it at the start of every run.
 */
export const MAX_AHEAD = 24;
/** Slots of the shared ring: the batches in flight, and the one being filled. */
export const RING_SLOTS = MAX_AHEAD + 1;
/**
 * How long the sender waits for the worker to free the slot it fills next (ms, in 500 ms waits)
 * before it fills an array of its own instead, sent with the message: a worker that is that slow,
 * or has died or hung (a death is read from its 'error'/'exit' events only once this thread yields),
 * never stops the replay for longer, and a slot is never written while the worker may still read it.
 */
export const SLOT_WAIT_MS = 5000;
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
  /** Batches in flight before the sender waits ({@link MAX_AHEAD}; the ring has one slot more). */
  private readonly ahead: number;
  /** How long to wait for a slot ({@link SLOT_WAIT_MS}). */
  private readonly slotWaitMs: number;
  /** The ring (see the file comment): one view per slot. */
  private readonly slots: Float64Array[];
  /** The records being gathered: a slot of the ring, or an array of its own ({@link slot} -1). */
  private nums: Float64Array;
  private slot = 0;
  private n = 0;
  /** Batches sent through the ring. */
  private batches = 0;
  /**
   * The writer's cap on slices, and the slices sent and not sent: past the cap the writer would
   * only count them, so they are counted here instead (a 10^7-event replay packed and sent 6.9
   * million slices to have 2 million written; docs/performance.md).
   */
  private readonly maxSlices: number;
  private slicesSent = 0;
  private slicesDropped = 0;
  /** Slices not sent, past the writer's cap (tests). */
  get slicesNotSent(): number {
    return this.slicesDropped;
  }
  /** Batches sent in an array of their own, the worker being too slow to free a slot (tests). */
  copied = 0;
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
  /** [0]: batches of the ring the worker is done with; [1]: batches of the ring sent. */
  private readonly progress = new Int32Array(new SharedArrayBuffer(8));
  /** A wait for a slot ran out: the sender no longer waits (see {@link flush}). */
  private late = false;
  private failure: Error | null = null;
  private readonly ended: Promise<void>;

  /**
   * @param out where the JSON goes: a sink (a Writable, ...), in chunks of about 64 KiB sent back by
   *   the worker; or a file descriptor (`{ fd }`: util/output.ts `Output.fd`, or 1 for standard
   *   output) the worker writes to itself, gzip-compressed at `gzipLevel` when given, so that the
   *   bytes never cross to this thread (done when {@link finish} resolves); `onClosedPipe` is
   *   called, from this thread's event loop, when a write found the descriptor a pipe whose reader
   *   has gone (EPIPE), before {@link finish} rejects
   * @param cpus number of CPUs; @param smmus SMMU names (as {@link PerfettoWriter} takes them)
   * @param axisOf the collector's axis (read at each batch)
   * @param ring for tests: `slotWaitMs`, how long to wait for a slot before a batch goes in an
   *   array of its own (default {@link SLOT_WAIT_MS}); `ahead`, batches in flight before the sender
   *   waits (default {@link MAX_AHEAD}; the ring has one slot more); `maxSlices`, the writer's cap
   *   (default perfetto.ts {@link MAX_SLICES})
   */
  constructor(
    out: ByteSink | { fd: number; gzipLevel?: number; onClosedPipe?: (e: Error) => void },
    cpus: number,
    smmus: readonly string[],
    private readonly axisOf: () => 'time' | 'row',
    ring: { slotWaitMs?: number; ahead?: number; maxSlices?: number } = {},
  ) {
    this.slotWaitMs = ring.slotWaitMs ?? SLOT_WAIT_MS;
    this.maxSlices = ring.maxSlices ?? MAX_SLICES;
    this.ahead = ring.ahead ?? MAX_AHEAD;
    const slots = this.ahead + 1;
    const bytes = BATCH * REC * Float64Array.BYTES_PER_ELEMENT;
    const shared = new SharedArrayBuffer(slots * bytes);
    this.slots = Array.from({ length: slots }, (_, i) => new Float64Array(shared, i * bytes, BATCH * REC));
    this.nums = this.slots[0]!;
    const init: WorkerInit = {
      cpus,
      maxSlices: this.maxSlices,
      smmus: [...smmus],
      progress: this.progress,
      ring: shared,
      slots,
      // Stryker disable next-line ConditionalExpression: equivalent, -> true passes gzipLevel: undefined, which the worker reads as absent
      ...('fd' in out ? { fd: out.fd, ...(out.gzipLevel !== undefined ? { gzipLevel: out.gzipLevel } : {}) } : {}),
    };
    this.worker = new Worker(WORKER, { workerData: init });
    this.ended = new Promise<void>((resolve, reject) => {
      this.worker.on('message', (m: ChunksMessage | { done: true } | ErrorMessage) => {
        if ('chunks' in m) {
          // Stryker disable next-line ConditionalExpression,StringLiteral: equivalent, a worker writing the file itself sends no chunks
          if (!('fd' in out)) for (const c of m.chunks) out.write(c);
        } else if ('done' in m) resolve();
        else if (m.code !== undefined) {
          const e = new PerfettoWriteError(m.error, m.code);
          const first = this.failure === null;
          this.fail(e, reject);
          // the reader of a pipe has gone: told at once, once (the CLI then ends the run, status 0)
          if (first && m.code === 'EPIPE' && 'fd' in out) out.onClosedPipe?.(e);
        } else this.fail(new Error(`the Perfetto writer failed: ${m.error}`), reject);
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
    if (this.slicesSent >= this.maxSlices) {
      this.slicesDropped++;
      return;
    }
    this.slicesSent++;
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

  /**
   * Send the records gathered: the message names their slot of the ring (or carries them, from an
   * array of this thread's own); then, unless this is the `last` batch, take the next slot once
   * the worker has freed it.
   */
  private flush(last = false): void {
    // Stryker disable next-line ConditionalExpression,EqualityOperator,BooleanLiteral: equivalent, an empty batch writes nothing
    if (this.n === 0 && this.newLabels.length === 0 && !this.reset) return;
    const batch: RecordBatch = {
      slot: this.slot,
      // Stryker disable next-line ConditionalExpression,EqualityOperator: equivalent, the worker reads a ring batch from its slot whatever else the message carries
      ...(this.slot < 0 ? { nums: this.nums } : {}),
      n: this.n,
      axis: this.axisOf(),
      reset: this.reset,
      labels: this.newLabels,
      objs: this.objs,
    };
    if (this.slot >= 0) {
      // The slot's records before the message, in the order the worker reads them: it loads this
      // count before it reads the slot (the message queue's lock orders them too; this says so).
      // Stryker disable next-line ArithmeticOperator: equivalent, the store orders the writes; its value is not read
      Atomics.store(this.progress, 1, this.batches + 1);
      this.post(batch);
      this.batches++;
    } else {
      // Stryker disable next-line ArrayDeclaration: equivalent, the array is cloned instead of moved
      this.post(batch, [this.nums.buffer as ArrayBuffer]);
      this.copied++;
    }
    this.n = 0;
    this.newLabels = [];
    this.reset = false;
    this.objs = [];
    // Stryker disable next-line ConditionalExpression,LogicalOperator: equivalent, a next slot taken for nothing
    if (last || this.failure) return;
    // The next slot was last filled a ring's length of batches ago: free once the worker is done
    // with at most `ahead` batches still in flight. After one wait that ran out, no more waits: a worker
    // that slow (or hung) gets copies until it catches up, and the replay goes on at its own pace.
    const next = this.batches % this.slots.length;
    // Stryker disable next-line ConditionalExpression,EqualityOperator,ArithmeticOperator: equivalent, a slot taken as busy is waited for and looked at again (the right test, below): slower, the same bytes
    let free = this.batches - this.done() <= this.ahead;
    for (let waited = 0; !free && !this.late && !this.failure; waited += 500) {
      if (waited >= this.slotWaitMs) {
        // Stryker disable next-line BooleanLiteral: not tested, needs a worker that hangs: with it false, each batch waits slotWaitMs again
        this.late = true;
        break;
      }
      Atomics.wait(this.progress, 0, Atomics.load(this.progress, 0), 500);
      free = this.batches - this.done() <= this.ahead;
    }
    this.slot = free ? next : -1;
    this.nums = free ? this.slots[next]! : new Float64Array(BATCH * REC);
  }

  /** Batches of the ring the worker is done with (their slots are free again). */
  private done(): number {
    return Atomics.load(this.progress, 0);
  }

  private post(msg: RecordBatch | FinishMessage, transfer: ArrayBuffer[] = []): void {
    if (!this.failure) this.worker.postMessage(msg, transfer);
  }

  /**
   * Send the rest and the series whose counters close the JSON; resolves once every byte has been
   * handed to the output (the caller then ends it).
   * @throws Error if the worker failed.
   */
  async finish(s: Series): Promise<void> {
    // Stryker disable next-line BooleanLiteral: equivalent, a next slot taken for nothing
    this.flush(true);
    this.post({ finish: s, axis: this.axisOf(), slicesDropped: this.slicesDropped });
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
