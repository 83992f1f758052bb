/**
 * The arm64 CPU ASID allocator, `arch/arm64/mm/context.c`, as a sequential model.
 *
 * Reference: Linux v5.10 `arch/arm64/mm/context.c` (merged pinning, commit 48118151), with the
 * older versions as design files (examples/designs/allocators/, {@link ALLOCATOR_VARIANTS}). Each exported step is named after the kernel function it mirrors.
 *
 * Representation: a context id is stored as one number `gen * 2^16 + asid` (the "gen16" packing;
 * older kernels packed `gen << asid_bits`, which only changes how it prints). `0` means "never
 * allocated" (`init_new_context`). Bitmaps are indexed like the kernel's `asid2idx`: in the `pairs`
 * allocators built with CONFIG_UNMAP_KERNEL_AT_EL0 the index space is the ASID pairs (idx = asid >> 1,
 * ASIDs are even, the user half is `asid | 1`); in the `runtime` allocators (v5.6+) the index is the
 * ASID and the odd ones are reserved by setting their bits (`set_kpti_asid_bits`, memset 0xaa).
 *
 * All state is plain data (numbers and typed arrays): {@link cloneAllocator} is cheap and two
 * states can be compared field by field.
 */
import type { AllocatorVariant } from './variants.js';
import { bitmapWeight, findNextZeroBit } from './bitmap.js';
import { type PinResult, PinOutcome, Switch, type SwitchFlags, ctxAsid, ctxGen, makeCtx, packPin } from './context-id.js';

export {
  GEN_UNIT,
  PinOutcome,
  type PinResult,
  Switch,
  type SwitchFlags,
  ctxAsid,
  ctxGen,
  makeCtx,
  pinAsid,
  pinOutcome,
} from './context-id.js';

/** System parameters the allocator depends on. */
export interface AllocatorConfig {
  /** num_possible_cpus(). */
  readonly cpus: number;
  /** ID_AA64MMFR0_EL1.ASIDBits of the boot CPU: 8 or 16 (smaller widths as a what-if, >= 2). */
  readonly asidBits: number;
  /** KPTI in use at run time (arm64_kernel_unmapped_at_el0()): ASIDs in pairs, user half `asid | 1`. */
  readonly kpti: boolean;
  /** CONFIG_UNMAP_KERNEL_AT_EL0 built in (arm64 defconfig: yes). Required for `kpti`. */
  readonly unmapKernelAtEl0: boolean;
  readonly variant: AllocatorVariant;
  /** What-if override of `max_pinned_asids`; the kernel formula when absent. */
  readonly maxPinnedOverride?: number;
}

/** The pinned-ASID limit and how it was obtained (reported verbatim). */
export interface PinLimit {
  /** Maximum number of pinned mms; `Infinity` when the kernel's unsigned arithmetic underflows. */
  readonly value: number;
  readonly formula: string;
  readonly reason: string;
}

/** Per-mm allocator context (`mm->context.id` and `mm->context.pinned`). */
export interface MmContext {
  /** Packed context id `gen * GEN_UNIT + asid`; 0 = never allocated. */
  ctx: number;
  /** Pin refcount (refcount_t in v5.10, unsigned long in v2). */
  pinned: number;
}

/** Global and per-CPU allocator state. Plain data. */
export interface AllocatorState {
  /** Current generation (1 at boot, +1 per rollover). */
  generation: number;
  /** `asid_map`, one byte per index; indexes set in the current generation. */
  asidMap: Uint8Array;
  /** Indexes set in `asidMap` (kept with it, so free ASIDs are known without a scan). */
  used: number;
  /** `pinned_asid_map`; null when the variant has no pinning (rollover then clears the map). */
  pinnedMap: Uint8Array | null;
  /** `nr_pinned_asids`. */
  nrPinned: number;
  /** `cur_idx`, the next-fit cursor of `new_context` (starts at 1, never wraps). */
  curIdx: number;
  /** `active_asids[cpu]` as packed ctx ids; 0 = wiped by a rollover. */
  active: Float64Array;
  /** `reserved_asids[cpu]`; keeps the generation it was seen with. */
  reserved: Float64Array;
  /** `tlb_flush_pending` cpumask. */
  flushPending: Uint8Array;
}

