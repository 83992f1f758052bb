/**
 * DMA (stage-1 paging) domains: `attach`/`detach` (arm_smmu_attach_dev, domain finalise and free)
 * and `map`/`unmap` on a domain (iommu_map / iommu_unmap through io-pgtable-arm). A domain is created by its first attach and freed when its last master detaches (as an
 * unmanaged-domain owner such as VFIO does: detach, then iommu_domain_free).
 */
import { EventError } from '../errors.js';
import { xaAllocIn, xaErase, xaInsert } from './asid-pool.js';
import { cfgiCd, cfgiSte, iotlbSyncEmptyGather } from './iotlb.js';
import type { Errno } from './observer.js';
import { type Ctx, masterOf } from './port.js';
import { pageRange, vaOf } from '../pages.js';
import { latentAfterTagChange, latentAfterUnmap } from './stale.js';
import { unmapUntilHole } from './io-pgtable.js';
import { type DmaDomain, type Master, domainAsId, poolIndex } from './state.js';

/** Pools a domain's ASID lives in (one, unless a multi-SMMU domain with per-SMMU maps). */
export function domainPools(c: Ctx, d: DmaDomain) {
  return [...new Set(d.smmus.map((i) => poolIndex(c.st, i)))].map((p) => c.st.pools[p]!);
}

/** Largest ASID every SMMU of the domain can hold. */
export function domainMaxAsid(c: Ctx, d: DmaDomain): number {
  return Math.min(...d.smmus.map((i) => 2 ** c.st.smmus[i]!.asidBits - 1));
}

/**
 * Write the SSID-0 CD of a master for its RID domain (`arm_smmu_write_ctx_desc(smmu_domain, 0, cd)`,
 * drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3.c; `arm_smmu_write_cd_entry` after the 2024 CD rework): CFGI_CD + sync.
 */
export function writeDomainCd(c: Ctx, m: Master, d: DmaDomain): void {
  // Stryker disable next-line UnaryOperator: equivalent, the sva field of the SSID-0 CD is never read (unbind reads the CD at the mm's PASID, at least 1)
  m.cds.set(0, { asid: d.asid, as: domainAsId(d), shared: false, quiet: false, sva: -1 });
  cfgiCd(c, m);
}

/**
 * `arm_smmu_domain_finalise_s1` (v5.8+; before, `arm_smmu_domain_finalise_s1` with
 * `arm_smmu_bitmap_alloc`): the ASID of a new S1 domain `name` (owner id `id`) first attached to
 * master `m`: the lowest free in [1, 2^asid_bits - 1] of the SMMU's pool (`xa_alloc`, -EBUSY when
 * full; the bitmap gives -ENOSPC). @returns the ASID, or the errno and why.
 */
export function domainFinaliseS1(c: Ctx, m: Master, name: string, id: number): number | [Errno, string] {
  const smmu = c.st.smmus[m.smmu]!;
  const pool = c.st.pools[poolIndex(c.st, m.smmu)]!;
  // Stryker disable next-line StringLiteral: equivalent, an owner's kind is only compared with 'sva'
  const asid = xaAllocIn([pool], 2 ** smmu.asidBits - 1, { kind: 'dma', id });
  if (asid >= 0) return asid;
  const range = `[${pool.base}, ${2 ** smmu.asidBits - 1}]`;
  if (c.st.features.smmuAsids === 'xa') return ['EBUSY', `xa_alloc: no free ASID in ${range} for domain ${name} on ${smmu.name}`];
  return ['ENOSPC', `arm_smmu_bitmap_alloc: no free ASID in ${range} of ${smmu.name}'s asid_map for domain ${name}`];
}

/**
 * `attach device domain`: `arm_smmu_attach_dev`. The first attach allocates the domain and finalises
 * it on the master's SMMU (`arm_smmu_domain_finalise_s1`: ASID = lowest free in [1, 2^asid_bits - 1]).
 * Attaching to a master behind another SMMU fails -EINVAL in mainline; with `multiSmmuDomains` (the
 * 2023 RFC by M. Shavit) it fails only when the domain's ASID is too wide for that SMMU. A master with another
 * domain attached is moved off it first (the core's domain replacement).
 */
