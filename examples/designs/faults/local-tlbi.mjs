// @ts-check
/**
 * `--fault local-tlbi`: a flush of an mm running on at most one CPU uses a CPU-local TLBI (a what-if).
 *
 * Replaces the broadcast `__tlbi(vale1is/aside1is)` of arm64's `__flush_tlb_range()` /
 * `flush_tlb_mm()` (arch/arm64/include/asm/tlbflush.h: mainline always uses the inner-shareable
 * forms for user address spaces) with the non-shareable `vale1`/`aside1` when the mm is live on at
 * most one CPU: that CPU's TLB is flushed, but no SMMU snoops a local TLBI, so an SMMU relying on
 * BTM keeps the entries.
 */

/** @type {import('asid-replay/design').Design} */
export default {
  name: 'local-tlbi',
  description: 'a flush of an mm live on at most one CPU is CPU-local: no SMMU snoops it',
  parts: {
    __flush_tlb_range: (base) => (c, mm, f) => (f.cpusRunning <= 1 ? undefined : base(c, mm, f)),
  },
};
