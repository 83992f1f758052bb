/**
 * Selectable versions of the arm64 CPU ASID allocator (`arch/arm64/mm/context.c`).
 *
 * Each variant is described by the few behavioural switches in which it differs from the merged
 * v5.10 code; the allocator reads only these switches. Sources: the merged commit 48118151d8cc, the
 * v2 patch of 11 May 2018 with its v1->v2 note, f88f42f853a8 (run-time KPTI) and 0c8ea531b774 (pairs).
 */

/** Allocator variant ids accepted by `--allocator` and the trace's `# system:` preamble. */
export const ALLOCATOR_VARIANTS = ['v4.19', 'pin-v1', 'pin-v2', 'v5.6', 'v5.10'] as const;
export type AllocatorVariant = (typeof ALLOCATOR_VARIANTS)[number];

/** Behavioural switches of one allocator version. */
export interface VariantTraits {
  /** `arm64_mm_context_get/put` (or v2's `mm_context_get/put`) exist; without them every pin fails. */
  readonly pinning: boolean;
  /**
   * `new_context` tests `mm->context.pinned` BEFORE `check_update_reserved_asid` (the v1 bug that
   * TLC found: a pinned mm refreshes its generation without updating stale `reserved_asids` copies).
   */
  readonly pinnedBeforeReserved: boolean;
  /** Under KPTI the pin returns the user half `asid | 1` (merged code, requested in review); v1/v2 return `asid`. */
  readonly pinReturnsUserHalf: boolean;
  /**
   * How CONFIG_UNMAP_KERNEL_AT_EL0 shapes the ASID space. `pairs` (v4.16-v5.5, 0c8ea531b774): at
   * compile time the bitmap holds ASID pairs (asid2idx = asid >> 1), half the space whether or not
   * KPTI is needed at run time. `runtime` (v5.6+, f88f42f853a8): the full bitmap, odd ASIDs reserved
   * by `set_kpti_asid_bits` while KPTI is in use — and, with the option built in, by `asids_init`
   * from boot until the first rollover, because the CPU capabilities are not final yet.
   */
  readonly kptiAsids: 'pairs' | 'runtime';
  /** Short provenance, printed in reports. */
  readonly source: string;
}

export const VARIANT_TRAITS: Readonly<Record<AllocatorVariant, VariantTraits>> = {
  'v4.19': {
    pinning: false,
    pinnedBeforeReserved: false,
    pinReturnsUserHalf: false,
    kptiAsids: 'pairs',
    source: 'context.c as in v4.19-v5.5 (cmpxchg fast path, compile-time KPTI ASID pairs, no pinning)',
  },
  'pin-v1': {
    pinning: true,
    pinnedBeforeReserved: true,
    pinReturnsUserHalf: false,
    kptiAsids: 'pairs',
    source:
      'SVA series v1 (Feb 2018), reconstructed from the v1->v2 note of "[PATCH v2 16/40] arm64: mm: Pin down ASIDs": pinned checked before reserved',
  },
  'pin-v2': {
    pinning: true,
    pinnedBeforeReserved: false,
    pinReturnsUserHalf: false,
    kptiAsids: 'pairs',
    source: '"[PATCH v2 16/40] arm64: mm: Pin down ASIDs for sharing mm with devices" (J-P. Brucker, 11 May 2018)',
  },
  'v5.6': {
    pinning: false,
    pinnedBeforeReserved: false,
    pinReturnsUserHalf: false,
    kptiAsids: 'runtime',
    source: 'context.c as in v5.6-v5.9 (f88f42f853a8: KPTI decided at run time, odd ASIDs reserved while in use; no pinning)',
  },
  'v5.10': {
    pinning: true,
    pinnedBeforeReserved: false,
    pinReturnsUserHalf: true,
    kptiAsids: 'runtime',
    source: 'merged 48118151 "arm64: mm: Pin down ASIDs for sharing mm with devices" (v5.10): refcount_t pins, asid|1 under KPTI',
  },
};
