/**
 * Per-CPU TLBs tagged by ASID, as the kernel-tla `asidalloc` model keeps them (spec allocator.md §4.2):
 * an entry is (cpu, asid, mm, page) and remembers the trace row that filled it.
 *
 * `page` is a 4 KiB virtual page number, or {@link SPECULATIVE} for the walk the CPU may perform as
 * soon as TTBR0 is written (`cpu_switch_mm`), the TLA model's one-page-per-task abstraction.
 * Maintenance mirrors arm64 `tlbflush.h`: `local_flush_tlb_all` (TLBI VMALLE1, this CPU only),
 * `flush_tlb_mm` (TLBI ASIDE1IS, every CPU) and `__flush_tlb_range` (TLBI VAE1IS per page, every CPU).
 */

/** Page number of the speculative, not-page-specific entry filled at `cpu_switch_mm`. */
export const SPECULATIVE = -1;

/** asid -> mm key -> page -> row that filled it. */
export type CpuTlb = Map<number, Map<number, Map<number, number>>>;

export interface TlbState {
  cpus: CpuTlb[];
  /** Entries per CPU (for the capacity bound). */
  counts: number[];
}

/** Capacity per CPU; when exceeded the CPU's TLB is emptied (a conservative eviction, as QEMU's IOTLB does). */
export const TLB_CAPACITY = 16384;

export function createTlb(cpus: number): TlbState {
  return { cpus: Array.from({ length: cpus }, () => new Map()), counts: new Array(cpus).fill(0) };
}

export function cloneTlb(t: TlbState): TlbState {
  return {
    cpus: t.cpus.map((m) => new Map([...m].map(([a, mms]) => [a, new Map([...mms].map(([k, p]) => [k, new Map(p)]))]))),
    counts: t.counts.slice(),
  };
}

/**
 * Insert (asid, mm, page) into `cpu`'s TLB.
 * @returns the key of another mm that already has entries under `asid` on this CPU (the TLA
 * `UniqueASIDPerCPU` hazard: the running mm can use them), or -1.
 */
export function tlbFill(t: TlbState, cpu: number, asid: number, mm: number, page: number, row: number): number {
  const tlb = t.cpus[cpu];
  let byMm = tlb.get(asid);
  if (!byMm) {
    byMm = new Map();
    tlb.set(asid, byMm);
  }
  let other = -1;
  if (byMm.size > 1 || (byMm.size === 1 && !byMm.has(mm))) {
    for (const k of byMm.keys()) if (k !== mm) { other = k; break; }
  }
  let pages = byMm.get(mm);
  if (!pages) {
    pages = new Map();
    byMm.set(mm, pages);
  }
  if (!pages.has(page)) {
    if (++t.counts[cpu] > TLB_CAPACITY) {
      tlb.clear();
      t.counts[cpu] = 0;
      return tlbFill(t, cpu, asid, mm, page, row);
    }
    pages.set(page, row);
  }
  return other;
}

/** Entries of (asid, mm) on `cpu`: page -> fill row. */
export function tlbEntries(t: TlbState, cpu: number, asid: number, mm: number): Map<number, number> | undefined {
  return t.cpus[cpu].get(asid)?.get(mm);
}

/**
 * `local_flush_tlb_all()` in the slow path of `check_and_switch_context`: issued while TTBR0 still
 * holds the outgoing mm, so that mm's entries under its ASID may be re-fetched and are kept.
 */
export function localFlushTlbAll(t: TlbState, cpu: number, keepMm: number, keepAsid: number): void {
  const tlb = t.cpus[cpu];
  const kept = keepMm >= 0 ? tlb.get(keepAsid)?.get(keepMm) : undefined;
  tlb.clear();
  t.counts[cpu] = 0;
  if (kept && kept.size > 0) {
    tlb.set(keepAsid, new Map([[keepMm, kept]]));
    t.counts[cpu] = kept.size;
  }
}

/** `flush_tlb_mm()`: TLBI ASIDE1IS, broadcast to every CPU. */
export function tlbiAsidBroadcast(t: TlbState, asid: number): void {
  for (let c = 0; c < t.cpus.length; c++) {
    const byMm = t.cpus[c].get(asid);
    if (!byMm) continue;
    for (const pages of byMm.values()) t.counts[c] -= pages.size;
    t.cpus[c].delete(asid);
  }
}

/** `__flush_tlb_range()` with per-page TLBI VAE1IS: pages [first, last] under `asid`, every CPU. */
export function tlbiVaRangeBroadcast(t: TlbState, asid: number, first: number, last: number): void {
  for (let c = 0; c < t.cpus.length; c++) {
    const byMm = t.cpus[c].get(asid);
    if (!byMm) continue;
    for (const pages of byMm.values()) {
      if (last - first + 1 < pages.size) {
        for (let p = first; p <= last; p++) if (pages.delete(p)) t.counts[c]--;
      } else {
        for (const p of pages.keys()) if (p >= first && p <= last) { pages.delete(p); t.counts[c]--; }
      }
    }
  }
}
