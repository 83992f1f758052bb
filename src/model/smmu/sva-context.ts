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

/** A master's CD at an SSID. */
export interface MasterSsid {
  readonly device: string;
  readonly ssid: number;
}

/** One SVA mmu notifier of a context: the SMMU its TLBIs go to, the (master, SSID) pairs whose ATC it invalidates. */
export interface NotifierScope {
  readonly smmu: number;
  readonly atc: readonly MasterSsid[];
}

/**
 * The mmu notifiers of an installed SVA context, as the era keys them. v5.11-v6.10
 * (`features.notifierPerRidDomain`, drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3-sva.c
 * `arm_smmu_mmu_notifier_get(smmu_domain, mm)`): one per RID domain of the bound masters, each
 * invalidating the ATC of every master attached to that domain at the mm's PASID
 * (`arm_smmu_atc_inv_domain(smmu_domain, mm->pasid, ..)`: also masters not bound to the mm), so two
 * domains on one SMMU send the same TLBI twice. A bound master with no RID domain (the kernel would
 * not have bound it) is kept in a notifier per SMMU. Otherwise (v6.11 on, d38c28dbefee; the SVA
 * domains of per-SMMU contexts): one per SMMU of the context, for the bound masters on it.
 */
export function contextNotifiers(c: Ctx, ctx: SvaContext): NotifierScope[] {
  const perSmmu = (i: number, ms: readonly MasterSsid[]): NotifierScope => ({
    smmu: i,
    atc: ms.filter((x) => c.st.masters.get(x.device)!.smmu === i),
  });
  if (!c.st.features.notifierPerRidDomain || ctx.smmu >= 0) return contextSmmus(c, ctx).map((i) => perSmmu(i, ctx.masters));
  const byDomain = new Map<string, NotifierScope>();
  const withoutRid: MasterSsid[] = [];
  for (const x of ctx.masters) {
    const rid = c.st.masters.get(x.device)!.rid;
    if (rid === null) withoutRid.push(x);
    else if (!byDomain.has(rid)) {
      const d = c.st.domains.get(rid)!;
      byDomain.set(rid, { smmu: c.st.masters.get(x.device)!.smmu, atc: d.masters.map((device) => ({ device, ssid: x.ssid })) });
    }
  }
  const out = [...byDomain.values()];
  for (const i of new Set(withoutRid.map((x) => c.st.masters.get(x.device)!.smmu))) out.push(perSmmu(i, withoutRid));
  return out;
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
