/**
 * The versions of the arm64 CPU ASID allocator (`arch/arm64/mm/context.c`) the tool can run, by
 * name, with where each comes from. The model's allocator parts are the merged v5.10 code
 * (48118151d8cc); every other version is a design file that replaces the parts it changes
 * (examples/designs/allocators/<version>.mjs: the ASID space of `asids_init`, the pin's return, the
 * order of the pinned and reserved tests in `new_context`), composed as a built-in
 * (model/kernel/builtins.ts). Sources: the merged commit 48118151d8cc, the v2 patch of 11 May 2018
 * with its v1->v2 note, f88f42f853a8 (run-time KPTI) and 0c8ea531b774 (pairs).
 */

/** Allocator variant ids accepted by `--allocator` and the trace's `# system:` preamble. */
export const ALLOCATOR_VARIANTS = ['v4.19', 'pin-v1', 'pin-v2', 'v5.6', 'v5.10'] as const;
export type AllocatorVariant = (typeof ALLOCATOR_VARIANTS)[number];

/** Where one allocator version comes from. */
export interface VariantSource {
  /** Short provenance, printed in text reports. */
  readonly source: string;
}

export const VARIANT_SOURCES: Readonly<Record<AllocatorVariant, VariantSource>> = {
  'v4.19': {
    source: 'context.c as in v4.19-v5.5 (cmpxchg fast path, compile-time KPTI ASID pairs, no pinning)',
  },
  'pin-v1': {
    source:
      'SVA series v1 (Feb 2018), reconstructed from the v1->v2 note of "[PATCH v2 16/40] arm64: mm: Pin down ASIDs": pinned checked before reserved',
  },
  'pin-v2': {
    source: '"[PATCH v2 16/40] arm64: mm: Pin down ASIDs for sharing mm with devices" (J-P. Brucker, 11 May 2018)',
  },
  'v5.6': {
    source: 'context.c as in v5.6-v5.9 (f88f42f853a8: KPTI decided at run time, odd ASIDs reserved while in use; no pinning)',
  },
  'v5.10': {
    source: 'merged 48118151 "arm64: mm: Pin down ASIDs for sharing mm with devices" (v5.10): refcount_t pins, asid|1 under KPTI',
  },
};
