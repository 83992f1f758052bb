/**
 * Buckets of a series: sums, last values and maxima of the collector's columns per time (or row)
 * interval, merged in pairs when there are more than the limit (so memory stays bounded).
 *
 * Cost: this runs beside every event of a picture replay. The adaptive series keeps only the
 * buckets an event fell in, in preallocated columns (one `Float64Array` per column, `max` long,
 * with each kept bucket's index): an empty bucket's values follow from the kept bucket before it
 * (zero sums, the levels it closed with), so they are written out once, at the end ({@link
 * Bucketer.values}). The width starts at 1 (ns or row) and doubles as the trace goes on, so at the
 * start of a trace whose events are microseconds apart nearly every bucket is empty: writing
 * each one (and merging them, over a dozen times) in the first milliseconds of a replay, while
 * V8 still interprets this code, made megabytes of short-lived numbers, and the replay then ran
 * with a heap that kept growing (a third more time for `--html` at 10^6 events, 100 MB of RSS
 * against 78; docs/performance.md). A number[] per bucket, kept in growing arrays, had made most of a
 * picture run's garbage before.
 */
import type { Bucket, ColumnSpec } from './series-types.js';

export interface Getter {
  spec: ColumnSpec;
  get: () => number;
}

const SUM = 0;
const MAX = 1;
const LAST = 2;

/**
 * Buckets on the x axis over the collector's cumulative getters: adaptive (at most `max`, merged in
 * pairs when full) or a fixed interval streamed to `onBucket`.
 */
export class Bucketer {
  /**
   * Adaptive mode: the index (at the present width: x = origin + index * width) of each kept
   * bucket, the first {@link n} entries, in increasing order. Only buckets an event fell in are
   * kept; the last one is the last closed.
   */
  private readonly ixs: Float64Array;
  /** One column per getter, the first {@link n} entries of each (adaptive mode). */
  private readonly cols: Float64Array[];
  /**
   * Per max column (null for the others), the getter's value when each kept bucket closed: the
   * level an empty bucket after it shows (for a sum or last column that is 0, or the value itself).
   */
  private readonly levels: (Float64Array | null)[];
  /** Buckets kept (adaptive mode). */
  private n = 0;
  /** Column kinds, as small integers (SUM, MAX, LAST). */
  private readonly kinds: Uint8Array;
  /** Per merged bucket of a {@link halve}: 1 when two kept buckets became it (scratch). */
  private readonly merges: Uint8Array;
  /** Each getter's value at the last close (a fixed-interval empty bucket after it repeats the levels). */
  private readonly lastV: Float64Array;
  /** Cumulative value of each sum column at the open bucket's start. */
  readonly atOpen: Float64Array;
  /** Running maximum of each max column in the open bucket. */
  readonly runMax: Float64Array;
  origin = 0;
  width: number;
  cur = 0;

  constructor(
    private readonly getters: readonly Getter[],
    private readonly interval: number | undefined,
    private readonly max: number,
    private readonly onBucket: ((b: Bucket) => void) | undefined,
  ) {
    this.width = interval ?? 1;
    const k = getters.length;
    this.kinds = Uint8Array.from(getters, (g) => (g.spec.kind === 'sum' ? SUM : g.spec.kind === 'max' ? MAX : LAST));
    const keep = onBucket ? 0 : max;
    this.ixs = new Float64Array(keep);
    this.cols = getters.map(() => new Float64Array(keep));
    this.merges = new Uint8Array(keep);
    this.levels = getters.map((g) => (g.spec.kind === 'max' ? new Float64Array(keep) : null));
    this.lastV = new Float64Array(k);
    this.atOpen = new Float64Array(k);
    this.runMax = new Float64Array(k).fill(-Infinity);
  }

  /** Buckets from the first to the last closed, empty ones included (adaptive mode). */
  private get count(): number {
    // Stryker disable next-line ConditionalExpression: equivalent, with none kept ixs[-1] + 1 is NaN, and a length of NaN is 0 buckets all the same
    return this.n === 0 ? 0 : this.ixs[this.n - 1]! + 1;
  }

  /**
   * Start of each bucket from the first to the last closed (adaptive mode; a fresh array). Read
   * after the last {@link close}: before it, the empty buckets between the last closed and the
   * open one are not counted yet.
   */
  get xs(): number[] {
    return Array.from({ length: this.count }, (_, j) => this.origin + j * this.width);
  }

  /**
   * The values of each bucket from the first to the last closed, a column per getter (adaptive
   * mode; fresh arrays): a kept bucket's own, and for an empty one 0 in a sum column and the level
   * the kept bucket before it closed with in the others (what a close with no event in between
   * makes: see {@link closeEmpty}; `v - v` there is 0 for the finite counts the getters give).
   * Read after the last {@link close}, as {@link xs}.
   */
  get values(): number[][] {
    const count = this.count;
    return this.cols.map((c, i) => {
      const out: number[] = [];
      const levels = this.levels[i];
      const sum = this.kinds[i] === SUM;
      let k = 0;
      let level = 0;
      for (let j = 0; j < count; j++) {
        // the last kept bucket is the last one (count - 1): k never passes n before j ends
        if (this.ixs[k] === j) {
          out.push(c[k]!);
          level = levels ? levels[k]! : c[k]!;
          k++;
        } else out.push(sum ? 0 : level);
      }
      return out;
    });
  }