/** Event counters of the allocator (observations, not model state). */
export interface AllocatorCounters {
  fastPath: number;
  slowPath: number;
  /** Fresh ASIDs handed out by the bitmap search. */
  allocations: number;
  /** new_context path (a): the old ASID was still reserved by a CPU. */
  reuseReserved: number;
  /** new_context path (b): the mm is pinned, keeps its number. */
  reusePinned: number;
  /** new_context path (c): the old number was still free in the new generation. */
  reuseFree: number;
  rollovers: number;
  localTlbFlushes: number;
}

export function newCounters(): AllocatorCounters {
  return {
    fastPath: 0,
    slowPath: 0,
    allocations: 0,
    reuseReserved: 0,
    reusePinned: 0,
    reuseFree: 0,
    rollovers: 0,
    localTlbFlushes: 0,
  };
}

/** Resolved constants of one configuration. */
export interface AllocatorParams {
  readonly cfg: AllocatorConfig;
  /** NUM_USER_ASIDS in index space (2^bits, or 2^(bits-1) pairs in a `pairs` allocator built with the option). */
  readonly numIdx: number;
  /** log2 of ASIDs per index: 1 in a `pairs` allocator built with CONFIG_UNMAP_KERNEL_AT_EL0. */
  readonly idxShift: number;
  /** ASIDs the allocator can hand out, ASID 0 included (`num_available_asids`): halved under KPTI. */
  readonly available: number;
  /** Odd ASIDs reserved in `asid_map` from boot until the first rollover ({@link AsidSpace}) ... */
  readonly oddReservedAtBoot: boolean;
  /** ... and in every generation, `pinned_asid_map` included (KPTI in use). */
  readonly oddReservedAlways: boolean;
  /** `pinned_asid_map` exists: `arm64_mm_context_get` can pin (else every pin is refused, and a rollover clears `asid_map`). */
  readonly pinning: boolean;
  readonly pinLimit: PinLimit;
  /** The kernel functions the allocator runs, each replaceable by a design (docs/designs.md). */
  readonly parts: AllocatorParts;
}

/**
 * The functions of `arch/arm64/mm/context.c` the model is made of, under their kernel names. The
 * model calls each one through `p.parts`, never directly, so a design (a patch written as a file,
 * docs/designs.md) can replace any of them and call the version it replaces. Every part may read
 * `p` and read and change `s` and `mm` (plain data: typed arrays and numbers); `n` counts what the
 * report shows and must be kept as the kernel path would (one `rollovers` per generation bump).
 */
export interface AllocatorParts {
  /**
   * `asids_init()` with `asids_update_limit()`: the ASID space of a configuration, once at boot
   * (before any state exists, so it gets the configuration, not `p`): every constant of
   * {@link AllocatorParams} derives from it.
   */
  asids_init(cfg: AllocatorConfig): AsidSpace;
  /** `new_context(mm)`: a ctx id of the current generation, or {@link NO_FREE_ASID}. */
  new_context(p: AllocatorParams, s: AllocatorState, mm: MmContext, n: AllocatorCounters): number;
  /** `flush_context()`: the rollover body (the caller has bumped the generation). */
  flush_context(p: AllocatorParams, s: AllocatorState): void;
  /** `check_update_reserved_asid(asid, newasid)`: true when some CPU had `oldCtx` reserved (all such CPUs move to `newCtx`). */
  check_update_reserved_asid(p: AllocatorParams, s: AllocatorState, oldCtx: number, newCtx: number): boolean;
  /** `check_and_switch_context(mm)` on `cpu`: {@link Switch} flags, 0 for the fast path. */
  check_and_switch_context(p: AllocatorParams, s: AllocatorState, mm: MmContext, cpu: number, n: AllocatorCounters): SwitchFlags;
  /** `arm64_mm_context_get(mm)`: pin; the outcome and the ASID the device must use, packed ({@link PinResult}). */
  arm64_mm_context_get(p: AllocatorParams, s: AllocatorState, mm: MmContext, n: AllocatorCounters): PinResult;
  /** `arm64_mm_context_put(mm)`: unpin; false when the mm was not pinned. */
  arm64_mm_context_put(p: AllocatorParams, s: AllocatorState, mm: MmContext): boolean;
}