export function attach(c: Ctx, device: string, name: string, multiSmmu: boolean): void {
  const m = masterOf(c, device);
  if (m.rid === name) return;
  const smmu = c.st.smmus[m.smmu]!;
  let d = c.st.domains.get(name);
  const fail = (errno: Errno, detail: string) => attachFailed(c, m, errno, detail);
  const busy = svaBusy(c, m);
  if (busy !== null) return fail('EBUSY', `attach of ${device} to domain ${name}: ${busy}`);
  if (!d) {
    const id = c.st.nextId++;
    const asid = c.parts.arm_smmu_domain_finalise_s1(c, m, name, id);
    if (typeof asid !== 'number') return fail(...asid);
    c.obs.smmuCounters[m.smmu]!.asidsAllocated++;
    d = { name, id, smmus: [m.smmu], asid, masters: [], ptes: new Map(), epoch: 0, movingBy: null };
    c.st.domains.set(name, d);
    c.st.domainIds.set(id, name);
  } else if (!d.smmus.includes(m.smmu)) {
    const home = c.st.smmus[d.smmus[0]!]!.name;
    if (!multiSmmu) {
      const errno = c.st.features.foreignDomainErrno;
      // v6.15 (48e7b8e284e5 until be5a2d3f8f97, v6.16): `if (smmu_domain->smmu != smmu) return ret;` with
      // ret 0: the attach reports success and changes nothing; the master keeps what it had.
      if (errno === 'none') return;
      return fail(errno, `domain ${name} is finalised on ${home}; mainline binds a domain to one SMMU (arm_smmu_attach_dev)`);
    }
    if (d.asid >= 2 ** smmu.asidBits) {
      return fail(
        'EINVAL',
        `domain ${name} holds ASID ${d.asid}, too wide for the ${smmu.asidBits}-bit ASIDs of ${smmu.name} (Shavit 2023 RFC)`,
      );
    }
    const pool = c.st.pools[poolIndex(c.st, m.smmu)]!;
    // Stryker disable next-line StringLiteral: equivalent, an owner's kind is only compared with 'sva'
    if (!domainPools(c, d).includes(pool) && !xaInsert(pool, d.asid, { kind: 'dma', id: d.id })) {
      return fail('EBUSY', `ASID ${d.asid} of domain ${name} is already used on ${smmu.name}`);
    }
    d.smmus.push(m.smmu);
  }
  if (m.rid !== null) c.parts.arm_smmu_detach_dev(c, device);
  m.rid = name;
  d.masters.push(device);
  c.parts.arm_smmu_write_ctx_desc(c, m, d);
  cfgiSte(c, m); // arm_smmu_install_ste_for_dev: the STE now points at the CD table
}

/** A failed `arm_smmu_attach_dev` of master `m`: counted and reported; nothing changes. */
function attachFailed(c: Ctx, m: Master, errno: Errno, detail: string): void {
  c.obs.smmuCounters[m.smmu]!.attachFailures++;
  c.obs.failure({ row: c.row, call: 'attach', errno, device: m.name, smmu: c.st.smmus[m.smmu]!.name, detail });
}

/** Why `arm_smmu_attach_dev` refuses master `m` for its SVA binds (v5.11-v6.10: `features.attachRefusedWhileBound`), or null. */
function svaBusy(c: Ctx, m: Master): string | null {
  if (!c.st.features.attachRefusedWhileBound) return null;
  for (const sva of c.st.svaMms.values())
    if (sva.bonds.has(m.name))
      return `arm_smmu_attach_dev: "cannot attach - SVA enabled" (${m.name} is bound to mm ${sva.label}; allowed from be7c90de39fd, v6.11)`;
  return null;
}

/**
 * `detach device`: clear the SSID-0 CD (CFGI_CD + sync), ATC_INV; the last master frees the domain.
 * The core attaches the default domain, which v5.11-v6.10 refuse to a bound master (-EBUSY,
 * reported as the failed attach): it keeps its domain.
 */
export function detach(c: Ctx, device: string): void {
  const m = masterOf(c, device);
  if (m.rid === null) throw new EventError(`device ${device} has no DMA domain attached`, c.row, 'device');
  const busy = svaBusy(c, m);
  if (busy !== null) return attachFailed(c, m, 'EBUSY', `detach of ${device} (its default domain): ${busy}`);
  const d = c.st.domains.get(m.rid)!;
  if (d.movingBy !== null && d.masters.length === 1) {
    throw new EventError(
      `domain ${d.name} is having its ASID moved by operation ${d.movingBy}: freeing it mid-move is not modelled (resume the operation first)`,
      c.row,
      'device',
    );
  }
  m.cds.delete(0);
  cfgiCd(c, m);
  cfgiSte(c, m);
  c.parts.arm_smmu_atc_inv_domain(c, m, 0, 0, -1);
  m.rid = null;
  d.masters.splice(d.masters.indexOf(device), 1);
  if (d.masters.length === 0) c.parts.arm_smmu_domain_free(c, d);
}

/**
 * `iommu_domain_free` → `arm_smmu_domain_free`: `free_io_pgtable_ops` flushes the whole ASID
 * (TLBI_NH_ASID + sync) on every SMMU of the domain, then the ASID is erased.
 */
