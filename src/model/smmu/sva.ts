/**
 * SVA bind and unbind (`iommu_sva_bind_device` / `iommu_sva_unbind_device`). Where the three driver
 * designs differ, the bind and unbind call a part (`arm_smmu_sva_domain_alloc`, `arm_smmu_sva_unbind`):
 * the base parts are `private-asid`; the others are design files composed over them
 * (examples/designs/drivers/, named by the era or `--driver`):
 *
 * - `shared-asid` (v5.11-v6.10, drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3-sva.c): one shared CD per
 *   mm using the CPU ASID pinned with `arm64_mm_context_get` (one pin per mm, dropped when the CD's
 *   last reference goes); `arm_smmu_share_asid` moves a DMA domain off that number (share-asid.ts).
 *   Its mmu notifiers are one per (RID domain, mm) (sva-context.ts `contextNotifiers`); the model
 *   does not require the device to have an S1 RID domain attached, and installs and clears the
 *   CD for the bound device only (docs/kernel-eras.md, "Not modelled").
 * - `private-asid` (v6.11+, d38c28dbefee): an SVA domain per (mm, SMMU) with its own ASID, no pin.
 * - `btm-2023` (the unmerged 2023 proposal): per-SMMU ASID maps; on an SMMU whose BTM the driver
 *   uses, the CPU ASID, pinned without checking the result.
 *
 * Invalidation from the CPU side and the mm-release path are in notifier.ts.
 */
import { EventError } from '../errors.js';
import { xaErase } from './asid-pool.js';
import { cfgiCd } from './iotlb.js';
import type { Errno } from './observer.js';
import { allocGlobalPasid, claimPasid, freeGlobalPasid } from './pasid.js';
import { type Ctx, btmUsed, masterOf } from './port.js';
import { latentAfterSsidFree, latentAfterTagChange } from './stale.js';
import { type DriverOp, type Master, type SvaContext, type SvaMm, poolIndex } from './state.js';
import { contextSmmus, installCd, lastBondNotifier, poolSmmus, sameSharedNotifier, svaKey } from './sva-context.js';

function liveSvaMm(c: Ctx, label: string): SvaMm {
  const key = c.cpu.liveMm(label);
  if (key < 0) throw new EventError(`mm ${label} is not a live address space (no fork names it, or its last task exited)`, c.row, 'mm');
  let sva = c.st.svaMms.get(key);
  if (!sva) {
    sva = { key, label, pasid: 0, bonds: new Map(), failed: new Map(), dead: false, deadRow: 0, busyWith: null };
    c.st.svaMms.set(key, sva);
    c.st.mmLabels.set(key, label);
  }
  return sva;
}

function checkNotBusy(c: Ctx, sva: SvaMm): void {
  if (sva.busyWith !== null) {
    throw new EventError(
      `mm ${sva.label} has a bind in flight (operation ${sva.busyWith}): resume it before another bind or unbind of this mm`,
      c.row,
      'mm',
    );
  }
}

/** Start a labelled driver operation (`op` column): the steps it leaves are run by `resume`. */
function startOp(c: Ctx, op: string, what: string): DriverOp {
  const prev = c.st.ops.get(op);
  if (prev) throw new EventError(`operation label ${op} was already used at row ${prev.row}; labels name one operation each`, c.row, 'op');
  // Stryker disable next-line ArrayDeclaration: equivalent, the steps of a done operation are never read (resume and the summary read them only while not done; shareAsid sets them when it clears done)
  const o: DriverOp = { label: op, row: c.row, what, steps: [], done: true };
  c.st.ops.set(op, o);
  c.obs.sva.opsStarted++;
  return o;
}

/**
 * Why an SMMU cannot do SVA for this kernel, or null. `iommu_sva_bind_device` has no arm-smmu-v3 op
 * before v5.11; `arm_smmu_sva_supported` (every era that has it) refuses an SMMU with fewer ASID
 * bits than the CPU ("We can support bigger ASIDs than the CPU, but not smaller") and, in v5.11,
 * any SMMU without FEAT_BTM — which mainline never sets. Without FEAT_SVA the bind is -ENODEV.
 */
