/**
 * `map` of a process page: a new mapping, a fault that raises rights, a change that lowers them, on
 * both sides of v6.6, counted on the CPU and on a bound SMMU:
 *
 * - A new mapping of a none PTE (do_anonymous_page -> set_pte_at) flushes nothing.
 * - A write fault on a read-only PTE: mm/memory.c `ptep_set_access_flags()`, whose arm64 version
 *   (arch/arm64/mm/fault.c) ends with `if (dirty) flush_tlb_page(vma, address);` - one TLBI VAE1IS.
 *   From v6.6 (A. Popple, "Invalidate secondary IOMMU TLB on permission upgrade") `flush_tlb_page`
 *   calls `mmu_notifier_arch_invalidate_secondary_tlbs` for that page: arm-smmu-v3's notifier sends
 *   one TLBI_NH_VA and a CMD_SYNC. Before v6.6 the SMMU hears nothing (the permission-upgrade bug).
 * - Rights lowered: `change_protection` -> `flush_tlb_range` over the page, and the notifier in
 *   every era that can bind (range_end before v6.6, the arch hook from v6.6: one call either way
 *   for mprotect, whose mmu_gather issues the flush).
 * One SMMU without ATS or RANGE_INV, one device; the mm ran on CPU0 and is bound.
 */
import { describe, expect, it } from 'vitest';
import { run } from './helpers/mini.js';

const L = (...lines: string[]) => lines.join('\n');
const sys = (kernel: string) => ({ kernel, smmus: [{ name: 'smmu0', asidBits: 16 as const }], devices: [{ name: 'dev', smmu: 'smmu0' }] });
const head = L('fork 1 P', 'sched 0 1', 'bind dev P', 'unmap P 0x10000 0x1000');

/** What `tail` adds after `head`: CPU TLBIs by VA and the SMMU's TLBI_NH_VA and CMD_SYNC. */
function added(kernel: string, before: string, tail: string) {
  const a = run(sys(kernel), before);
  const b = run(sys(kernel), L(before, tail));
  const c = (r: typeof a) => r.devices.smmus[0]!.commands;
  return {
    cpuVa: b.churn.tlbi.va - a.churn.tlbi.va,
    nhVa: c(b).CMD_TLBI_NH_VA - c(a).CMD_TLBI_NH_VA,
    sync: c(b).CMD_SYNC - c(a).CMD_SYNC,
  };
}

describe('map of a process page', () => {
  it.each(['6.5', '6.6'])('%s: a new mapping of an unmapped page flushes nothing', (kernel) => {
    expect(added(kernel, head, 'map P 0x10000 0x1000 r')).toEqual({ cpuVa: 0, nhVa: 0, sync: 0 });
  });

  it('a mapping with the rights the page already has changes nothing', () => {
    expect(added('6.6', L(head, 'map P 0x10000 0x1000 r'), 'map P 0x10000 0x1000 r')).toEqual({ cpuVa: 0, nhVa: 0, sync: 0 });
    // A page no event touched is mapped read-write: mapping it read-write again is no change.
    expect(added('6.6', head, 'map P 0x20000 0x1000 rw')).toEqual({ cpuVa: 0, nhVa: 0, sync: 0 });
  });

  it('rights raised (r -> rw, a write fault): the CPU flushes the page; the SMMU hears it from v6.6 only', () => {
    const before = L(head, 'map P 0x10000 0x1000 r');
    expect(added('6.5', before, 'map P 0x10000 0x1000 rw')).toEqual({ cpuVa: 1, nhVa: 0, sync: 0 });
    expect(added('6.6', before, 'map P 0x10000 0x1000 rw')).toEqual({ cpuVa: 1, nhVa: 1, sync: 1 });
  });

  it('rights lowered (rw -> r): change_protection flushes the page and notifies the SMMU', () => {
    const before = L(head, 'map P 0x10000 0x1000 rw');
    // v6.6: one arch_invalidate_secondary_tlbs call from flush_tlb_range (the SVA notifier has no
    // invalidate_range_end any more).
    expect(added('6.6', before, 'map P 0x10000 0x1000 r')).toEqual({ cpuVa: 1, nhVa: 1, sync: 1 });
  });
});
