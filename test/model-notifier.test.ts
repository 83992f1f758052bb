/**
 * The SVA mmu notifier (src/model/smmu/notifier.ts), from drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3-sva.c:
 *
 * - arm_smmu_mm_release() (v5.11 on): `arm_smmu_write_ctx_desc(smmu_domain, mm->pasid, &quiet_cd)`
 *   (CFGI_CD for each StreamID, one CMD_SYNC), `arm_smmu_tlb_inv_asid()`, then
 *   `arm_smmu_atc_inv_domain(smmu_domain, mm->pasid, 0, 0)` (size 0: the whole ATC of the PASID);
 *   `smmu_mn->cleared = true`, so arm_smmu_mmu_notifier_put() flushes nothing more.
 * - arm_smmu_mm_invalidate_range() (v5.12 - v6.5): `size = end - start + 1` until 95d4782c34a6
 *   (v5.18), then `end - start`; TLBI_NH_VA per page (arm_smmu_tlb_inv_range_asid) unless the
 *   SMMU's BTM is used, then arm_smmu_atc_inv_domain() over the same range. Before v6.6 a munmap
 *   calls it twice (tlb_flush_mmu_tlbonly, then mmu_notifier_invalidate_range_end).
 * - arm_smmu_mm_arch_invalidate_secondary_tlbs() (v6.6 on): called once per CPU flush; `end ==
 *   ULONG_MAX` (flush_tlb_mm) is size 0, one TLBI_NH_ASID; without RANGE_INV a range of
 *   CMDQ_MAX_TLBI_OPS (512) pages or more is size 0 too (d5afb4b47e13).
 * - BTM (the 2023 proposal): the SMMU snoops the CPU's broadcast TLBI (TLBI ASIDE1IS from
 *   flush_tlb_mm, TLBI VAE1IS per page) for entries of ASET=0 CDs; the notifier sends no TLBI.
 *
 * CPUs have 16-bit ASIDs and no KPTI; the first mm scheduled gets CPU ASID 1.
 */
import { describe, expect, it } from 'vitest';
import { createSystem } from '../src/model/system.js';
import { mmRelease } from '../src/model/smmu/notifier.js';
import type { Ctx } from '../src/model/smmu/port.js';
import { resolveSystem, type SystemInput } from '../src/trace/system.js';
import { kinds, run, stale } from './helpers/mini.js';

const L = (...lines: string[]) => lines.join('\n');
const size = (pages: number) => `0x${(pages * 4096).toString(16)}`;
const smmu = (name: string, extra: object = {}) => ({ name, asidBits: 16 as const, ...extra });
const dev = (name: string, s = 's0', extra: object = {}) => ({ name, smmu: s, ...extra });
const sys = (kernel: string, devices: object[] = [dev('dev')], smmus: object[] = [smmu('s0')], extra: object = {}): SystemInput =>
  ({ kernel, smmus, devices, ...extra }) as SystemInput;

/** Commands each SMMU queued for the rows of `tail`, after `head`. */
function added(system: SystemInput, head: string, tail: string) {
  const a = run(system, head).devices.smmus;
  return run(system, L(head, tail)).devices.smmus.map((s, i) => {
    const b = a[i]!.commands;
    return {
      asid: s.commands.CMD_TLBI_NH_ASID - b.CMD_TLBI_NH_ASID,
      va: s.commands.CMD_TLBI_NH_VA - b.CMD_TLBI_NH_VA,
      atc: s.commands.CMD_ATC_INV - b.CMD_ATC_INV,
      cd: s.commands.CMD_CFGI_CD - b.CMD_CFGI_CD,
    };
  });
}

