// @ts-check
/**
 * The first posting of the ASID pinning patch (J-P. Brucker's SVA series v1, Feb 2018), as a patch
 * on the merged (v5.10) allocator. v1 itself is known from the v1->v2 note of "[PATCH v2 16/40]
 * arm64: mm: Pin down ASIDs for sharing mm with devices" (11 May 2018): "When updating an mm's
 * context after a rollover, we check if the ASID is pinned. If it is, then we can reuse it. But even
 * then we do need to update the generation in the reserved_asid map. V1 didn't do that" -- TLC found
 * it with the kernel-tla `asidalloc` model. So v1 is v2 (./pin-v2.mjs: a design may import another
 * design file, not this tool) with `new_context()` testing `mm->context.pinned` before
 * `check_update_reserved_asid()`.
 */
import pinV2 from './pin-v2.mjs';

/** @type {import('asid-replay/design').Design} */
export default {
  name: 'pin-v1',
  description: 'SVA series v1 (Feb 2018) ASID pinning: new_context() tests pinned before check_update_reserved_asid()',
  parts: {
    // As pin-v2: compile-time ASID pairs (0c8ea531b774) and the pin returning the context's ASID.
    ...pinV2.parts,
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
