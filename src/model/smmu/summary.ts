/**
 * A read-only summary of the SMMU side's final state, for reports (so that nothing outside
 * model/smmu reads its state).
 */
import type { SmmuModelState } from './state.js';

export interface SmmuSummary {
  readonly smmus: readonly { name: string; asidBits: number; btm: boolean; rangeInvalidation: boolean }[];
  /** One global ASID space (`arm_smmu_asid_xa`) or one per SMMU (the 2023 BTM proposal). */
  readonly asidPools: 'global' | 'per-smmu';
  readonly pasidsInUse: number;
  /** Driver operations started with an `op` label and not finished. */
  readonly opsInFlight: readonly { op: string; row: number; what: string; stepsLeft: number }[];
}

export function summarizeSmmu(st: SmmuModelState): SmmuSummary {
  return {
    smmus: st.smmus.map((m) => ({ name: m.name, asidBits: m.asidBits, btm: m.btm, rangeInvalidation: m.rangeInvalidation })),
    asidPools: st.asidPools,
    pasidsInUse: st.pasids.used.size,
    opsInFlight: [...st.ops.values()]
      .filter((o) => !o.done)
      .map((o) => ({ op: o.label, row: o.row, what: o.what, stepsLeft: o.steps.length })),
  };
}

/** IOTLB entries cached in each SMMU. */
export const iotlbOccupancy = (st: SmmuModelState): number[] => st.smmus.map((s) => s.entries);

/** Label of the stepped bind of mm `key` still in flight, or null. */
export function bindInFlight(st: SmmuModelState, key: number): string | null {
  return st.svaMms.get(key)?.busyWith ?? null;
}