describe('arm_smmu_mm_release: the last task of a bound mm exits', () => {
  // An ATS device with two StreamIDs: per-SID commands go twice.
  const system = (faults: SystemInput['faults'] = []) =>
    sys('6.1', [dev('dev', 's0', { ats: true, streamIds: [1, 2] })], undefined, { faults });
  const head = L('fork 1 P', 'sched 0 1', 'map P 0x5000 0x1000', 'bind dev P', 'dma dev 1 0x5000');

  it('quiet CD on every StreamID, TLBI_NH_ASID, ATC_INV of the PASID on every StreamID', () => {
    expect(added(system(), head, 'exit 1')).toEqual([{ asid: 1, va: 0, atc: 2, cd: 2 }]);
    const r = run(system(), L(head, 'exit 1'));
    expect(r.devices.sva.releases).toBe(1);
    // The whole ATC of the PASID went with it (0x5000 is page 5): nothing stale.
    expect(stale(r)).toEqual([]);
  });

  it('a DMA after the release misses and faults on the quiet CD', () => {
    const before = run(system(), L(head, 'exit 1')).devices.smmus[0]!;
    const after = run(system(), L(head, 'exit 1', 'dma dev 1 0x5000')).devices.smmus[0]!;
    expect([after.misses - before.misses, after.faults - before.faults, after.hits - before.hits, after.atcHits - before.atcHits]).toEqual([
      1, 1, 0, 0,
    ]);
  });

  it('the unbind after it flushes nothing more: one TLBI_NH_ASID in all', () => {
    expect(run(system(), L(head, 'exit 1', 'unbind dev P')).devices.smmus[0]!.commands.CMD_TLBI_NH_ASID).toBe(1);
  });

  // What one unbind queues (two StreamIDs: per-SID commands twice). v6.1 (arm-smmu-v3-sva.c):
  // arm_smmu_mmu_notifier_put() writes the NULL CD, then `if (!smmu_mn->cleared)` TLBI_NH_ASID and
  // ATC_INV of the PASID. v6.11 (arm-smmu-v3.c): arm_smmu_remove_dev_pasid() clears the CD and sends
  // ATC_INV whatever happened to the mm (49db2ed23c52, with d38c28dbefee, v6.11);
  // arm_smmu_sva_domain_free() sends TLBI_NH_ASID.
  it.each([
    ['6.1', 'before the exit', '', { asid: 1, va: 0, atc: 2, cd: 2 }],
    ['6.1', 'after the exit (cleared): the CD only', 'exit 1', { asid: 0, va: 0, atc: 0, cd: 2 }],
    ['6.10', 'after the exit (cleared): the CD only', 'exit 1', { asid: 0, va: 0, atc: 0, cd: 2 }],
    ['6.11', 'before the exit', '', { asid: 1, va: 0, atc: 2, cd: 2 }],
    ['6.11', 'after the exit: ATC_INV all the same', 'exit 1', { asid: 1, va: 0, atc: 2, cd: 2 }],
  ])('v%s, the unbind %s', (kernel, _, exit, want) => {
    const s = sys(kernel, [dev('dev', 's0', { ats: true, streamIds: [1, 2] })]);
    expect(added(s, exit ? L(head, exit) : head, 'unbind dev P')).toEqual([want]);
  });

  it('no-release-tlbi: the quiet CDs only; the IOTLB and ATC entries of page 5 survive, found at the exit', () => {
    expect(added(system(['no-release-tlbi']), head, 'exit 1')).toEqual([{ asid: 0, va: 0, atc: 0, cd: 2 }]);
    const r = run(system(['no-release-tlbi']), L(head, 'exit 1'));
    expect(r.stale.findings.map((f) => [f.row, f.kind, f.cache, f.latent, f.va])).toEqual([
      [6, 'S-UNMAP', 'iotlb', true, 0x5000],
      [6, 'S-UNMAP', 'atc', true, 0x5000],
    ]);
  });

  it('an mm the SMMU side never saw has nothing to release', () => {
    const m = createSystem(resolveSystem(sys('6.1'), {}));
    expect(() => mmRelease({ st: m.smmu, row: 1 } as Ctx, 7)).not.toThrow();
    expect(m.smmu.svaMms.size).toBe(0);
  });
});