/**
 * The ASID space as `asids_init()` and `asids_update_limit()` set it up: what the allocator's
 * constants ({@link AllocatorParams}) derive from. `NUM_USER_ASIDS`, the bitmaps' length, is
 * `2^(asidBits - idxShift)`.
 */
export interface AsidSpace {
  /**
   * log2 of ASIDs per bitmap index (`asid2idx(asid) = asid >> idxShift`, `idx2asid(idx) = idx <<
   * idxShift`): 1 where CONFIG_UNMAP_KERNEL_AT_EL0 allocates ASIDs in pairs at compile time
   * (0c8ea531b774, v4.16-v5.5), else 0. An integer in `0 .. asidBits - 1`.
   */
  readonly idxShift: number;
  /** `num_available_asids`, ASID 0 included (what reports show and the pin limit starts from). */
  readonly available: number;
  /**
   * `asids_init` calls `set_kpti_asid_bits(asid_map)`: odd ASIDs are taken from boot until the first
   * rollover, because the CPU capabilities (is KPTI needed?) are not final yet (f88f42f853a8, v5.6+,
   * with the option built in).
   */
  readonly oddReservedAtBoot: boolean;
  /**
   * `set_reserved_asid_bits` sets them at every rollover (v5.6-v5.9: `set_kpti_asid_bits(asid_map)`),
   * and `asids_update_limit` in `pinned_asid_map` (v5.10+), while KPTI is in use.
   */
  readonly oddReservedAlways: boolean;
  /**
   * `max_pinned_asids` as the kernel computes it, in signed arithmetic (a negative value is an
   * unsigned underflow: no limit); null when there is no `pinned_asid_map` (no pinning: before v5.10,
   * apart from the 2018 patches).
   */
  readonly maxPinnedAsids: number | null;
}

/**
 * The base `asids_init` (v5.10 `asids_init` + `asids_update_limit`): the full ASID space;
 * `num_available_asids` halved when `arm64_kernel_unmapped_at_el0()` (KPTI in use); with
 * CONFIG_UNMAP_KERNEL_AT_EL0 built in the odd ASIDs are reserved from boot until the first rollover
 * (the CPU capabilities are not final yet, f88f42f853a8 / 9abd515a6e4a), and always under KPTI;
 * `max_pinned_asids = num_available_asids - num_possible_cpus() - 2`. The older versions replace
 * this part (examples/designs/allocators/).
 */
export function asidsInit(cfg: AllocatorConfig): AsidSpace {
  const available = 2 ** (cfg.asidBits - (cfg.kpti ? 1 : 0));
  return {
    idxShift: 0,
    available,
    oddReservedAtBoot: cfg.unmapKernelAtEl0,
    oddReservedAlways: cfg.kpti,
    maxPinnedAsids: available - cfg.cpus - 2,
  };
}

/**
 * The allocator's constants for a configuration, from the `asids_init` part in `parts`.
 * @throws Error when KPTI is asked for without CONFIG_UNMAP_KERNEL_AT_EL0 (the kernel cannot do it).
 */
export function resolveParams(cfg: AllocatorConfig, parts: AllocatorParts = ALLOCATOR_PARTS): AllocatorParams {
  if (cfg.kpti && !cfg.unmapKernelAtEl0) throw new Error('KPTI needs a kernel built with CONFIG_UNMAP_KERNEL_AT_EL0');
  const space = parts.asids_init(cfg);
  return {
    cfg,
    numIdx: 2 ** (cfg.asidBits - space.idxShift),
    idxShift: space.idxShift,
    available: space.available,
    oddReservedAtBoot: space.oddReservedAtBoot,
    oddReservedAlways: space.oddReservedAlways,
    pinning: space.maxPinnedAsids !== null,
    pinLimit: maxPinnedAsids(cfg, space),
    parts,
  };
}

/** ASIDs `new_context` can still hand out in this generation (index 0 is never handed out). */
export const freeAsids = (s: AllocatorState): number => s.asidMap.length - s.used - (s.asidMap[0] === 0 ? 1 : 0);

