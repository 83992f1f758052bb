/**
 * The ASID of a new SVA context: `arm_smmu_alloc_shared_cd` + `arm_smmu_share_asid` (shared-asid:
 * the CPU ASID, pinned; a DMA domain holding that number is moved to a new one), a private
 * `xa_alloc` (private-asid, and btm-2023 on SMMUs whose BTM is not used), or the 2023 proposal's
 * `arm_smmu_share_asid(smmu, smmu_domain, mm)` on a BTM SMMU.
 *
 * The move of a DMA domain is a sequence of {@link OpStep}s, as in the driver: (1) the domain's ASID
 * changes, (2) its masters' CDs are rewritten, (3) the old ASID is flushed (TLBI_NH_ASID), (4) the
 * SVA context takes the old number. With an `op` label the bind stops after (1) and each `resume`
 * runs one more step, which is how the race of the FIXME in `arm_smmu_share_asid` is replayed.
 */
import { EventError } from '../errors.js';
import { xaAllocIn, xaErase, xaInsert, xaLoad, xaStore } from './asid-pool.js';
import { domainMaxAsid, domainPools } from './domains.js';
import type { Errno } from './observer.js';
import type { Ctx, SharedCdAsid } from './port.js';
import { latentAfterTagChange } from './stale.js';
import { type DriverOp, type Master, type OpStep, type SvaContext, type SvaMm, poolIndex } from './state.js';
import { installCd, poolSmmus, register, svaKey } from './sva-context.js';

/** {@link shareAsid} stopped a labelled operation after its first step: the CD is installed by `resume`. */
export const PENDING = -1;

/** A pin refused by `arm64_mm_context_get` that the driver checks: the bind fails -ESRCH. */
const REFUSED: SharedCdAsid = null;

/**
 * `arm_smmu_alloc_shared_cd`: `asid = arm64_mm_context_get(mm); if (!asid) return ERR_PTR(-ESRCH);`
 * (drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3-sva.c, v5.11-v6.10). rfc-btm-2023's
 * `arm_smmu_share_asid(smmu, smmu_domain, mm)` takes `arm64_mm_context_get(mm)` unchecked: its
 * driver design (examples/designs/drivers/btm-2023.mjs) returns `{ asid: 0, pinned: false }` instead.
 */
export function allocSharedCdAsid(c: Ctx, sva: SvaMm): SharedCdAsid {
  const asid = c.cpu.pin(sva.key, c.row);
  if (asid !== 0) return { asid, pinned: true };
  return REFUSED;
}

/**
 * `arm_smmu_sva_domain_alloc` (v6.11+, d38c28dbefee; arm-smmu-v3-sva.c): the SVA domain of (mm,
 * the master's SMMU) with a private ASID, `xa_alloc(&arm_smmu_asid_xa, &asid, smmu_domain,
 * XA_LIMIT(1, (1 << smmu->asid_bits) - 1))`, and no pin. An existing domain of the mm on that SMMU
 * is reused, as `iommu_sva_bind_device` reuses one of `mm->iommu_mm->sva_domains`.
 * @returns the context id whose CD the bind installs now, or `[errno, reason]`.
 */
export function svaDomainAlloc(c: Ctx, m: Master, sva: SvaMm, _op: DriverOp | null): number | [Errno, string] {
  const ixKey = svaKey(sva.key, m.smmu);
  const existing = c.st.svaIndex.get(ixKey);
  if (existing !== undefined) return existing;
  return newContext(c, m, sva, null, ixKey, m.smmu, false, false);
}

/**
 * `arm_smmu_mmu_notifier_get` (v5.11-v6.10, arm-smmu-v3-sva.c) -> `arm_smmu_alloc_shared_cd(mm)`:
 * the mm's one shared CD (all SMMUs) with the CPU ASID, pinned by `arm64_mm_context_get`;
 * `arm_smmu_share_asid(mm, asid)` moves a DMA domain holding that number to a new one.
 * @returns the context id whose CD the bind installs now, {@link PENDING}, or `[errno, reason]`.
 */
