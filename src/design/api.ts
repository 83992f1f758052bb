/**
 * The public design API: what a design file (`--design <file.mjs>`, docs/designs.md) is and what
 * its replacement parts receive. A design is an ES module whose default export is a {@link Design}:
 *
 * ```js
 * // @ts-check
 * /** @type {import('asid-replay/design').Design} *\/
 * export default {
 *   name: 'my-patch',
 *   base: '5.10',
 *   parts: {
 *     new_context: (base, api) => (p, s, mm, n) => base(p, s, mm, n),
 *   },
 * };
 * ```
 *
 * Types only, plus {@link DESIGN_API}, the helpers handed to every part: a design imports nothing
 * from this package at run time.
 */
import {
  type AllocatorConfig,
  type AllocatorCounters,
  type AllocatorParams,
  type AsidSpace,
  type AllocatorState,
  type MmContext,
  NO_FREE_ASID,
  type PinResult,
  type SwitchFlags,
} from '../model/cpu/allocator.js';
import { GEN_UNIT, PinOutcome, Switch, ctxAsid, ctxGen, makeCtx, packPin, pinAsid, pinOutcome } from '../model/cpu/context-id.js';
import type { KernelParts, PartName } from '../model/kernel/parts.js';
import { xaAllocIn, xaErase, xaInit, xaInsert, xaLoad, xaStore } from '../model/smmu/asid-pool.js';
import type {
  CpuFlush,
  CpuPort,
  Ctx,
  Errno,
  NotifierCall,
  SharedCdAsid,
  SmmuModelState,
  SmmuObserver,
  SmmuParts,
  TlbInvRangeHow,
} from '../model/smmu/index.js';
import type { AsidOwner, AsidPool, Cd, DmaDomain, DriverOp, Master, OpStep, SmmuInstance, SvaContext, SvaMm } from '../model/smmu/state.js';

export type {
  AllocatorConfig,
  AllocatorCounters,
  AllocatorParams,
  AllocatorState,
  AsidSpace,
  KernelParts,
  MmContext,
  PartName,
  PinResult,
  SwitchFlags,
};
/** The SMMUv3/SVA side: a part's context (`c`), the state it reads (`c.st`) and its records. */
export type {
  AsidOwner,
  AsidPool,
  Cd,
  CpuFlush,
  CpuPort,
  Ctx,
  DmaDomain,
  DriverOp,
  Errno,
  Master,
  NotifierCall,
  OpStep,
  SharedCdAsid,
  SmmuInstance,
  SmmuModelState,
  SmmuObserver,
  SmmuParts,
  SvaContext,
  SvaMm,
  TlbInvRangeHow,
};

/**
 * The helpers a replacement part receives as `api` (the encodings of `context.c`):
 * - `ctxGen(ctx)`, `ctxAsid(ctx)`, `makeCtx(gen, asid)`: a packed context id is `gen * GEN_UNIT + asid`
 *   (`ASID_FIRST_VERSION` is `GEN_UNIT`); 0 means "never allocated";
 * - `NO_FREE_ASID`: what `new_context` returns when even the search after a rollover fails;
 * - `Switch`: the flags `check_and_switch_context` returns (0 = the fast path);
 * - `PinOutcome`, `packPin(outcome, asid)`, `pinOutcome(r)`, `pinAsid(r)`: `arm64_mm_context_get`'s result;
 * - the SMMU ASID maps (`c.st.pools`, `AsidPool`): `xaInit(base)` an empty map (base 1: an xarray with
 *   `XA_FLAGS_ALLOC1`; 0: the bitmap before v5.8), `xaAlloc(pools, max, owner)` the lowest ASID in
 *   [1, max] free in every map of `pools` (-1 when full: `xa_alloc`'s -EBUSY), `xaLoad(pool, asid)`,
 *   `xaInsert(pool, asid, owner)` (false when taken), `xaStore(pool, asid, owner)`,
 *   `xaErase(pool, asid, row)` (`row`: the event whose purge the stale checks expect).
 */
export const DESIGN_API = Object.freeze({
  GEN_UNIT,
  ctxGen,
  ctxAsid,
  makeCtx,
  NO_FREE_ASID,
  Switch,
  PinOutcome,
  packPin,
  pinOutcome,
  pinAsid,
  xaInit,
  xaAlloc: xaAllocIn,
  xaLoad,
  xaInsert,
  xaStore,
  xaErase,
});
export type DesignApi = typeof DESIGN_API;

/**
 * A replacement of part `K`: called once, when the design is loaded, with the version it replaces
 * (`base`, which it may call) and the {@link DesignApi}; returns the new version.
 */
export type PartOverride<K extends PartName> = (base: KernelParts[K], api: DesignApi) => KernelParts[K];

/** The default export of a design file. */
export interface Design {
  /** Short name, shown in reports (`[a-z0-9][a-z0-9._-]*`). */
  name: string;
  /**
   * The kernel release the patch applies to (`5.10`, `6.6`, ...: `asid-replay replay --help` lists
   * them). Without it the design applies to whatever kernel the run uses (`--kernel` or the trace's),
   * as the built-in designs of `--fault` (examples/designs/faults/) and the allocator versions
   * (examples/designs/allocators/) do.
   */
  base?: string;
  /** One line for people: what the patch changes. */
  description?: string;
  /** The parts it replaces, by kernel name. */
  parts: { [K in PartName]?: PartOverride<K> };
}
