/**
 * SVA: `bind`/`unbind` (`iommu_sva_bind_device` / `iommu_sva_unbind_device`), the mm-release path
 * and the mmu-notifier invalidation, for the three driver designs of spec smmu-sva.md §0:
 *
 * - `shared-asid` (E1, v5.11–v6.9, `arm-smmu-v3-sva.c` @ e9d1e4ff, read for this model): one shared
 *   CD per mm using the CPU ASID pinned with `arm64_mm_context_get` (one pin per mm, dropped when the
 *   CD's last reference goes); `arm_smmu_share_asid` moves a DMA domain that holds that number
 *   (§4.3, §5.2). The kernel keeps one mmu notifier per (RID domain, mm); the model keeps one per
 *   (SMMU, mm) and does not require the device to have an S1 RID domain attached (-ENODEV there).
 * - `private-asid` (E2, v6.10 on): an SVA domain per (mm, SMMU) with its own ASID, no pinning (§4.2).
 * - `btm-2023` (E3, seed 003): per-SMMU ASID maps; the CPU ASID (pinned) only on a BTM SMMU, where the
 *   notifier relies on BTM and sends no TLBI (§5.3).
 *
 * The ASID move is a sequence of {@link OpStep}s; with an `op` label the bind stops after the first
 * (the new ASID is written into the domain) and each `resume` runs one more (§5.4).
 */
import { EventError } from '../../trace/errors.js';
import { xaAllocIn, xaErase, xaInsert, xaLoad, xaStore } from './asid-pool.js';
import { domainMaxAsid, domainPools, writeDomainCd } from './domains.js';
import { atcInv, btmSnoop, cfgiCd, tlbiNhAsid, tlbiNhVa } from './iotlb.js';
import type { Errno } from './observer.js';
import { allocGlobalPasid, claimPasid, freeGlobalPasid } from './pasid.js';
import { CMDQ_MAX_TLBI_OPS, type Ctx, hasFault, masterOf } from './port.js';
import { latentAfterSsidFree, latentAfterTagChange, latentAfterUnmap } from './stale.js';
import { type DriverOp, type OpStep, type SvaContext, type SvaMm, poolIndex } from './state.js';

const svaKey = (mm: number, smmu: number): number => mm * 1024 + smmu + 1;

/** SMMUs whose IOTLB a context's ASID can be cached in. */
function contextSmmus(c: Ctx, ctx: SvaContext): number[] {
  if (ctx.smmu >= 0) return [ctx.smmu];
  return [...new Set(ctx.masters.map((x) => c.st.masters.get(x.device)!.smmu))];
}

/** SMMUs an ASID of pool `p` is meaningful on. */
function poolSmmus(c: Ctx, p: number): number[] {
  return c.st.pools.length === 1 ? c.st.smmus.map((_, i) => i) : [p];
}

function contextsOf(c: Ctx, mm: number): SvaContext[] {
  const out: SvaContext[] = [];
  for (let i = -1; i < c.st.smmus.length; i++) {
    const id = c.st.svaIndex.get(svaKey(mm, i));
    if (id !== undefined) out.push(c.st.svaContexts.get(id)!);
  }
  return out;
}

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
    throw new EventError(`mm ${sva.label} has a bind in flight (operation ${sva.busyWith}): resume it before another bind or unbind of this mm`, c.row, 'mm');
  }
}

/**
 * `bind device mm [pasid] [op]`: `iommu_sva_bind_device`. Failures (-ENOSPC, -EOVERFLOW, -ESRCH,
 * -EINVAL, -EOPNOTSUPP) are reported, and the mm keeps any PASID it got (freed at mm teardown).
 */
