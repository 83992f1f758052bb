/**
 * The bucketer as it was before its columns were preallocated (src/report/bucketer.ts, commit
 * a08e2d9): a row array per bucket, every getter read again for each empty bucket. Kept as the
 * definition test/bucketer.test.ts compares the fast one with.
 */
import type { Bucket } from '../../src/report/series-types.js';
import type { Getter } from '../../src/report/bucketer.js';

/**
 * Buckets on the x axis over the collector's cumulative getters: adaptive (at most `max`, merged in
 * pairs when full) or a fixed interval streamed to `onBucket`.
 */
export class ReferenceBucketer {
  readonly xs: number[] = [];
  readonly values: number[][];
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
    this.values = getters.map(() => []);
    this.atOpen = new Float64Array(getters.length);
    this.runMax = new Float64Array(getters.length).fill(-Infinity);
  }

  /** The first event is at x. */
  start(x: number): void {
    this.origin = this.interval !== undefined ? Math.floor(x / this.width) * this.width : x;
    this.cur = 0;
  }

  /** An event at x is about to be replayed. */
  at(x: number): void {
    const idx = Math.floor((x - this.origin) / this.width);
    if (idx > this.cur) this.advance(idx, x);
  }

  noteMax(i: number, v: number): void {
    if (v > this.runMax[i]!) this.runMax[i] = v;
  }

  close(): void {
    const g = this.getters;
    const row: number[] = [];
    for (let i = 0; i < g.length; i++) {
      const spec = g[i]!.spec;
      const v = g[i]!.get();
      if (spec.kind === 'sum') {
        row.push(v - this.atOpen[i]!);
        this.atOpen[i] = v;
      } else if (spec.kind === 'max') {
        row.push(Math.max(v, this.runMax[i]!));
        this.runMax[i] = v;
      } else row.push(v);
    }
    const x = this.origin + this.cur * this.width;
    if (this.onBucket) this.onBucket({ x, values: row });
    else {
      this.xs.push(x);
      for (let i = 0; i < row.length; i++) this.values[i]!.push(row[i]!);
    }
  }

  private advance(idx: number, x: number): void {
    this.close();
    if (this.onBucket) {
      // Fixed interval: empty buckets in between are emitted too (a regular series).
      while (++this.cur < idx) this.close();
      return;
    }
    while (idx >= this.max) {
      this.halve();
      idx = Math.floor((x - this.origin) / this.width);
    }
    this.cur = this.xs.length - 1;
    if (idx <= this.cur) {
      // The event falls in the last (merged) bucket: reopen it.
      const last = this.xs.length - 1;
      this.xs.pop();
      for (let i = 0; i < this.getters.length; i++) {
        const v = this.values[i]!.pop()!;
        const kind = this.getters[i]!.spec.kind;
        if (kind === 'sum') this.atOpen[i] = this.atOpen[i]! - v;
        else if (kind === 'max') this.runMax[i] = Math.max(this.runMax[i]!, v);
      }
      this.cur = last;
      return;
    }
    // Empty buckets in between (no event): zero counts, levels carried.
    this.cur++;
    while (this.cur < idx) {
      this.close();
      this.cur++;
    }
  }

  private halve(): void {
    const n = this.xs.length;
    const m = Math.ceil(n / 2);
    for (let i = 0; i < this.getters.length; i++) {
      const kind = this.getters[i]!.spec.kind;
      const v = this.values[i]!;
      for (let j = 0; j < m; j++) {
        const a = v[2 * j]!;
        const b = 2 * j + 1 < n ? v[2 * j + 1] : undefined;
        v[j] = b === undefined ? a : kind === 'sum' ? a + b : kind === 'max' ? Math.max(a, b) : b;
      }
      v.length = m;
    }
    for (let j = 0; j < m; j++) this.xs[j] = this.xs[2 * j]!;
    this.xs.length = m;
    this.width *= 2;
  }
}
