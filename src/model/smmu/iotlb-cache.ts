/**
 * The SMMU TLB (IOTLB) as a cache: lookup, fill and the removals the command queue's consumer
 * (cmdq-consume.ts) and the BTM snoop (iotlb.ts) apply. Like QEMU's `smmu_iotlb_*`
 * (hw/arm/smmu-common.c): entries keyed on ASID and page; no stage 2 (VMID constant), all entries
 * 4 KiB leaf pages.
 */
import type { SmmuInstance, TlbEntry } from './state.js';

/** Entries per SMMU before the IOTLB is emptied (QEMU flushes at 256; larger keeps stale entries findable). */
export const IOTLB_CAPACITY = 16384;

export function iotlbLookup(s: SmmuInstance, asid: number, page: number): TlbEntry | undefined {
  return s.iotlb.get(asid)?.get(page);
}

export function iotlbFill(s: SmmuInstance, page: number, e: TlbEntry): void {
  if (s.entries >= IOTLB_CAPACITY) {
    s.iotlb.clear();
    s.tagsOf.clear();
    s.entries = 0;
  }
  let pages = s.iotlb.get(e.asid);
  if (!pages) s.iotlb.set(e.asid, (pages = new Map()));
  if (!pages.has(page)) s.entries++;
  pages.set(page, e);
  let tags = s.tagsOf.get(e.as);
  if (!tags) s.tagsOf.set(e.as, (tags = new Set()));
  tags.add(e.asid);
}

/**
 * Remove entries of `asid` in pages [first, last] that `pred` accepts, walking the smaller of the
 * range and the ASID's cached entries: O(min(pages, entries)), so a huge range costs what is cached.
 * @returns how many.
 */
export function dropRange(s: SmmuInstance, asid: number, first: number, last: number, pred?: (e: TlbEntry) => boolean): number {
  const pages = s.iotlb.get(asid);
  if (!pages) return 0;
  let n = 0;
  // Stryker disable next-line ArithmeticOperator: equivalent, both paths remove the same entries; these only move the choice to walking a range at most 2 pages longer than the entries cached
  if (last - first + 1 > pages.size) {
    for (const [pg, e] of pages) if (pg >= first && pg <= last && (!pred || pred(e)) && pages.delete(pg)) n++;
  } else {
    for (let pg = first; pg <= last; pg++) {
      const e = pages.get(pg);
      if (e && (!pred || pred(e)) && pages.delete(pg)) n++;
    }
  }
  if (pages.size === 0) s.iotlb.delete(asid);
  s.entries -= n;
  return n;
}

/** Remove the entries of `asid` that `pred` accepts (all of them without `pred`). */
export function dropAsid(s: SmmuInstance, asid: number, pred?: (e: TlbEntry) => boolean): void {
  const pages = s.iotlb.get(asid);
  if (!pages) return;
  // Stryker disable next-line BlockStatement: equivalent, dropRange over [0, MAX_SAFE_INTEGER] without a predicate removes the same entries and counts them
  if (!pred) {
    s.entries -= pages.size;
    s.iotlb.delete(asid);
    return;
  }
  dropRange(s, asid, 0, Number.MAX_SAFE_INTEGER, pred);
}