  /** The first event is at x. */
  start(x: number): void {
    this.origin = this.interval !== undefined ? Math.floor(x / this.width) * this.width : x;
    this.cur = 0;
  }

  /** An event at x is about to be replayed (SeriesCollector.beforeEvent has these two lines written out). */
  at(x: number): void {
    const idx = Math.floor((x - this.origin) / this.width);
    if (idx > this.cur) this.advance(idx, x);
  }

  noteMax(i: number, v: number): void {
    if (v > this.runMax[i]!) this.runMax[i] = v;
  }

  /** Close the open bucket: read every getter once. */
  close(): void {
    const g = this.getters;
    const kinds = this.kinds;
    const lastV = this.lastV;
    const fixedRow: number[] | null = this.onBucket ? [] : null;
    const at = this.n;
    for (let i = 0; i < g.length; i++) {
      const v = g[i]!.get();
      lastV[i] = v;
      let out: number;
      const kind = kinds[i];
      if (kind === SUM) {
        out = v - this.atOpen[i]!;
        this.atOpen[i] = v;
      } else if (kind === MAX) {
        out = Math.max(v, this.runMax[i]!);
        this.runMax[i] = v;
      } else out = v;
      if (fixedRow) fixedRow.push(out);
      else {
        this.cols[i]![at] = out;
        if (kind === MAX) this.levels[i]![at] = v;
      }
    }
    if (fixedRow) this.emit(fixedRow);
    else this.ixs[this.n++] = this.cur;
  }

  /**
   * Close a bucket no event fell in, right after {@link close} (fixed interval: the adaptive series
   * keeps none): the getters read what they read then, so a sum is v - v = 0 and a maximum or a
   * level is v (what `close` would compute).
   */
  private closeEmpty(): void {
    const kinds = this.kinds;
    const lastV = this.lastV;
    const row: number[] = [];
    for (let i = 0; i < kinds.length; i++) {
      const v = lastV[i]!;
      row.push(kinds[i] === SUM ? v - v : v);
    }
    this.emit(row);
  }

  /** Hand a fixed-interval bucket to `onBucket`. */
  private emit(row: number[]): void {
    this.onBucket!({ x: this.origin + this.cur * this.width, values: row });
  }

  /** Close the open bucket and open the one of index `idx` (x's: {@link at}). */
  advance(idx: number, x: number): void {
    this.close();
    if (this.onBucket) {
      // Fixed interval: empty buckets in between are emitted too (a regular series).
      while (++this.cur < idx) this.closeEmpty();
      return;
    }
    while (idx >= this.max) {
      this.halve();
      idx = Math.floor((x - this.origin) / this.width);
    }
    const last = this.n - 1;
    const lastIdx = this.ixs[last]!;
    if (idx <= lastIdx) {
      // The event falls in the last (merged) bucket: reopen it.
      this.n = last;
      for (let i = 0; i < this.kinds.length; i++) {
        const v = this.cols[i]![last]!;
        const kind = this.kinds[i];
        if (kind === SUM) this.atOpen[i] = this.atOpen[i]! - v;
        // Stryker disable next-line ConditionalExpression: equivalent, runMax is read for max columns only
        else if (kind === MAX) this.runMax[i] = Math.max(this.runMax[i]!, v);
      }
      this.cur = lastIdx;
      return;
    }
    // The buckets in between stay empty: nothing is kept for them.
    this.cur = idx;
  }

  /**
   * Merge the buckets in pairs; the width doubles. Two kept buckets that become one are merged
   * (sum: a + b, max: the larger, last: b's); a kept bucket whose partner is empty stays as it is,
   * which is what merging it with the empty one would give: an empty bucket's sum is 0, and its
   * level is the level its kept neighbour before it closed with, which that neighbour's maximum is
   * at least, and which a kept bucket after it starts its maximum from.
   */
  private halve(): void {
    const n = this.n;
    const ixs = this.ixs;
    // pass 1: which kept buckets merge with the next one (one mark per pair), and the new indexes
    const merges = this.merges;
    let m = 0;
    for (let j = 0; j < n; m++) {
      const half = Math.floor(ixs[j]! / 2);
      const pair = j + 1 < n && Math.floor(ixs[j + 1]! / 2) === half;
      merges[m] = pair ? 1 : 0;
      ixs[m] = half;
      j += pair ? 2 : 1;
    }
    // pass 2: the columns, in place (entry m is read from m or later)
    for (let i = 0; i < this.kinds.length; i++) {
      const kind = this.kinds[i];
      const v = this.cols[i]!;
      const lv = this.levels[i];
      // Stryker disable next-line EqualityOperator: equivalent, k <= m writes one entry past the kept ones, never read
      for (let j = 0, k = 0; k < m; k++) {
        if (merges[k] === 1) {
          const a = v[j]!;
          const b = v[j + 1]!;
          v[k] = kind === SUM ? a + b : kind === MAX ? Math.max(a, b) : b;
          if (lv) lv[k] = lv[j + 1]!;
          j += 2;
        } else {
          v[k] = v[j]!;
          if (lv) lv[k] = lv[j]!;
          j++;
        }
      }
    }
    this.n = m;
    this.width *= 2;
  }
}