export function mmuNotifierGet(c: Ctx, m: Master, sva: SvaMm, op: DriverOp | null): number | [Errno, string] {
  const ixKey = svaKey(sva.key, -1);
  const existing = c.st.svaIndex.get(ixKey);
  if (existing !== undefined) {
    // arm_smmu_alloc_shared_cd pins first; arm_smmu_share_asid then finds the mm's shared CD
    // (refs++) and the error path drops that second pin: one pin per mm, held by the shared CD.
    const pin = c.parts.arm_smmu_alloc_shared_cd(c, sva);
    if (pin === null || pin.asid === 0) return ['ESRCH', `arm64_mm_context_get refused to pin mm ${sva.label} (pinned-ASID limit reached)`];
    if (pin.pinned) c.cpu.unpin(sva.key, c.row);
    return existing;
  }
  return newContext(c, m, sva, op, ixKey, -1, true, false);
}

/**
 * The 2023 BTM series' `arm_smmu_sva_domain_alloc` on an SMMU whose BTM the driver uses ("[PATCH v3
 * 24/27] iommu/arm-smmu-v3: Bring back SVA BTM support", J. Gunthorpe): the SVA domain of (mm, SMMU)
 * takes the CPU ASID through `arm_smmu_share_asid(smmu, smmu_domain, mm)` (the pin unchecked:
 * {@link allocSharedCdAsid}) and sets `btm_invalidation` (the notifier sends no TLBI).
 * @returns the context id whose CD the bind installs now, {@link PENDING}, or `[errno, reason]`.
 */
export function svaBtmDomainAlloc(c: Ctx, m: Master, sva: SvaMm, op: DriverOp | null): number | [Errno, string] {
  const ixKey = svaKey(sva.key, m.smmu);
  const existing = c.st.svaIndex.get(ixKey);
  if (existing !== undefined) return existing;
  return newContext(c, m, sva, op, ixKey, m.smmu, true, true);
}

/**
 * A new SVA context of `sva` on SMMU scope `scope` (-1: every SMMU, the shared CD) under index key
 * `ixKey`: a private ASID, or (`usesCpuAsid`) the mm's CPU ASID, moving a DMA domain off it.
 */