describe('invalidation per notifier call', () => {
  it('v6.6, no RANGE_INV: a 1-page munmap high in the address space is one TLBI_NH_VA (size = end - start)', () => {
    const head = L('fork 1 P', 'sched 0 1', 'map P 0x200000 0x1000', 'bind dev P');
    expect(added(sys('6.6'), head, 'unmap P 0x200000 0x1000')).toEqual([{ asid: 0, va: 1, atc: 0, cd: 0 }]);
  });

  it.each([
    [511, { asid: 0, va: 511 }],
    [512, { asid: 1, va: 0 }],
  ])('v6.6, no RANGE_INV: a munmap of %i pages', (pages, want) => {
    const head = L('fork 1 P', 'sched 0 1', `map P 0x100000 ${size(pages)}`, 'bind dev P');
    expect(added(sys('6.6'), head, `unmap P 0x100000 ${size(pages)}`)[0]).toMatchObject(want);
  });

  it('v6.1, no RANGE_INV: no cutoff before v6.6, a 600-page munmap is 600 TLBI_NH_VA per call, two calls', () => {
    const head = L('fork 1 P', 'sched 0 1', `map P 0x100000 ${size(600)}`, 'bind dev P');
    expect(added(sys('6.1'), head, `unmap P 0x100000 ${size(600)}`)[0]).toMatchObject({ asid: 0, va: 1200 });
  });

  it('v5.12 with RANGE_INV: size = end - start + 1 never leaves __arm_smmu_tlb_inv_range; the finding gives the size', () => {
    const system = sys('5.12', undefined, [smmu('s0', { rangeInvalidation: true })]);
    const r = run(system, L('fork 1 P', 'sched 0 1', `map P 0x100000 ${size(3)}`, 'bind dev P', `unmap P 0x100000 ${size(3)}`));
    expect(kinds(r)).toEqual([[5, 'inv-range-hang']]);
    expect(r.violations[0]!.detail).toContain('3 pages + 1 byte');
  });

  it('v5.12, no RANGE_INV: one TLBI_NH_VA too many and an ATC range one page wider, per call', () => {
    const system = sys('5.12', [dev('dev', 's0', { ats: true })]);
    // 0x2000 is the last page of the munmap, 0x3000 the page after it.
    const head = L('fork 1 P', 'sched 0 1', 'map P 0x1000 0x3000', 'bind dev P', 'dma dev 1 0x2000', 'dma dev 1 0x3000');
    expect(added(system, head, 'unmap P 0x1000 0x2000')).toEqual([{ asid: 0, va: 6, atc: 2, cd: 0 }]);
    const r = run(system, L(head, 'unmap P 0x1000 0x2000', 'dma dev 1 0x3000'));
    // The last page's entries are gone (nothing stale), and so is the ATC entry of the page after.
    expect(stale(r)).toEqual([]);
    expect(r.devices.smmus[0]).toMatchObject({ atcHits: 0, misses: 3 });
  });

  it('v6.6: each SMMU invalidates the ATC of its own masters only (arm_smmu_atc_inv_domain per domain)', () => {
    const system = sys('6.6', [dev('devA', 's0', { ats: true }), dev('devB', 's1', { ats: true })], [smmu('s0'), smmu('s1')]);
    const head = L('fork 1 P', 'sched 0 1', 'map P 0x1000 0x1000', 'bind devA P', 'bind devB P');
    expect(added(system, head, 'unmap P 0x1000 0x1000')).toEqual([
      { asid: 0, va: 1, atc: 1, cd: 0 },
      { asid: 0, va: 1, atc: 1, cd: 0 },
    ]);
  });

  it('v6.6: flush_tlb_mm (512 pages) invalidates the whole ATC of the PASID as well (size 0)', () => {
    const system = sys('6.6', [dev('dev', 's0', { ats: true })]);
    const head = L('fork 1 P', 'sched 0 1', `map P 0x100000 ${size(512)}`, 'bind dev P', 'dma dev 1 0x100000', 'dma dev 1 0x2ff000');
    expect(added(system, head, `unmap P 0x100000 ${size(512)}`)).toEqual([{ asid: 1, va: 0, atc: 1, cd: 0 }]);
    expect(stale(run(system, L(head, `unmap P 0x100000 ${size(512)}`)))).toEqual([]);
  });
});

