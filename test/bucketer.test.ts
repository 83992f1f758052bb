// The preallocated bucketer (src/report/bucketer.ts) against the one it replaced
// (test/helpers/bucketer-reference.ts): the same buckets, kept or streamed, for any sequence of
// events, counter changes and maxima; and the empty-bucket rule on both sides of it.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Bucketer, type Getter } from '../src/report/bucketer.js';
import type { Bucket, ColumnKind } from '../src/report/series-types.js';
import { ReferenceBucketer } from './helpers/bucketer-reference.js';

const KINDS: ColumnKind[] = ['sum', 'last', 'max'];

/** Getters over a shared value array (what a collector's counters are). */
function getters(kinds: ColumnKind[], vals: number[]): Getter[] {
  return kinds.map((kind, i) => ({ spec: { name: `c${i}`, kind, help: '' }, get: () => vals[i]! }));
}

const step = fc.record({
  gap: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 50 }), fc.integer({ min: 51, max: 100_000 })),
  /** Per column: a change of the counter before the event (sums only grow; levels move both ways). */
  deltas: fc.array(fc.integer({ min: -3, max: 9 }), { minLength: 5, maxLength: 5 }),
  maxNote: fc.option(fc.integer({ min: 0, max: 1000 }), { nil: undefined }),
});

type Step = { gap: number; deltas: number[]; maxNote: number | undefined };

function run(kinds: ColumnKind[], steps: Step[], start: number, max: number, interval?: number) {
  const vals = kinds.map(() => 0);
  const gs = getters(kinds, vals);
  const gotRows: Bucket[] = [];
  const wantRows: Bucket[] = [];
  const got = new Bucketer(gs, interval, interval ? Infinity : max, interval ? (b) => gotRows.push(b) : undefined);
  const want = new ReferenceBucketer(gs, interval, interval ? Infinity : max, interval ? (b) => wantRows.push(b) : undefined);
  let x = start;
  got.start(x);
  want.start(x);
  for (const s of steps) {
    x += s.gap;
    got.at(x);
    want.at(x);
    kinds.forEach((k, i) => (vals[i] = k === 'sum' ? vals[i]! + Math.abs(s.deltas[i]!) : vals[i]! + s.deltas[i]!));
    if (s.maxNote !== undefined)
      kinds.forEach((k, i) => {
        if (k === 'max') {
          got.noteMax(i, s.maxNote!);
          want.noteMax(i, s.maxNote!);
        }
      });
  }
  got.close();
  want.close();
  return { got, want, gotRows, wantRows };
}

describe('Bucketer (preallocated) against the reference bucketer', () => {
  it('keeps the same adaptive buckets (x, width, every column) for any events', () => {
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom(...KINDS), { minLength: 5, maxLength: 5 }),
        fc.array(step, { maxLength: 400 }),
        fc.integer({ min: 0, max: 1e12 }),
        fc.integer({ min: 2, max: 40 }),
        (kinds, steps, start, max) => {
          const { got, want } = run(kinds, steps, start, max);
          expect(got.width).toBe(want.width);
          expect(got.xs).toEqual(want.xs);
          expect(got.values).toEqual(want.values);
        },
      ),
      { numRuns: 400 },
    );
  });

  it('streams the same fixed-interval buckets, empty ones included', () => {
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom(...KINDS), { minLength: 5, maxLength: 5 }),
        fc.array(step, { maxLength: 200 }),
        fc.integer({ min: 0, max: 1e9 }),
        fc.integer({ min: 1, max: 5000 }),
        (kinds, steps, start, interval) => {
          // at most 64 intervals between two events (both sides: the same bucket, and empty ones
          // between), so that a run writes thousands of buckets, not millions
          const near = steps.map((s) => ({ ...s, gap: s.gap % (64 * interval) }));
          const { gotRows, wantRows } = run(kinds, near, start, 0, interval);
          expect(gotRows).toEqual(wantRows);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('writes an empty bucket as zero sums and carried levels, without reading a getter again', () => {
    const vals = [5, 7, 9];
    let reads = 0;
    const gs: Getter[] = (['sum', 'last', 'max'] as ColumnKind[]).map((kind, i) => ({
      spec: { name: `c${i}`, kind, help: '' },
      get: () => (reads++, vals[i]!),
    }));
    const rows: Bucket[] = [];
    const b = new Bucketer(gs, 10, Infinity, (r) => rows.push(r));
    b.start(0);
    b.at(35); // closes [0,10), then [10,20) and [20,30) empty
    expect(reads).toBe(3);
    expect(rows).toEqual([
      { x: 0, values: [5, 7, 9] },
      { x: 10, values: [0, 7, 9] },
      { x: 20, values: [0, 7, 9] },
    ]);
    // the next event in the same bucket closes nothing; one in the next bucket reads the getters once more
    b.at(39);
    expect(rows).toHaveLength(3);
    vals[0] = 8;
    b.at(40);
    expect(reads).toBe(6);
    expect(rows[3]).toEqual({ x: 30, values: [3, 7, 9] });
  });
});
