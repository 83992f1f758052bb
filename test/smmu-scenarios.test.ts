/**
 * The stale-IOTLB scenarios of shared/spec/smmu-sva.md §8 (and §5.4, §4.1, §6), each replayed with
 * and without the kernel step whose absence makes it stale. Rows are line numbers of the mini traces.
 */
import { describe, expect, it } from 'vitest';
import { replayFile } from '../src/replay/engine.js';
import { failures, run, stale, staleHits } from './helpers/mini.js';
import type { SystemInput } from '../src/trace/system.js';

const L = (...lines: string[]) => lines.join('\n');
const smmu = (name: string, extra: { btm?: boolean } = {}) => ({ name, asidBits: 16 as const, ...extra });
const dev = (name: string, s = 'smmu0', extra: object = {}) => ({ name, smmu: s, ...extra });

describe('§8.1 BTM and a CPU rollover without pinning', () => {
  // 3-bit CPU ASIDs (what-if): 7 usable, so a rollover is a few forks away.
  const sys = (faults: SystemInput['faults']): SystemInput => ({
    cpus: 2,
    asidBits: 3,
    driver: 'btm-2023',
    faults,
    smmus: [smmu('smmu0', { btm: true })],
    devices: [dev('dev')],
  });
  const trace = L(
    'fork 1 P',
    'sched 0 1', //           P = (g1, ASID 1)
    'bind dev P', //                       3: CD ASID 1, ASET=0, the notifier relies on BTM
    'dma dev 1 0x1000', //                 4: IOTLB {1, 0x1000 -> P}
    'fork 2 R',
    'sched 0 2', //            P runs nowhere
    'fork 3',
    'sched 1 3',
    'fork 4',
    'sched 1 4',
    'fork 5',
    'sched 1 5',
    'fork 6',
    'sched 1 6',
    'fork 7',
    'sched 1 7',
    'fork 8 Q',
    'sched 1 8', //            18: rollover to g2; Q takes ASID 1 unless it is pinned
    'sched 0 1', //                        19: P gets a fresh ASID unless pinned
    'unmap P 0x1000 0x1000', //            20: CPU TLBI by P's ASID; BTM snoops it; the driver sends nothing
    'dma dev 1 0x1000', //                 21
  );
  it('skip-pin: P moves to another ASID, the snooped TLBI misses the entry: S-UNMAP', () => {
    const r = run(sys(['skip-pin']), trace);
    expect(r.churn.rollovers).toBe(1);
    expect(staleHits(r)).toEqual([[21, 'S-UNMAP']]);
    expect(stale(r)).toContainEqual([20, 'S-UNMAP', true]);
    expect(r.stale.findings.find((f) => !f.latent)).toMatchObject({
      asid: 1,
      va: 0x1000,
      device: 'dev',
      pasid: 1,
      fillRow: 4,
      shouldHaveRow: 20,
      owner: 'mm P',
    });
  });
  it('with the pin, flush_context keeps ASID 1 for P across the rollover: nothing stale', () => {
    const r = run(sys([]), trace);
    expect(r.churn.rollovers).toBe(1);
    expect(r.pins.pinned).toBe(1);
    expect(r.stale.total).toBe(0);
    expect(r.violations).toEqual([]);
  });
});

