// ctxAsid is `ctx % GEN_UNIT` computed without `%` for a non-negative id (model/cpu/context-id.ts):
// the definition is `%`, and every number must give the same value, past 2^31 and 2^32 above all
// (where the ids of a workload that rolls over often live). The packing is the kernel's:
// arch/arm64/mm/context.c keeps `mm->context.id` as `generation | asid`, the generation counting in
// units of ASID_FIRST_VERSION, which the model takes as 1 << 16 after commit c0900d15d31c ("arm64:
// Ensure bits ASID[15:8] are masked out when the kernel uses 8-bit ASIDs", backported to the 5.10,
// 5.15, 6.1 and 6.6 stable series; model/cpu/context-id.ts), so an id of generation g and ASID a
// is g * 2^16 + a.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { GEN_UNIT, ctxAsid, ctxGen, makeCtx } from '../src/model/cpu/context-id.js';

const definition = (ctx: number) => ctx % GEN_UNIT;

describe('ctxAsid', () => {
  it('is ctx % GEN_UNIT at the boundaries, on both sides', () => {
    const edges = [0, 1, GEN_UNIT - 1, GEN_UNIT, GEN_UNIT + 1, 2 ** 31 - 1, 2 ** 31, 2 ** 31 + 1, 2 ** 32 - 1, 2 ** 32, 2 ** 32 + 5];
    for (const x of [...edges, 2 ** 53 - 1, 2 ** 53 - GEN_UNIT, -1, -GEN_UNIT, -GEN_UNIT - 3, 0.5, 65535.5, 2 ** 40 + 0.25])
      expect(Object.is(ctxAsid(x), definition(x)), `ctxAsid(${x})`).toBe(true);
  });

  it('is ctx % GEN_UNIT for any integer up to 2^53 and any double', () => {
    fc.assert(
      fc.property(fc.maxSafeInteger(), (x) => Object.is(ctxAsid(x), definition(x))),
      { numRuns: 20000 },
    );
    fc.assert(
      fc.property(fc.double({ noNaN: true }), (x) => Object.is(ctxAsid(x), definition(x))),
      { numRuns: 20000 },
    );
  });

  it('takes back the ASID makeCtx packed, in every generation below 2^37 (ids below 2^53)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 37 - 1 }), fc.integer({ min: 0, max: GEN_UNIT - 1 }), (gen, asid) => {
        const ctx = makeCtx(gen, asid);
        return ctxAsid(ctx) === asid && ctxGen(ctx) === gen;
      }),
      { numRuns: 20000 },
    );
  });
});