export function svaSupported(c: Ctx, m: Master): string | null {
  const smmu = c.st.smmus[m.smmu]!;
  const f = c.st.features;
  if (f.sva === 'none') return 'this kernel has no arm-smmu-v3 SVA (iommu_sva_bind_device: no sva_bind op before v5.11)';
  if (f.sva === 'needs-btm' && !btmUsed(c, m.smmu)) {
    return `arm_smmu_sva_supported: v5.11 requires ARM_SMMU_FEAT_BTM, which mainline never sets, so ${smmu.name} never gets FEAT_SVA`;
  }
  if (smmu.asidBits < c.st.cpuAsidBits)
    return `arm_smmu_sva_supported: ${smmu.name} has ${smmu.asidBits}-bit ASIDs, fewer than the CPU's ${c.st.cpuAsidBits}`;
  return null;
}

/**
 * The mm's PASID for a bind (`iommu_sva_alloc_pasid` v5.11-v6.5; `iommu_alloc_global_pasid` since
 * 2dcebc7ddce7, v6.6): one per mm, global, fresh ones from [1, max] inclusive. @returns an errno and its reason, or null with `sva.pasid` set.
 */
export function mmPasid(c: Ctx, m: Master, sva: SvaMm, req: number | undefined): [Errno, string] | null {
  const max = 2 ** m.ssidBits - 1;
  if (sva.pasid !== 0) {
    if (req !== undefined && req !== sva.pasid) return ['EINVAL', `mm ${sva.label} already has PASID ${sva.pasid}, not ${req}`];
    if (sva.pasid > max) return ['EOVERFLOW', `mm ${sva.label} has PASID ${sva.pasid}, beyond the ${m.ssidBits}-bit PASIDs of ${m.name}`];
    // v5.18-v6.3: `if (mm->pasid < min || mm->pasid >= max)` with `max` the highest PASID the device
    // takes (inclusive, as a fresh allocation treats it): the mm that got that very PASID is refused.
    if (sva.pasid === max && c.st.features.pasidTopRefused) {
      return [
        'EOVERFLOW',
        `iommu_sva_alloc_pasid: mm ${sva.label} has PASID ${sva.pasid}, the highest of ${m.name}, refused by mm->pasid >= max (701fac40384f, v5.18; made > by 4e14176ab13f, v6.4)`,
      ];
    }
    return null;
  }
  if (req !== undefined) {
    if (req === 0 || req > max) return ['EINVAL', `PASID ${req} is outside [1, ${max}] of ${m.name}`];
    if (!claimPasid(c.st, req)) return ['EBUSY', `PASID ${req} belongs to another mm`];
    sva.pasid = req;
  } else {
    sva.pasid = allocGlobalPasid(c.st, m.ssidBits);
    if (sva.pasid === 0) return [c.st.features.pasidExhausted, `no free PASID in [1, ${max}] for ${m.name}`];
  }
  c.obs.sva.pasidsAllocated++;
  return null;
}

/** Give the PASID back where the era ties it to bonds (v5.11-v5.17: `iommu_sva_free_pasid` on the last one). */
function putPasidIfUnbound(c: Ctx, sva: SvaMm): void {
  if (c.st.features.pasidLifetime === 'last-unbind' && sva.bonds.size === 0 && sva.pasid !== 0) {
    freeGlobalPasid(c.st, sva.pasid);
    sva.pasid = 0;
    c.obs.sva.pasidsFreed++;
  }
}

/**
 * `bind device mm [pasid] [op]`: `iommu_sva_bind_device`. A failed bind (-ENODEV, -ENOSPC, -ENOMEM,
 * -EOVERFLOW, -ESRCH, -EINVAL, -EOPNOTSUPP) is reported and holds nothing: no mm reference, no pin,
 * and no PASID beyond what the era's PASID allocator keeps (v5.18+: the mm keeps it until mmdrop).
 */