export function bind(c: Ctx, device: string, label: string, pasidReq: number | undefined, op: string | undefined): void {
  const m = masterOf(c, device);
  const sva = liveSvaMm(c, label);
  checkNotBusy(c, sva);
  let drvOp: DriverOp | null = null;
  if (op !== undefined) {
    const prev = c.st.ops.get(op);
    if (prev) throw new EventError(`operation label ${op} was already used at row ${prev.row}; labels name one operation each`, c.row, 'op');
    drvOp = { label: op, row: c.row, what: `bind ${device} ${label}`, steps: [], done: true };
    c.st.ops.set(op, drvOp);
    c.obs.sva.opsStarted++;
  }
  const smmu = c.st.smmus[m.smmu];
  const fail = (errno: Errno, detail: string): void => {
    sva.failed.set(device, (sva.failed.get(device) ?? 0) + 1);
    c.obs.smmuCounters[m.smmu].bindFailures++;
    c.obs.failure({ row: c.row, call: 'bind', errno, device, smmu: smmu.name, detail });
  };
  const bonds = sva.bonds.get(device);
  if (bonds !== undefined) {
    // Newer cores return the existing handle for (dev, mm) with a reference taken.
    sva.bonds.set(device, bonds + 1);
    c.obs.sva.rebinds++;
    return;
  }
  if (m.ssidBits === 0) return fail('EOPNOTSUPP', `${device} has no PASID support (SSID bits 0: min of the SMMU's and the device's)`);
  if (c.st.driver === 'shared-asid' && smmu.asidBits < c.st.cpuAsidBits) {
    return fail('EOPNOTSUPP', `arm_smmu_sva_supported: ${smmu.name} has ${smmu.asidBits}-bit ASIDs, fewer than the CPU's ${c.st.cpuAsidBits}`);
  }
  // PASID: one per mm, global (iommu_alloc_global_pasid), kept until the mm is gone.
  if (sva.pasid === 0) {
    if (pasidReq !== undefined) {
      if (pasidReq === 0 || pasidReq >= 2 ** m.ssidBits) return fail('EINVAL', `PASID ${pasidReq} is outside [1, ${2 ** m.ssidBits - 1}] of ${device}`);
      if (!claimPasid(c.st, pasidReq)) return fail('EBUSY', `PASID ${pasidReq} belongs to another mm`);
      sva.pasid = pasidReq;
    } else {
      sva.pasid = allocGlobalPasid(c.st, m.ssidBits);
      if (sva.pasid === 0) return fail('ENOSPC', `no free PASID in [1, ${2 ** m.ssidBits - 1}] for ${device}`);
    }
    c.obs.sva.pasidsAllocated++;
  } else {
    if (pasidReq !== undefined && pasidReq !== sva.pasid) return fail('EINVAL', `mm ${label} already has PASID ${sva.pasid}, not ${pasidReq}`);
    if (sva.pasid >= 2 ** m.ssidBits) return fail('EOVERFLOW', `mm ${label} has PASID ${sva.pasid}, beyond the ${m.ssidBits}-bit PASIDs of ${device}`);
  }
  const pasid = sva.pasid;
  const perSmmu = c.st.driver !== 'shared-asid';
  const ixKey = svaKey(sva.key, perSmmu ? m.smmu : -1);
  const existing = c.st.svaIndex.get(ixKey);
  if (existing !== undefined) {
    const ctx = c.st.svaContexts.get(existing)!;
    if (c.st.driver === 'shared-asid') {
      // arm_smmu_alloc_shared_cd pins first; arm_smmu_share_asid then finds the mm's shared CD
      // (refs++) and the error path drops that second pin: one pin per mm, held by the shared CD.
      if (!pinFor(c, sva)) return fail('ESRCH', `arm64_mm_context_get refused to pin mm ${label} (pinned-ASID limit reached)`);
      if (!hasFault(c, 'skip-pin')) c.cpu.unpin(sva.key, c.row);
    }
    installCd(c, ctx, sva, device, pasid);
    return;
  }
  const usesCpuAsid = c.st.driver === 'shared-asid' || (c.st.driver === 'btm-2023' && smmu.btm);
  const id = c.st.nextId++;
  const ctx: SvaContext = {
    id,
    mm: sva.key,
    smmu: perSmmu ? m.smmu : -1,
    asid: 0,
    shared: usesCpuAsid,
    btmInvalidation: c.st.driver === 'btm-2023' && smmu.btm,
    pins: 0,
    masters: [],
    released: false,
    installed: false,
  };
  const pool = poolIndex(c.st, m.smmu);
  if (!usesCpuAsid) {
    // arm_smmu_sva_domain_alloc: a private ASID, lowest free.
    ctx.asid = xaAllocIn([c.st.pools[pool]], 2 ** smmu.asidBits - 1, { kind: 'sva', id });
    if (ctx.asid === 0) return fail('ENOSPC', `no free ASID in [1, ${2 ** smmu.asidBits - 1}] for the SVA domain of mm ${label} on ${smmu.name}`);
    c.obs.smmuCounters[m.smmu].asidsAllocated++;
    register(c, ctx, ixKey);
    ctx.installed = true;
    installCd(c, ctx, sva, device, pasid);
    return;
  }
  const a = pinFor(c, sva);
  if (a === 0) return fail('ESRCH', `arm64_mm_context_get refused to pin mm ${label} (pinned-ASID limit reached, or pinning unavailable)`);
  ctx.asid = a;
  ctx.pins = hasFault(c, 'skip-pin') ? 0 : 1;
  const unpinAll = () => {
    for (; ctx.pins > 0; ctx.pins--) c.cpu.unpin(sva.key, c.row);
  };
  if (a >= 2 ** smmu.asidBits) {
    unpinAll();
    return fail('EINVAL', `CPU ASID ${a} is too wide for the ${smmu.asidBits}-bit ASIDs of ${smmu.name}`);
  }
  // arm_smmu_share_asid (E1 §5.2 / E3 §5.3).
  const owner = xaLoad(c.st.pools[pool], a);
  if (owner === undefined) {
    xaInsert(c.st.pools[pool], a, { kind: 'sva', id });
    c.obs.smmuCounters[m.smmu].asidsAllocated++;
    register(c, ctx, ixKey);
    ctx.installed = true;
    latentAfterTagChange(c, poolSmmus(c, pool), a, sva.key);
    installCd(c, ctx, sva, device, pasid);
    return;
  }
  if (owner.kind === 'sva') {
    unpinAll();
    const other = c.st.svaContexts.get(owner.id)!;
    return fail('EINVAL', `ASID ${a} is already the SVA ASID of mm ${c.st.svaMms.get(other.mm)?.label ?? other.mm} (WARN in arm_smmu_share_asid)`);
  }
  const d = c.st.domains.get(c.st.domainIds.get(owner.id)!)!;
  const moved = xaAllocIn(domainPools(c, d), domainMaxAsid(c, d), { kind: 'dma', id: d.id });
  if (moved === 0) {
    unpinAll();
    return fail('ENOSPC', `arm_smmu_share_asid: no free ASID to move domain ${d.name} off ASID ${a}`);
  }
  // Step 1 (§5.2 (1)): the domain's ASID changes now; from here unmaps of the domain TLBI `moved`.
  d.asid = moved;
  d.movingBy = op ?? `(row ${c.row})`;
  const dn = c.obs.smmuCounters[d.smmus[0]];
  dn.asidsMoved++;
  dn.asidsAllocated++;
  register(c, ctx, ixKey);
  const steps: OpStep[] = [
    ...d.masters.map((dev): OpStep => ({ kind: 'cd-write', domain: d.name, device: dev })),
    { kind: 'tlbi-old', domain: d.name, asid: a },
    { kind: 'install', device, mm: sva.key, ctx: id, pasid, domain: d.name, asid: a },
  ];
  if (drvOp) {
    drvOp.steps = steps;
    drvOp.done = false;
    sva.busyWith = drvOp.label;
    return;
  }
  for (const s of steps) runStep(c, s);
}

