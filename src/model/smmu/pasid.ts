/**
 * The IOMMU core's global PASID space: `iommu_alloc_global_pasid(dev)` =
 * `ida_alloc_range(&iommu_global_pasid_ida, 1, dev->iommu->max_pasids - 1)` (lowest free, current
 * kernels), or `idr_alloc_cyclic` as in the 2017 SVA RFC: a freed PASID is not reused at once.
 */
import type { SmmuModelState } from './state.js';

/** Global PASID space size (20-bit PCIe PASIDs). */
export const PASID_LIMIT = 1 << 20;

/**
 * Allocate a PASID usable by a master with `ssidBits`.
 * @returns the PASID, or 0 when [1, 2^ssidBits - 1] is exhausted (-ENOSPC).
 */
export function allocGlobalPasid(st: SmmuModelState, ssidBits: number): number {
  const p = st.pasids;
  const max = 2 ** ssidBits - 1;
  if (!p.cyclic) {
    for (let id = 1; id <= max; id++) if (!p.used.has(id)) return take(st, id);
    return 0;
  }
  // idr_alloc_cyclic: search [cursor, max], then wrap to [1, cursor).
  for (let id = Math.max(1, p.cursor); id <= max; id++) if (!p.used.has(id)) return take(st, id);
  for (let id = 1; id < Math.min(p.cursor, max + 1); id++) if (!p.used.has(id)) return take(st, id);
  return 0;
}

function take(st: SmmuModelState, id: number): number {
  st.pasids.used.add(id);
  st.pasids.cursor = id + 1;
  return id;
}

/** Claim a PASID the trace names. @returns false if taken. */
export function claimPasid(st: SmmuModelState, id: number): boolean {
  if (st.pasids.used.has(id)) return false;
  take(st, id);
  return true;
}

/** `mm_pasid_drop` at the final mmdrop. */
export function freeGlobalPasid(st: SmmuModelState, id: number): void {
  st.pasids.used.delete(id);
}
