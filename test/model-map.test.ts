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
import { createSystem, digestSystem, step, summarize } from '../src/model/system.js';
import { tlbFill } from '../src/model/cpu/tlb.js';
import { walkMm } from '../src/model/cpu/state.js';
import { ReportCollector } from '../src/report/report.js';
import { resolveSystem } from '../src/trace/system.js';
import { mini, run } from './helpers/mini.js';

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

/*
 * The PTEs behind the stale checks, on an SMMU that keeps its entries: rfc-btm-2023 on a BTM SMMU
 * with the fault no-dvm (the driver relies on BTM, so the SVA notifier sends no TLBI, and the CPU's
 * broadcast TLBIs never reach the SMMU). A DMA hit then shows what the process page table says:
 * - mm/memory.c `zap_pte_range` skips none PTEs (`if (pte_none(ptent)) continue;`): a munmap over a
 *   page already unmapped leaves it, so the entry should have gone at the first munmap;
 * - mm/mprotect.c `mprotect_fixup` (v4.19 .. v6.12): `if (newflags == oldflags) { ...; return 0; }`,
 *   and `change_pte_range` changes present PTEs only: a page whose rights already match, and an
 *   unmapped page, are left as they were;
 * - a page mapped again after a munmap is another mapping (possibly another physical page): an
 *   entry filled from the earlier mapping is stale (S-UNMAP "mapped again"), however many times
 *   the page went away and came back.
 */
const keeps = {
  kernel: 'rfc-btm-2023',
  smmus: [{ name: 'smmu0', asidBits: 16 as const, btm: true }],
  devices: [{ name: 'dev', smmu: 'smmu0' }],
  faults: ['no-dvm' as const],
};
const bound = L('fork 1 P', 'sched 0 1', 'bind dev P'); // rows 1-3
/** Stale hits at a DMA: [row, kind, row of the event that should have removed the entry]. */
const hitsOf = (text: string) =>
  run(keeps, text)
    .stale.findings.filter((f) => !f.latent)
    .map((f) => [f.row, f.kind, f.shouldHaveRow] as const);

describe('the PTE a stale DMA hit is checked against', () => {
  it('an entry of the first mapping, the page unmapped and mapped again: S-UNMAP, mapped again at row 6', () => {
    expect(hitsOf(L(bound, 'dma dev 1 0x10000', 'unmap P 0x10000 0x1000', 'map P 0x10000 0x1000', 'dma dev 1 0x10000'))).toEqual([
      [7, 'S-UNMAP', 6],
    ]);
  });

  it('mapped, filled, unmapped and mapped again twice: each mapping is another one', () => {
    const text = L(
      bound,
      'unmap P 0x10000 0x1000',
      'map P 0x10000 0x1000', // row 5
      'dma dev 1 0x10000', // fill from the row-5 mapping
      'unmap P 0x10000 0x1000',
      'map P 0x10000 0x1000', // row 8
      'dma dev 1 0x10000',
    );
    expect(hitsOf(text)).toEqual([[9, 'S-UNMAP', 8]]);
  });

  it('a munmap over a page already unmapped leaves its PTE: the entry should have gone at the first munmap (row 5)', () => {
    // Row 6 clears pages 0xf000 and 0x11000 around the none PTE of 0x10000.
    expect(hitsOf(L(bound, 'dma dev 1 0x10000', 'unmap P 0x10000 0x1000', 'unmap P 0xf000 0x3000', 'dma dev 1 0x10000'))).toEqual([
      [7, 'S-UNMAP', 5],
    ]);
  });

  it('an mprotect over a page that already has the rights leaves its PTE: the write entry should have gone at row 5', () => {
    const text = L(bound, 'dma dev 1 0x10000 rw', 'mprotect P 0x10000 0x1000 r', 'mprotect P 0xf000 0x3000 r', 'dma dev 1 0x10000 rw');
    expect(hitsOf(text)).toEqual([[7, 'S-PERM', 5]]);
  });
});

