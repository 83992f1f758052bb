/**
 * mprotect's CPU TLB flush on both sides of 4a18419f71cd "mm/mprotect: use mmu_gather" (v6.0):
 *
 * - v5.19 mm/mprotect.c `change_protection_range`: `if (pages) flush_tlb_range(vma, start, end);`
 *   the whole range [start, end) when some PTE changed, nothing otherwise;
 * - v6.0 on: each changed PTE is gathered (`tlb_flush_pte_range`), and `tlb_finish_mmu` flushes
 *   [tlb->start, tlb->end): the extent of the changed PTEs only.
 * arch/arm64 `__flush_tlb_range`: one TLBI VAE1IS per page below 512 pages. Four pages
 * 0x10000-0x13fff of a running mm; the first is unmapped, the three others read-write.
 */
import { describe, expect, it } from 'vitest';
import { run } from './helpers/mini.js';

const L = (...lines: string[]) => lines.join('\n');
const head = L('fork 1 P', 'sched 0 1', 'unmap P 0x10000 0x1000');
const tlbiVa = (kernel: string, tail: string) =>
  run({ kernel, cpus: 1, asidBits: 8 }, L(head, tail)).churn.tlbi.va - run({ kernel, cpus: 1, asidBits: 8 }, head).churn.tlbi.va;

describe('mprotect: the flushed range', () => {
  it.each([
    ['5.19', 4],
    ['6.0', 3],
  ])('%s: read-only over the four pages flushes %i pages', (kernel, pages) => {
    expect(tlbiVa(kernel, 'mprotect P 0x10000 0x4000 r')).toBe(pages);
  });

  it.each(['5.19', '6.0'])('%s: no PTE changes (same rights, or nothing mapped): no flush', (kernel) => {
    expect(tlbiVa(kernel, 'mprotect P 0x11000 0x3000 rw')).toBe(0);
    expect(tlbiVa(kernel, 'mprotect P 0x10000 0x1000 r')).toBe(0);
  });

  it('a page made read-only and back: both changes flush it (v6.0: one page each)', () => {
    expect(tlbiVa('6.0', L('mprotect P 0x11000 0x1000 r', 'mprotect P 0x11000 0x1000 rw'))).toBe(2);
  });
});
