/**
 * Process mappings and the CPU TLB maintenance that goes with them: `map` (new mappings, and the
 * rights raised by a fault, `ptep_set_access_flags`), `mprotect` (`change_protection`), `unmap` (PTE
 * clear + `flush_tlb_range`), and `access` (a TLB fill through the page table).
 */
import { ctxAsid } from './allocator.js';
import type { AllocatorParams } from './allocator.js';
import { tlbFill, tlbiAsidBroadcast, tlbiVaRangeBroadcast } from './tlb.js';
import { INITIAL_PTE, type Pte, ptExtent, ptUpdate } from './page-table.js';
import { EventError } from '../errors.js';
import { PAGE_SHIFT, pageRange } from '../pages.js';
import { type CpuModelState, type CpuObserver, UNTOUCHED_PT, checkCpu, lookupMm, ptOf, walkMm } from './state.js';
import { touchFill, touchUnmap } from './invariants.js';

/**
 * `MAX_TLBI_OPS` = PTRS_PER_PTE for 4 KiB pages: `__flush_tlb_range` uses `flush_tlb_mm` when
 * `(end - start) >= MAX_TLBI_OPS * stride` (arch/arm64/include/asm/tlbflush.h, v4.19 to v6.12).
 */
export const MAX_TLBI_OPS = 512;

/**
 * What a CPU page-table change did, as the SMMU side needs it (mmu notifiers, BTM snoop).
 * Page numbers are 4 KiB pages; extents are inclusive.
 */
export interface PtChange {
  /** Some page of the range had a valid PTE before (a VMA with populated page tables covers it). */
  readonly present: boolean;
  /** First and last page whose PTE changed, or null. */
  readonly changed: readonly [number, number] | null;
  /** Pages the CPU TLB flush covered (the mmu_gather's extent, or the whole range), or null: no flush. */
  readonly flushed: readonly [number, number] | null;
  /** The CPU flushed the whole ASID (`flush_tlb_mm`: the flushed range was MAX_TLBI_OPS pages or more). */
  readonly cpuWhole: boolean;
  /** `map` only: a present page lost rights (the change is `change_protection`, not a fault). */
  readonly downgrade: boolean;
}

const NO_CHANGE: PtChange = Object.freeze({ present: false, changed: null, flushed: null, cpuWhole: false, downgrade: false });

/**
 * `__flush_tlb_range(vma, start, end)` (arch/arm64/include/asm/tlbflush.h, v4.19 on): TLBI VAE1IS per
 * page, or `flush_tlb_mm` (TLBI ASIDE1IS) when `(end - start) >= MAX_TLBI_OPS * PAGE_SIZE`. The ASID
 * is `ASID(mm)`, the low bits of `mm->context.id` whatever its generation: an mm that never ran
 * (context id 0) is flushed with ASID 0, which tags no user entry, and the TLBIs are issued all the same.
 * @returns whether the whole ASID was flushed.
 */
function flushTlbRange(s: CpuModelState, ctx: number, first: number, last: number, obs: CpuObserver): boolean {
  if (last - first + 1 >= MAX_TLBI_OPS) {
    tlbiAsidBroadcast(s.tlb, ctxAsid(ctx));
    obs.counters.tlbiAsid++;
    return true;
  }
  tlbiVaRangeBroadcast(s.tlb, ctxAsid(ctx), first, last);
  obs.counters.tlbiVa += last - first + 1;
  return false;
}

/**
 * `map mm va size [prot]`: the process's page tables gain (or change) a mapping. A page mapped anew
 * gets a new epoch. A present page that gains rights is a fault: `handle_pte_fault` ->
 * `ptep_set_access_flags` -> `flush_tlb_page`, one page at a time (arch/arm64/mm/fault.c). A present
 * page that loses rights can only be `change_protection` (a fault never lowers rights): the range is
 * then flushed as `mprotect` flushes it.
 */
