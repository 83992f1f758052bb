/**
 * The synchronous core of the reader's fast path (reader.ts `readPackedBatches`, and the parallel
 * reader's workers): cuts the data
 * rows of a trace v1 file into lines, skips comments and blank lines, turns plain lines into
 * events ({@link RowTokenizer}), checks that times do not decrease, and groups the events in the
 * batches csv-parse would make. Everything it cannot decide on its own it hands back to the
 * reader with a status (see {@link LineScanner.scan}); it never reads the file itself and never
 * awaits, so that V8 optimizes its loop as one plain function.
 *
 * Batches: the csv-parse reader gives csv-parse the file in chunks of {@link BATCH_BYTES} and
 * yields the records of each chunk together; csv-parse keeps the last byte of a chunk for the next
 * one (it may start a `\r\n`), so the record ending at file offset `p` (its `\n`) is in batch
 * `floor((p + 1) / BATCH_BYTES)`, and the record that ends at the file's last byte (or has no line
 * break) comes alone, when csv-parse is told the file has ended.
 */
import type { TraceEvent } from './events.js';
import { fastEvent, headerIndex } from './fast-row.js';
import { ABSENT, PackedBatch, S_TIME, STRIDE } from './packed.js';
import { RowTokenizer, isPlain, latin1 } from './row-tokenizer.js';

/** Bytes of csv-parse's chunks in the csv-parse reader (createReadStream's default high-water mark). */
export const BATCH_BYTES = 64 * 1024;
/** Bytes read at a time (many batches: fewer awaits). */
export const READ_BYTES = 1024 * 1024;

const LF = 0x0a;
const CR = 0x0d;
const HASH = 0x23;
/** Batch number of the file's last record when it ends the file (a small integer, as all batch numbers). */
const LAST_BATCH = 0x3fffffff;

/** What {@link LineScanner.scan} stopped at. */
export const Scan = {
  /** The bytes read so far are used up: read more (or, at the end of the file, the scan is over). */
  More: 0,
  /** `out` is a complete batch: yield it, then scan again. */
  Batch: 1,
  /** A line the fast path cannot read as csv-parse does: csv-parse must read the rest of the file. */
  HandOver: 2,
  /**
   * A plain line neither the tokenizer nor {@link fastEvent} decides: the caller validates `cells`
   * with zod (which throws the error of an invalid row), then {@link LineScanner.push}es the event
   * and goes {@link LineScanner.next}.
   */
  Undecided: 3,
  /** The event of the line at `start` (`pending`) has a time earlier than `lastTime`: the caller throws. */
  TimeBack: 4,
} as const;
export type ScanStatus = (typeof Scan)[keyof typeof Scan];

/** The fast path's state over one file, from its first data row. */
export class LineScanner {
  /** The file's bytes from offset `base`; `buf[start, end)` are read and not yet scanned. */
  buf: Buffer = Buffer.allocUnsafe(0);
  start = 0;
  end = 0;
  base: number;
  /** Whether the last read found the end of the file. */
  eof = false;
  /** Line number of the line at `start`. */
  line: number;
  /** The batch being built (packed: no object per event), and its number. */
  out = new PackedBatch();
  batch = -1;
  /** The time check's state: the last time seen and its line. */
  lastTime = -1;
  lastTimeRow = 0;
  /** For {@link Scan.Undecided}: the line's cells (csv-parse's: the split of a plain line). */
  cells: string[] = [];
  /** For {@link Scan.TimeBack}: the line's event. */
  pending: TraceEvent | undefined;

  private readonly tok: RowTokenizer;
  private readonly cols: Int8Array;
  private readonly width: number;
  /** One batch for everything (the parallel reader's chunks): no batch boundaries. */
  private readonly single: boolean;
  /** `buf[0, end)` (a view made once per read: `indexOf` must not look past `end`). */
  private data: Buffer;

  /**
   * @param header the checked header row.
   * @param start file offset of the first line to scan (a data row, or a comment or blank line).
   * @param firstLine its line number.
   * @param opts `single`: put every event in one batch; `lastTime`, `lastTimeRow`: the time check's
   *   state after the rows before `start` (default: none).
   */
  constructor(
    header: readonly string[],
    start: number,
    firstLine: number,
    opts: { single?: boolean; lastTime?: number; lastTimeRow?: number } = {},
  ) {
    this.tok = new RowTokenizer(header);
    this.cols = headerIndex(header);
    this.width = header.length;
    this.base = start;
    this.line = firstLine;
    this.single = opts.single ?? false;
    this.lastTime = opts.lastTime ?? -1;
    this.lastTimeRow = opts.lastTimeRow ?? 0;
    this.data = this.buf.subarray(0, 0);
  }

