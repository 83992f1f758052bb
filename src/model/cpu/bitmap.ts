/**
 * The allocator's bitmaps (`asid_map`, `pinned_asid_map`) are one byte per index, 0 or 1, so that
 * a design reads and writes them as `map[idx]`. The kernel keeps them as `unsigned long` words and
 * searches them a word at a time (`find_next_zero_bit`, `bitmap_weight`, lib/find_bit.c and
 * lib/bitmap.c); these two helpers do the same over the bytes, four at a time through a 32-bit view
 * of the same buffer, which a workload that rolls over at nearly every switch (every ASID but a few
 * pinned: the pin-exhaustion profile) spends most of its time in. Short maps (the search's 3-bit
 * ASIDs) and unaligned ones take the byte loop: making a view would cost more than it saves.
 * test/model-bitmap.test.ts checks both against the byte loops they replace.
 */

/** Maps shorter than this (in bytes) are scanned a byte at a time. */
const WORD_MIN = 64;
/** Four set bytes. */
const ALL_SET = 0x01010101;

/** The 32-bit view of the last map scanned word-wise (one per allocator state: cloned states get their own). */
let viewOf: Uint8Array | null = null;
let view: Uint32Array = new Uint32Array(0);

function wordsOf(map: Uint8Array): Uint32Array | null {
  // Stryker disable next-line ConditionalExpression: equivalent, a view made again is the same view
  if (map === viewOf) return view;
  // Stryker disable next-line ConditionalExpression,EqualityOperator: equivalent, the length bound only picks the faster loop (a short map's view gives the same answers; the alignment tests, which a view needs, are killed)
  if (map.length < WORD_MIN || (map.length & 3) !== 0 || (map.byteOffset & 3) !== 0) return null;
  viewOf = map;
  view = new Uint32Array(map.buffer, map.byteOffset, map.length >> 2);
  return view;
}

/**
 * `find_next_zero_bit(map, map.length, from)`: the first index `>= from` whose byte is 0, or -1
 * (the kernel returns the size; `new_context` compares with it).
 * @param from an index in `0 .. map.length` (a larger one finds nothing)
 */
export function findNextZeroBit(map: Uint8Array, from: number): number {
  const words = wordsOf(map);
  let i = from;
  // Stryker disable next-line ConditionalExpression,BlockStatement: equivalent, without the word loop the byte loop below finds the same index
  if (words !== null) {
    // Bytes up to the next word boundary, then whole words until one has a zero byte.
    // Stryker disable next-line ConditionalExpression,EqualityOperator,LogicalOperator: equivalent, bytes read past the boundary or the end (undefined, never 0) only move the start of the loops below, which find the same index
    for (; i < map.length && (i & 3) !== 0; i++) if (map[i] === 0) return i;
    let w = i >> 2;
    // Stryker disable next-line ConditionalExpression,EqualityOperator: equivalent, a word loop cut short or run past the end (undefined is not ALL_SET) leaves the rest to the byte loop below, which finds the same index
    while (w < words.length && words[w] === ALL_SET) w++;
    i = w << 2;
  }
  // Stryker disable next-line EqualityOperator: equivalent, i <= map.length reads undefined, never 0
  for (; i < map.length; i++) if (map[i] === 0) return i;
  return -1;
}

/**
 * `bitmap_weight(map)`: how many indexes are set: the sum of the bytes, each 0 or 1 as the model
 * writes them (a byte a design sets to another value counts its value, as the byte loop did).
 */
export function bitmapWeight(map: Uint8Array): number {
  const words = wordsOf(map);
  let n = 0;
  // Stryker disable next-line ConditionalExpression,BlockStatement: equivalent, the byte loop below counts the same
  if (words !== null) {
    // Stryker disable next-line EqualityOperator: equivalent, w <= length adds the bytes of undefined: 0
    for (let w = 0; w < words.length; w++) {
      const x = words[w]!;
      // Four bytes of 0 or 1 sum to at most 4: the multiply adds them into the top byte. A word with
      // a larger byte (only a design writes one) is summed a byte at a time.
      // Stryker disable next-line ConditionalExpression: equivalent, -> false sums every word a byte at a time, to the same count
      if ((x & 0xfefefefe) === 0) n += Math.imul(x, ALL_SET) >>> 24;
      else for (let i = w << 2; i < (w << 2) + 4; i++) n += map[i]!;
    }
    return n;
  }
  for (let i = 0; i < map.length; i++) n += map[i]!;
  return n;
}