describe('the ASID-move race of the FIXME in arm_smmu_share_asid', () => {
  const file = 'traces/scenarios/asid-move-race.csv';
  it.each(['6.1', '5.15', '6.10', 'rfc-btm-2023'])(
    'kernel %s (the CPU ASID is shared): the dma between the move and the CD rewrite hits a stale entry',
    async (kernel) => {
      const r = await replayFile(file, { overrides: { kernel } });
      expect(staleHits(r)).toEqual([[14, 'S-UNMAP']]);
      expect(r.stale.findings.find((f) => !f.latent)).toMatchObject({
        asid: 1,
        device: 'devA',
        owner: 'domain D1',
        fillRow: 11,
        shouldHaveRow: 13,
      });
      expect(r.devices.smmus[0]!.asidsMoved).toBe(1);
      expect(r.devices.opsInFlight).toEqual([]);
    },
  );
  it.each(['6.11', '6.12'])(
    'kernel %s (private SVA ASIDs, d38c28dbefee): no move, no stale entry (the resumes are idle)',
    async (kernel) => {
      const r = await replayFile(file, { overrides: { kernel } });
      expect(r.system.driver).toBe('private-asid');
      expect(r.stale.total).toBe(0);
      expect(r.devices.smmus[0]!.asidsMoved).toBe(0);
      expect(r.devices.sva.idleResumes).toBe(3);
    },
  );
  it('the expert --driver override on top of an era: 6.11 with the shared-asid design races again', async () => {
    const r = await replayFile(file, { overrides: { kernel: '6.11', driver: 'shared-asid' } });
    expect(staleHits(r)).toEqual([[14, 'S-UNMAP']]);
  });
  it('btm-2023 on an SMMU without BTM: private ASID, no move, clean', async () => {
    const r = await replayFile(file, { overrides: { kernel: 'rfc-btm-2023' } });
    expect(r.stale.total).toBeGreaterThan(0); // the shipped trace's SMMU has BTM
    const sys = { driver: 'btm-2023' as const, smmus: [smmu('smmu0')], devices: [dev('devA'), dev('devB')] };
    const r2 = run(
      sys,
      L(
        'attach devA D1',
        'fork 1 P',
        'sched 0 1',
        'dmap D1 0x1000 0x1000',
        'dma devA - 0x1000',
        'bind devB P b1',
        'dunmap D1 0x1000 0x1000',
        'dma devA - 0x1000',
        'resume b1',
      ),
    );
    expect(r2.stale.total).toBe(0);
  });
  it('without interleaving (the bind runs to completion) the unmap targets the new ASID: clean', () => {
    const sys = { driver: 'shared-asid' as const, smmus: [smmu('smmu0')], devices: [dev('devA'), dev('devB')] };
    const r = run(
      sys,
      L(
        'attach devA D1',
        'fork 1 P',
        'sched 0 1',
        'dmap D1 0x1000 0x1000',
        'dma devA - 0x1000',
        'bind devB P',
        'dunmap D1 0x1000 0x1000',
        'dma devA - 0x1000',
      ),
    );
    expect(r.stale.total).toBe(0);
    expect(r.devices.smmus[0]!.asidsMoved).toBe(1);
  });
});

describe('§8.3 ASID move without the purge of the old ASID', () => {
  const trace = L(
    'attach devA D1',
    'fork 1 P',
    'sched 0 1',
    'dmap D1 0x1000 0x1000',
    'dma devA - 0x1000', //  5: {1, 0x1000 -> D1}
    'bind devB P', //        6: D1 moves to ASID 2; ASID 1 goes to P's shared CD
    'dma devB 1 0x1000', //  7: CD(devB, PASID 1) says ASID 1
  );
  const sys = (faults: SystemInput['faults']): SystemInput => ({
    driver: 'shared-asid',
    faults,
    smmus: [smmu('smmu0')],
    devices: [dev('devA'), dev('devB')],
  });
  it('no-old-asid-purge: latent S-ALIAS when ASID 1 is handed to P, then a hit: S-ALIAS', () => {
    const r = run(sys(['no-old-asid-purge']), trace);
    expect(stale(r)).toEqual([
      [6, 'S-ALIAS', true],
      [7, 'S-ALIAS', false],
    ]);
    expect(r.stale.findings[1]).toMatchObject({ owner: 'domain D1', current: 'mm P', asid: 1, shouldHaveRow: 6 });
  });
  it('with the TLBI of the old ASID: clean', () => {
    expect(run(sys([]), trace).stale.total).toBe(0);
  });
});