describe('mprotect changes the rights of present pages only', () => {
  const sva = (kernel: string) => ({
    kernel,
    smmus: [{ name: 'smmu0', asidBits: 16 as const }],
    devices: [{ name: 'dev', smmu: 'smmu0' }],
  });

  it('v6.6: an unmapped page inside the range stays unmapped (CPU and SMMU fault), a present one becomes read-only', () => {
    const r = run(
      sva('6.6'),
      L(
        bound,
        'unmap P 0x11000 0x1000',
        'mprotect P 0x10000 0x3000 r',
        'access 0 0x11000', // unmapped: a fault
        'access 0 0x10000',
        'dma dev 1 0x11000', // unmapped: a fault
        'dma dev 1 0x12000', // read-only: walked and filled
        'dma dev 1 0x10000 w', // read-only: the write faults
      ),
    );
    expect([r.churn.accesses, r.churn.faults]).toEqual([2, 1]);
    const s = r.devices.smmus[0]!;
    expect([s.fills, s.faults]).toEqual([1, 2]);
    expect(r.stale.findings).toEqual([]);
  });

  it.each(['6.5', '6.6'])('%s: an mprotect of a wholly unmapped range notifies nothing (no VMA: -ENOMEM before any change)', (kernel) => {
    const before = L(bound, 'unmap P 0x10000 0x3000');
    const a = run(sva(kernel), before).devices.smmus[0]!.commands;
    const b = run(sva(kernel), L(before, 'mprotect P 0x10000 0x3000 r')).devices.smmus[0]!.commands;
    expect([b.CMD_TLBI_NH_VA - a.CMD_TLBI_NH_VA, b.CMD_SYNC - a.CMD_SYNC]).toEqual([0, 0]);
  });

  it('6.5: an mprotect that lowers the rights of present pages notifies the range (change_pmd_range range_end)', () => {
    const a = run(sva('6.5'), bound).devices.smmus[0]!.commands;
    const b = run(sva('6.5'), L(bound, 'mprotect P 0x10000 0x3000 r')).devices.smmus[0]!.commands;
    expect(b.CMD_TLBI_NH_VA - a.CMD_TLBI_NH_VA).toBeGreaterThan(0);
  });
});

describe('a rights upgrade (flush_tlb_page) on an SMMU that snoops the CPU TLBIs (BTM)', () => {
  // arch/arm64/include/asm/tlbflush.h `flush_tlb_page` -> `flush_tlb_page_nosync`: one TLBI VALE1IS
  // for the faulting address (and its __tlbi_user twin), never ASIDE1IS: the BTM SMMU drops that
  // page's entry only. rfc-btm-2023: the SVA context relies on BTM, the notifier sends nothing.
  const btm = {
    kernel: 'rfc-btm-2023',
    smmus: [{ name: 'smmu0', asidBits: 16 as const, btm: true }],
    devices: [{ name: 'dev', smmu: 'smmu0' }],
  };
  it('r -> rw on one page: the entry of another page stays (a hit), the page itself is walked again', () => {
    const r = run(
      btm,
      L(
        bound,
        'map P 0x10000 0x1000 r',
        'dma dev 1 0x10000',
        'dma dev 1 0x20000',
        'map P 0x10000 0x1000 rw',
        'dma dev 1 0x20000',
        'dma dev 1 0x10000',
      ),
    );
    const s = r.devices.smmus[0]!;
    expect([s.fills, s.hits, s.misses]).toEqual([3, 1, 3]);
    expect(r.churn.tlbi).toEqual({ asid: 0, va: 2 });
    expect(r.stale.findings).toEqual([]);
  });
});

