// @ts-check
/**
 * The first posting of the ASID pinning patch (J-P. Brucker's SVA series v1, Feb 2018), as a patch
 * on the merged (v5.10) allocator. v1 itself is known from the v1->v2 note of "[PATCH v2 16/40]
 * arm64: mm: Pin down ASIDs for sharing mm with devices" (11 May 2018): "When updating an mm's
 * context after a rollover, we check if the ASID is pinned. If it is, then we can reuse it. But even
 * then we do need to update the generation in the reserved_asid map. V1 didn't do that" -- TLC found
 * it with the kernel-tla `asidalloc` model. So v1 is v2 (examples/designs/allocators/pin-v2.mjs,
 * repeated here: a design imports nothing) with `new_context()` testing `mm->context.pinned` before
 * `check_update_reserved_asid()`.
 */

/** @type {import('asid-replay/design').Design} */
export default {
  name: 'pin-v1',
  description: 'SVA series v1 (Feb 2018) ASID pinning: new_context() tests pinned before check_update_reserved_asid()',
  parts: {
    // As pin-v2: compile-time ASID pairs (0c8ea531b774), max_pinned_asids = NUM_USER_ASIDS - CPUs - 2.
    asids_init: () => (cfg) => {
      const idxShift = cfg.unmapKernelAtEl0 ? 1 : 0;
      const numUserAsids = 2 ** (cfg.asidBits - idxShift);
      return {
        idxShift,
        available: numUserAsids,
        oddReservedAtBoot: false,
        oddReservedAlways: false,
        maxPinnedAsids: numUserAsids - cfg.cpus - 2,
      };
    },
    // As pin-v2: the pin returns the context's ASID, never `asid | 1`.
    arm64_mm_context_get:
      (base, { ctxAsid, packPin, pinAsid, pinOutcome }) =>
      (p, s, mm, n) => {
        const r = base(p, s, mm, n);
        return pinAsid(r) === 0 ? r : packPin(pinOutcome(r), ctxAsid(mm.ctx));
      },
    // v1: `if (mm->context.pinned) return newasid;` before check_update_reserved_asid().
    new_context:
      (base, { ctxAsid, makeCtx }) =>
      (p, s, mm, n) => {
        if (mm.ctx !== 0 && mm.pinned > 0) {
          n.reusePinned++;
          return makeCtx(s.generation, ctxAsid(mm.ctx));
        }
        return base(p, s, mm, n);
      },
  },
};
