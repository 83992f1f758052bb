// @ts-check
/**
 * The second posting of the ASID pinning patch, as a patch on the merged (v5.10) allocator:
 * "[PATCH v2 16/40] arm64: mm: Pin down ASIDs for sharing mm with devices" (J-P. Brucker, 11 May
 * 2018, SVA series v2), on a v4.17 `context.c` whose ASIDs come in compile-time pairs.
 *
 * What differs from v5.10 (48118151d8cc):
 * - the ASID space of its base tree (0c8ea531b774, v4.16): with CONFIG_UNMAP_KERNEL_AT_EL0
 *   `NUM_USER_ASIDS` is `ASID_FIRST_VERSION >> 1` and `asid2idx(asid)` is `asid >> 1`, KPTI or not;
 *   no odd ASID is reserved in `asid_map`; `pinned_asid_map` is always allocated, and `asids_init()`
 *   sets `max_pinned_asids = NUM_USER_ASIDS - num_possible_cpus() - 2` (unsigned long, unchecked);
 * - `mm_context_get()` (v5.10: `arm64_mm_context_get`) returns `asid & ~ASID_MASK`, the ASID of the
 *   mm's context. C. Marinas' review of this posting (15 May 2018) asked for bit 0 ("you should
 *   probably set bit 0 when KPTI is enabled"); the merged v9 (2020) sets it when KPTI is in use
 *   ("Only set the USER_ASID_BIT if kpti is enabled", v9 changelog).
 * `new_context()` already has v5.10's order: `check_update_reserved_asid()`, then the pinned test.
 */

/** @type {import('asid-replay/design').Design} */
export default {
  name: 'pin-v2',
  description: 'SVA series v2 (May 2018) ASID pinning on compile-time ASID pairs; the pin returns the ASID itself',
  parts: {
    asids_init: () => (cfg) => {
      const idxShift = cfg.unmapKernelAtEl0 ? 1 : 0;
      const numUserAsids = 2 ** (cfg.asidBits - idxShift);
      return {
        idxShift,
        available: numUserAsids,
        oddReservedAtBoot: false,
        oddReservedAlways: false,
        maxPinnedAsids: numUserAsids - cfg.cpus - 2, // asids_init(): NUM_USER_ASIDS - num_possible_cpus() - 2
      };
    },
    arm64_mm_context_get:
      (base, { ctxAsid, packPin, pinAsid, pinOutcome }) =>
      (p, s, mm, n) => {
        const r = base(p, s, mm, n);
        // A refused pin returns 0 either way; a pin returns `asid & ~ASID_MASK`, without `| 1`.
        return pinAsid(r) === 0 ? r : packPin(pinOutcome(r), ctxAsid(mm.ctx));
      },
  },
};
