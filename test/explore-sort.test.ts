// The canonical encoding's sorts (src/explore/canon.ts) against Array.prototype.sort, which they
// replace for short lists: same order, ties kept in their order (sort is stable).
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { sortAsc, sortWith } from '../src/explore/canon.js';

describe('sortAsc and sortWith against Array.prototype.sort', () => {
  it('sortAsc orders numbers as sort((x, y) => x - y) does, short and long lists', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -1e6, max: 1e6 }), { maxLength: 70 }), (xs) => {
        const want = [...xs].sort((x, y) => x - y);
        expect(sortAsc([...xs])).toEqual(want);
      }),
      { numRuns: 300 },
    );
  });

  it('sortWith keeps ties in their order, as the stable sort does', () => {
    fc.assert(
      fc.property(fc.array(fc.record({ k: fc.integer({ min: 0, max: 3 }), id: fc.nat() }), { maxLength: 70 }), (xs) => {
        const cmp = (a: { k: number }, b: { k: number }) => a.k - b.k;
        expect(sortWith([...xs], cmp)).toEqual([...xs].sort(cmp));
      }),
      { numRuns: 300 },
    );
  });
});
