/**
 * What the SMMU side hands to the report and to the search (src/model/smmu/summary.ts, state.ts):
 * the `devices` figures of docs/report.md, tested for what each one means, and the clone the
 * search branches on.
 *
 * - `devices.smmus[]`: the SMMUs as declared (IDR0.ASID16, IDR0.BTM, IDR3.RIL), in system order;
 * - `devices.asidPools`: "one global stage-1 ASID space or one per SMMU": the global
 *   `arm_smmu_asid_xa` from 0299a1a81ca0 (v5.8), `smmu->asid_map` per SMMU before it, and the
 *   per-SMMU `asid_map` of the 2023 BTM proposal (J. Gunthorpe, "[PATCH v3 24/27]");
 * - `devices.opsInFlight`: "stepped driver operations still in flight when the trace ended", with
 *   the steps not resumed (the ASID move of arm_smmu_share_asid: one CD write per master of the
 *   domain, the TLBI of the old ASID, the install: docs/model.md §5);
 * - IOTLB occupancy (the time series' `<smmu>.iotlb_entries`): entries cached in each SMMU;
 * - a bind in flight holds a reference on the mm (iommu_sva_bind_device runs under the caller's
 *   mmget), so its last task cannot end the address space before the bind returns.
 */
import { describe, expect, it } from 'vitest';
import { EventError } from '../src/model/errors.js';
import { type SystemModel, cloneSystem, createSystem, digestSystem, iotlbOccupancy, step, summarize } from '../src/model/system.js';
import { bindInFlight } from '../src/model/smmu/summary.js';
import { ReportCollector } from '../src/report/report.js';
import { type SystemInput, resolveSystem } from '../src/trace/system.js';
import { mini, run } from './helpers/mini.js';

const L = (...lines: string[]) => lines.join('\n');
const smmu = (name: string, extra: object = {}) => ({ name, asidBits: 16 as const, ...extra });
const dev = (name: string, s = 's0', extra: object = {}) => ({ name, smmu: s, ...extra });
const sys = (kernel: string, devices: object[] = [dev('dev')], smmus: object[] = [smmu('s0')], extra: object = {}): SystemInput =>
  ({ kernel, smmus, devices, ...extra }) as SystemInput;

function replay(
  system: SystemInput,
  text: string,
  m = createSystem(resolveSystem({ whatIf: true, unmapKernelAtEl0: false, ...system }, {})),
): SystemModel {
  const col = new ReportCollector(m.config.smmus.length);
  for (const e of mini(text)) step(m, e, col);
  return m;
}

describe('devices.smmus: the SMMUs as declared', () => {
  it('name, ASID width, BTM and RANGE_INV of each, in system order', () => {
    const r = run(sys('6.1', [], [smmu('a', { asidBits: 8, btm: true, rangeInvalidation: true }), smmu('b')]), 'fork 1 P');
    expect(r.devices.smmus.map(({ name, asidBits, btm, rangeInvalidation }) => ({ name, asidBits, btm, rangeInvalidation }))).toEqual([
      { name: 'a', asidBits: 8, btm: true, rangeInvalidation: true },
      { name: 'b', asidBits: 16, btm: false, rangeInvalidation: false },
    ]);
  });
});

describe('devices.asidPools', () => {
  it.each([
    ['6.1', 1, 'global'], // arm_smmu_asid_xa
    ['6.1', 2, 'global'], // one xarray for every SMMU (0299a1a81ca0, v5.8)
    ['5.4', 2, 'per-smmu'], // smmu->asid_map, a bitmap per SMMU, before v5.8
    ['rfc-btm-2023', 1, 'per-smmu'], // the proposal's asid_map per SMMU, even when there is one
    ['rfc-btm-2023', 2, 'per-smmu'],
  ] as const)('kernel %s, %i SMMU(s): %s', (kernel, n, pools) => {
    const smmus = Array.from({ length: n }, (_, i) => smmu(`s${i}`));
    expect(run(sys(kernel, [], smmus), 'fork 1 P').devices.asidPools).toBe(pools);
  });

  it('v6.1, two SMMUs: one space, so a DMA domain on s1 gets the ASID after the one on s0 (the pool the figure names)', () => {
    const m = replay(sys('6.1', [dev('d0', 's0'), dev('d1', 's1')], [smmu('s0'), smmu('s1')]), L('attach d0 dom0', 'attach d1 dom1'));
    expect([...m.smmu.domains.values()].map((d) => [d.name, d.asid])).toEqual([
      ['dom0', 1],
      ['dom1', 2],
    ]);
    expect(summarize(m).smmu.asidPools).toBe('global');
  });
});

