// @ts-check
/**
 * The arm64 ASID allocator as merged in v5.10 (48118151d8cc "arm64: mm: Pin down ASIDs for sharing
 * mm with devices"), which every later release keeps: the model's base parts. Only its ASID space is
 * spelt out here, so that the base does not depend on which allocator a run names.
 *
 * `asids_init()`: `NUM_USER_ASIDS` is `ASID_FIRST_VERSION` (f88f42f853a8, v5.6), `pinned_asid_map`
 * allocated, odd ASIDs set in `asid_map` at boot with CONFIG_UNMAP_KERNEL_AT_EL0 built in.
 * `asids_update_limit()`: under KPTI `num_available_asids /= 2` and `set_kpti_asid_bits(pinned_asid_map)`
 * (so every rollover keeps the odd ASIDs reserved); `max_pinned_asids = num_available_asids -
 * num_possible_cpus() - 2`.
 */

/** @type {import('asid-replay/design').Design} */
export default {
  name: 'v5.10',
  description: 'arch/arm64/mm/context.c v5.10+ (48118151d8cc): ASID pinning, KPTI ASIDs reserved at run time',
  parts: {
    asids_init: () => (cfg) => {
      const available = 2 ** (cfg.asidBits - (cfg.kpti ? 1 : 0));
      return {
        idxShift: 0,
        available,
        oddReservedAtBoot: cfg.unmapKernelAtEl0,
        oddReservedAlways: cfg.kpti,
        maxPinnedAsids: available - cfg.cpus - 2,
      };
    },
  },
};
