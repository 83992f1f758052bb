/**
 * The SMMU driver's probe-time choices as init parts (run once, by `createSmmuModel`, on the state
 * at boot): which SMMUs' BTM it uses and how its ASID maps are laid out.
 */
import { xaInit } from './asid-pool.js';
import type { SmmuModelState } from './state.js';

/**
 * `arm_smmu_device_hw_probe` (arm-smmu-v3.c): `if (reg & IDR0_BTM) smmu->features |=
 * ARM_SMMU_FEAT_BTM` only where the era's driver does so (`features.btm`); mainline never sets it and
 * `arm_smmu_device_reset` always writes CR2_PTM. The 2023 BTM series sets it from IDR0.BTM.
 */
export function deviceHwProbe(st: SmmuModelState): void {
  for (const s of st.smmus) s.featBtm = s.btm && st.features.btm;
}

/**
 * The ASID maps: one global `arm_smmu_asid_xa` from v5.8 (0299a1a81ca0, `DEFINE_XARRAY_ALLOC1`:
 * ASIDs from 1), the per-SMMU `asid_map` bitmap before it (ASIDs from 0), and a per-SMMU xarray in
 * the 2023 BTM series (its driver design, examples/designs/drivers/btm-2023.mjs).
 */
export function initStructures(st: SmmuModelState): void {
  const bitmap = st.features.smmuAsids === 'bitmap';
  st.pools = Array.from({ length: bitmap ? st.smmus.length : 1 }, () => xaInit(bitmap ? 0 : 1));
  st.asidPools = st.pools.length > 1 ? 'per-smmu' : 'global';
}