function newContext(
  c: Ctx,
  m: Master,
  sva: SvaMm,
  op: DriverOp | null,
  ixKey: number,
  scope: number,
  usesCpuAsid: boolean,
  btmInvalidation: boolean,
): number | [Errno, string] {
  const smmu = c.st.smmus[m.smmu]!;
  const id = c.st.nextId++;
  const ctx: SvaContext = {
    id,
    mm: sva.key,
    smmu: scope,
    asid: 0,
    shared: usesCpuAsid,
    btmInvalidation,
    pins: 0,
    putWithoutPin: false,
    masters: [],
    released: false,
    // Stryker disable next-line BooleanLiteral: equivalent, a context not installed yet has no master (installCd adds the first), so the notifier finds no SMMU or ATC to invalidate for it either way
    installed: false,
  };
  const pool = poolIndex(c.st, m.smmu);
  if (!usesCpuAsid) {
    // arm_smmu_sva_domain_alloc: a private ASID, lowest free.
    // Stryker disable next-line ObjectLiteral,StringLiteral: equivalent, the owner of a private SVA ASID is never read back (xaLoad reads only pools whose SVA ASIDs are CPU ASIDs)
    ctx.asid = xaAllocIn([c.st.pools[pool]!], 2 ** smmu.asidBits - 1, { kind: 'sva', id });
    // xa_alloc returns -EBUSY when [1, 2^asid_bits - 1] is full; the bind passes it on.
    if (ctx.asid < 0)
      return ['EBUSY', `xa_alloc: no free ASID in [1, ${2 ** smmu.asidBits - 1}] for the SVA domain of mm ${sva.label} on ${smmu.name}`];
    c.obs.smmuCounters[m.smmu]!.asidsAllocated++;
    register(c, ctx, ixKey);
    ctx.installed = true;
    return id;
  }
  const pin = c.parts.arm_smmu_alloc_shared_cd(c, sva);
  if (pin === null) {
    return ['ESRCH', `arm64_mm_context_get refused to pin mm ${sva.label} (pinned-ASID limit reached, or pinning unavailable)`];
  }
  if (pin.asid === 0) return uncheckedRefusedPin(c, ctx, sva, pool, ixKey);
  const a = pin.asid;
  ctx.asid = a;
  ctx.pins = pin.pinned ? 1 : 0;
  const unpinAll = () => {
    for (; ctx.pins > 0; ctx.pins--) c.cpu.unpin(sva.key, c.row);
  };
  // Stryker disable next-line BlockStatement: equivalent, unreachable: svaSupported() refuses an SMMU with fewer ASID bits than the CPU, so a CPU ASID always fits
  if (a >= 2 ** smmu.asidBits) {
    unpinAll();
    // Stryker disable next-line ArrayDeclaration,StringLiteral: equivalent, unreachable: svaSupported() refuses an SMMU with fewer ASID bits than the CPU, so a CPU ASID always fits
    return ['EINVAL', `CPU ASID ${a} is too wide for the ${smmu.asidBits}-bit ASIDs of ${smmu.name}`];
  }
  const owner = xaLoad(c.st.pools[pool]!, a);
  if (owner === undefined) {
    xaInsert(c.st.pools[pool]!, a, { kind: 'sva', id });
    c.obs.smmuCounters[m.smmu]!.asidsAllocated++;
    register(c, ctx, ixKey);
    ctx.installed = true;
    latentAfterTagChange(c, poolSmmus(c, pool), a, sva.key);
    return id;
  }
  if (owner.kind === 'sva') {
    unpinAll();
    const other = c.st.svaContexts.get(owner.id)!;
    return [
      'EINVAL',
      // Stryker disable next-line OptionalChaining: equivalent, the other context's mm is still bound (its contexts go with its last bond), so its SvaMm record exists
      `ASID ${a} is already the SVA ASID of mm ${c.st.svaMms.get(other.mm)?.label ?? other.mm} (WARN in arm_smmu_share_asid)`,
    ];
  }
  const d = c.st.domains.get(c.st.domainIds.get(owner.id)!)!;
  // Stryker disable next-line StringLiteral: equivalent, an owner's kind is only compared with 'sva'
  const moved = xaAllocIn(domainPools(c, d), domainMaxAsid(c, d), { kind: 'dma', id: d.id });
  if (moved < 0) {
    unpinAll();
    // xa_alloc's -EBUSY is replaced: `if (ret) return ERR_PTR(-ENOSPC);`
    return ['ENOSPC', `arm_smmu_share_asid: no free ASID to move domain ${d.name} off ASID ${a}`];
  }
  // Step (1): the domain's ASID changes now; from here unmaps of the domain TLBI `moved`.
  d.asid = moved;
  // Stryker disable next-line StringLiteral: equivalent, without an op label the steps run in this call and the install step resets movingBy before anything reads it
  d.movingBy = op?.label ?? `(row ${c.row})`;
  const dn = c.obs.smmuCounters[d.smmus[0]!];
  dn!.asidsMoved++;
  dn!.asidsAllocated++;
  register(c, ctx, ixKey);
  const steps: OpStep[] = [
    ...d.masters.map((dev): OpStep => ({ kind: 'cd-write', domain: d.name, device: dev })),
    { kind: 'tlbi-old', domain: d.name, asid: a },
    { kind: 'install', device: m.name, mm: sva.key, ctx: id, pasid: sva.pasid, domain: d.name, asid: a },
  ];
  if (op) {
    op.steps = steps;
    op.done = false;
    sva.busyWith = op.label;
    return PENDING;
  }
  for (const s of steps) c.parts.arm_smmu_share_asid(c, s, null);
  return PENDING; // the install step wrote the CD
}

/**
 * rfc-btm-2023: `smmu_domain->cd.asid = arm64_mm_context_get(mm)` is not checked. A refused pin gives
 * ASID 0: `xa_store(asid_map, 0, ...)` finds no S1 domain there (they start at 1), so the bind
 * succeeds with `btm_invalidation` set — the notifier then sends no TLBI, and CPU TLBIs carry the
 * mm's real ASID, never 0 — and the domain free puts a pin it never got. A second refused domain on
 * the same SMMU finds the first at index 0: WARN, -EINVAL, and the error path puts the pin too.
 */