describe('one notifier per (RID domain, mm) up to v6.10, per (mm, SMMU) from v6.11 (d38c28dbefee)', () => {
  // v5.11-v6.10 arm_smmu_mmu_notifier_get(smmu_domain, mm) searches smmu_domain->mmu_notifiers:
  // devices in two DMA domains bound to one mm have two notifiers, each sending the shared CD's
  // TLBIs and arm_smmu_atc_inv_domain(smmu_domain, mm->pasid, ..) over every ATS master of its
  // domain, bound or not. From v6.11 the SVA domain of (mm, SMMU) has the one notifier.
  const ats = { ats: true };
  const system = (kernel: string) => sys(kernel, [dev('devA', 's0', ats), dev('devB', 's0', ats), dev('devC', 's0', ats)]);
  const head = (attach: string) => L(attach, 'fork 1 P', 'sched 0 1', 'map P 0x1000 0x1000', 'bind devA P', 'bind devB P');
  const twoDomains = L('attach devA D1', 'attach devB D2');
  const oneDomain = L('attach devA D', 'attach devB D');

  it.each(['6.1', '6.6', '6.10'])('%s: two RID domains, two notifiers: the TLBIs twice; one domain, once', (k) => {
    const one = added(system(k), head(oneDomain), 'unmap P 0x1000 0x1000')[0]!;
    const two = added(system(k), head(twoDomains), 'unmap P 0x1000 0x1000')[0]!;
    expect(one.va).toBeGreaterThan(0);
    expect(two.va).toBe(2 * one.va);
    // the ATC: each bound master once per call either way (each is in one domain)
    expect(two.atc).toBe(one.atc);
    // the mm's exit: TLBI_NH_ASID per notifier
    expect(added(system(k), head(twoDomains), 'exit 1')[0]!.asid).toBe(2);
    expect(added(system(k), head(oneDomain), 'exit 1')[0]!.asid).toBe(1);
  });

  it.each(['6.11', '6.16'])('%s: one notifier per (mm, SMMU) whatever the RID domains', (k) => {
    expect(added(system(k), head(twoDomains), 'unmap P 0x1000 0x1000')).toEqual(added(system(k), head(oneDomain), 'unmap P 0x1000 0x1000'));
    expect(added(system(k), head(twoDomains), 'exit 1')[0]!.asid).toBe(1);
  });

  it('6.10: an ATS master of the RID domain that is not bound gets the ATC_INV at the PASID too; 6.11: not', () => {
    const withC = head(L('attach devA D', 'attach devB D', 'attach devC D'));
    const calls = (k: string) => added(system(k), head(oneDomain), 'unmap P 0x1000 0x1000')[0]!.atc / 2; // 2 ATS masters bound
    for (const k of ['6.1', '6.10']) {
      const a = added(system(k), withC, 'unmap P 0x1000 0x1000')[0]!;
      expect(a.atc, k).toBe(3 * calls(k));
      expect(added(system(k), withC, 'exit 1')[0]!.atc, `${k} exit`).toBe(3);
    }
    const a = added(system('6.11'), withC, 'unmap P 0x1000 0x1000')[0]!;
    expect(a.atc).toBe(2 * calls('6.11'));
    expect(added(system('6.11'), withC, 'exit 1')[0]!.atc).toBe(2);
  });

  it('bound masters without a RID domain share a notifier of their SMMU (the kernel would have refused their binds)', () => {
    const k = '6.1';
    const none = added(system(k), head(''), 'unmap P 0x1000 0x1000')[0]!;
    const one = added(system(k), head(oneDomain), 'unmap P 0x1000 0x1000')[0]!;
    const mixed = added(system(k), head('attach devA D1'), 'unmap P 0x1000 0x1000')[0]!;
    expect(none).toEqual(one);
    expect(mixed.va, 'devA in D1, devB in no domain: two notifiers').toBe(2 * one.va);
    expect(mixed.atc, 'each master once: devA by D1, devB by its SMMU').toBe(one.atc);
    // the same with the domain-less master bound first
    const first = L('attach devA D1', 'fork 1 P', 'sched 0 1', 'map P 0x1000 0x1000', 'bind devB P', 'bind devA P');
    expect(added(system(k), first, 'unmap P 0x1000 0x1000')[0]).toEqual(mixed);
    // unbinding the domain-less master puts its notifier (a TLBI) though devA stays bound on the SMMU
    expect(added(system(k), first, 'unbind devB P')[0]!.asid).toBe(1);
  });

  it("6.1: the unbind of a notifier's last bond flushes the ASID on its SMMU and the ATC of its whole domain (arm_smmu_mmu_notifier_put)", () => {
    // devA in D1 with devC (ATS, not bound), devB in D2: unbinding devA puts D1's notifier
    const h = head(L('attach devA D1', 'attach devC D1', 'attach devB D2'));
    expect(added(system('6.1'), h, 'unbind devA P')[0]).toMatchObject({ asid: 1, atc: 2 });
    // devA and devB in one domain: unbinding devA is not the notifier's last bond: no TLBI
    expect(added(system('6.1'), head(oneDomain), 'unbind devA P')[0]!.asid).toBe(0);
    expect(added(system('6.1'), head(oneDomain), L('unbind devA P', 'unbind devB P'))[0]!.asid).toBe(1);
    // after the mm's release (cleared) the put flushes nothing
    expect(added(system('6.1'), h, L('exit 1', 'unbind devA P'))[0]!.asid).toBe(2);
  });

  it("5.12: notifiers run newest first (mmu_notifier_register adds at the head): the later bind's SMMU is invalidated before the other hangs", () => {
    // devA on s0 (RANGE_INV: the size + 1 hang of v5.12) bound first, devB on s1 (no RANGE_INV) second
    const two = sys('5.12', [dev('devA', 's0'), dev('devB', 's1')], [smmu('s0', { rangeInvalidation: true }), smmu('s1')]);
    const h = L('attach devA D1', 'attach devB D2', 'fork 1 P', 'sched 0 1', 'map P 0x1000 0x1000', 'bind devA P', 'bind devB P');
    const a = added(two, h, 'unmap P 0x1000 0x1000');
    expect(a[1]!.va, "devB's notifier ran first").toBeGreaterThan(0);
    expect(a[0]!.va).toBe(0);
    expect(kinds(run(two, L(h, 'unmap P 0x1000 0x1000')))).toEqual([[8, 'inv-range-hang']]);
  });

  it('6.1, a domain on two SMMUs (--multi-smmu-domains): the notifier flushes the ASID on both; nothing stale', () => {
    // multiSmmuDomains is M. Shavit's 2023 RFC ("iommu/arm-smmu-v3: Add support for domains shared
    // across SMMUs"), a what-if: its arm_smmu_tlb_inv_asid loops over every SMMU of the domain.
    const two = { ...sys('6.1', [dev('devA', 's0', ats), dev('devB', 's1', ats)], [smmu('s0'), smmu('s1')]), multiSmmuDomains: true };
    const trace = L(
      'fork 1 P',
      'sched 0 1',
      'map P 0x1000 0x1000',
      'attach devA D1',
      'bind devA P',
      'attach devB D1',
      'bind devB P',
      'dma devB 1 0x1000',
    );
    const a = added(two, trace, 'unmap P 0x1000 0x1000');
    expect(a[0]!.va).toBeGreaterThan(0);
    expect(a[1]!.va).toBe(a[0]!.va);
    expect(stale(run(two, L(trace, 'unmap P 0x1000 0x1000', 'dma devB 1 0x1000')))).toEqual([]);
  });
});

