// @ts-check
/**
 * `--fault no-dvm`: the SMMU advertises BTM (IDR0.BTM) but the firmware never enabled DVM, so the
 * CPU's broadcast TLBIs never reach it.
 *
 * Removes the snoop of the broadcast `__tlbi(vale1is/aside1is)` of arm64's `__flush_tlb_range()` /
 * `flush_tlb_mm()` (arch/arm64/include/asm/tlbflush.h) by every SMMU whose BTM the driver uses: a
 * driver that relies on BTM (the 2023 BTM series) then sends no TLBI of its own and nothing removes
 * the SMMU's entries.
 */

/** @type {import('asid-replay/design').Design} */
export default {
  name: 'no-dvm',
  description: 'CPU broadcast TLBIs never reach an SMMU (DVM not enabled by firmware)',
  parts: {
    __flush_tlb_range: () => () => {},
  },
};
