/**
 * iommu_sva_bind_device / iommu_sva_unbind_device bookkeeping, on both sides:
 *
 * - PASID exhaustion: drivers/iommu/iommu-sva-lib.c `iommu_sva_alloc_pasid` (v5.11 - v6.3):
 *   `pasid = ioasid_alloc(...); if (pasid == INVALID_IOASID) ret = -ENOMEM;`; from 4e14176ab13f
 *   (v6.4) `ida_alloc_range(&iommu_global_pasid_ida, min, max, GFP_KERNEL)`, which fails -ENOSPC.
 * - A second bind of the same (device, mm) returns the existing handle with a reference taken
 *   (v6.4+ `iommu_sva_bind_device`: the domain found for the mm, `domain->users++`; before, the
 *   bond's refcount), and only the last unbind tears the binding down.
 * - An unbind matching a failed bind is a no-op: the caller got an error and holds no handle.
 * v5.12 (PASIDs freed at the last unbind) and v6.4, one device with 2-bit PASIDs: [1, 3].
 */
import { describe, expect, it } from 'vitest';
import { failures, run } from './helpers/mini.js';

const L = (...lines: string[]) => lines.join('\n');
const sys = (kernel: string) => ({
  kernel,
  smmus: [{ name: 'smmu0', asidBits: 16 as const }],
  devices: [{ name: 'dev', smmu: 'smmu0', pasidBits: 2 }],
});
const four = L('fork 1 A', 'fork 2 B', 'fork 3 C', 'fork 4 D', 'bind dev A', 'bind dev B', 'bind dev C');

describe('PASID space exhausted', () => {
  it.each([
    ['5.12', 'ENOMEM'],
    ['6.3', 'ENOMEM'],
    ['6.4', 'ENOSPC'],
    ['7.0', 'ENOSPC'],
  ])('%s: the fourth mm gets %s', (kernel, errno) => {
    const r = run(sys(kernel), L(four, 'bind dev D'));
    expect(failures(r)).toEqual([[8, 'bind', errno]]);
    expect(r.devices.sva.pasidsAllocated).toBe(3);
  });

  it('three mms fit: no failure', () => {
    expect(failures(run(sys('6.4'), four))).toEqual([]);
  });

  it('5.12: an unbind frees the PASID (last-unbind lifetime), so the fourth mm binds after it', () => {
    const r = run(sys('5.12'), L(four, 'unbind dev A', 'bind dev D'));
    expect(failures(r)).toEqual([]);
    expect(r.devices.sva).toMatchObject({ pasidsAllocated: 4, pasidsFreed: 1 });
  });
});

describe('bind references', () => {
  it('a second bind of (dev, mm) takes a reference; the first unbind keeps the binding', () => {
    const r = run(sys('6.4'), L('fork 1 A', 'bind dev A', 'bind dev A', 'unbind dev A', 'dma dev 1 0x1000'));
    expect(r.devices.sva).toMatchObject({ rebinds: 1, unbinds: 1, pasidsAllocated: 1 });
    expect(failures(r)).toEqual([]);
    expect(r.devices.smmus[0]!.commands.CMD_TLBI_NH_ASID).toBe(0);
  });

  it('the last unbind tears it down: the context ASID is flushed', () => {
    const r = run(sys('6.4'), L('fork 1 A', 'bind dev A', 'bind dev A', 'unbind dev A', 'unbind dev A'));
    expect(r.devices.sva).toMatchObject({ rebinds: 1, unbinds: 2 });
    expect(r.devices.smmus[0]!.commands.CMD_TLBI_NH_ASID).toBe(1);
  });

  it('an unbind of a failed bind does nothing', () => {
    const r = run(sys('6.4'), L(four, 'bind dev D', 'unbind dev D'));
    expect(failures(r)).toEqual([[8, 'bind', 'ENOSPC']]);
    expect(r.devices.sva).toMatchObject({ unbinds: 0, unbindsOfFailedBinds: 1 });
  });
});