function uncheckedRefusedPin(c: Ctx, ctx: SvaContext, sva: SvaMm, pool: number, ixKey: number): number | [Errno, string] {
  c.obs.violation({
    row: c.row,
    kind: 'unchecked-pin',
    asid: 0,
    mm: sva.label,
    detail: `arm64_mm_context_get refused to pin mm ${sva.label} (pinned-ASID limit) and rfc-btm-2023 does not check: the SVA domain uses ASID 0 with BTM invalidation, which no CPU TLBI for this mm reaches`,
  });
  const held = xaLoad(c.st.pools[pool]!, 0);
  if (held !== undefined) {
    c.cpu.putWithoutGet(sva.key, c.row); // out_put_asid: arm64_mm_context_put without a get
    return ['EINVAL', `ASID 0 already holds the SVA domain of another refused pin (WARN in arm_smmu_share_asid)`];
  }
  // Stryker disable next-line ObjectLiteral,StringLiteral: equivalent, the owner stored at index 0 is only tested for presence (xaLoad(pool, 0) !== undefined)
  xaStore(c.st.pools[pool]!, 0, { kind: 'sva', id: ctx.id });
  ctx.putWithoutPin = true;
  register(c, ctx, ixKey);
  ctx.installed = true;
  return ctx.id;
}

/**
 * One step of `arm_smmu_share_asid`'s move of a DMA domain off the ASID an SVA bind needs
 * (arm-smmu-v3-sva.c, v5.11-v6.10), steps (2)-(4): (2) `arm_smmu_write_ctx_desc(smmu_domain, 0, cd)`
 * for a master of the domain, (3) `arm_smmu_tlb_inv_asid(smmu, asid)` of the old ASID, (4) back in
 * `arm_smmu_alloc_shared_cd`, the old ASID goes to the SVA context (`xa_erase` then the shared CD's
 * `xa_insert`) and its CD is written. Step (1), the domain's new ASID, runs in the bind. `op` is
 * the labelled operation a `resume` runs it for (null when the bind runs every step at once).
 */
export function shareAsidStep(c: Ctx, s: OpStep, _op: DriverOp | null): void {
  const d = c.st.domains.get(s.domain);
  switch (s.kind) {
    case 'cd-write': {
      const m = c.st.masters.get(s.device)!;
      if (d && m.rid === s.domain) c.parts.arm_smmu_write_ctx_desc(c, m, d);
      return;
    }
    case 'tlbi-old':
      if (d) for (const i of d.smmus) c.parts.arm_smmu_tlb_inv_asid(c, i, s.asid);
      return;
    case 'install': {
      const ctx = c.st.svaContexts.get(s.ctx)!;
      const m = c.st.masters.get(s.device)!;
      const pool = poolIndex(c.st, m.smmu);
      if (d) {
        for (const p of domainPools(c, d)) xaErase(p, s.asid, c.row);
        d.movingBy = null;
      }
      xaStore(c.st.pools[pool]!, s.asid, { kind: 'sva', id: ctx.id });
      ctx.installed = true;
      latentAfterTagChange(c, poolSmmus(c, pool), s.asid, ctx.mm);
      const sva = c.st.svaMms.get(s.mm)!;
      sva.busyWith = null;
      installCd(c, ctx, sva, s.device, s.pasid);
      return;
    }
  }
}

/** `resume op`: run the next step of a stepped driver operation. */
export function resume(c: Ctx, label: string): void {
  const o = c.st.ops.get(label);
  if (!o) {
    const open = [...c.st.ops.values()].filter((x) => !x.done).map((x) => x.label);
    throw new EventError(
      `no operation labelled ${label} was started (a bind with op=${label} starts one${open.length ? `; in flight: ${open.join(', ')}` : ''})`,
      c.row,
      'op',
    );
  }
  if (o.done) {
    c.obs.sva.idleResumes++;
    return;
  }
  c.parts.arm_smmu_share_asid(c, o.steps.shift()!, o);
  c.obs.sva.opSteps++;
  if (o.steps.length === 0) o.done = true;
}
