/**
 * SVA contexts: the E1 shared CD of an mm (one for all SMMUs) or an E2/E3 SVA domain (one per mm and
 * SMMU), indexed by (mm, SMMU), and which SMMUs' IOTLBs their ASID can be cached in.
 */
import { cfgiCd } from './iotlb.js';
import { svaKey } from './keys.js';
import type { Ctx } from './port.js';
import type { SvaContext, SvaMm } from './state.js';

export { svaKey };

/** SMMUs whose IOTLB a context's ASID can be cached in. */
export function contextSmmus(c: Ctx, ctx: SvaContext): number[] {
  if (ctx.smmu >= 0) return [ctx.smmu];
  return [...new Set(ctx.masters.map((x) => c.st.masters.get(x.device)!.smmu))];
}

/** SMMUs an ASID of pool `p` is meaningful on. */
export function poolSmmus(c: Ctx, p: number): number[] {
  return c.st.pools.length === 1 ? c.st.smmus.map((_, i) => i) : [p];
}

/** Every SVA context of an mm. */
export function contextsOf(c: Ctx, mm: number): SvaContext[] {
  const out: SvaContext[] = [];
  for (let i = -1; i < c.st.smmus.length; i++) {
    const id = c.st.svaIndex.get(svaKey(mm, i));
    if (id !== undefined) out.push(c.st.svaContexts.get(id)!);
  }
  return out;
}

export function register(c: Ctx, ctx: SvaContext, ixKey: number): void {
  c.st.svaContexts.set(ctx.id, ctx);
  c.st.svaIndex.set(ixKey, ctx.id);
}

/** Write the SVA CD of (device, pasid) (`arm_smmu_write_ctx_desc` / `arm_smmu_set_pasid`): CFGI_CD + sync. */
export function installCd(c: Ctx, ctx: SvaContext, sva: SvaMm, device: string, pasid: number): void {
  const m = c.st.masters.get(device)!;
  m.cds.set(pasid, { asid: ctx.asid, as: ctx.mm, shared: ctx.shared, quiet: false, sva: ctx.id });
  cfgiCd(c, m);
  ctx.masters.push({ device, ssid: pasid });
  sva.bonds.set(device, 1);
  c.obs.sva.binds++;
}