describe('§8.4 ASID reuse across domains without the purge on free', () => {
  const sys = (faults: SystemInput['faults']): SystemInput => ({
    driver: 'private-asid',
    faults,
    smmus: [smmu('smmu0')],
    devices: [dev('devA'), dev('devC')],
  });
  const svaTrace = L(
    'fork 1 P',
    'bind devA P', //   SVA domain, private ASID 1
    'dma devA 1 0x1000', //         3: {1, 0x1000 -> P}
    'unbind devA P', //             4: arm_smmu_sva_domain_free: TLBI then xa_erase
    'attach devC D2', //            5: D2 gets ASID 1 (lowest free)
    'dmap D2 0x1000 0x1000',
    'dma devC - 0x1000', // 7
  );
  it('SVA domain freed without TLBI: latent at the unbind, S-ALIAS at the DMA of the new owner', () => {
    const r = run(sys(['no-purge-on-free']), svaTrace);
    expect(stale(r)).toEqual([
      [4, 'S-ALIAS', true],
      [7, 'S-ALIAS', false],
    ]);
    expect(r.stale.findings[1]).toMatchObject({ owner: 'mm P', current: 'domain D2', asid: 1, shouldHaveRow: 4 });
  });
  it('with the TLBI before xa_erase: clean', () => {
    expect(run(sys([]), svaTrace).stale.total).toBe(0);
  });
  const dmaTrace = L(
    'attach devA D1',
    'dmap D1 0x1000 0x1000',
    'dma devA - 0x1000',
    'detach devA',
    'attach devC D2',
    'dmap D2 0x1000 0x1000',
    'dma devC - 0x1000',
  );
  it('S1 domain freed without the io-pgtable flush: S-ALIAS; with it: clean', () => {
    expect(staleHits(run(sys(['no-purge-on-free']), dmaTrace))).toEqual([[7, 'S-ALIAS']]);
    expect(run(sys([]), dmaTrace).stale.total).toBe(0);
  });
});

describe('§8.5 missing invalidation on mm exit and on unbind', () => {
  const sys = (faults: SystemInput['faults'], ats = false): SystemInput => ({
    driver: 'private-asid',
    faults,
    smmus: [smmu('smmu0')],
    devices: [dev('dev', 'smmu0', { ats })],
  });
  const exitTrace = L('fork 1 P', 'sched 0 1', 'bind dev P', 'dma dev 1 0x1000', 'exit 1', 'dma dev 1 0x1000');
  it('release without TLBI: the quiet CD does not stop a TLB hit on pages of a dead process (S-UNMAP)', () => {
    const r = run(sys(['no-release-tlbi']), exitTrace);
    expect(stale(r)).toEqual([
      [5, 'S-UNMAP', true],
      [6, 'S-UNMAP', false],
    ]);
    expect(r.stale.findings[1]).toMatchObject({ shouldHaveRow: 5, owner: 'mm P' });
  });
  it('with arm_smmu_mm_release flushing: the DMA misses and faults on the quiet CD', () => {
    const r = run(sys([]), exitTrace);
    expect(r.stale.total).toBe(0);
    expect(r.devices.sva.releases).toBe(1);
    expect(r.devices.smmus[0]!.faults).toBe(1);
  });
  const reuseTrace = L(
    'fork 1 P',
    'bind dev P',
    'dma dev 1 0x1000', // ATC {ssid 1, 0x1000 -> P}
    'unbind dev P',
    'exit 1', //   4, 5: PASID 1 freed at the final mmdrop
    'fork 2 R',
    'bind dev R', //   7: R gets PASID 1 again
    'dma dev 1 0x1000', //         8
  );
  it('PASID reuse with the ATC left unpurged at unbind: S-ALIAS in the ATC', () => {
    const r = run(sys(['no-purge-on-free'], true), reuseTrace);
    expect(staleHits(r)).toEqual([[8, 'S-ALIAS']]);
    expect(r.stale.findings.find((f) => !f.latent)).toMatchObject({
      cache: 'atc',
      pasid: 1,
      owner: 'mm P',
      current: 'mm R',
      shouldHaveRow: 4,
    });
    expect(r.devices.sva.pasidsFreed).toBe(1);
  });
  it('with ATC_INV at unbind: clean', () => {
    expect(run(sys([], true), reuseTrace).stale.total).toBe(0);
  });
});