export function bind(c: Ctx, device: string, label: string, pasidReq: number | undefined, op: string | undefined): void {
  const m = masterOf(c, device);
  const sva = liveSvaMm(c, label);
  checkNotBusy(c, sva);
  const drvOp = op === undefined ? null : startOp(c, op, `bind ${device} ${label}`);
  const smmu = c.st.smmus[m.smmu]!;
  const fail = (errno: Errno, detail: string): void => {
    sva.failed.set(device, (sva.failed.get(device) ?? 0) + 1);
    putPasidIfUnbound(c, sva);
    c.obs.smmuCounters[m.smmu]!.bindFailures++;
    c.obs.failure({ row: c.row, call: 'bind', errno, device, smmu: smmu.name, detail });
  };
  const bonds = sva.bonds.get(device);
  if (bonds !== undefined) {
    // The core returns the existing handle for (dev, mm) with a reference taken.
    sva.bonds.set(device, bonds + 1);
    c.obs.sva.rebinds++;
    return;
  }
  const unsupported = svaSupported(c, m);
  if (unsupported) return fail('ENODEV', unsupported);
  if (m.ssidBits === 0) return fail('EOPNOTSUPP', `${device} has no PASID support (SSID bits 0: min of the SMMU's and the device's)`);
  const pasidError = c.parts.iommu_sva_alloc_pasid(c, m, sva, pasidReq);
  if (pasidError) return fail(...pasidError);
  const r = c.parts.arm_smmu_sva_domain_alloc(c, m, sva, drvOp);
  if (typeof r === 'object') return fail(...r);
  if (r >= 0) installCd(c, c.st.svaContexts.get(r)!, sva, device, sva.pasid);
}

/**
 * `unbind device mm`: `iommu_sva_unbind_device`. Clears the CD at the PASID (CFGI_CD + sync) and
 * invalidates the ATC for it (before v6.11 only while the mm is not released: `unbindAtcAfterRelease`
 * in model/kernel/eras.ts); the last user of the context flushes its ASID (TLBI_NH_ASID + sync)
 * before erasing it, and drops the pins it holds. An unbind matching a failed bind does nothing (the
 * caller got an error and holds no handle).
 */
export function unbind(c: Ctx, device: string, label: string): void {
  const m = masterOf(c, device);
  const key = c.cpu.liveMm(label);
  const holds = (x: SvaMm) => x.bonds.has(device) || x.failed.has(device);
  // Stryker disable next-line ConditionalExpression: equivalent, svaMms has no negative key: get(-1) is undefined too
  let sva = key >= 0 ? c.st.svaMms.get(key) : undefined;
  if (!sva || !holds(sva)) sva = [...c.st.svaMms.values()].find((x) => x.dead && x.label === label && holds(x));
  if (!sva) throw new EventError(`device ${device} is not bound to mm ${label}`, c.row, 'mm');
  checkNotBusy(c, sva);
  if (!sva.bonds.has(device)) {
    const f = sva.failed.get(device)! - 1;
    if (f === 0) sva.failed.delete(device);
    else sva.failed.set(device, f);
    c.obs.sva.unbindsOfFailedBinds++;
    forgetIfDone(c, sva);
    return;
  }
  const n = sva.bonds.get(device)!;
  c.obs.sva.unbinds++;
  if (n > 1) {
    sva.bonds.set(device, n - 1);
    return;
  }
  sva.bonds.delete(device);
  const ssid = sva.pasid;
  const cd = m.cds.get(ssid)!;
  const ctx = c.st.svaContexts.get(cd.sva)!;
  m.cds.delete(ssid);
  cfgiCd(c, m);
  // v5.11-v6.10: after the mm's release (`smmu_mn->cleared`) the unbind sends no ATC_INV; the
  // release already invalidated the PASID's ATC and its quiet CD lets no new entry form. The shared
  // CD's last bond of a notifier leaves the ATC_INV to mmuNotifierPut (every master of its domain).
  const putInvalidates =
    ctx.smmu < 0 && !ctx.masters.some((x) => x.device !== device && sameSharedNotifier(c.st.masters.get(x.device)!, m));
  if (!putInvalidates && (!ctx.released || c.st.features.unbindAtcAfterRelease)) c.parts.arm_smmu_atc_inv_domain(c, m, ssid, 0, -1);
  m.ssidReleasedRow.set(ssid, c.row);
  ctx.masters.splice(
    ctx.masters.findIndex((x) => x.device === device && x.ssid === ssid),
    1,
  );
  c.parts.arm_smmu_sva_unbind(c, m, ctx, sva);
  // stale entries are looked for once the driver's release has run (the shared CD's ATC_INV is there)
  latentAfterSsidFree(c, m, ssid);
  putPasidIfUnbound(c, sva);
  forgetIfDone(c, sva);
}

/**
 * The driver's release of one bond of SVA context `ctx` (its CD at `m` already cleared), v6.11+
 * (d38c28dbefee): `iommu_sva_unbind_device` frees the SVA domain with its last user,
 * `arm_smmu_sva_domain_free()`: `arm_smmu_tlb_inv_asid()` then `xa_erase(&arm_smmu_asid_xa, asid)`.
 */