/** `set_kpti_asid_bits(map)`: memset(map, 0xaa): every odd ASID marked used (only even ones are handed out). */
function setKptiAsidBits(map: Uint8Array): void {
  // Stryker disable next-line EqualityOperator: equivalent, i <= map.length adds one write past the typed array, which is dropped
  for (let i = 1; i < map.length; i += 2) map[i] = 1;
}

/**
 * `max_pinned_asids` for reports: the value {@link AsidSpace} gives (an underflow is no limit), or
 * the what-if override, with the formula it comes from. The formula names why the available ASIDs
 * are halved: pairs at compile time (`idxShift` 1) or KPTI at run time. The commit message's
 * "NR_ASIDS - NR_CPUS - 1" counts only allocatable ASIDs (ASID 0 excluded).
 */
export function maxPinnedAsids(cfg: AllocatorConfig, space: AsidSpace): PinLimit {
  const v = space.maxPinnedAsids;
  if (v === null) {
    return { value: 0, formula: '0', reason: 'no arm64_mm_context_get (no pinned_asid_map) in this allocator: every pin fails' };
  }
  const halved = space.available < 2 ** cfg.asidBits;
  const why = space.idxShift > 0 ? ' (ASID pairs: CONFIG_UNMAP_KERNEL_AT_EL0)' : ' (ASID pairs under KPTI)';
  const kernel = space.available - cfg.cpus - 2;
  const base = v === kernel ? `${space.available} available${halved ? why : ''} - ${cfg.cpus} CPUs - 2` : `${v} (asids_init)`;
  if (cfg.maxPinnedOverride !== undefined) {
    return {
      value: cfg.maxPinnedOverride,
      formula: `${cfg.maxPinnedOverride} (what-if override; kernel: ${base})`,
      reason: 'limit overridden by maxPinnedAsids',
    };
  }
  const reason =
    'ASID 0 is never allocated and after a rollover every CPU may hold one reserved ASID, yet one free slot must remain (commit message: NR_ASIDS - NR_CPUS - 1 allocatable)';
  if (v < 0) {
    return {
      value: Infinity,
      formula: `${base} = ${v} -> unsigned underflow (no limit)`,
      reason: 'the kernel computes this in unsigned long and does not check it; ' + reason,
    };
  }
  return { value: v, formula: v === kernel ? `${base} = ${v}` : base, reason };
}

/**
 * The allocator at boot: `asids_init` (which, with CONFIG_UNMAP_KERNEL_AT_EL0 built in, reserves the
 * odd ASIDs before the CPU capabilities are final) then `asids_update_limit` (which reserves them in
 * `pinned_asid_map` only if KPTI is really in use, so a rollover frees them otherwise).
 */
export function createAllocator(p: AllocatorParams): AllocatorState {
  const asidMap = new Uint8Array(p.numIdx);
  if (p.oddReservedAtBoot) setKptiAsidBits(asidMap);
  let pinnedMap: Uint8Array | null = null;
  if (p.pinning) {
    pinnedMap = new Uint8Array(p.numIdx);
    if (p.oddReservedAlways) setKptiAsidBits(pinnedMap);
  }
  return {
    generation: 1,
    asidMap,
    used: bitmapWeight(asidMap),
    pinnedMap,
    nrPinned: 0,
    curIdx: 1,
    active: new Float64Array(p.cfg.cpus),
    reserved: new Float64Array(p.cfg.cpus),
    flushPending: new Uint8Array(p.cfg.cpus),
  };
}

export function cloneAllocator(s: AllocatorState): AllocatorState {
  // Typed-array constructors copy about twice as fast as `slice()` on the search's hot path.
  return {
    generation: s.generation,
    asidMap: new Uint8Array(s.asidMap),
    used: s.used,
    pinnedMap: s.pinnedMap ? new Uint8Array(s.pinnedMap) : null,
    nrPinned: s.nrPinned,
    curIdx: s.curIdx,
    active: new Float64Array(s.active),
    reserved: new Float64Array(s.reserved),
    flushPending: new Uint8Array(s.flushPending),
  };
}

/** Sentinel returned by {@link newContext} when the post-rollover search fails (FreeAfterRollover). */
export const NO_FREE_ASID = -1;