describe('§8.6 / §8.7 BTM designs and CPU TLBIs that never reach the SMMU', () => {
  const sys = (faults: SystemInput['faults']): SystemInput => ({
    cpus: 2,
    driver: 'btm-2023',
    faults,
    smmus: [smmu('smmu0', { btm: true })],
    devices: [dev('dev')],
  });
  const trace = L('fork 1 P', 'sched 0 1', 'bind dev P', 'dma dev 1 0x1000', 'unmap P 0x1000 0x1000', 'dma dev 1 0x1000');
  it('no-dvm (BTM advertised, DVM off): S-UNMAP after the munmap', () => {
    expect(staleHits(run(sys(['no-dvm']), trace))).toEqual([[6, 'S-UNMAP']]);
  });
  it('local-tlbi (mm ran on one CPU): S-UNMAP; an mm live on two CPUs still broadcasts', () => {
    expect(staleHits(run(sys(['local-tlbi']), trace))).toEqual([[6, 'S-UNMAP']]);
    const two = L(
      'fork 1 P',
      'fork 2 P',
      'sched 0 1',
      'sched 1 2',
      'bind dev P',
      'dma dev 1 0x1000',
      'unmap P 0x1000 0x1000',
      'dma dev 1 0x1000',
    );
    expect(run(sys(['local-tlbi']), two).stale.total).toBe(0);
  });
  it('with the broadcast snooped: clean, and the driver queued no TLBI for the munmap', () => {
    const r = run(sys([]), trace);
    expect(r.stale.total).toBe(0);
    expect(r.devices.smmus[0]!.btmSnoops).toBeGreaterThan(0);
    expect(r.devices.smmus[0]!.tlbiVa).toBe(0);
  });
});

describe('permission upgrade: the SVA notifier is called from the arm64 TLB flush only from v6.6', () => {
  // v6.6 ("mmu_notifiers: rename invalidate_range notifier" and its series): flush_tlb_page, called by
  // ptep_set_access_flags on an RO->RW upgrade, calls mmu_notifier_arch_invalidate_secondary_tlbs.
  // Before, the notifier came only from the generic mm paths (PTE clear, change_protection).
  const sys = (kernel: string): SystemInput => ({ kernel, smmus: [smmu('smmu0')], devices: [dev('dev')] });
  const trace = L('fork 1 P', 'map P 0x1000 0x1000 r', 'bind dev P', 'dma dev 1 0x1000 r', 'map P 0x1000 0x1000 rw', 'dma dev 1 0x1000 w');
  it('v6.5: the write hits the read-only entry: S-PERM (benign direction: the device faults forever)', () => {
    const r = run(sys('6.5'), trace);
    expect(staleHits(r)).toEqual([[6, 'S-PERM']]);
    expect(r.stale.findings[0]!.shouldHaveRow).toBe(5);
  });
  it('v6.6: the write misses, walks and fills', () => {
    const r = run(sys('6.6'), trace);
    expect(r.stale.total).toBe(0);
    expect(r.devices.smmus[0]!.fills).toBe(2);
  });
  it('a downgrade always invalidates (change_protection), in both eras: a write then faults, nothing stale', () => {
    for (const k of ['6.5', '6.6']) {
      const r = run(sys(k), L('fork 1 P', 'bind dev P', 'dma dev 1 0x1000 w', 'map P 0x1000 0x1000 r', 'dma dev 1 0x1000 w'));
      expect(r.stale.total, k).toBe(0);
      expect(r.devices.smmus[0]!.faults, k).toBe(1);
    }
  });
});

