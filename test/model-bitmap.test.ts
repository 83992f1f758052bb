// The word-wise bitmap helpers of the allocator (src/model/cpu/bitmap.ts) against the byte loops
// they replace: `find_next_zero_bit` and `bitmap_weight` over one-byte-per-index maps.
// (the kernel's `find_next_zero_bit`, lib/find_bit.c, is what `new_context` in
// arch/arm64/mm/context.c, v5.10, searches `asid_map` with; the weight is the model's count of
// set indexes after `flush_context`, the kernel keeps none).
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { bitmapWeight, findNextZeroBit } from '../src/model/cpu/bitmap.js';

const byteFindZero = (map: Uint8Array, from: number): number => {
  for (let i = from; i < map.length; i++) if (map[i] === 0) return i;
  return -1;
};
const byteWeight = (map: Uint8Array): number => map.reduce((n, b) => n + b, 0);

/** A 0/1 map of `len` bytes at byte offset `off` of a larger buffer (views the allocator never makes, tested all the same). */
const mapArb = fc
  .record({
    len: fc.constantFrom(2, 4, 8, 60, 64, 65, 128, 256, 1024),
    off: fc.constantFrom(0, 1, 4),
    density: fc.double({ min: 0, max: 1, noNaN: true }),
    seed: fc.integer(),
    // Sometimes bytes of any value, as a design may write (the model writes 0 and 1 only).
    wide: fc.boolean(),
  })
  .map(({ len, off, density, seed, wide }) => {
    const map = new Uint8Array(new ArrayBuffer(len + 8), off, len);
    let x = seed >>> 0;
    for (let i = 0; i < len; i++) {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      map[i] = x / 2 ** 32 < density ? (wide ? 1 + (x & 0xfe) : 1) : 0;
    }
    return map;
  });

describe('allocator bitmaps (find_next_zero_bit, bitmap_weight)', () => {
  it('find the same zero as a byte loop from every start, and count the same weight', () => {
    fc.assert(
      fc.property(mapArb, fc.nat(1100), (map, from) => {
        expect(findNextZeroBit(map, from)).toBe(byteFindZero(map, from));
        expect(bitmapWeight(map)).toBe(byteWeight(map));
      }),
      { numRuns: 400 },
    );
  });

  it('see a write to a map already scanned (the word view shares its buffer)', () => {
    const map = new Uint8Array(256).fill(1);
    expect(findNextZeroBit(map, 1)).toBe(-1);
    expect(bitmapWeight(map)).toBe(256);
    map[201] = 0;
    expect(findNextZeroBit(map, 1)).toBe(201);
    expect(findNextZeroBit(map, 201)).toBe(201);
    expect(findNextZeroBit(map, 202)).toBe(-1);
    expect(bitmapWeight(map)).toBe(255);
    map[255] = 0;
    expect(findNextZeroBit(map, 202)).toBe(255);
    expect(findNextZeroBit(map, 256)).toBe(-1);
  });

  it('count a byte a design set to another value than 1 as the byte loop did (its value)', () => {
    const map = new Uint8Array(64);
    map[0] = 255;
    map[1] = 1;
    map[63] = 7;
    expect(bitmapWeight(map)).toBe(263);
  });

  it('tell two maps apart when they alternate (the cached view is of one map only)', () => {
    const a = new Uint8Array(128).fill(1);
    const b = new Uint8Array(128);
    a[100] = 0;
    expect(findNextZeroBit(a, 0)).toBe(100);
    expect(findNextZeroBit(b, 0)).toBe(0);
    expect(bitmapWeight(a)).toBe(127);
    expect(bitmapWeight(b)).toBe(0);
  });
});
