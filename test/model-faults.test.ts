/**
 * Whether an injected fault can change anything (src/model/faults.ts), on both sides of every
 * condition. The kernel facts each case rests on:
 *
 * - BTM: mainline arm_smmu_device_hw_probe() never sets ARM_SMMU_FEAT_BTM (only "[PATCH v3 24/27]
 *   iommu/arm-smmu-v3: Bring back SVA BTM support", J. Gunthorpe, Dec 2023, does), so `no-dvm` and
 *   `local-tlbi` (CPU broadcasts that an SMMU snoops) need that design and an SMMU with IDR0.BTM.
 * - Binds: no arm-smmu-v3 sva_bind before v5.11 (32784a9562fb), and none can succeed before
 *   51d113c3be09 (v5.12); `skip-pin`, `no-old-asid-purge` and `no-release-tlbi` act in a bind,
 *   the ASID move of arm_smmu_share_asid() and arm_smmu_mm_release().
 * - Private SVA ASIDs from d38c28dbefee (v6.11): no arm64_mm_context_get, no arm_smmu_share_asid.
 * - `no-purge-on-free` removes the TLBI of arm_smmu_domain_free(), which every DMA domain reaches.
 * A reason is a non-empty sentence; the decision (null or not) is what the tests pin.
 */
import { describe, expect, it } from 'vitest';
import { inertFaults, whyFaultInert } from '../src/model/faults.js';
import type { Fault } from '../src/model/config.js';
import { type SystemInput, resolveSystem } from '../src/trace/system.js';

const btm = { name: 'smmu0', asidBits: 16 as const, btm: true };
const plain = { name: 'smmu1', asidBits: 16 as const };
const sys = (extra: SystemInput, smmus: SystemInput['smmus'] = [btm]) =>
  resolveSystem({ smmus, devices: (smmus ?? []).map((s, i) => ({ name: `dev${i}`, smmu: s.name })), ...extra }, {});
const live = (s: ReturnType<typeof sys>, f: Fault) => whyFaultInert(s, f) === null;
const inert = (s: ReturnType<typeof sys>, f: Fault) => {
  const why = whyFaultInert(s, f);
  expect(why, f).toBeTruthy();
  return why!;
};

describe('no-dvm and local-tlbi: an SMMU must use BTM', () => {
  for (const f of ['no-dvm', 'local-tlbi'] as const) {
    it(`${f}: live only with the 2023 BTM design on an SMMU with IDR0.BTM`, () => {
      expect(live(sys({ kernel: 'rfc-btm-2023' }), f)).toBe(true);
      expect(live(sys({ kernel: '6.12', driver: 'btm-2023' }), f)).toBe(true);
      // One BTM SMMU among others is enough.
      expect(live(sys({ kernel: 'rfc-btm-2023' }, [plain, btm]), f)).toBe(true);
      // Mainline: the hardware has BTM, the driver never uses it.
      expect(inert(sys({ kernel: '6.6' }), f)).toMatch(/mainline never sets ARM_SMMU_FEAT_BTM/);
      expect(inert(sys({ kernel: '6.6' }, [plain, btm]), f)).toMatch(/mainline never sets/);
      // The BTM design, but no SMMU with BTM.
      expect(inert(sys({ kernel: 'rfc-btm-2023' }, [plain]), f)).toMatch(/no SMMU is declared with "btm": true/);
      expect(inert(sys({ kernel: '6.12', driver: 'btm-2023' }, [plain]), f)).toMatch(/no SMMU is declared/);
    });
  }
});