describe('§6 / §8.9 multi-SMMU ASID widths (seed 004)', () => {
  const smmus = [smmu('big'), { name: 'small', asidBits: 8 as const }];
  const devices = [dev('d0', 'big'), dev('d0b', 'big'), dev('d1', 'small')];
  // 300 bound processes use ASIDs 1..300 of the global pool (private-asid).
  const binds = Array.from({ length: 300 }, (_, i) => `fork ${i + 1} P${i}\nbind d0 P${i}`).join('\n');
  it('mainline: a domain finalised on one SMMU cannot be attached behind another (-EINVAL)', () => {
    const r = run({ smmus, devices }, L('attach d0 D', 'attach d1 D'));
    expect(failures(r)).toEqual([[2, 'attach', 'EINVAL']]);
    expect(r.devices.smmus[1]!.attachFailures).toBe(1);
  });
  it('RFC (multiSmmuDomains): ASID 301 is too wide for the 8-bit SMMU: the attach fails', () => {
    const r = run({ smmus, devices, multiSmmuDomains: true }, L(binds, 'attach d0b D', 'attach d1 D'));
    const f = r.devices.failures;
    expect(f).toHaveLength(1);
    expect(f[0]).toMatchObject({ call: 'attach', errno: 'EINVAL', device: 'd1', smmu: 'small' });
    expect(f[0]!.detail).toContain('ASID 301');
  });
  it('RFC: a narrow enough ASID is accepted on both SMMUs', () => {
    const r = run({ smmus, devices, multiSmmuDomains: true }, L('attach d0 D', 'attach d1 D'));
    expect(r.devices.failures).toEqual([]);
  });
  it('global pool: the 16-bit SMMU takes the low ASIDs, the 8-bit one hits -EBUSY (xa_alloc, v5.8 on) owning none; per-SMMU pools do not', () => {
    const r = run({ smmus, devices }, L(binds, 'attach d1 E'));
    expect(failures(r)).toEqual([[601, 'attach', 'EBUSY']]);
    const r3 = run({ smmus, devices, driver: 'btm-2023' }, L(binds, 'attach d1 E'));
    expect(r3.devices.failures).toEqual([]);
  });
  // arm_smmu_sva_supported (arm-smmu-v3-sva.c, v5.11-v6.10; v6.11+ keeps the check): "We can support
  // bigger ASIDs than the CPU, but not smaller": no FEAT_SVA, so the bind is -ENODEV, in every design.
  it.each(['shared-asid', 'private-asid', 'btm-2023'] as const)(
    '%s: an SMMU with fewer ASID bits than the CPU has no SVA (-ENODEV)',
    (driver) => {
      const r = run({ driver, smmus, devices }, L('fork 1 P', 'bind d1 P', 'bind d0 P'));
      expect(failures(r)).toEqual([[2, 'bind', 'ENODEV']]);
    },
  );
});

describe('§4.1 PASIDs', () => {
  const sys = (devices: object[], extra: SystemInput = {}): SystemInput => ({
    smmus: [smmu('smmu0')],
    devices: devices as SystemInput['devices'],
    ...extra,
  });
  it('exhaustion: a 2-bit device has PASIDs 1..3; the fourth mm fails -ENOSPC', () => {
    const r = run(
      sys([dev('d', 'smmu0', { pasidBits: 2 })]),
      L('fork 1 A', 'fork 2 B', 'fork 3 C', 'fork 4 D', 'bind d A', 'bind d B', 'bind d C', 'bind d D'),
    );
    expect(failures(r)).toEqual([[8, 'bind', 'ENOSPC']]);
    expect(r.devices.sva.pasidsInUse).toBe(3);
  });
  it('a PASID wider than a second device: -EOVERFLOW', () => {
    const r = run(
      sys([dev('wide'), dev('narrow', 'smmu0', { pasidBits: 1 })]),
      L('fork 1 A', 'fork 2 B', 'bind wide A', 'bind wide B', 'bind narrow B'),
    );
    expect(failures(r)).toEqual([[5, 'bind', 'EOVERFLOW']]);
  });
  it('the PASID is kept at unbind and freed when the mm is gone; lowest-free reuses it, cyclic does not', () => {
    const t = L('fork 1 A', 'bind d A', 'unbind d A', 'fork 2 B', 'bind d B', 'exit 1', 'fork 3 C', 'bind d C', 'dma d 1 0x1000');
    const lowest = run(sys([dev('d')]), t);
    expect(lowest.devices.sva).toMatchObject({ pasidsAllocated: 3, pasidsFreed: 1, pasidsInUse: 2 });
    // lowest: C reuses PASID 1 (A's): the DMA at PASID 1 walks C; cyclic: C gets 3, PASID 1 has no CD.
    expect(lowest.devices.smmus[0]).toMatchObject({ faults: 0, misses: 1 });
    const cyclic = run(sys([dev('d')], { pasidAllocator: 'cyclic' }), t);
    expect(cyclic.devices.smmus[0]).toMatchObject({ faults: 1, misses: 0 });
  });
});

