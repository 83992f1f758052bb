/**
 * Every kind of finding the model reports, with what it means, in one table: the CPU-side
 * invariants (those of the kernel-tla `asidalloc` TLA+ model, and the pin bookkeeping) and the
 * stale IOTLB/ATC kinds. `--help`, the report, `--fail-on` and the docs all read it from here.
 */

/** CPU-side invariant violations: kind, the TLA+ property it is, and what it means. */
export const CPU_VIOLATIONS = [
  { kind: 'tlb-alias', property: 'UniqueASIDPerCPU', meaning: "a CPU's TLB holds entries of two mms under one ASID" },
  { kind: 'active-asid-mismatch', property: 'SameASIDActiveTask', meaning: "a CPU runs an mm with an ASID that is not the mm's" },
  { kind: 'duplicate-asid', property: 'UniqueCtxInGeneration', meaning: 'two mms hold the same ASID in one generation' },
  {
    kind: 'stale-tlb',
    property: 'NoUsableStaleEntry / TLBEmptyInvalPTE',
    meaning: 'a TLB entry survives the unmap+TLBI that should remove it',
  },
  { kind: 'pinned-asid-changed', property: 'PinnedBookkeeping', meaning: "a pinned mm's ASID changed" },
  { kind: 'no-free-asid', property: 'FreeAfterRollover', meaning: 'no free ASID after a rollover' },
  { kind: 'unbalanced-unpin', property: 'refcount_t underflow', meaning: 'unpin of an mm that holds no pin' },
  { kind: 'unchecked-pin', property: 'rfc-btm-2023', meaning: 'a driver used ASID 0 after arm64_mm_context_get refused the pin' },
  {
    kind: 'inv-range-hang',
    property: 'termination (soft lockup)',
    meaning: 'the CPU never leaves __arm_smmu_tlb_inv_range (v5.11-v5.17 notifier size with RANGE_INV)',
  },
] as const;

/** Kinds of CPU-side invariant violation. */
export const CPU_VIOLATION_KINDS = CPU_VIOLATIONS.map((v) => v.kind);
export type CpuViolationKind = (typeof CPU_VIOLATIONS)[number]['kind'];

/** One invariant violation. `row` is the trace line of the event after which it was found. */
export interface CpuViolation {
  row: number;
  kind: CpuViolationKind;
  cpu?: number;
  asid?: number;
  mm?: string;
  otherMm?: string;
  /** Row of the event that filled the offending TLB entry, when there is one. */
  fillRow?: number;
  detail: string;
}

/** Stale IOTLB/ATC entries: found at a DMA hit, or latent right after an invalidation point. */
export const STALE = [
  { kind: 'S-UNMAP', meaning: 'the entry translates a page its address space no longer maps (use after unmap)' },
  { kind: 'S-ALIAS', meaning: 'the entry was filled from another address space under the same ASID/SSID' },
  { kind: 'S-PERM', meaning: "the entry's rights differ from the PTE's" },
] as const;
export const STALE_KINDS = STALE.map((s) => s.kind);
export type StaleKind = (typeof STALE)[number]['kind'];