export function mapMm(s: CpuModelState, label: string, va: number, size: number, prot: number, row: number, obs: CpuObserver): PtChange {
  const mm = lookupMm(s, label, row, true);
  const [first, last] = pageRange(va, size, row);
  // Stryker disable next-line ObjectLiteral,BooleanLiteral: equivalent, step() reads a map's result only when `changed` is set (null here, undefined in {}), and `present` only with a downgrade
  if (mm.pt === UNTOUCHED_PT && prot === INITIAL_PTE.prot) return { ...NO_CHANGE, present: true };
  let up = false;
  let down = false;
  // Stryker disable next-line BooleanLiteral: equivalent, a map's `present` is read only when it lowered rights (step -> afterPtChange 'mprotect'), which needs a present page
  let present = false;
  let mapped = false;
  const fresh: Pte = { prot, epoch: mm.epoch + 1, row };
  ptUpdate(ptOf(mm), first, last, (old) => {
    if (old.prot !== 0) present = true;
    if (old.prot === prot) return old;
    if (old.prot === 0) {
      mapped = true;
      return fresh;
    }
    // Stryker disable next-line UnaryOperator: equivalent, `up` is read only when no right was lowered: then old is within prot, non-zero and not prot, so prot & ~old and prot & old are both non-zero
    up ||= (prot & ~old.prot) !== 0;
    down ||= (old.prot & ~prot) !== 0;
    return { prot, epoch: old.epoch, row };
  });
  // A new epoch only when a page was mapped anew: a rights change keeps the mapping.
  if (mapped) mm.epoch++;
  // Stryker disable next-line ObjectLiteral: equivalent, step() reads a map's result only when `changed` is set ({} leaves it undefined)
  if (!up && !down) return { ...NO_CHANGE, present };
  const changed = [first, last] as const;
  if (down) return { present, changed, flushed: changed, cpuWhole: flushTlbRange(s, mm.ctx, first, last, obs), downgrade: true };
  // One fault per page, each flush_tlb_page: a TLBI VAE1IS per page, never the whole ASID (one
  // range walk here has the same effect and count); ASID 0 for an mm that never ran, as above.
  tlbiVaRangeBroadcast(s.tlb, ctxAsid(mm.ctx), first, last);
  obs.counters.tlbiVa += last - first + 1;
  return { present, changed, flushed: changed, cpuWhole: false, downgrade: false };
}

/**
 * `mprotect mm va size prot`: `mprotect_fixup` -> `change_protection` (mm/mprotect.c). Present pages
 * take the new rights (the same mapping: the epoch stays); absent pages stay absent. When a PTE
 * changed, the CPU TLB is flushed: over [va, va + size) by `flush_tlb_range(vma, start, end)`, or,
 * with `gather` (the mmu_gather of v6.0 on, 4a18419f71cd), over the changed PTEs' extent.
 */
export function mprotectMm(
  s: CpuModelState,
  label: string,
  va: number,
  size: number,
  prot: number,
  gather: boolean,
  row: number,
  obs: CpuObserver,
): PtChange {
  const mm = lookupMm(s, label, row, true);
  const [first, last] = pageRange(va, size, row);
  const pt = mm.pt;
  const present = ptExtent(pt, first, last, (p) => p.prot !== 0) !== null;
  const changed = ptExtent(pt, first, last, (p) => p.prot !== 0 && p.prot !== prot);
  if (!changed) return { ...NO_CHANGE, present };
  ptUpdate(ptOf(mm), changed[0], changed[1], (old) => (old.prot === 0 || old.prot === prot ? old : { prot, epoch: old.epoch, row }));
  const flushed = gather ? changed : ([first, last] as const);
  // Stryker disable next-line BooleanLiteral: equivalent, `downgrade` is read for a map only (step's mprotect case never reads it)
  return { present, changed, flushed, cpuWhole: flushTlbRange(s, mm.ctx, flushed[0], flushed[1], obs), downgrade: false };
}

/**
 * `unmap mm va size`: munmap -> `unmap_region`: the PTEs are cleared (zap_pte_range gathers their
 * extent in the mmu_gather), then `tlb_finish_mmu` -> `tlb_flush` -> `__flush_tlb_range` over
 * [tlb->start, tlb->end) with `ASID(mm)` read now; no PTE cleared, no flush (`if (!tlb->end)`).
 * Then TLBEmptyInvalPTE (checked as NoUsableStaleEntry, invariants.ts) is evaluated over those pages.
 */
export function unmapMm(s: CpuModelState, label: string, va: number, size: number, row: number, obs: CpuObserver): PtChange {
  const mm = lookupMm(s, label, row, true);
  const [first, last] = pageRange(va, size, row);
  const changed = ptExtent(mm.pt, first, last, (p) => p.prot !== 0);
  // Stryker disable next-line BooleanLiteral: equivalent, cpuWhole is read only with `flushed` set (the BTM snoop, the v6.6 notifier call), and then it was assigned from flushTlbRange
  let cpuWhole = false;
  if (changed) {
    const gone: Pte = { prot: 0, epoch: ++mm.epoch, row };
    ptUpdate(ptOf(mm), changed[0], changed[1], (old) => (old.prot === 0 ? old : gone));
    cpuWhole = flushTlbRange(s, mm.ctx, changed[0], changed[1], obs);
  }
  touchUnmap(mm, first, last);
  // Stryker disable next-line BooleanLiteral: equivalent, `downgrade` is read for a map only (step's unmap case never reads it)
  return { present: changed !== null, changed, flushed: changed, cpuWhole, downgrade: false };
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
  // Stryker disable next-line StringLiteral: equivalent, unreachable: ttbrMm[cpu] is the mm of the live current task (checked above), and an mm with a live task is never retired
  if (!mm) throw new EventError(`CPU${cpu} has no user address space`, row, 'cpu');
  obs.counters.accesses++;
  const page = Math.floor(va / 2 ** PAGE_SHIFT);
  if (walkMm(mm, page).prot === 0) {
    obs.counters.faults++;
    return;
  }
  const asid = s.ttbrAsid[cpu]!;
  if (tlbFill(s.tlb, cpu, asid, mm.key, page, row) >= 0) touchFill(cpu, asid, mm);
}