describe('shared-asid pins feed the allocator pin report', () => {
  it('binds beyond max_pinned_asids fail -ESRCH and count as pin failures', () => {
    // 4-bit CPU ASIDs, 2 CPUs: limit 16 - 2 - 2 = 12.
    const forks = Array.from({ length: 13 }, (_, i) => `fork ${i + 1} P${i}\nbind d P${i}`).join('\n');
    const r = run({ cpus: 2, asidBits: 4, driver: 'shared-asid', smmus: [smmu('smmu0')], devices: [dev('d')] }, forks);
    expect(r.pins.limit).toBe(12);
    expect(r.pins.pinned).toBe(12);
    expect(r.pins.failures).toBe(1);
    expect(failures(r)).toEqual([[26, 'bind', 'ESRCH']]);
  });
  it('unbind unpins: the pinned count returns to zero', () => {
    const r = run(
      { driver: 'shared-asid', smmus: [smmu('smmu0')], devices: [dev('d'), dev('e')] },
      L('fork 1 P', 'bind d P', 'bind e P', 'unbind d P', 'unbind e P'),
    );
    expect(r.pins).toMatchObject({ pinned: 1, repins: 1, unpins: 2 });
  });
});

describe('the SMMU state is plain data: clone, digest, pure steps', () => {
  it('a clone digests the same; a step on the clone changes only the clone', async () => {
    const { createSystem, cloneSystem, digestSystem, step } = await import('../src/model/system.js');
    const { ReportCollector } = await import('../src/report/report.js');
    const { mini } = await import('./helpers/mini.js');
    const { resolveSystem } = await import('../src/trace/system.js');
    const sys = resolveSystem(
      { driver: 'shared-asid', unmapKernelAtEl0: false, smmus: [smmu('smmu0')], devices: [dev('devA'), dev('devB')] },
      {},
    );
    const m = createSystem(sys);
    const obs = new ReportCollector(1);
    for (const e of mini(L('attach devA D1', 'fork 1 P', 'sched 0 1', 'dmap D1 0x1000 0x1000', 'dma devA - 0x1000', 'bind devB P b1')))
      step(m, e, obs);
    const c = cloneSystem(m);
    expect(digestSystem(c)).toBe(digestSystem(m));
    const before = digestSystem(m);
    for (const e of mini(L('resume b1'))) step(c, e, new ReportCollector(1));
    expect(digestSystem(c)).not.toBe(before);
    expect(digestSystem(m)).toBe(before);
  });
});

describe('a stepped bind holds the mm (the caller of iommu_sva_bind_device has an mmget)', () => {
  it('the last task cannot exit while the bind is in flight: an input error naming the row, not a crash', () => {
    const sys = { kernel: '6.1', smmus: [smmu('smmu0')], devices: [dev('devA'), dev('devB')] };
    expect(() => run(sys, L('attach devA D1', 'fork 1 P', 'sched 0 1', 'bind devB P b1', 'exit 1', 'resume b1'))).toThrow(
      /cannot end while its bind \(operation b1\) is in flight/,
    );
  });
});