function pinFor(c: Ctx, sva: SvaMm): number {
  return hasFault(c, 'skip-pin') ? c.cpu.currentAsid(sva.key) : c.cpu.pin(sva.key, c.row);
}

function register(c: Ctx, ctx: SvaContext, ixKey: number): void {
  c.st.svaContexts.set(ctx.id, ctx);
  c.st.svaIndex.set(ixKey, ctx.id);
}

/** Write the SVA CD of (device, pasid) (`arm_smmu_write_ctx_desc` / `arm_smmu_set_pasid`): CFGI_CD + sync. */
function installCd(c: Ctx, ctx: SvaContext, sva: SvaMm, device: string, pasid: number): void {
  const m = c.st.masters.get(device)!;
  m.cds.set(pasid, { asid: ctx.asid, as: ctx.mm, shared: ctx.shared, quiet: false, sva: ctx.id });
  cfgiCd(c, m);
  ctx.masters.push({ device, ssid: pasid });
  sva.bonds.set(device, 1);
  c.obs.sva.binds++;
}

/** Run one step of an ASID move (§5.2 (2)–(4)). */
function runStep(c: Ctx, s: OpStep): void {
  const d = c.st.domains.get(s.domain);
  switch (s.kind) {
    case 'cd-write': {
      const m = c.st.masters.get(s.device)!;
      if (d && m.rid === s.domain) writeDomainCd(c, m, d);
      return;
    }
    case 'tlbi-old':
      if (d && !hasFault(c, 'no-old-asid-purge')) for (const i of d.smmus) tlbiNhAsid(c, i, s.asid);
      return;
    case 'install': {
      const ctx = c.st.svaContexts.get(s.ctx)!;
      const m = c.st.masters.get(s.device)!;
      const pool = poolIndex(c.st, m.smmu);
      if (d) {
        for (const p of domainPools(c, d)) xaErase(p, s.asid, c.row);
        d.movingBy = null;
      }
      xaStore(c.st.pools[pool], s.asid, { kind: 'sva', id: ctx.id });
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
    throw new EventError(`no operation labelled ${label} was started (a bind with op=${label} starts one${open.length ? `; in flight: ${open.join(', ')}` : ''})`, c.row, 'op');
  }
  if (o.done) {
    c.obs.sva.idleResumes++;
    return;
  }
  runStep(c, o.steps.shift()!);
  c.obs.sva.opSteps++;
  if (o.steps.length === 0) o.done = true;
}

/**
 * `unbind device mm`: `iommu_sva_unbind_device`. Clears the CD at the PASID (CFGI_CD + sync) and
 * invalidates the ATC for it; the last user of the context flushes its ASID (TLBI_NH_ASID + sync)
 * before erasing it (§4.4), and drops the pins it holds. The PASID stays with the mm.
 */
export function unbind(c: Ctx, device: string, label: string): void {
  const m = masterOf(c, device);
  const key = c.cpu.liveMm(label);
  const holds = (x: SvaMm) => x.bonds.has(device) || x.failed.has(device);
  let sva = key >= 0 ? c.st.svaMms.get(key) : undefined;
  if (!sva || !holds(sva)) sva = [...c.st.svaMms.values()].find((x) => x.dead && x.label === label && holds(x));
  if (!sva) throw new EventError(`device ${device} is not bound to mm ${label}`, c.row, 'mm');
  checkNotBusy(c, sva);
  if (!sva.bonds.has(device)) {
    // The matching bind failed: the caller got an error and holds no handle, so nothing is unbound.
    const f = sva.failed.get(device)! - 1;
    if (f === 0) sva.failed.delete(device);
    else sva.failed.set(device, f);
    c.obs.sva.unbindsOfFailedBinds++;
    if (sva.dead && sva.bonds.size === 0 && sva.failed.size === 0) mmdrop(c, sva);
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
  const purge = !hasFault(c, 'no-purge-on-free');
  m.cds.delete(ssid);
  cfgiCd(c, m);
  if (purge) atcInv(c, m, ssid, 0, -1);
  m.ssidReleasedRow.set(ssid, c.row);
  latentAfterSsidFree(c, m, ssid);
  ctx.masters.splice(ctx.masters.findIndex((x) => x.device === device && x.ssid === ssid), 1);
  if (c.st.driver === 'shared-asid') {
    // The (RID domain, mm) notifier on this SMMU goes away: flush unless release already did.
    const stillHere = ctx.masters.some((x) => c.st.masters.get(x.device)!.smmu === m.smmu);
    if (!stillHere && !ctx.released && purge) tlbiNhAsid(c, m.smmu, ctx.asid);
    if (ctx.masters.length === 0) freeContext(c, ctx, sva, false, m.smmu);
  } else if (ctx.masters.length === 0) {
    freeContext(c, ctx, sva, purge, m.smmu);
  }
  if (sva.dead && sva.bonds.size === 0 && sva.failed.size === 0) mmdrop(c, sva);
}

/** Free an SVA context's ASID: TLBI (unless `flush` is false) then xa_erase, then unpin (§4.4). */
function freeContext(c: Ctx, ctx: SvaContext, sva: SvaMm, flush: boolean, smmu: number): void {
  if (flush) for (const i of contextSmmus(c, ctx)) tlbiNhAsid(c, i, ctx.asid);
  const pool = poolIndex(c.st, ctx.smmu >= 0 ? ctx.smmu : 0);
  xaErase(c.st.pools[pool], ctx.asid, c.row);
  c.obs.smmuCounters[smmu].asidsFreed++;
  for (; ctx.pins > 0; ctx.pins--) c.cpu.unpin(sva.key, c.row);
  c.st.svaContexts.delete(ctx.id);
  c.st.svaIndex.delete(svaKey(ctx.mm, ctx.smmu));
  latentAfterTagChange(c, poolSmmus(c, pool), ctx.asid, -Infinity);
}

/** The final mmdrop of a bound mm: `mm_pasid_drop` frees its PASID. */
function mmdrop(c: Ctx, sva: SvaMm): void {
  if (sva.pasid !== 0) {
    freeGlobalPasid(c.st, sva.pasid);
    c.obs.sva.pasidsFreed++;
  }
  c.st.svaMms.delete(sva.key);
}

/**
 * The mm's last task exited: `exit_mmap` → `mmu_notifier_release` → `arm_smmu_mm_release` (§4.5):
 * every CD of its contexts becomes the quiet CD (EPD0: walks fault), then TLBI_NH_ASID + ATC_INV.
 * The ASIDs stay allocated until unbind; the PASID until the last unbind.
 */
export function mmRelease(c: Ctx, mm: number): void {
  const sva = c.st.svaMms.get(mm);
  if (!sva) return;
  sva.dead = true;
  sva.deadRow = c.row;
  if (sva.bonds.size === 0) {
    if (sva.failed.size === 0) mmdrop(c, sva);
    return;
  }
  c.obs.sva.releases++;
  const flush = !hasFault(c, 'no-release-tlbi');
  for (const ctx of contextsOf(c, mm)) {
    for (const x of ctx.masters) {
      const m = c.st.masters.get(x.device)!;
      const cd = m.cds.get(x.ssid)!;
      m.cds.set(x.ssid, { ...cd, quiet: true });
      cfgiCd(c, m);
      if (flush) atcInv(c, m, x.ssid, 0, -1);
    }
    if (flush) for (const i of contextSmmus(c, ctx)) tlbiNhAsid(c, i, ctx.asid);
    ctx.released = true;
  }
  latentAfterUnmap(c, mm, 0, -1);
}

/**
 * A CPU-side TLB flush after pages [first, last] of `mm` changed. `cpuAsids` are the ASIDs the CPU
 * broadcast (none for a local TLBI), for the whole ASID when `whole` (`flush_tlb_mm`, used above
 * MAX_TLBI_OPS pages): BTM SMMUs snoop them (§7). Then, when `notify`, the mmu notifier
 * `arch_invalidate_secondary_tlbs` of every SVA context: TLBI by VA, or the whole ASID (for
 * `flush_tlb_mm`, or above CMDQ_MAX_TLBI_OPS pages without RANGE_INV), skipped where the design
 * relies on BTM; ATC_INV; sync. Finally the latent check of spec §8 over [first, last].
 */
export function mmInvalidate(c: Ctx, mm: number, cpuAsids: readonly number[], first: number, last: number, whole: boolean, notify: boolean): void {
  if (cpuAsids.length > 0 && !hasFault(c, 'no-dvm')) {
    c.st.smmus.forEach((s, i) => {
      if (s.btm) for (const a of cpuAsids) btmSnoop(c, i, a, first, whole ? -1 : last);
    });
  }
  const sva = c.st.svaMms.get(mm);
  if (!sva || sva.dead) return;
  if (notify) {
    const pages = whole ? Infinity : last - first + 1;
    for (const ctx of contextsOf(c, mm)) {
      if (!ctx.installed || ctx.released) continue;
      for (const i of contextSmmus(c, ctx)) {
        const s = c.st.smmus[i];
        const skip = ctx.btmInvalidation || (c.st.driver === 'shared-asid' && s.btm);
        if (!skip) {
          if (whole || (!s.rangeInvalidation && pages >= CMDQ_MAX_TLBI_OPS)) tlbiNhAsid(c, i, ctx.asid);
          else tlbiNhVa(c, i, ctx.asid, first, last);
        }
        for (const x of ctx.masters) {
          const m = c.st.masters.get(x.device)!;
          if (m.smmu === i) atcInv(c, m, x.ssid, first, whole ? -1 : last);
        }
        if (skip) c.obs.smmuCounters[i].syncs++;
      }
    }
  }
  latentAfterUnmap(c, mm, first, last);
}
