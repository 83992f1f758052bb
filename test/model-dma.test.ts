/**
 * Device DMA through the SMMU (src/model/smmu/dma.ts): STE -> CD -> ATC (ATS masters) -> IOTLB ->
 * table walk, as the SMMUv3 architecture (IHI 0070) and PCIe ATS define it:
 *
 * - A cached translation grants the rights it was filled with: a write through a read-only IOTLB
 *   entry is a permission fault (F_PERMISSION), and so is a write a device makes with a read-only
 *   ATC translation (PCIe ATS Translation Completion with W=0: the device may not issue the write
 *   translated; it faults). A read through the same entries succeeds.
 * - An ATS Translation Request the IOTLB can answer is answered from it, and the device caches the
 *   answer in its ATC; a device without ATS has no ATC at all.
 * - A walk that finds no valid PTE, or one without the right, faults and caches nothing.
 * - A stale hit is reported against the cache that served it (the finding's `cache` field).
 * Kernel 6.1, one SMMU with 16-bit ASIDs; rows are line numbers of the mini traces.
 */
import { describe, expect, it } from 'vitest';
import { createSystem, step, summarize } from '../src/model/system.js';
import { ReportCollector } from '../src/report/report.js';
import { type SystemInput, resolveSystem } from '../src/trace/system.js';
import { mini, staleHits } from './helpers/mini.js';

const L = (...lines: string[]) => lines.join('\n');

function sim(system: SystemInput, text: string) {
  const cfg = resolveSystem({ whatIf: true, unmapKernelAtEl0: false, ...system }, {});
  const m = createSystem(cfg);
  const col = new ReportCollector(cfg.smmus.length);
  for (const e of mini(text)) step(m, e, col);
  return { m, r: col.finish('t', summarize(m)) };
}

const sys = (ats: boolean, faults: SystemInput['faults'] = []): SystemInput => ({
  kernel: '6.1',
  faults,
  smmus: [{ name: 'smmu0', asidBits: 16 }],
  devices: ['a', 'b'].map((name) => ({ name, smmu: 'smmu0', ats })),
});

const counters = (r: ReturnType<typeof sim>['r']) => {
  const { misses, fills, hits, atcHits, faults } = r.devices.smmus[0]!;
  return { misses, fills, hits, atcHits, faults };
};

describe('a read-only translation cached in the IOTLB (no ATS)', () => {
  const ro = L('attach a D', 'dmap D 0x10000 0x1000 r', 'dma a - 0x10000 r');
  it('a read hits it: no fault', () => {
    expect(counters(sim(sys(false), L(ro, 'dma a - 0x10000 r')).r)).toEqual({ misses: 1, fills: 1, hits: 1, atcHits: 0, faults: 0 });
  });
  it('a write hits it and faults', () => {
    expect(counters(sim(sys(false), L(ro, 'dma a - 0x10000 w')).r)).toEqual({ misses: 1, fills: 1, hits: 1, atcHits: 0, faults: 1 });
  });
  it('the device, without ATS, caches nothing in an ATC', () => {
    const { m } = sim(sys(false), L(ro, 'dma a - 0x10000 r', 'attach b D', 'dma b - 0x10000 r'));
    expect([m.smmu.masters.get('a')!.atc.size, m.smmu.masters.get('b')!.atc.size]).toEqual([0, 0]);
  });
});

describe('a read-only translation cached in the ATC (ATS)', () => {
  const ro = L('attach a D', 'dmap D 0x10000 0x1000 r', 'dma a - 0x10000 r');
  it('a read is served by the ATC: no fault', () => {
    expect(counters(sim(sys(true), L(ro, 'dma a - 0x10000 r')).r)).toEqual({ misses: 1, fills: 1, hits: 0, atcHits: 1, faults: 0 });
  });
  it('a write is served by the ATC and faults', () => {
    expect(counters(sim(sys(true), L(ro, 'dma a - 0x10000 w')).r)).toEqual({ misses: 1, fills: 1, hits: 0, atcHits: 1, faults: 1 });
  });
  it('a second ATS master gets the translation from the IOTLB, then from its own ATC', () => {
    const { m, r } = sim(sys(true), L(ro, 'attach b D', 'dma b - 0x10000 r', 'dma b - 0x10000 r'));
    expect(counters(r)).toEqual({ misses: 1, fills: 1, hits: 1, atcHits: 1, faults: 0 });
    expect(m.smmu.masters.get('b')!.atc.get(0)!.has(0x10)).toBe(true);
  });
});

describe('a walk', () => {
  it.each([
    ['of an unmapped IOVA faults', 'dma a - 0x20000 r'],
    ['without the right faults', 'dma a - 0x10000 w'],
  ])('%s and fills nothing', (_, access) => {
    const { m, r } = sim(sys(true), L('attach a D', 'dmap D 0x10000 0x1000 r', access));
    expect(counters(r)).toEqual({ misses: 1, fills: 0, hits: 0, atcHits: 0, faults: 1 });
    expect(m.smmu.smmus[0]!.entries).toBe(0);
    expect(m.smmu.masters.get('a')!.atc.size).toBe(0);
  });
});

describe("stale hits name the cache that served them (no-purge-on-free: the freed ASID 1 keeps D's entry)", () => {
  // D is freed without TLBI_NH_ASID; E gets ASID 1 again and maps the same IOVA.
  const story = L('attach a D', 'dmap D 0x10000 0x1000 rw', 'dma a - 0x10000 r', 'detach a', 'attach a E', 'dmap E 0x10000 0x1000 rw');
  it('no ATS: the IOTLB', () => {
    const { r } = sim(sys(false, ['no-purge-on-free']), L(story, 'dma a - 0x10000 r'));
    expect(staleHits(r)).toEqual([[7, 'S-ALIAS']]);
    expect(r.stale.findings.find((f) => !f.latent)).toMatchObject({ cache: 'iotlb', asid: 1, current: 'domain E' });
    expect(counters(r).faults).toBe(0);
  });
  it('ATS: the IOTLB answers the translation request with the stale entry, which the ATC then serves', () => {
    const { r } = sim(sys(true, ['no-purge-on-free']), L(story, 'dma a - 0x10000 r', 'dma a - 0x10000 r'));
    expect(staleHits(r)).toEqual([
      [7, 'S-ALIAS'],
      [8, 'S-ALIAS'],
    ]);
    expect(r.stale.findings.filter((f) => !f.latent).map((f) => f.cache)).toEqual(['iotlb', 'atc']);
  });
});
