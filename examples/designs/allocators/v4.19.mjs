// @ts-check
/**
 * The arm64 ASID allocator of v4.19-v5.5 (`arch/arm64/mm/context.c` as tagged v4.19), as a patch on
 * the v5.10 allocator: no pinning, and CONFIG_UNMAP_KERNEL_AT_EL0 halves the ASID space at compile
 * time whether or not KPTI is needed at run time.
 *
 * 0c8ea531b774 "arm64: mm: Allocate ASIDs in pairs" (v4.16):
 *
 *   #ifdef CONFIG_UNMAP_KERNEL_AT_EL0
 *   #define NUM_USER_ASIDS   (ASID_FIRST_VERSION >> 1)
 *   #define asid2idx(asid)   (((asid) & ~ASID_MASK) >> 1)
 *   #define idx2asid(idx)    (((idx) << 1) & ~ASID_MASK)
 *   #else ... (no shift)
 *
 * The bitmap holds ASID pairs (the even ASID for the kernel, `asid | 1` for user space), so no odd
 * bit is ever set in it: `flush_context` only clears `asid_map` (`bitmap_clear`), and `asids_init`
 * reserves nothing. There is no `pinned_asid_map` and no `arm64_mm_context_get` (48118151d8cc, v5.10),
 * so every pin is refused. The rest of v4.19's `context.c` (`new_context`, `flush_context`,
 * `check_update_reserved_asid`, `check_and_switch_context`) is v5.10's with `pinned_asid_map` NULL.
 */

/** @type {import('asid-replay/design').Design} */
export default {
  name: 'v4.19',
  description: 'arch/arm64/mm/context.c v4.19-v5.5: compile-time ASID pairs (0c8ea531b774), no pinning',
  parts: {
    asids_init: () => (cfg) => {
      const idxShift = cfg.unmapKernelAtEl0 ? 1 : 0; // asid2idx: >> 1 with the option built in
      const numUserAsids = 2 ** (cfg.asidBits - idxShift);
      return {
        idxShift,
        available: numUserAsids, // every index can be handed out: the pairs are the space
        oddReservedAtBoot: false, // no set_kpti_asid_bits before f88f42f853a8 (v5.6)
        oddReservedAlways: false,
        maxPinnedAsids: null, // no pinned_asid_map
      };
    },
  },
};
