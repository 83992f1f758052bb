/**
 * SMMU ASID allocation: `xa_alloc(&arm_smmu_asid_xa, ..., XA_LIMIT(1,
 * (1 << smmu->asid_bits) - 1))` — the lowest free index in [1, 2^asid_bits - 1] (v5.8 on, the
 * global xarray; also the per-SMMU `asid_map` of the 2023 BTM proposal). Before v5.8,
 * `arm_smmu_bitmap_alloc(smmu->asid_map, asid_bits)`: `find_first_zero_bit` from ASID 0, one map per
 * SMMU (a pool whose hint starts at 0).
 */
import type { AsidOwner, AsidPool } from './state.js';

/**
 * An empty ASID map: an xarray with `XA_FLAGS_ALLOC1` (`base` 1: ASIDs from 1) or the bitmap of
 * before v5.8 (`base` 0). For the init part `arm_smmu_init_structures`.
 */
export function xaInit(base: number): AsidPool {
  return { base, owners: new Map(), hint: base, releasedRow: new Map() };
}

/**
 * Lowest ASID in [1, max] free in every pool of `pools` (several pools only for a domain installed
 * on several SMMUs with per-SMMU maps).
 * @returns the ASID, or -1 when the range is full (-EBUSY from xa_alloc, -ENOSPC from the bitmap).
 */
export function xaAllocIn(pools: readonly AsidPool[], max: number, owner: AsidOwner): number {
  let a = Math.min(...pools.map((p) => p.hint));
  for (; a <= max; a++) if (pools.every((p) => !p.owners.has(a))) break;
  if (a > max) return -1;
  for (const p of pools) {
    p.owners.set(a, owner);
    // Stryker disable next-line ConditionalExpression,EqualityOperator: equivalent, the hint is only a lower bound of the lowest free ASID (every search skips taken ones), so whether it is advanced changes no allocation
    if (a === p.hint) while (p.owners.has(p.hint)) p.hint++;
  }
  return a;
}

/** `xa_insert`: claim a given ASID. @returns false if it is taken. */
export function xaInsert(p: AsidPool, asid: number, owner: AsidOwner): boolean {
  if (p.owners.has(asid)) return false;
  p.owners.set(asid, owner);
  // Stryker disable next-line ConditionalExpression,EqualityOperator: equivalent, the hint is only a lower bound of the lowest free ASID (every search skips taken ones), so whether it is advanced changes no allocation
  if (asid === p.hint) while (p.owners.has(p.hint)) p.hint++;
  return true;
}

/** `xa_store`: set the owner of an ASID, whoever held it. */
export function xaStore(p: AsidPool, asid: number, owner: AsidOwner): void {
  xaInsert(p, asid, owner);
  p.owners.set(asid, owner);
}

/**
 * `xa_erase`: free an ASID; `row` is remembered as the point its entries had to be gone. The hint
 * never goes below `base`: an index under it (ASID 0, which rfc-btm-2023 stores for a refused pin
 * with `xa_store`) is outside `xa_alloc`'s `XA_LIMIT(1, ...)`, so freeing it makes no ASID below 1
 * allocatable.
 */
export function xaErase(p: AsidPool, asid: number, row: number): void {
  if (!p.owners.delete(asid)) return;
  p.releasedRow.set(asid, row);
  if (asid < p.hint) p.hint = Math.max(asid, p.base);
}

export function xaLoad(p: AsidPool, asid: number): AsidOwner | undefined {
  return p.owners.get(asid);
}