describe('an mm that never ran (context id 0): its CPU flushes still go out, with ASID 0', () => {
  // arch/arm64/include/asm/tlbflush.h (v4.19 through v6.12 alike): `flush_tlb_mm`, `__flush_tlb_range`
  // and `flush_tlb_page` take `ASID(mm)` (arch/arm64/include/asm/mmu.h: `atomic64_read(&mm->context.id)
  // & 0xffff`), with no test of it: 0 before the first switch. The
  // TLBIs are counted like any other; they tag no user entry. (The trace may change a page table of
  // an mm no task of it has run yet; the untouched page table maps every page rw.)
  const none = { kernel: '6.12' };
  it.each([
    ['a 3-page munmap: TLBI VAE1IS per page', 'unmap P 0x10000 0x3000', { asid: 0, va: 3 }],
    ['a 512-page munmap: flush_tlb_mm, one TLBI ASIDE1IS', 'unmap P 0x100000 0x200000', { asid: 1, va: 0 }],
    ['an mprotect of 2 pages to r', 'mprotect P 0x10000 0x2000 r', { asid: 0, va: 2 }],
    ['a fault raising r to rw (flush_tlb_page)', L('map P 0x10000 0x1000 r', 'map P 0x10000 0x1000 rw'), { asid: 0, va: 2 }],
  ])('%s: the same count as once it ran', (_, tail, want) => {
    expect(run(none, L('fork 1 P', tail)).churn.tlbi).toEqual(want);
    const ran = run(none, L('fork 1 P', 'sched 0 1', 'sched 0 0', tail));
    expect(ran.churn.tlbi).toEqual(want);
  });
  it('an SMMU that snoops the CPU TLBIs (rfc-btm-2023) hears that flush too (one snoop: one ASID, no KPTI)', () => {
    const btm = {
      kernel: 'rfc-btm-2023',
      smmus: [{ name: 'smmu0', asidBits: 16 as const, btm: true }],
      devices: [{ name: 'dev', smmu: 'smmu0' }],
    };
    const r = run(btm, L('fork 1 P', 'unmap P 0x10000 0x3000'));
    expect(r.churn.tlbi).toEqual({ asid: 0, va: 3 });
    expect(r.devices.smmus[0]!.btmSnoops).toBe(1);
  });
});

/** A system driven event by event, its report and digest at any point. */
function harness(system: Record<string, unknown>) {
  const m = createSystem(resolveSystem({ whatIf: true, unmapKernelAtEl0: false, ...system }, {}));
  const col = new ReportCollector();
  let rows = 0;
  const play = (...lines: string[]) => {
    mini('\n'.repeat(rows) + lines.join('\n')).forEach((e) => step(m, e, col));
    rows += lines.length;
  };
  const mm = (label: string) => m.cpu.mms.get(m.cpu.labels.get(label) ?? m.cpu.zombies.get(label)!)!;
  return { m, play, mm, report: () => col.finish('t', summarize(m)), digest: () => digestSystem(m) };
}

describe('a map that changes no PTE changes no state (explore: the same digest)', () => {
  it.each([
    ['the rights a mapped page has', 'map P 0x10000 0x1000 r'],
    ['the initial rights of a page no event touched, in a touched table', 'map P 0x20000 0x1000 rw'],
  ])('map with %s', (_, line) => {
    const h = harness({ cpus: 1, asidBits: 8 });
    h.play('fork 1 P', 'sched 0 1', 'access 0 0x10000', 'map P 0x10000 0x1000 r');
    const before = h.digest();
    const epoch = h.mm('P').epoch;
    h.play(line);
    expect(h.mm('P').epoch).toBe(epoch);
    expect(h.digest()).toBe(before);
    // A map that does change a PTE changes the state.
    h.play('map P 0x10000 0x1000 rw');
    expect(h.digest()).not.toBe(before);
  });
});

