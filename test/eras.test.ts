/**
 * Kernel eras: each boundary is tested on both sides with a behaviour that commit changed, and
 * each fidelity defect with what the kernel source does. Sources (first release of each commit):
 * - arch/arm64/mm/context.c: 0c8ea531b774 (pairs, v4.16), f88f42f853a8 (run-time KPTI, v5.6),
 *   48118151d8cc (arm64_mm_context_get, v5.10).
 * - drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3-sva.c: 32784a9562fb (sva_bind, v5.11),
 *   51d113c3be09 (BTM optional, v5.12), d5afb4b47e13 (CMDQ_MAX_TLBI_OPS, v6.6), d38c28dbefee
 *   (private SVA ASIDs, v6.11); arm_smmu_device_hw_probe never sets ARM_SMMU_FEAT_BTM.
 * - drivers/iommu/iommu-sva-lib.c / kernel/fork.c: 701fac40384f + 2667ed10d9f0 (PASID kept by the
 *   mm until __mmdrop, v5.18); before, iommu_sva_alloc_pasid/iommu_sva_free_pasid per bond (-ENOMEM).
 * - arch/arm64/include/asm/tlbflush.h __flush_tlb_range: `(end - start) >= MAX_TLBI_OPS * stride`.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_KERNEL, ERAS, NEWEST_RELEASE, RELEASES, resolveKernel } from '../src/model/kernel/eras.js';
import type { SystemInput } from '../src/trace/system.js';
import { failures, kinds, run, stale } from './helpers/mini.js';

const L = (...lines: string[]) => lines.join('\n');
const smmu = (name: string, extra: object = {}) => ({ name, asidBits: 16 as const, ...extra });
const dev = (name: string, s = 'smmu0', extra: object = {}) => ({ name, smmu: s, ...extra });
const sys = (kernel: string, extra: SystemInput = {}): SystemInput => ({ kernel, smmus: [smmu('smmu0')], devices: [dev('dev')], ...extra });

describe('--kernel resolves to an era', () => {
  it.each([
    ['4.19', 'v4.19-v5.3'],
    ['4.20', 'v4.19-v5.3'],
    ['5.0', 'v4.19-v5.3'],
    ['5.3', 'v4.19-v5.3'],
    ['5.4', 'v5.4-v5.5'],
    ['5.5', 'v5.4-v5.5'],
    ['5.6', 'v5.6-v5.7'],
    ['5.7', 'v5.6-v5.7'],
    ['5.8', 'v5.8-v5.9'],
    ['5.9', 'v5.8-v5.9'],
    ['5.10', 'v5.10'],
    ['5.11', 'v5.11'],
    ['5.12', 'v5.12'],
    ['5.13', 'v5.13-v5.17'],
    ['5.17', 'v5.13-v5.17'],
    ['5.18', 'v5.18-v5.19'],
    ['5.19', 'v5.18-v5.19'],
    ['6.0', 'v6.0-v6.1'],
    ['6.1', 'v6.0-v6.1'],
    ['6.2', 'v6.2-v6.3'],
    ['6.3', 'v6.2-v6.3'],
    ['6.4', 'v6.4-v6.5'],
    ['6.5', 'v6.4-v6.5'],
    ['6.6', 'v6.6-v6.10'],
    ['6.10', 'v6.6-v6.10'],
    ['6.11', 'v6.11-v6.14'],
    ['6.14', 'v6.11-v6.14'],
    ['6.15', 'v6.15'],
    ['6.16', 'v6.16+'],
    ['6.19', 'v6.16+'],
    ['7.0', 'v6.16+'],
    ['v6.1', 'v6.0-v6.1'],
    ['6.12.3', 'v6.11-v6.14'],
    ['6.13-rc1', 'v6.11-v6.14'],
    ['rfc-btm-2023', 'rfc-btm-2023'],
  ])('%s -> %s', (v, era) => expect(resolveKernel(v).era.id).toBe(era));

  it('the eras cover every mainline release from 4.19 to the newest once, in order', () => {
    const seen = RELEASES.map((v) => resolveKernel(v).era.id);
    expect(new Set(seen).size).toBe(ERAS.length);
    // Each era is one run of consecutive releases.
    for (let i = 1; i < seen.length; i++) if (seen[i] !== seen[i - 1]) expect(seen.slice(0, i)).not.toContain(seen[i]);
    expect(RELEASES[0]).toBe('4.19');
    expect(RELEASES).toContain('4.20');
    expect(RELEASES).toContain('5.19');
    expect(RELEASES).toContain('6.19');
    expect(RELEASES.at(-1)).toBe(`${NEWEST_RELEASE[0]}.${NEWEST_RELEASE[1]}`);
    expect(DEFAULT_KERNEL).toBe(RELEASES.at(-1));
  });

  it('unknown names, versions that never were releases, and versions outside 4.19..newest are refused', () => {
    expect(() => resolveKernel('4.14')).toThrow(/older than 4.19/);
    expect(() => resolveKernel('latest')).toThrow(/unknown kernel "latest"; expected a mainline release from 4.19/);
    expect(() => resolveKernel('99.1')).toThrow(/newer than 7.0/);
    expect(() => resolveKernel('7.1')).toThrow(/newer than 7.0/);
    expect(() => resolveKernel('4.21')).toThrow(/not a mainline release \(after 4.20 came 5.0\)/);
    expect(() => resolveKernel('5.20')).toThrow(/not a mainline release/);
    expect(() => resolveKernel('6.20')).toThrow(/not a mainline release/);
    expect(() => run({ kernel: 'banana' }, 'fork 1 P')).toThrow(/kernel: unknown kernel "banana"/);
  });
});

describe('v5.5 | v5.6: CONFIG_UNMAP_KERNEL_AT_EL0 at compile time (pairs) or at boot only (f88f42f853a8)', () => {
  // 4-bit ASIDs, 2 CPUs, KPTI off, option built in: 7 even ASIDs, then the 8th mm rolls over.
  const trace = L(...Array.from({ length: 10 }, (_, i) => `fork ${i + 1} M${i}\nsched 0 ${i + 1}`));
  const asidOf = (r: ReturnType<typeof run>) => r.churn.allocations;
  it('5.5: the space stays halved after the rollover (8 pairs); 5.6: the odd ASIDs come back', () => {
    const old = run({ kernel: '5.5', cpus: 2, asidBits: 4, unmapKernelAtEl0: true }, trace);
    const now = run({ kernel: '5.6', cpus: 2, asidBits: 4, unmapKernelAtEl0: true }, trace);
    expect(old.allocator.variant).toBe('v4.19');
    expect(now.allocator.variant).toBe('v5.6');
    expect(old.allocator.numAsids).toBe(8);
    expect(now.allocator.numAsids).toBe(16);
    expect(old.churn.rollovers).toBe(1);
    expect(now.churn.rollovers).toBe(1);
    expect(asidOf(old)).toBe(asidOf(now));
    // Without the option both hand out 1..10 with no rollover.
    for (const kernel of ['5.5', '5.6'])
      expect(run({ kernel, cpus: 2, asidBits: 4, unmapKernelAtEl0: false }, trace).churn.rollovers, kernel).toBe(0);
  });
});

describe('v5.9 | v5.10: arm64_mm_context_get exists from 48118151d8cc', () => {
  it('5.9: every pin fails (limit 0); 5.10: the pin succeeds', () => {
    const t = L('fork 1 P', 'pin P');
    expect(run({ kernel: '5.9' }, t).pins).toMatchObject({ failures: 1, pinned: 0 });
    expect(run({ kernel: '5.10' }, t).pins).toMatchObject({ failures: 0, pinned: 1 });
  });
});

describe('v5.10 | v5.11 | v5.12: when an arm-smmu-v3 SVA bind can succeed', () => {
  const t = L('fork 1 P', 'bind dev P', 'dma dev 1 0x1000');
  it('5.10: no sva_bind op: -ENODEV', () => {
    expect(failures(run(sys('5.10'), t))).toEqual([[2, 'bind', 'ENODEV']]);
  });
  it('5.11: arm_smmu_sva_supported requires FEAT_BTM, never set by mainline: -ENODEV even on BTM hardware', () => {
    const r = run(sys('5.11', { smmus: [smmu('smmu0', { btm: true })] }), t);
    expect(failures(r)).toEqual([[2, 'bind', 'ENODEV']]);
    expect(r.devices.failures[0]!.detail).toContain('ARM_SMMU_FEAT_BTM');
  });
  it('5.12: BTM optional (51d113c3be09): the bind works and shares the CPU ASID (one pin)', () => {
    const r = run(sys('5.12'), t);
    expect(failures(r)).toEqual([]);
    expect(r.devices.sva.binds).toBe(1);
    expect(r.pins.pinned).toBe(1);
  });
});

describe('v5.17 | v5.18: PASID lifetime (701fac40384f, 2667ed10d9f0)', () => {
  it('5.17: the PASID goes back at the last unbind; 5.18: the mm keeps it until its final mmdrop', () => {
    const t = L('fork 1 P', 'bind dev P', 'unbind dev P');
    expect(run(sys('5.17'), t).devices.sva.pasidsInUse).toBe(0);
    const r = run(sys('5.18'), t);
    expect(r.devices.sva.pasidsInUse).toBe(1);
    expect(run(sys('5.18'), L(t, 'exit 1')).devices.sva.pasidsInUse).toBe(0);
  });
  it('an exhausted PASID space: -ENOMEM from the ioasid allocator up to 6.3, -ENOSPC from the IDA since 6.4', () => {
    const t = L('fork 1 A', 'fork 2 B', 'bind d A', 'bind d B');
    const s = (kernel: string) => sys(kernel, { devices: [dev('d', 'smmu0', { pasidBits: 1 })] });
    expect(failures(run(s('5.17'), t))).toEqual([[4, 'bind', 'ENOMEM']]);
    expect(failures(run(s('6.3'), t))).toEqual([[4, 'bind', 'ENOMEM']]);
    expect(failures(run(s('6.4'), t))).toEqual([[4, 'bind', 'ENOSPC']]);
  });
});

describe('a failed bind holds nothing (no mm reference, no pin; the PASID as the era keeps it)', () => {
  // The pin is refused (limit 0 as a what-if): arm_smmu_alloc_shared_cd's error path drops the mm
  // (mmdrop) and the pin; 5.11-5.17 drop the PASID reference too (err_free_pasid).
  const t = L('fork 1 P', 'bind dev P');
  it('5.17: -ESRCH, and the PASID is given back at once', () => {
    const r = run(sys('5.17', { maxPinnedAsids: 0 }), t);
    expect(failures(r)).toEqual([[2, 'bind', 'ESRCH']]);
    expect(r.devices.sva.pasidsInUse).toBe(0);
  });
  it('6.1: -ESRCH; the mm keeps its PASID, and frees it at exit without any unbind', () => {
    const r = run(sys('6.1', { maxPinnedAsids: 0 }), t);
    expect(r.devices.sva.pasidsInUse).toBe(1);
    const gone = run(sys('6.1', { maxPinnedAsids: 0 }), L(t, 'exit 1'));
    expect(gone.devices.sva.pasidsInUse).toBe(0);
    expect(gone.devices.sva.pasidsFreed).toBe(1);
  });
  it('no spurious -ENOSPC later: the PASID of a failed bind is freed when its mm goes, with no unbind', () => {
    // A 1-bit PASID device has PASID 1 only. X holds the one pin, so Q's bind fails (-ESRCH) after
    // Q got PASID 1; Q exits without an unbind (the driver never got a handle); X is unpinned; R binds.
    const s = sys('6.1', { maxPinnedAsids: 1, devices: [dev('d', 'smmu0', { pasidBits: 1 })] });
    const r = run(s, L('fork 1 X', 'fork 2 Q', 'fork 3 R', 'pin X', 'bind d Q', 'exit 2', 'unpin X', 'bind d R'));
    expect(failures(r)).toEqual([[5, 'bind', 'ESRCH']]);
    expect(r.devices.sva.binds).toBe(1);
  });
});

describe('BTM: mainline never sets ARM_SMMU_FEAT_BTM and always writes CR2_PTM', () => {
  const t = L(
    'fork 1 P',
    'map P 0x1000 0x1000',
    'bind dev P',
    'sched 0 1',
    'dma dev 1 0x1000',
    'unmap P 0x1000 0x1000',
    'dma dev 1 0x1000',
  );
  it.each([
    ['6.1', 2],
    ['6.10', 1],
    ['6.12', 1],
  ])('%s, BTM hardware: the notifier sends TLBI_NH_VA (%i calls), nothing is snooped, nothing stale', (kernel, calls) => {
    const r = run(sys(kernel, { smmus: [smmu('smmu0', { btm: true })] }), t);
    expect(r.devices.smmus[0]!.tlbiVa).toBe(calls);
    expect(r.devices.smmus[0]!.btmSnoops).toBe(0);
    expect(r.stale.total).toBe(0);
  });
  it('rfc-btm-2023, BTM hardware: the CPU ASID with BTM invalidation: the CPU TLBI is snooped, no TLBI_NH_VA', () => {
    const r = run(sys('rfc-btm-2023', { smmus: [smmu('smmu0', { btm: true })] }), t);
    expect(r.devices.smmus[0]!.tlbiVa).toBe(0);
    expect(r.devices.smmus[0]!.btmSnoops).toBeGreaterThan(0);
    expect(r.stale.total).toBe(0);
  });
  it('no-dvm (BTM advertised, DVM off) leaves stale entries only where BTM is used', () => {
    const s = (kernel: string) => sys(kernel, { faults: ['no-dvm'], smmus: [smmu('smmu0', { btm: true })] });
    expect(stale(run(s('rfc-btm-2023'), t))).toEqual([
      [6, 'S-UNMAP', true],
      [7, 'S-UNMAP', false],
    ]);
    expect(run(s('6.12'), t).stale.total).toBe(0);
  });
});

describe('v6.5 | v6.6: the notifier cutoff (CMDQ_MAX_TLBI_OPS, d5afb4b47e13)', () => {
  const unmap = (pages: number) =>
    L('fork 1 P', `map P 0x100000 ${pages * 4096}`, 'bind dev P', 'sched 0 1', `unmap P 0x100000 ${pages * 4096}`);
  it('6.5: one TLBI_NH_VA per page however many (the soft-lockup of the fix), in each of the two notifier calls', () => {
    const r = run(sys('6.5'), unmap(600));
    expect(r.devices.smmus[0]).toMatchObject({ tlbiVa: 1200, tlbiAsid: 0 });
  });
  it('6.6: 511 pages by VA, 512 pages as one TLBI_NH_ASID', () => {
    expect(run(sys('6.6'), unmap(511)).devices.smmus[0]).toMatchObject({ tlbiVa: 511, tlbiAsid: 0 });
    expect(run(sys('6.6'), unmap(512)).devices.smmus[0]).toMatchObject({ tlbiVa: 0, tlbiAsid: 1 });
  });
  it('with RANGE_INV the cutoff does not apply: range commands, 5 bits of the page count each', () => {
    // __arm_smmu_tlb_inv_range: 511 = 0b1_1111_1111: scale 0, num 31 (31 pages); then 480 = 15 << 5.
    const r = run(sys('6.6', { smmus: [smmu('smmu0', { rangeInvalidation: true })] }), unmap(511));
    expect(r.devices.smmus[0]).toMatchObject({ tlbiVa: 2, tlbiAsid: 0 });
  });
});

describe('CPU __flush_tlb_range: flush_tlb_mm from MAX_TLBI_OPS (512) pages on, not above', () => {
  const unmap = (pages: number) =>
    run({}, L('fork 1 P', `map P 0x100000 ${pages * 4096}`, 'sched 0 1', `unmap P 0x100000 ${pages * 4096}`)).churn.tlbi;
  it('511 pages: 511 TLBI VAE1IS; 512 pages: one TLBI ASIDE1IS', () => {
    expect(unmap(511)).toEqual({ asid: 0, va: 511 });
    expect(unmap(512)).toEqual({ asid: 1, va: 0 });
  });
});

describe('v6.10 | v6.11: private SVA ASIDs (d38c28dbefee)', () => {
  it('6.10 pins the CPU ASID for the bind; 6.11 allocates a private one and pins nothing', () => {
    const t = L('fork 1 P', 'sched 0 1', 'bind dev P');
    const old = run(sys('6.10'), t);
    const now = run(sys('6.11'), t);
    expect(old.system.driver).toBe('shared-asid');
    expect(now.system.driver).toBe('private-asid');
    expect(old.pins.pinned).toBe(1);
    expect(now.pins.pinned).toBe(0);
  });
});

describe('rfc-btm-2023: arm64_mm_context_get is not checked', () => {
  // A refused pin returns 0: the SVA domain takes ASID 0 with btm_invalidation; the notifier sends no
  // TLBI and CPU TLBIs carry the mm's real ASID: the entry survives the munmap. The free then puts the
  // pin it never got (arm_smmu_sva_domain_free: if (btm_invalidation) arm64_mm_context_put).
  const s = sys('rfc-btm-2023', { maxPinnedAsids: 0, smmus: [smmu('smmu0', { btm: true })] });
  const t = L(
    'fork 1 P',
    'map P 0x1000 0x1000',
    'bind dev P',
    'sched 0 1',
    'dma dev 1 0x1000',
    'unmap P 0x1000 0x1000',
    'dma dev 1 0x1000',
    'unbind dev P',
  );
  it('the bind succeeds with ASID 0, the munmap leaves a stale entry, the free is an unbalanced put', () => {
    const r = run(s, t);
    expect(failures(r)).toEqual([]);
    expect(kinds(r)).toEqual([
      [3, 'unchecked-pin'],
      [8, 'unbalanced-unpin'],
    ]);
    expect(stale(r)).toEqual([
      [6, 'S-UNMAP', true],
      [7, 'S-UNMAP', false],
    ]);
    expect(r.stale.findings[1]).toMatchObject({ asid: 0, owner: 'mm P' });
  });
  it('mainline (6.10, shared CPU ASIDs) checks it: -ESRCH, nothing held', () => {
    const r = run({ ...s, kernel: '6.10' }, t.replace('unbind dev P', ''));
    expect(failures(r)).toEqual([[3, 'bind', 'ESRCH']]);
    expect(r.violations).toEqual([]);
  });
});

describe('the ATC keys PASIDs of 20 bits exactly', () => {
  // A flat ssid * 2^36 + page key passes 2^53 from PASID 2^17 on: at PASID 0x80000 eight neighbouring
  // pages shared one key, so a DMA to page 2 hit page 1's ATC entry.
  it('bind with PASID 0x80000: two pages, two ATC misses and two fills', () => {
    const s = sys('6.12', { devices: [dev('dev', 'smmu0', { ats: true })] });
    const r = run(s, L('fork 1 P', 'map P 0x1000 0x2000', 'bind dev P 0x80000', 'dma dev 0x80000 0x1000', 'dma dev 0x80000 0x2000'));
    expect(r.devices.smmus[0]).toMatchObject({ atcHits: 0, fills: 2 });
  });
});

describe('the command queue: commands by opcode, batched as arm_smmu_cmdq_batch', () => {
  it('a 600-page SVA munmap on 6.5: two notifier calls, each 600 CMD_TLBI_NH_VA in 10 cmdlists of <= 64 and one CMD_SYNC', () => {
    const base = run(sys('6.5'), L('fork 1 P', 'map P 0x100000 0x258000', 'bind dev P', 'sched 0 1'));
    const r = run(sys('6.5'), L('fork 1 P', 'map P 0x100000 0x258000', 'bind dev P', 'sched 0 1', 'unmap P 0x100000 0x258000'));
    const [a, b] = [base.devices.smmus[0]!, r.devices.smmus[0]!];
    expect(b.commands.CMD_TLBI_NH_VA - a.commands.CMD_TLBI_NH_VA).toBe(1200);
    expect(b.commands.CMD_SYNC - a.commands.CMD_SYNC).toBe(2);
    expect(b.cmdlists - a.cmdlists).toBe(20);
  });
  it('attach, bind, DMA unmap, unbind, detach: each step its commands, CMD_SYNC equal to the syncs', () => {
    const s = sys('6.12', { devices: [dev('dev', 'smmu0', { ats: true, streamIds: [7, 8] })] });
    const r = run(
      s,
      L('attach dev D', 'dmap D 0x1000 0x1000', 'dunmap D 0x1000 0x1000', 'fork 1 P', 'bind dev P', 'unbind dev P', 'detach dev'),
    );
    const n = r.devices.smmus[0]!;
    // attach: CFGI_CD x2 SIDs + sync, CFGI_STE x2 + sync; unmap: TLBI_NH_VA + sync, ATC_INV x2 + sync;
    // bind: CFGI_CD x2 + sync; unbind: CFGI_CD x2 + sync, ATC_INV x2 + sync, TLBI_NH_ASID + sync;
    // detach: CFGI_CD x2 + sync, CFGI_STE x2 + sync, ATC_INV x2 + sync, domain free TLBI_NH_ASID + sync.
    expect(n.commands).toEqual({ CMD_CFGI_STE: 4, CMD_CFGI_CD: 8, CMD_TLBI_NH_ASID: 2, CMD_TLBI_NH_VA: 1, CMD_ATC_INV: 6, CMD_SYNC: 12 });
    expect(n.syncs).toBe(12);
  });
});

describe('no false finding on correct workloads, in any era', async () => {
  const { PROFILES, PROFILE_NAMES } = await import('../src/generate/profiles.js');
  const { generatedPreamble } = await import('../src/generate/generate.js');
  const { replayEvents } = await import('../src/replay/engine.js');
  const { resolveSystem } = await import('../src/trace/system.js');
  const KERNELS = ['4.19', '5.6', '5.10', '5.11', '5.15', '6.1', '6.4', '6.6', '6.10', '6.11', '6.12', 'rfc-btm-2023'];
  for (const profile of PROFILE_NAMES) {
    it(`${profile}: 3000 events under every kernel: no violation, no stale entry`, () => {
      const o = { events: 3000, seed: 5, cpus: 4, asidBits: 8, kpti: false };
      const events = [...PROFILES[profile]!.events(o)].map((e, i) => ({ ...e, row: i + 1 }));
      for (const kernel of KERNELS) {
        const system = resolveSystem({ ...generatedPreamble(profile, o), kernel }, {});
        const r = replayEvents(events as never, system);
        expect(r.violations, `${profile} on ${kernel}`).toEqual([]);
        expect(r.stale.findings, `${profile} on ${kernel}`).toEqual([]);
      }
    });
  }
});
