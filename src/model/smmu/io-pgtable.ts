/**
 * How far `iommu_unmap` gets through an io-pgtable-arm stage-1 table (drivers/iommu/iommu.c
 * `__iommu_unmap`, drivers/iommu/io-pgtable-arm.c `__arm_lpae_unmap`; 4 KiB granule, arm-smmu-v3's
 * `pgsize_bitmap` SZ_4K | SZ_2M | SZ_1G), over a DMA domain whose mappings the model keeps per 4 KiB
 * page (`DmaDomain.ptes`).
 *
 * `__iommu_unmap` cuts the range as `iommu_pgsize()` does (for an unmap the physical address is the
 * IOVA): at each point the largest of 1 GiB, 2 MiB and 4 KiB that the IOVA is aligned to and that
 * fits in what is left. `__arm_lpae_unmap` then walks the entries of that size: a zero entry ends
 * the walk (`if (WARN_ON(!pte)) break` at the leaf level, `return 0` above it), and the core loop
 * stops there (`if (!unmapped_page) break`): the pages after the first hole stay mapped, and
 * `iommu_unmap` returns the bytes before it. This is so from v4.19 (one page per `ops->unmap`) through
 * `unmap_pages` (v5.15 on) to today. An entry of 2 MiB or 1 GiB that holds a table is freed whole,
 * whatever its PTEs (`__arm_lpae_free_pgtable`), so a hole inside it does not stop the unmap.
 *
 * The model knows pages, not tables: a 2 MiB or 1 GiB entry is taken to hold a table when some page
 * under it has a PTE in `ptes`, mapped or unmapped since (a leaf unmap never frees a table), that no
 * unmap of a whole entry over it has marked `freed` since (`DomainPte`: the PTEs stay, to name the
 * row of a stale finding).
 */
import type { DmaDomain, DomainPte } from './state.js';

/** Pages (4 KiB) under one entry of 1 GiB (level 1) and of 2 MiB (level 2). */
export const GIB_PAGES = 2 ** 18;
export const MIB2_PAGES = 2 ** 9;

/**
 * Pages (4 KiB) of the entry `iommu_pgsize()` unmaps at `page` with `left` pages to go: 1 GiB, 2 MiB
 * or 4 KiB, the largest that `page` is aligned to and that fits.
 */
export function unmapUnit(page: number, left: number): number {
  if (page % GIB_PAGES === 0 && left >= GIB_PAGES) return GIB_PAGES;
  if (page % MIB2_PAGES === 0 && left >= MIB2_PAGES) return MIB2_PAGES;
  return 1;
}

/**
 * `__iommu_unmap` of pages [first, last] of `d`: clear the PTEs it reaches, stopping at the first
 * entry that maps nothing. `clear(page, old, freed)` gets, in page order, each mapped page of a 4 KiB
 * entry (`freed` false), and every page with a PTE under a freed 2 MiB or 1 GiB table (`freed` true,
 * mapped or not).
 * @returns the last page the unmap covered (its TLB invalidation ends there), or `first - 1` when it
 *   stopped at once (nothing unmapped: `iommu_unmap` returns 0 and invalidates nothing).
 */
export function unmapUntilHole(
  d: DmaDomain,
  first: number,
  last: number,
  clear: (page: number, old: DomainPte, freed: boolean) => void,
): number {
  // The domain's PTE pages in [first, last], sorted, then Infinity (so a search always ends on a
  // key): built when an entry larger than the domain's PTE count is reached.
  let keys: number[] | null = null;
  /** The pages in [page, end] that have a PTE, in order. */
  const under = (page: number, end: number): number[] => {
    const out: number[] = [];
    // Look up the smaller of the entry's pages and the domain's PTEs (a 2 MiB entry: 512 lookups).
    // Stryker disable next-line EqualityOperator,ConditionalExpression,ArithmeticOperator,BlockStatement: equivalent, both ways give the same pages in order; the bound only picks the faster
    if (end - page + 1 <= d.ptes.size) {
      for (let pg = page; pg <= end; pg++) if (d.ptes.has(pg)) out.push(pg);
      return out;
    }
    if (keys === null) {
      // Stryker disable next-line MethodExpression,ConditionalExpression,LogicalOperator: equivalent, the filter only keeps the sort short: the search starts at a page >= first and no entry ends past last
      const near = [...d.ptes.keys()].filter((k) => k >= first && k <= last);
      keys = [...near.sort((a, b) => a - b), Infinity];
    }
    let lo = 0;
    let hi = keys.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (keys[mid]! < page) lo = mid + 1;
      else hi = mid;
    }
    for (let k = lo; keys[k]! <= end; k++) out.push(keys[k]!);
    return out;
  };
  let page = first;
  while (page <= last) {
    const unit = unmapUnit(page, last - page + 1);
    const end = page + unit - 1;
    if (unit === 1) {
      const old = d.ptes.get(page);
      if (!old || old.prot === 0) break; // a zero PTE: WARN_ON(!pte), the walk and the unmap stop
      clear(page, old, false);
    } else {
      const pages = under(page, end);
      // no table under this entry (no PTE, or only those of a table already freed): it is zero
      if (pages.every((pg) => d.ptes.get(pg)!.freed)) break;
      for (const pg of pages) clear(pg, d.ptes.get(pg)!, true);
    }
    page = end + 1;
  }
  return page - 1;
}
