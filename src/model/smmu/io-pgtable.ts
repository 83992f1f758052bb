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
 * `iommu_unmap` returns the bytes before it. This is so from v5.10 (one page per `ops->unmap`) through
 * `unmap_pages` (v5.15 on) to today. An entry of 2 MiB or 1 GiB that holds a table is freed whole,
 * whatever its PTEs (`__arm_lpae_free_pgtable`), so a hole inside it does not stop the unmap.
 *
 * The model knows pages, not tables: a 2 MiB or 1 GiB entry is taken to hold a table when some page
 * under it has a PTE in `ptes`, mapped or unmapped since (a leaf unmap never frees a table). A table
 * that an earlier unmap of that whole entry freed still counts as there (its pages' unmapped PTEs
 * are kept to name the row of a stale finding).
 */
import type { DmaDomain } from './state.js';
import type { Pte } from '../cpu/index.js';

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
 * `__iommu_unmap` of pages [first, last] of `d`: clear the PTEs it reaches (`clear` gets each page
 * that held a mapping, in page order), stopping at the first entry that maps nothing.
 * @returns the last page the unmap covered (its TLB invalidation ends there), or `first - 1` when it
 *   stopped at once (nothing unmapped: `iommu_unmap` returns 0 and invalidates nothing).
 */
export function unmapUntilHole(d: DmaDomain, first: number, last: number, clear: (page: number, old: Pte) => void): number {
  // The domain's PTE pages in [first, last], sorted, then Infinity (so a search always ends on a
  // key): built when a 2 MiB or 1 GiB entry is reached.
  let keys: number[] | null = null;
  const from = (page: number): number => {
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
    return lo;
  };
  let page = first;
  while (page <= last) {
    const unit = unmapUnit(page, last - page + 1);
    const end = page + unit - 1;
    if (unit === 1) {
      const old = d.ptes.get(page);
      if (!old || old.prot === 0) break; // a zero PTE: WARN_ON(!pte), the walk and the unmap stop
      clear(page, old);
    } else {
      let k = from(page);
      if (keys![k]! > end) break; // no table under this entry: it is zero
      for (; keys![k]! <= end; k++) {
        const old = d.ptes.get(keys![k]!)!;
        if (old.prot !== 0) clear(keys![k]!, old);
      }
    }
    page = end + 1;
  }
  return page - 1;
}