describe('an mm whose last task exited while a driver pins it', () => {
  // The pin (arm64_mm_context_get) keeps the mm and its ASID until arm64_mm_context_put; the trace
  // may still name its pages (src/model/cpu/state.ts lookupMm: "an exited one still pinned").
  const head = L('fork 1 P', 'sched 0 1', 'access 0 0x10000', 'pin P', 'sched 0 0', 'exit 1');
  it('map, mprotect and unmap of its pages are replayed, with their TLBIs under its pinned ASID', () => {
    const r = run({ cpus: 1, asidBits: 8 }, L(head, 'map P 0x10000 0x1000 r', 'mprotect P 0x20000 0x1000 r', 'unmap P 0x30000 0x1000'));
    expect(r.churn.tlbi).toEqual({ asid: 0, va: 3 });
    expect(r.violations).toEqual([]);
  });
  it('a new pin of it is refused as an input error (no task can bind it), and once unpinned it is gone', () => {
    expect(() => run({ cpus: 1, asidBits: 8 }, L(head, 'pin P'))).toThrow(/mm P is not a live address space/);
    for (const op of ['map P 0x10000 0x1000 r', 'mprotect P 0x10000 0x1000 r', 'unmap P 0x10000 0x1000'])
      expect(() => run({ cpus: 1, asidBits: 8 }, L(head, 'unpin P', op)), op).toThrow(/mm P is not a live address space/);
  });
});

describe('NoUsableStaleEntry looks at the CPUs that run the mm, with the ASID they run with', () => {
  // kernel-tla asidalloc.tla TLBEmptyInvalPTE: a CPU whose TTBR holds the mm. A CPU running another
  // mm is not checked, even if it holds an entry of the unmapped page (that alias is tlb-alias's).
  it('an entry of P under the ASID another CPU runs Q with: no stale-tlb', () => {
    const h = harness({ cpus: 2, asidBits: 8 });
    h.play('fork 1 P', 'fork 2 Q', 'sched 0 1', 'sched 1 2', 'access 0 0x10000'); // P = ASID 1 on CPU0, Q = 2 on CPU1
    tlbFill(h.m.cpu.tlb, 1, 2, h.mm('P').key, 0x10, 5); // CPU1 caches P's page under Q's ASID
    h.play('unmap P 0x10000 0x1000');
    expect(h.report().violations).toEqual([]);
    // The same entry on the CPU that runs P, under the ASID it runs with: reported.
    const k = harness({ cpus: 2, asidBits: 8 });
    k.play('fork 1 P', 'fork 2 Q', 'fork 3 P', 'sched 0 1', 'sched 1 2', 'sched 1 3', 'access 0 0x10000');
    k.m.cpu.ttbrAsid[1] = 7; // CPU1 runs P with a stale ASID (as the v1 pinning bug leaves it)
    tlbFill(k.m.cpu.tlb, 1, 7, k.mm('P').key, 0x10, 6);
    k.play('unmap P 0x10000 0x1000');
    expect(
      k
        .report()
        .violations.filter((v) => v.kind === 'stale-tlb')
        .map((v) => [v.row, v.cpu, v.asid]),
    ).toEqual([[8, 1, 7]]);
  });
});

describe('mapping epochs: each map or unmap that creates or removes a mapping takes a new one', () => {
  // The stale checks compare a cached entry's epoch with the PTE's, and explore's canonical form
  // (src/explore/canon.ts) ranks epochs, relying on each new one being above every earlier one.
  it('the epochs of successive changes, on one page and across pages, strictly increase', () => {
    const h = harness({ cpus: 1, asidBits: 8 });
    h.play('fork 1 P', 'sched 0 1');
    const epochs: number[] = [];
    const at = (va: number) => walkMm(h.mm('P'), va / 4096).epoch;
    for (const [line, va] of [
      ['unmap P 0x10000 0x1000', 0x10000],
      ['map P 0x10000 0x1000', 0x10000],
      ['unmap P 0x20000 0x1000', 0x20000],
      ['map P 0x20000 0x1000 r', 0x20000],
      ['map P 0x30000 0x1000 r', 0x30000], // a rights change: the same mapping, the same epoch
      ['unmap P 0x10000 0x1000', 0x10000],
      ['map P 0x10000 0x1000', 0x10000],
    ] as const) {
      h.play(line);
      epochs.push(at(va));
    }
    expect(epochs[4]).toBe(0);
    const fresh = epochs.filter((_, i) => i !== 4);
    for (let i = 1; i < fresh.length; i++) expect(fresh[i], `change ${i}`).toBeGreaterThan(fresh[i - 1]!);
    expect(h.mm('P').epoch).toBe(fresh[fresh.length - 1]);
  });
});