  /** Scan `bytes` (whole lines, from `start`), and nothing after them: the end of the input. */
  setData(bytes: Buffer): void {
    this.buf = bytes;
    this.start = 0;
    this.end = bytes.length;
    this.eof = true;
    this.data = bytes;
  }

  /**
   * Make room for a read of at least {@link READ_BYTES} at `buf[end]`, moving the unscanned bytes
   * to the front. The caller then reads file offset `base + end` into `buf[end, buf.length)` and
   * calls {@link added}.
   */
  prepareRead(): void {
    const { buf, start, end } = this;
    if (start > 0) {
      buf.copy(buf, 0, start, end);
      this.base += start;
      this.end = end - start;
      this.start = 0;
    }
    if (buf.length - this.end < READ_BYTES) {
      // the first read, or a line longer than the buffer
      const bigger = Buffer.allocUnsafe(Math.max(2 * buf.length, 2 * READ_BYTES));
      buf.copy(bigger, 0, 0, this.end);
      this.buf = bigger;
    }
  }

  /** `n` bytes were read at `buf[end]` (0: the end of the file). */
  added(n: number): void {
    if (n === 0) this.eof = true;
    this.end += n;
    this.data = this.buf.subarray(0, this.end);
  }

  /**
   * Scan lines from `start` until a status ({@link Scan}). On every status but {@link Scan.More}
   * the line at `start` is the one the status is about, not yet in a batch.
   */
  scan(): ScanStatus {
    const { buf, data, end, eof, tok, out } = this;
    // csv-parse decides a line ending at the last byte it was given only with the next chunk: here,
    // once the next read (or the end of the file) says whether the file ends there
    const limit = eof ? end : end - 1;
    let start = this.start;
    let line = this.line;
    let status: ScanStatus = Scan.More;
    while (start < limit) {
      let nl = data.indexOf(LF, start);
      if (nl < 0 || nl >= limit) {
        if (!eof) break;
        nl = end; // the last line, without a line break
      }
      if (nl > start) {
        if (buf[start] === HASH) {
          // a comment: csv-parse counts a CR in it as a line break
          if (data.subarray(start, nl).includes(CR)) {
            status = Scan.HandOver;
            break;
          }
        } else {
          const key = eof && nl >= end - 1 ? LAST_BATCH : Math.floor((this.base + nl + 1) / BATCH_BYTES);
          if (key !== this.batch && !this.single) {
            if (out.n > 0) {
              status = Scan.Batch;
              break;
            }
            this.batch = key;
          }
          if (tok.pack(buf, start, nl, line, out)) {
            // the time check, on the packed event
            const t = out.data[(out.n - 1) * STRIDE + S_TIME]!;
            if (t !== ABSENT) {
              if (t < this.lastTime) {
                this.pending = out.event(--out.n);
                status = Scan.TimeBack;
                break;
              }
              this.lastTime = t;
              this.lastTimeRow = line;
            }
          } else {
            if (!isPlain(buf, start, nl)) {
              status = Scan.HandOver;
              break;
            }
            const cells = latin1(buf, start, nl).split(',');
            if (cells.length !== this.width) {
              status = Scan.HandOver;
              break;
            }
            const ev = fastEvent(cells, this.cols, line);
            if (ev === undefined) {
              this.cells = cells;
              status = Scan.Undecided;
              break;
            }
            if (!this.push(ev)) {
              this.pending = ev;
              status = Scan.TimeBack;
              break;
            }
          }
        }
      }
      line++;
      start = nl + 1;
    }
    this.start = start;
    this.line = line;
    return status;
  }

  /**
   * Add the event of the line at `start` to the batch, after the time check.
   * @returns false when its time is earlier than `lastTime` (nothing changed).
   */
  push(ev: TraceEvent): boolean {
    const t = ev.time;
    if (t !== undefined) {
      if (t < this.lastTime) return false;
      this.lastTime = t;
      this.lastTimeRow = ev.row;
    }
    this.out.add(ev);
    return true;
  }

  /** After {@link Scan.Undecided}: the line at `start` was decided and pushed; go past it. */
  next(): void {
    const nl = this.data.indexOf(LF, this.start);
    this.start = nl < 0 ? this.end : nl + 1;
    this.line++;
  }

  /** After {@link Scan.Batch}: `out` was used (it is reused for the next batch); start the next batch. */
  nextBatch(): void {
    this.out.clear();
    this.batch = -1;
  }
}