/**
 * `flush_context()`: the rollover body. `set_reserved_asid_bits()` rebuilds `asid_map` from
 * `pinned_asid_map`, or (no pinning) the KPTI pattern or nothing; then every CPU's active ASID (or,
 * if it is 0, its previous reservation) moves into `reserved_asids`, and all CPUs are marked for a
 * local TLB flush.
 */
export function flushContext(p: AllocatorParams, s: AllocatorState): void {
  if (s.pinnedMap) s.asidMap.set(s.pinnedMap);
  else {
    s.asidMap.fill(0);
    if (p.oddReservedAlways) setKptiAsidBits(s.asidMap);
  }
  const sh = p.idxShift;
  // Stryker disable next-line EqualityOperator: equivalent, c <= length reads undefined past the arrays (writes dropped) and sets asid_map bit 0, which the search from cur_idx >= 1 never visits and freeAsids discounts
  for (let c = 0; c < s.active.length; c++) {
    let a = s.active[c]!;
    s.active[c] = 0;
    if (a === 0) a = s.reserved[c]!;
    s.asidMap[ctxAsid(a) >> sh] = 1;
    s.reserved[c] = a;
  }
  s.used = bitmapWeight(s.asidMap); // once per rollover
  s.flushPending.fill(1);
}

/**
 * `check_update_reserved_asid(asid, newasid)`: every CPU whose reservation equals `oldCtx` (full
 * ctx id, generation included) is moved to `newCtx`; no early exit.
 */
export function checkUpdateReservedAsid(s: AllocatorState, oldCtx: number, newCtx: number): boolean {
  let hit = false;
  // Stryker disable next-line EqualityOperator: equivalent, c <= length compares undefined, never a context id
  for (let c = 0; c < s.reserved.length; c++) {
    if (s.reserved[c] === oldCtx) {
      hit = true;
      s.reserved[c] = newCtx;
    }
  }
  return hit;
}

/**
 * `new_context(mm)`, lock held: a ctx id of the current generation for `mm`, re-using its old ASID
 * when it is reserved (a), pinned (b), or still free (c), else the next free index at or above
 * `cur_idx`, rolling over when there is none. Variant `pin-v1` tests (b) before (a).
 *
 * @returns the new packed ctx id, or {@link NO_FREE_ASID} if even the post-rollover search fails.
 */
export function newContext(p: AllocatorParams, s: AllocatorState, mm: MmContext, n: AllocatorCounters): number {
  const ctx = mm.ctx;
  const sh = p.idxShift;
  if (ctx !== 0) {
    const asid = ctxAsid(ctx);
    const newCtx = makeCtx(s.generation, asid);
    if (p.parts.check_update_reserved_asid(p, s, ctx, newCtx)) {
      n.reuseReserved++;
      return newCtx;
    }
    if (mm.pinned > 0) {
      n.reusePinned++;
      return newCtx;
    }
    if (s.asidMap[asid >> sh] === 0) {
      s.asidMap[asid >> sh] = 1;
      s.used++;
      n.reuseFree++;
      return newCtx;
    }
  }
  let idx = findNextZeroBit(s.asidMap, s.curIdx);
  // Stryker disable next-line EqualityOperator: equivalent, idx <= 0: findZero returns -1 or an index >= its start, and cur_idx >= 1
  if (idx < 0) {
    s.generation++;
    n.rollovers++;
    p.parts.flush_context(p, s);
    idx = findNextZeroBit(s.asidMap, 1);
    // Stryker disable next-line EqualityOperator: equivalent, idx <= 0: findNextZeroBit(map, 1) returns -1 or an index >= 1
    if (idx < 0) return NO_FREE_ASID;
  }
  s.asidMap[idx] = 1;
  s.used++;
  s.curIdx = idx;
  n.allocations++;
  return makeCtx(s.generation, idx << sh);
}

/**
 * `check_and_switch_context(mm)` (called by `switch_mm` when the mm changes). Fast path when the CPU's
 * `active_asids` is non-zero and the mm's generation is current (the cmpxchg cannot fail in a
 * sequential replay); otherwise the slow path under `cpu_asid_lock`: `new_context` if the
 * generation is old, then the pending local TLB flush, then `active_asids`.
 *
 * @returns a set of {@link Switch} flags (0: the fast path); on `Exhausted` the mm's ctx is left unchanged.
 */