describe('skip-pin, no-old-asid-purge, no-release-tlbi: a bind must be possible', () => {
  it('skip-pin: live where an SVA bind shares the CPU ASID (v5.12-v6.10, the 2023 BTM design)', () => {
    expect(live(sys({ kernel: '5.12' }), 'skip-pin')).toBe(true);
    expect(live(sys({ kernel: '6.10' }), 'skip-pin')).toBe(true);
    expect(live(sys({ kernel: 'rfc-btm-2023' }), 'skip-pin')).toBe(true);
    expect(live(sys({ kernel: '6.12', driver: 'shared-asid' }), 'skip-pin')).toBe(true);
    expect(inert(sys({ kernel: '5.10' }), 'skip-pin')).toMatch(/no SVA bind/);
    expect(inert(sys({ kernel: '6.11' }), 'skip-pin')).toMatch(/private ASIDs/);
    expect(inert(sys({ kernel: '6.1', driver: 'private-asid' }), 'skip-pin')).toMatch(/private ASIDs/);
  });

  it('no-old-asid-purge: live only in the shared-asid design, which moves a DMA domain ASID', () => {
    expect(live(sys({ kernel: '6.1' }), 'no-old-asid-purge')).toBe(true);
    expect(live(sys({ kernel: '6.12', driver: 'shared-asid' }), 'no-old-asid-purge')).toBe(true);
    expect(inert(sys({ kernel: '5.10' }), 'no-old-asid-purge')).toMatch(/no SVA bind/);
    expect(inert(sys({ kernel: '6.11' }), 'no-old-asid-purge')).toMatch(/only the shared-asid design.*private-asid/);
    expect(inert(sys({ kernel: 'rfc-btm-2023' }), 'no-old-asid-purge')).toMatch(/this system runs btm-2023/);
  });

  it('no-release-tlbi: live in every era that can bind, shared or private ASIDs', () => {
    expect(live(sys({ kernel: '6.1' }), 'no-release-tlbi')).toBe(true);
    expect(live(sys({ kernel: '6.12' }), 'no-release-tlbi')).toBe(true);
    expect(live(sys({ kernel: 'rfc-btm-2023' }), 'no-release-tlbi')).toBe(true);
    expect(inert(sys({ kernel: '5.10' }), 'no-release-tlbi')).toMatch(/no mm release reaches an SMMU/);
    expect(inert(sys({ kernel: '4.19' }), 'no-release-tlbi')).toMatch(/no SVA bind/);
  });

  it('the reason names the kernel and its era', () => {
    expect(inert(sys({ kernel: '5.10' }), 'skip-pin')).toMatch(/kernel 5\.10 \(v5\.10\)/);
  });
});

describe('no-purge-on-free and systems without an SMMU', () => {
  it('no-purge-on-free: live on any kernel with an SMMU (arm_smmu_domain_free has the TLBI since v4.19)', () => {
    for (const kernel of ['4.19', '5.10', '6.1', '7.0']) expect(live(sys({ kernel }), 'no-purge-on-free')).toBe(true);
  });

  it('no SMMU: every fault is inert, in the order given', () => {
    const none = sys({ kernel: 'rfc-btm-2023', faults: ['no-purge-on-free', 'no-dvm', 'skip-pin'] }, []);
    const r = inertFaults(none);
    expect(r.map((x) => x.fault)).toEqual(['no-purge-on-free', 'no-dvm', 'skip-pin']);
    for (const x of r) expect(x.why).toBe('the system has no SMMU');
  });

  it('inertFaults lists only the inert ones, with their reasons', () => {
    const s = sys({ kernel: '6.1', faults: ['skip-pin', 'no-dvm', 'no-purge-on-free', 'local-tlbi'] });
    const r = inertFaults(s);
    expect(r.map((x) => x.fault)).toEqual(['no-dvm', 'local-tlbi']);
    for (const x of r) expect(x.why).toMatch(/^no SMMU uses BTM/);
    expect(inertFaults(sys({ kernel: '6.1', faults: ['skip-pin'] }))).toEqual([]);
  });
});

describe('v5.11: arm_smmu_sva_supported() masks ARM_SMMU_FEAT_BTM, which only a BTM design sets', () => {
  // arm-smmu-v3-sva.c v5.11 (32784a9562fb): feat_mask = ARM_SMMU_FEAT_BTM | ARM_SMMU_FEAT_COHERENCY.
  it('mainline 5.11: no bind, so the bind-path faults cannot act; with --driver btm-2023 on a BTM SMMU they can', () => {
    for (const f of ['skip-pin', 'no-release-tlbi'] as const) {
      expect(inert(sys({ kernel: '5.11' }), f)).toMatch(/no SVA bind/);
      expect(live(sys({ kernel: '5.11', driver: 'btm-2023' }), f)).toBe(true);
      expect(inert(sys({ kernel: '5.11', driver: 'btm-2023' }, [plain]), f)).toMatch(/no SVA bind/);
      // Before v5.11 there is no sva_bind op at all, whatever the design.
      expect(inert(sys({ kernel: '5.10', driver: 'btm-2023' }), f)).toMatch(/no SVA bind/);
    }
  });
});
