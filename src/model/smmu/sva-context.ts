/**
 * SVA contexts: the E1 shared CD of an mm (one for all SMMUs) or an E2/E3 SVA domain (one per mm and
 * SMMU), indexed by (mm, SMMU), and which SMMUs' IOTLBs their ASID can be cached in.
 */
import { cfgiCd } from './iotlb.js';
import { svaKey } from './keys.js';
import type { Ctx } from './port.js';
import type { Master, SvaContext, SvaMm } from './state.js';

export { svaKey };

/** SMMUs whose IOTLB a context's ASID can be cached in. */
export function contextSmmus(c: Ctx, ctx: SvaContext): number[] {
  // Stryker disable next-line ConditionalExpression: equivalent under the shipped designs, where only per-SMMU contexts (smmu >= 0) are flushed through here (the shared CD's put flushes per notifier)
  if (ctx.smmu >= 0) return [ctx.smmu];
  return [...new Set(ctx.masters.map((x) => c.st.masters.get(x.device)!.smmu))];
}

/** A master's CD at an SSID. */
export interface MasterSsid {
  readonly device: string;
  readonly ssid: number;
}

/** One SVA mmu notifier of a context: the SMMUs its TLBIs go to, the (master, SSID) pairs whose ATC it invalidates. */
export interface NotifierScope {
  readonly smmus: readonly number[];
  readonly atc: readonly MasterSsid[];
}

/**
 * The notifier of the shared CD (the `shared-asid` driver, v5.11-v6.10) that bound master `m` at
 * SSID `ssid` belongs to: its RID domain's (`arm_smmu_mmu_notifier_get(smmu_domain, mm)`, the
 * domain being the device's at the bind), whose TLBIs go to the domain's SMMUs and whose ATC
 * invalidation reaches every master attached to the domain at the mm's PASID
 * (`arm_smmu_atc_inv_domain(smmu_domain, mm->pasid, ..)`: also masters not bound to the mm). A
 * master with no RID domain (the kernel would not have bound it) has a notifier of its SMMU's, for
 * itself and the other such masters there.
 */
function sharedNotifierOf(c: Ctx, m: Master, ssid: number, unattached: readonly MasterSsid[]): NotifierScope {
  if (m.rid === null) return { smmus: [m.smmu], atc: unattached.filter((x) => c.st.masters.get(x.device)!.smmu === m.smmu) };
  const d = c.st.domains.get(m.rid)!;
  return { smmus: d.smmus, atc: d.masters.map((device) => ({ device, ssid })) };
}

/** Whether bound masters `a` and `b` of a shared CD share its notifier (one RID domain, or both without one on one SMMU). */
export function sameSharedNotifier(a: Master, b: Master): boolean {
  return a.rid !== null ? a.rid === b.rid : b.rid === null && a.smmu === b.smmu;
}

/**
 * The mmu notifiers of an installed SVA context. The shared CD of an mm (the `shared-asid` driver,
 * v5.11-v6.10: `ctx.smmu` -1) has one per RID domain of its bound masters ({@link sharedNotifierOf}),
 * newest first as `mmu_notifier_register` adds them at the head of the mm's list: two domains on
 * one SMMU send the same TLBI twice. An SVA domain (v6.11 on, d38c28dbefee, and the 2023 proposal)
 * is the notifier of its (mm, SMMU), for the masters it is attached to.
 */
export function contextNotifiers(c: Ctx, ctx: SvaContext): NotifierScope[] {
  if (ctx.smmu >= 0) return [{ smmus: [ctx.smmu], atc: ctx.masters }];
  const unattached = ctx.masters.filter((x) => c.st.masters.get(x.device)!.rid === null);
  const out: NotifierScope[] = [];
  const seen: Master[] = [];
  for (const x of ctx.masters) {
    const m = c.st.masters.get(x.device)!;
    if (seen.some((o) => sameSharedNotifier(o, m))) continue;
    seen.push(m);
    out.push(sharedNotifierOf(c, m, x.ssid, unattached));
  }
  return out.reverse();
}

/** The notifier of the shared CD whose last bond, `m`'s at `ssid`, goes ({@link sharedNotifierOf}). */
export function lastBondNotifier(c: Ctx, m: Master, ssid: number): NotifierScope {
  return sharedNotifierOf(c, m, ssid, [{ device: m.name, ssid }]);
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
