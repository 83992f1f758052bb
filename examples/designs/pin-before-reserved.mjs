// @ts-check
/**
 * The 2018 pin-ordering bug, brought back as a patch on v5.10.
 *
 * v1 of "arm64: mm: Pin down ASIDs for sharing mm with devices" (J-P. Brucker's SVA series, Feb
 * 2018) tested `mm->context.pinned` in new_context() BEFORE check_update_reserved_asid(). A pinned
 * mm then takes its old ASID into the new generation without moving the CPUs' reserved_asids copies
 * of its old context id to the new one; after the next rollover a CPU still running that ASID keeps
 * a stale reservation, and another thread of the mm is given a different ASID while the CPU runs the
 * old one. The kernel-tla TLA+ model (asidalloc) found it; v2 (May 2018) swapped the two tests, and
 * the merged version (48118151d8cc, v5.10) kept v2's order, which the base here has.
 *
 *   asid-replay explore --design examples/designs/pin-before-reserved.mjs --cpus 2 --asid-bits 3
 *
 * finds an active-asid-mismatch; without the design (`--kernel 5.10`) the same bounds are clean.
 */

/** @type {import('asid-replay/design').Design} */
export default {
  name: 'pin-before-reserved',
  base: '5.10',
  description: 'new_context() takes the pinned shortcut before check_update_reserved_asid() (SVA series v1, 2018)',
  parts: {
    new_context:
      (base, { ctxAsid, makeCtx }) =>
      (p, s, mm, n) => {
        // v1: `if (mm->context.pinned) return newasid;` came first ...
        if (mm.ctx !== 0 && mm.pinned > 0) {
          n.reusePinned++;
          return makeCtx(s.generation, ctxAsid(mm.ctx));
        }
        // ... then v5.10's order: check_update_reserved_asid(), pinned, the old ASID if still free, a new one.
        return base(p, s, mm, n);
      },
  },
};
