// @ts-check
/**
 * The arm64 ASID allocator of v5.6-v5.9 (`arch/arm64/mm/context.c` as tagged v5.6), as a patch on
 * the v5.10 allocator: KPTI decided at run time, and no pinning.
 *
 * f88f42f853a8 "arm64: context: Free up kernel ASIDs if KPTI is not in use" (V. Murzin, v5.6) made
 * `NUM_USER_ASIDS` the whole space (`asid2idx(asid)` is the ASID) and reserves the kernel half at
 * run time: `set_reserved_asid_bits()` calls `set_kpti_asid_bits()` (memset 0xaa: every odd ASID
 * marked used) at each rollover while `arm64_kernel_unmapped_at_el0()`, else clears the map; and
 * `asids_init()`, with CONFIG_UNMAP_KERNEL_AT_EL0 built in, sets those bits at boot "because CPU
 * caps are not finalized yet", so they are only freed by the first rollover. `asids_update_limit()`
 * (9abd515a6e4a "arm64: context: Fix ASID limit in boot messages", v5.6-rc5) halves
 * `num_available_asids` under KPTI.
 *
 * The v5.10 code with `pinned_asid_map` NULL is this code (48118151d8cc: "Allow pinned_asid_map to
 * be NULL"): `set_reserved_asid_bits()` falls through to the KPTI pattern or the clear, and
 * `arm64_mm_context_get()` returns 0, so only the ASID space changes.
 */

/** @type {import('asid-replay/design').Design} */
export default {
  name: 'v5.6',
  description: 'arch/arm64/mm/context.c v5.6-v5.9: KPTI ASIDs reserved at run time (f88f42f853a8), no pinning',
  parts: {
    asids_init: () => (cfg) => ({
      idxShift: 0, // NUM_USER_ASIDS = ASID_FIRST_VERSION, asid2idx(asid) = asid
      available: 2 ** (cfg.asidBits - (cfg.kpti ? 1 : 0)), // asids_update_limit: halved under KPTI
      oddReservedAtBoot: cfg.unmapKernelAtEl0, // asids_init: IS_ENABLED(CONFIG_UNMAP_KERNEL_AT_EL0)
      oddReservedAlways: cfg.kpti, // set_reserved_asid_bits: arm64_kernel_unmapped_at_el0()
      maxPinnedAsids: null, // no pinned_asid_map
    }),
  },
};