export function checkAndSwitchContext(
  p: AllocatorParams,
  s: AllocatorState,
  mm: MmContext,
  cpu: number,
  n: AllocatorCounters,
): SwitchFlags {
  let ctx = mm.ctx;
  if (s.active[cpu] !== 0 && ctxGen(ctx) === s.generation) {
    s.active[cpu] = ctx;
    n.fastPath++;
    return 0;
  }
  n.slowPath++;
  let flags: SwitchFlags = Switch.Slow;
  if (ctxGen(ctx) !== s.generation) {
    const before = n.rollovers;
    ctx = p.parts.new_context(p, s, mm, n);
    if (n.rollovers !== before) flags |= Switch.Rollover;
    if (ctx === NO_FREE_ASID) return flags | Switch.Exhausted;
    mm.ctx = ctx;
    flags |= Switch.NewContext;
  }
  if (s.flushPending[cpu] === 1) {
    s.flushPending[cpu] = 0;
    n.localTlbFlushes++;
    flags |= Switch.LocalFlush;
  }
  s.active[cpu] = ctx;
  return flags;
}

/**
 * `arm64_mm_context_get(mm)` (v5.10; `mm_context_get` in v2): pin the mm's ASID for a device.
 * Returns the ASID the device must use (the user half `asid | 1` under KPTI in v5.10), or 0 when
 * refused. A fresh mm gets an ASID here without being scheduled.
 *
 * @returns the outcome and the ASID packed ({@link PinResult}); read with {@link pinOutcome} / {@link pinAsid}.
 */
export function mmContextGet(p: AllocatorParams, s: AllocatorState, mm: MmContext, n: AllocatorCounters): PinResult {
  // Stryker disable next-line ConditionalExpression: equivalent, -> false: without pinned_asid_map the pin limit is 0 whatever the override (maxPinnedAsids), so the limit check refuses
  if (!s.pinnedMap) return packPin(PinOutcome.Refused, 0);
  let outcome: PinOutcome = PinOutcome.Repinned;
  if (mm.pinned > 0) {
    mm.pinned++;
  } else {
    if (s.nrPinned >= p.pinLimit.value) return packPin(PinOutcome.Refused, 0);
    if (ctxGen(mm.ctx) !== s.generation) {
      const ctx = p.parts.new_context(p, s, mm, n);
      if (ctx === NO_FREE_ASID) return packPin(PinOutcome.Exhausted, 0);
      mm.ctx = ctx;
    }
    s.nrPinned++;
    s.pinnedMap[ctxAsid(mm.ctx) >> p.idxShift] = 1;
    mm.pinned = 1;
    outcome = PinOutcome.Pinned;
  }
  let r = ctxAsid(mm.ctx);
  // Stryker disable next-line ConditionalExpression: equivalent, r !== 0 -> true: a successful get never yields ASID 0 (new_context hands out indexes >= 1); refusals return earlier
  if (r !== 0 && p.cfg.kpti) r |= 1;
  return packPin(outcome, r);
}

/**
 * `arm64_mm_context_put(mm)`: drop one pin; the last one clears the bit in `pinned_asid_map` (the
 * `asid_map` bit stays until the next rollover).
 *
 * @returns false if the mm was not pinned (unbalanced put: refcount_t would warn; state unchanged).
 */
export function mmContextPut(p: AllocatorParams, s: AllocatorState, mm: MmContext): boolean {
  if (!s.pinnedMap || mm.pinned === 0) return false;
  if (--mm.pinned === 0) {
    s.pinnedMap[ctxAsid(mm.ctx) >> p.idxShift] = 0;
    s.nrPinned--;
  }
  return true;
}

/**
 * The allocator's parts as this model has them (v5.10 `context.c`, with the switches of
 * the design files of examples/designs/allocators/ for the other versions): the base every design starts from.
 */
export const ALLOCATOR_PARTS: AllocatorParts = {
  asids_init: asidsInit,
  new_context: newContext,
  flush_context: flushContext,
  check_update_reserved_asid: (_p, s, oldCtx, newCtx) => checkUpdateReservedAsid(s, oldCtx, newCtx),
  check_and_switch_context: checkAndSwitchContext,
  arm64_mm_context_get: mmContextGet,
  arm64_mm_context_put: mmContextPut,
};