describe('devices.opsInFlight', () => {
  // dom1 takes SMMU ASID 1, P's CPU ASID is 1: the bind must move dom1 (one master), 3 steps.
  const system = sys('6.1', [dev('sva'), dev('d1')]);
  const story = L('attach d1 dom1', 'fork 1 P', 'sched 0 1', 'bind sva P b1');

  it('a bind stopped after its first step: its label, row, what it is and the steps not resumed', () => {
    const [o, ...rest] = run(system, story).devices.opsInFlight;
    expect(rest).toEqual([]);
    expect(o).toMatchObject({ op: 'b1', row: 4, stepsLeft: 3 });
    expect(o!.what).toMatch(/bind sva P/);
    expect(run(system, L(story, 'resume b1')).devices.opsInFlight.map((x) => x.stepsLeft)).toEqual([2]);
  });

  it('none once the last step ran, nor for a labelled bind that needed no move', () => {
    expect(run(system, L(story, 'resume b1', 'resume b1', 'resume b1')).devices.opsInFlight).toEqual([]);
    const r = run(system, L('fork 1 P', 'sched 0 1', 'bind sva P b1'));
    expect(r.devices.opsInFlight).toEqual([]);
    expect(r.devices.sva).toMatchObject({ opsStarted: 1, binds: 1 });
  });

  it('the mm of a bind in flight cannot end before the bind returns (its last task exits: refused at the task column)', () => {
    const m = replay(system, story);
    const key = [...m.smmu.svaMms.keys()][0]!;
    expect(bindInFlight(m.smmu, key)).toBe('b1');
    expect(bindInFlight(m.smmu, key + 1)).toBeNull();
    let err: unknown;
    try {
      replay(system, 'exit 1', m);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(EventError);
    expect(err).toMatchObject({ row: 1, field: 'task' });
    replay(system, L('resume b1', 'resume b1', 'resume b1'), m);
    expect(bindInFlight(m.smmu, key)).toBeNull();
  });

  it('an mm the SMMU side never saw has no bind in flight: its last task exits', () => {
    const m = replay(system, L('fork 1 P', 'sched 0 1', 'exit 1'));
    expect(m.smmu.svaMms.size).toBe(0);
    expect(bindInFlight(m.smmu, 0)).toBeNull();
  });
});

describe('IOTLB occupancy', () => {
  it('the entries each SMMU caches: a fill per page walked, none after the TLBI_NH_ASID of the unbind', () => {
    const system = sys('6.1', [dev('dev', 's1')], [smmu('s0'), smmu('s1')]);
    const story = L(
      'fork 1 P',
      'sched 0 1',
      'map P 0x1000 0x2000',
      'bind dev P',
      'dma dev 1 0x1000',
      'dma dev 1 0x2000',
      'dma dev 1 0x1000',
    );
    const m = replay(system, story);
    expect(iotlbOccupancy(m)).toEqual([0, 2]);
    replay(system, 'unbind dev P', m);
    expect(iotlbOccupancy(m)).toEqual([0, 0]);
  });
});

describe('cloneSmmuModel: a copy that shares nothing mutable (what the search branches on)', () => {
  // A DMA domain on two SMMUs (multiSmmuDomains, M. Shavit's 2023 RFC) and a shared CD used by two masters.
  const system = sys(
    '6.1',
    [dev('d0', 's0'), dev('d1', 's1'), dev('d2', 's2'), dev('a', 's0'), dev('b', 's0')],
    [smmu('s0'), smmu('s1'), smmu('s2')],
    {
      multiSmmuDomains: true,
    },
  );
  const story = L('attach d0 dom', 'attach d1 dom', 'fork 9 X', 'sched 0 9', 'fork 1 P', 'sched 1 1', 'bind a P', 'bind b P');

  it('the clone digests as the original; stepping it (domain gains an SMMU, loses a master; unbind) leaves the original as it was', () => {
    const m = replay(system, story);
    const before = digestSystem(m);
    const c = cloneSystem(m);
    expect(digestSystem(c)).toBe(before);
    replay(system, L('attach d2 dom', 'detach d0', 'unbind a P'), c);
    expect(digestSystem(c)).not.toBe(before);
    expect(digestSystem(m)).toBe(before);
    const dom = m.smmu.domains.get('dom')!;
    expect([dom.smmus, dom.masters]).toEqual([
      [0, 1],
      ['d0', 'd1'],
    ]);
    expect([...m.smmu.svaContexts.values()].map((x) => x.masters.map((y) => y.device))).toEqual([['a', 'b']]);
  });
});
