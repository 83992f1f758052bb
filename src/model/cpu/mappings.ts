/**
 * Process mappings and the CPU TLB maintenance that goes with them: `map` (new mappings, and the
 * rights changes of `ptep_set_access_flags` / `change_protection`), `unmap` (PTE clear +
 * `flush_tlb_range`), and `access` (a TLB fill through the page table).
 */
import { ctxAsid } from './allocator.js';
import type { AllocatorParams } from './allocator.js';
import { tlbEntriesIn, tlbiAsidBroadcast, tlbiVaRangeBroadcast } from './tlb.js';
import { INITIAL_PTE, type Pte, ptUpdate } from './page-table.js';
import { EventError } from '../errors.js';
import { PAGE_SHIFT, pageRange } from '../pages.js';
import { type CpuModelState, type CpuObserver, UNTOUCHED_PT, checkCpu, lookupMm, ptOf, walkMm } from './state.js';
import { fillAndCheck } from './invariants.js';

/**
 * `MAX_TLBI_OPS` = PTRS_PER_PTE for 4 KiB pages: `__flush_tlb_range` uses `flush_tlb_mm` when
 * `(end - start) >= MAX_TLBI_OPS * stride` (arch/arm64/include/asm/tlbflush.h, v4.19 to v6.12).
 */
export const MAX_TLBI_OPS = 512;

/** What a `map` of an mm did to pages that were already mapped (bit mask). */
export const MAP_UPGRADED = 1;
export const MAP_DOWNGRADED = 2;

/**
 * `map mm va size [prot]`: the process's page tables gain (or change) a mapping. A page mapped anew
 * gets a new epoch. Changing the rights of a present page is `ptep_set_access_flags` (upgrade) or
 * `change_protection` (downgrade): both flush the CPU TLB by VA (`flush_tlb_page`/`flush_tlb_range`).
 * @returns {@link MAP_UPGRADED} | {@link MAP_DOWNGRADED} for present pages whose rights changed (the
 * caller then runs the mmu notifier), 0 otherwise.
 */
export function mapMm(s: CpuModelState, label: string, va: number, size: number, prot: number, row: number, obs: CpuObserver): number {
  const mm = lookupMm(s, label, row, true);
  const [first, last] = pageRange(va, size, row);
  if (mm.pt === UNTOUCHED_PT && prot === INITIAL_PTE.prot) return 0;
  let changed = 0;
  const fresh: Pte = { prot, epoch: mm.epoch + 1, row };
  ptUpdate(ptOf(mm), first, last, (old) => {
    if (old.prot === prot) return old;
    if (old.prot === 0) return fresh;
    changed |= prot & ~old.prot ? MAP_UPGRADED : 0;
    changed |= old.prot & ~prot ? MAP_DOWNGRADED : 0;
    return { prot, epoch: old.epoch, row };
  });
  mm.epoch++;
  if (changed && mm.ctx !== 0) {
    // A downgrade is change_protection -> flush_tlb_range (whole ASID from MAX_TLBI_OPS pages on);
    // an upgrade is a fault per page, each ptep_set_access_flags -> flush_tlb_page.
    if (changed & MAP_DOWNGRADED && last - first + 1 >= MAX_TLBI_OPS) {
      tlbiAsidBroadcast(s.tlb, ctxAsid(mm.ctx));
      obs.counters.tlbiAsid++;
    } else {
      tlbiVaRangeBroadcast(s.tlb, ctxAsid(mm.ctx), first, last);
      obs.counters.tlbiVa += last - first + 1;
    }
  }
  return changed;
}

/**
 * `unmap mm va size`: PTEs cleared, then `flush_tlb_range` with `ASID(mm)` read now: per-page
 * TLBI VAE1IS, or TLBI ASIDE1IS (`flush_tlb_mm`) from MAX_TLBI_OPS pages on. Then NoUsableStaleEntry:
 * no CPU that runs the mm may still hold an entry for those pages under the ASID it runs with.
 */
export function unmapMm(s: CpuModelState, label: string, va: number, size: number, row: number, obs: CpuObserver): void {
  const mm = lookupMm(s, label, row, true);
  const [first, last] = pageRange(va, size, row);
  const pages = last - first + 1;
  const gone: Pte = { prot: 0, epoch: ++mm.epoch, row };
  ptUpdate(ptOf(mm), first, last, (old) => (old.prot === 0 ? old : gone));
  if (mm.ctx !== 0) {
    const asid = ctxAsid(mm.ctx);
    if (pages >= MAX_TLBI_OPS) {
      tlbiAsidBroadcast(s.tlb, asid);
      obs.counters.tlbiAsid++;
    } else {
      tlbiVaRangeBroadcast(s.tlb, asid, first, last);
      obs.counters.tlbiVa += pages;
    }
  }
  for (let c = 0; c < s.ttbrMm.length; c++) {
    if (s.ttbrMm[c] !== mm.key) continue;
    for (const [pg, fillRow] of tlbEntriesIn(s.tlb, c, s.ttbrAsid[c]!, mm.key, first, last)) {
      obs.violation({
        row,
        kind: 'stale-tlb',
        cpu: c,
        asid: s.ttbrAsid[c],
        mm: mm.label,
        fillRow,
        detail: `CPU${c} runs mm ${mm.label} with ASID ${s.ttbrAsid[c]} and still translates page 0x${(pg * 2 ** PAGE_SHIFT).toString(16)} after the TLBI (sent for ASID ${ctxAsid(mm.ctx)})`,
      });
    }
  }
}

/** `access cpu va`: the CPU's current task touches `va`: a TLB fill under the TTBR's ASID, or a fault. */
export function access(p: AllocatorParams, s: CpuModelState, cpu: number, va: number, row: number, obs: CpuObserver): void {
  checkCpu(p, cpu, row);
  if (s.curTask[cpu] === 0)
    throw new EventError(`CPU${cpu} runs no user task (idle or kernel thread): it cannot access user memory`, row, 'cpu');
  if (s.ttbrMm[cpu] !== s.tasks.get(s.curTask[cpu]!)) {
    // The switch to this task's mm failed (no-free-asid, reported at its schedule): the kernel would
    // have run on with an ASID outside the map, which nothing here can model. The access is counted
    // as a fault, not filled under another mm's ASID.
    obs.counters.faults++;
    return;
  }
  const mm = s.mms.get(s.ttbrMm[cpu]!);
  if (!mm) throw new EventError(`CPU${cpu} has no user address space`, row, 'cpu');
  obs.counters.accesses++;
  const page = Math.floor(va / 2 ** PAGE_SHIFT);
  if (walkMm(mm, page).prot === 0) {
    obs.counters.faults++;
    return;
  }
  fillAndCheck(s, cpu, mm, page, row, obs);
}