export function svaUnbind(c: Ctx, m: Master, ctx: SvaContext, sva: SvaMm): void {
  if (ctx.masters.length === 0) freeContext(c, ctx, sva, true, m.smmu);
}

/**
 * `arm_smmu_mmu_notifier_put` (v5.11-v6.10, from `arm_smmu_sva_unbind`): the notifier of (RID
 * domain, mm) (sva-context.ts `sameSharedNotifier`) goes with its last bond and, unless
 * `arm_smmu_mm_release` already did (`smmu_mn->cleared`), flushes the shared CD's ASID on the
 * domain's SMMU and the ATC of every master of the domain at the PASID
 * (`arm_smmu_atc_inv_domain(smmu_domain, mm->pasid, 0, 0)`); the last bond of all frees the shared
 * CD (`arm_smmu_free_shared_cd`: `xa_erase`, `arm64_mm_context_put`).
 */
export function mmuNotifierPut(c: Ctx, m: Master, ctx: SvaContext, sva: SvaMm): void {
  const last = !ctx.masters.some((x) => sameSharedNotifier(c.st.masters.get(x.device)!, m));
  if (last && !ctx.released) {
    const n = lastBondNotifier(c, m, sva.pasid);
    for (const i of n.smmus) c.parts.arm_smmu_tlb_inv_asid(c, i, ctx.asid);
    for (const x of n.atc) c.parts.arm_smmu_atc_inv_domain(c, c.st.masters.get(x.device)!, x.ssid, 0, -1);
  }
  // Stryker disable next-line BooleanLiteral: equivalent, a shared CD's SMMUs are those of its masters (ctx.smmu -1) and none is left here: the flush loop of freeContext visits nothing
  if (ctx.masters.length === 0) freeContext(c, ctx, sva, false, m.smmu);
}

/**
 * Free an SVA context's ASID: TLBI (unless `flush` is false) then xa_erase, then drop its pins
 * (`arm64_mm_context_put`). A context that took no pin but believes it did (rfc-btm-2023 after a
 * refused pin) still puts: the unbalanced put is the CPU side's finding.
 */
function freeContext(c: Ctx, ctx: SvaContext, sva: SvaMm, flush: boolean, smmu: number): void {
  if (flush) for (const i of contextSmmus(c, ctx)) c.parts.arm_smmu_tlb_inv_asid(c, i, ctx.asid);
  // Stryker disable next-line ConditionalExpression,EqualityOperator: equivalent, `true` and `>`: ctx.smmu is -1 only under shared-asid (one global pool: poolIndex is 0 for any SMMU), and 0 gives pool 0 either way
  const pool = poolIndex(c.st, ctx.smmu >= 0 ? ctx.smmu : 0);
  xaErase(c.st.pools[pool]!, ctx.asid, c.row);
  c.obs.smmuCounters[smmu]!.asidsFreed++;
  for (; ctx.pins > 0; ctx.pins--) c.cpu.unpin(sva.key, c.row);
  if (ctx.putWithoutPin) c.cpu.putWithoutGet(sva.key, c.row);
  c.st.svaContexts.delete(ctx.id);
  c.st.svaIndex.delete(svaKey(ctx.mm, ctx.smmu));
  // Stryker disable next-line UnaryOperator: equivalent, no address space has id -Infinity or +Infinity, and neither is finite (no current owner, the 'freed' detail)
  latentAfterTagChange(c, poolSmmus(c, pool), ctx.asid, -Infinity);
}

/** `mm_pasid_drop` at the final mmdrop (v5.18+), then forget the mm. */
export function mmdrop(c: Ctx, sva: SvaMm): void {
  if (sva.pasid !== 0) {
    freeGlobalPasid(c.st, sva.pasid);
    sva.pasid = 0;
    c.obs.sva.pasidsFreed++;
  }
  if (sva.failed.size === 0) c.st.svaMms.delete(sva.key);
}

/** A dead mm whose last bond went: its final mmdrop (the record stays while failed binds await their unbind). */
function forgetIfDone(c: Ctx, sva: SvaMm): void {
  if (sva.dead && sva.bonds.size === 0) mmdrop(c, sva);
}
