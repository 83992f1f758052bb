/**
 * `local_flush_tlb_all()` in the slow path of `check_and_switch_context` (arch/arm64/mm/context.c,
 * v5.10): TLBI VMALLE1 on this CPU while TTBR0 still holds the outgoing mm, so what survives is
 * that mm's entries under its ASID (the walker may refetch them), nothing else. The model keeps a
 * CPU's ASIDs in arrays up to SMALL_TLB of them and in a Map past that (model/cpu/tlb.ts): both
 * sides of that size must leave the same TLB.
 */
import { describe, expect, it } from 'vitest';
import { SMALL_TLB, SPECULATIVE, createTlb, localFlushTlbAll, tlbCanonical, tlbFill } from '../src/model/cpu/tlb.js';

/** CPU0 with `asids` ASIDs 1..asids, mm 10*a under each (a speculative walk and page a), and mm 99 aliasing ASID 2. */
function filled(asids: number) {
  const t = createTlb(2);
  for (let a = 1; a <= asids; a++) {
    tlbFill(t, 0, a, 10 * a, SPECULATIVE, a);
    tlbFill(t, 0, a, 10 * a, a, 100 + a);
  }
  tlbFill(t, 0, 2, 99, SPECULATIVE, 200);
  tlbFill(t, 1, 1, 10, SPECULATIVE, 300); // another CPU: untouched
  return t;
}

describe('local_flush_tlb_all over few and many ASIDs', () => {
  for (const asids of [3, SMALL_TLB - 1, SMALL_TLB, SMALL_TLB + 1, 2 * SMALL_TLB]) {
    it(`${asids} ASIDs: only the outgoing mm's entries under its ASID stay, on this CPU only`, () => {
      const t = filled(asids);
      localFlushTlbAll(t, 0, 30, 3);
      expect(tlbCanonical(t, 0)).toEqual([
        [
          3,
          [
            [
              30,
              [
                [SPECULATIVE, 3],
                [3, 103],
              ],
            ],
          ],
        ],
      ]);
      expect(t.counts[0]).toBe(2);
      expect(tlbCanonical(t, 1)).toEqual([[1, [[10, [[SPECULATIVE, 300]]]]]]);
      expect(t.counts[1]).toBe(1);
    });

    it(`${asids} ASIDs: keeping an mm that shares its ASID with another drops the other`, () => {
      const t = filled(asids);
      localFlushTlbAll(t, 0, 20, 2);
      expect(tlbCanonical(t, 0)).toEqual([
        [
          2,
          [
            [
              20,
              [
                [SPECULATIVE, 2],
                [2, 102],
              ],
            ],
          ],
        ],
      ]);
      expect(t.counts[0]).toBe(2);
      // mm 20 fills alone under ASID 2 now.
      expect(tlbFill(t, 0, 2, 20, 7, 400)).toBe(-1);
    });

    it(`${asids} ASIDs: no outgoing mm empties the CPU`, () => {
      const t = filled(asids);
      localFlushTlbAll(t, 0, -1, 0);
      expect(tlbCanonical(t, 0)).toEqual([]);
      expect(t.counts[0]).toBe(0);
    });
  }
});
