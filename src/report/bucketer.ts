/**
 * Buckets of a series: sums, last values and maxima of the collector's columns per time (or row)
 * interval, merged in pairs when there are more than the limit (so memory stays bounded).
 *
 * Cost: this runs beside every event of a picture replay. The adaptive series lives in
 * preallocated columns (one `Float64Array` per column, `max` long), so closing a bucket allocates
 * nothing; a bucket no event fell in is written from the values the previous close read (no
 * getter is called again: nothing changed in between). A number[] per bucket, kept in growing
 * arrays, made most of a picture run's garbage and cost it about a third of its time.
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
  /** Start of each kept bucket (adaptive mode), the first {@link n} entries. */
  private readonly xcol: Float64Array;
  /** One column per getter, the first {@link n} entries of each (adaptive mode). */
  private readonly cols: Float64Array[];
  /** Buckets kept. */
  private n = 0;
  /** Column kinds, as small integers (SUM, MAX, LAST). */
  private readonly kinds: Uint8Array;
  /** Each getter's value at the last close (an empty bucket after it repeats the levels). */
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
    this.xcol = new Float64Array(keep);
    this.cols = getters.map(() => new Float64Array(keep));
    this.lastV = new Float64Array(k);
    this.atOpen = new Float64Array(k);
    this.runMax = new Float64Array(k).fill(-Infinity);
  }

  /** Start of each kept bucket (a copy). */
  get xs(): number[] {
    return Array.from(this.xcol.subarray(0, this.n));
  }

  /** The kept buckets' values, a column per getter (copies). */
  get values(): number[][] {
    return this.cols.map((c) => Array.from(c.subarray(0, this.n)));
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
      else this.cols[i]![at] = out;
    }
    this.emit(fixedRow);
  }

  /**
   * Close a bucket no event fell in, right after {@link close}: the getters read what they read
   * then, so a sum is v - v = 0 and a maximum or a level is v (what `close` would compute).
   */
  private closeEmpty(): void {
    const kinds = this.kinds;
    const lastV = this.lastV;
    const fixedRow: number[] | null = this.onBucket ? [] : null;
    const at = this.n;
    for (let i = 0; i < kinds.length; i++) {
      const v = lastV[i]!;
      const out = kinds[i] === SUM ? v - v : v;
      if (fixedRow) fixedRow.push(out);
      else this.cols[i]![at] = out;
    }
    this.emit(fixedRow);
  }

  private emit(fixedRow: number[] | null): void {
    const x = this.origin + this.cur * this.width;
    if (fixedRow) this.onBucket!({ x, values: fixedRow });
    else this.xcol[this.n++] = x;
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
    this.cur = this.n - 1;
    if (idx <= this.cur) {
      // The event falls in the last (merged) bucket: reopen it.
      const last = --this.n;
      for (let i = 0; i < this.kinds.length; i++) {
        const v = this.cols[i]![last]!;
        const kind = this.kinds[i];
        if (kind === SUM) this.atOpen[i] = this.atOpen[i]! - v;
        else if (kind === MAX) this.runMax[i] = Math.max(this.runMax[i]!, v);
      }
      this.cur = last;
      return;
    }
    // Empty buckets in between (no event): zero counts, levels carried.
    this.cur++;
    while (this.cur < idx) {
      this.closeEmpty();
      this.cur++;
    }
  }

  /** Merge the kept buckets in pairs; the width doubles. */
  private halve(): void {
    const n = this.n;
    const m = Math.ceil(n / 2);
    for (let i = 0; i < this.kinds.length; i++) {
      const kind = this.kinds[i];
      const v = this.cols[i]!;
      for (let j = 0; j < m; j++) {
        const a = v[2 * j]!;
        if (2 * j + 1 >= n) {
          v[j] = a;
          continue;
        }
        const b = v[2 * j + 1]!;
        v[j] = kind === SUM ? a + b : kind === MAX ? Math.max(a, b) : b;
      }
    }
    const xs = this.xcol;
    for (let j = 0; j < m; j++) xs[j] = xs[2 * j]!;
    this.n = m;
    this.width *= 2;
  }
}