describe('the range-command granule of v6.11 - v6.14 (d38c28dbefee, fixed by 12f78021973a)', () => {
  const head = L('fork 1 P', 'sched 0 1', 'map P 0x1000 0x1000', 'bind dev P', 'dma dev 1 0x1000');
  const system = (extra: object = {}) => sys('6.12', undefined, [smmu('s0', { rangeInvalidation: true })], extra);

  it('an SVA domain (pgsize_bitmap 0) sends TG 64 KiB: the 4 KiB entry survives, and the finding says why', () => {
    const r = run(system(), L(head, 'unmap P 0x1000 0x1000'));
    expect(stale(r)).toEqual([[6, 'S-UNMAP', true]]);
    expect(r.stale.findings[0]!.detail).toContain('pgsize_bitmap');
  });

  it("a shared CD (the v6.10 design, here as an expert override) uses the DMA domain's granule: nothing survives", () => {
    expect(stale(run(system({ driver: 'shared-asid' }), L(head, 'unmap P 0x1000 0x1000')))).toEqual([]);
  });

  it('the per-page calls of a rights upgrade (v6.6 on) each name the granule bug; the finding says it once', () => {
    // Entries of pages 1-2 survive the munmap (TG bug); the pages come back (new PTEs, no flush),
    // then gain write: two flush_tlb_page calls, and the latent check finds the old entries again.
    const r = run(
      system(),
      L(
        'fork 1 P',
        'sched 0 1',
        'map P 0x1000 0x2000 r',
        'bind dev P',
        'dma dev 1 0x1000 r',
        'dma dev 1 0x2000 r',
        'unmap P 0x1000 0x2000',
        'map P 0x1000 0x2000 r',
        'map P 0x1000 0x2000 rw',
      ),
    );
    const upgrade = r.stale.findings.filter((f) => f.row === 9);
    expect(upgrade.map((f) => [f.kind, f.va])).toEqual([
      ['S-UNMAP', 0x1000],
      ['S-UNMAP', 0x2000],
    ]);
    for (const f of upgrade) expect(f.detail.split('pgsize_bitmap').length).toBe(2);
  });
});