export function domainFree(c: Ctx, d: DmaDomain): void {
  for (const i of d.smmus) c.parts.arm_smmu_tlb_inv_asid(c, i, d.asid);
  for (const p of domainPools(c, d)) xaErase(p, d.asid, c.row);
  c.obs.smmuCounters[d.smmus[0]!]!.asidsFreed++;
  c.st.domains.delete(d.name);
  c.st.domainIds.delete(d.id);
  // Stryker disable next-line UnaryOperator: equivalent, -Infinity and +Infinity both mean "nobody": neither is finite nor equal to an address-space id
  latentAfterTagChange(c, d.smmus, d.asid, -Infinity);
}

/** How a DMA unmap calls `__arm_smmu_tlb_inv_range`: leaf, the domain's own page sizes. */
const LEAF = Object.freeze({});

/** Most pages a DMA domain may map in the model (one Map entry each; a Map holds fewer than 2^24). */
export const MAX_DOMAIN_PAGES = 2 ** 23;

function liveDomain(c: Ctx, name: string): DmaDomain {
  const d = c.st.domains.get(name);
  if (!d) throw new EventError(`domain ${name} is not attached to any device (its first attach creates it)`, c.row, 'domain');
  return d;
}

/**
 * `map domain va size [prot]`: `iommu_map`. io-pgtable refuses to overwrite a valid PTE
 * (`arm_lpae_init_pte`: -EEXIST), and the core then unmaps what it mapped: nothing changes.
 */
export function iommuMap(c: Ctx, name: string, va: number, size: number, prot: number): void {
  const d = liveDomain(c, name);
  const [first, last] = pageRange(va, size, c.row);
  if (last - first + 1 > MAX_DOMAIN_PAGES - d.ptes.size) {
    // Not a kernel limit: the model keeps a DMA domain's io-pgtable as one entry per 4 KiB page.
    throw new EventError(
      `iommu_map of ${last - first + 1} pages into domain ${name} (which maps ${d.ptes.size}): the model keeps DMA-domain mappings per 4 KiB page, at most ${MAX_DOMAIN_PAGES} per domain`,
      c.row,
      'size',
    );
  }
  for (let pg = first; pg <= last; pg++) {
    if ((d.ptes.get(pg)?.prot ?? 0) !== 0) {
      c.obs.failure({
        row: c.row,
        call: 'map',
        errno: 'EEXIST',
        device: null,
        smmu: c.st.smmus[d.smmus[0]!]!.name,
        detail: `iommu_map of domain ${name}: IOVA 0x${vaOf(pg).toString(16)} is already mapped`,
      });
      return;
    }
  }
  for (let pg = first; pg <= last; pg++) d.ptes.set(pg, { prot, epoch: ++d.epoch, row: c.row });
}

/**
 * `unmap domain va size`: `iommu_unmap` → io-pgtable clears the PTEs → `arm_smmu_tlb_inv_range_domain`:
 * TLBI_NH_VA (ASID read now) on every SMMU of the domain, ATC_INV of every ATS master at SSID 0, sync.
 * Strict mode (no flush queue): the invalidation is complete when the call returns. The unmap stops
 * at the first entry that maps nothing ({@link unmapUntilHole}, io-pgtable.ts: the pages after a
 * hole stay mapped), and the invalidation covers what it unmapped. When it stopped at once, what
 * the empty gather's sync sends depends on the era ({@link iotlbSyncEmptyGather}: nothing from
 * v5.13, 6cc7e5a9c6b0; a lone CMD_SYNC and, from v5.4, an ATC_INV before). The kernel invalidates a freed 2 MiB or 1 GiB table at once
 * (`io_pgtable_tlb_flush_walk`) and the leaf pages at the end, each call with its ATC_INV and
 * CMD_SYNC (and from v6.12, 85b715a33458, the freed table's entry goes into the gather too: one
 * TLBI_NH_VA more); the model sends one invalidation over the whole span (the same pages; fewer
 * ATC_INVs and CMD_SYNCs, and fewer range commands with RANGE_INV).
 */
export function iommuUnmap(c: Ctx, name: string, va: number, size: number): void {
  const d = liveDomain(c, name);
  const [first, last] = pageRange(va, size, c.row);
  const done = unmapUntilHole(d, first, last, (pg, old, freed) => {
    // Keep an unmapped PTE (not a hole) so a stale hit can name this row as the one that had to purge
    // it; a page already unmapped keeps the row that unmapped it. A freed table marks its PTEs.
    const [epoch, row] = old.prot === 0 ? [old.epoch, old.row] : [++d.epoch, c.row];
    d.ptes.set(pg, freed ? { prot: 0, epoch, row, freed: true } : { prot: 0, epoch, row });
  });
  if (done < first) {
    iotlbSyncEmptyGather(c, d);
    return;
  }
  for (const i of d.smmus) c.parts.__arm_smmu_tlb_inv_range(c, i, d.asid, first, done, LEAF);
  for (const dev of d.masters) c.parts.arm_smmu_atc_inv_domain(c, c.st.masters.get(dev)!, 0, first, done);
  latentAfterUnmap(c, domainAsId(d), first, done);
}