describe('BTM (rfc-btm-2023 on an SMMU with BTM): the SMMU snoops the CPU broadcast', () => {
  const system = (faults: SystemInput['faults'] = []) => sys('rfc-btm-2023', undefined, [smmu('s0', { btm: true })], { faults });

  it('TLBI ASIDE1IS (flush_tlb_mm, 512 pages) removes every entry of the ASID, in the range or not; the driver sends no TLBI', () => {
    const head = L(
      'fork 1 P',
      'sched 0 1',
      'map P 0x1000 0x1000',
      `map P 0x100000 ${size(512)}`,
      'bind dev P',
      'dma dev 1 0x1000',
      'dma dev 1 0x100000',
    );
    expect(added(system(), head, `unmap P 0x100000 ${size(512)}`)[0]).toMatchObject({ asid: 0, va: 0 });
    const r = run(system(), L(head, `unmap P 0x100000 ${size(512)}`, 'dma dev 1 0x1000'));
    expect(stale(r)).toEqual([]);
    expect(r.devices.smmus[0]).toMatchObject({ btmSnoops: 1, hits: 0, fills: 3 });
  });

  it('no-dvm: the broadcast never reaches the SMMU; the entry survives, and the finding names the mm and nothing more', () => {
    const r = run(
      system(['no-dvm']),
      L('fork 1 P', 'sched 0 1', 'map P 0x1000 0x1000', 'bind dev P', 'dma dev 1 0x1000', 'unmap P 0x1000 0x1000'),
    );
    expect(stale(r)).toEqual([[6, 'S-UNMAP', true]]);
    expect(r.stale.findings[0]!.detail).toMatch(/ of mm P$/);
    expect(r.devices.smmus[0]!.btmSnoops).toBe(0);
  });
});
