/**
 * The allocator's encodings, in one place: the packed context id (`mm->context.id`), the result of
 * `check_and_switch_context` as named flags, and the result of `arm64_mm_context_get` as one number
 * (outcome and ASID; a number, not an object, because a pin is on the replay's hot path).
 */

/**
 * Generation unit of a packed context id: `gen * 2^16 + asid` (`ASID_FIRST_VERSION` is `1 << 16` since
 * c0900d15d31c; older kernels packed `gen << asid_bits`, which changes only how an id prints).
 */
export const GEN_UNIT = 0x10000;

export const ctxGen = (ctx: number): number => Math.floor(ctx / GEN_UNIT);
/**
 * The ASID of a packed context id: `ctx % GEN_UNIT`. A positive id is reduced without `%`: a
 * context id passes 2^31 at the 32,768th generation, and V8 computes `%` of such a double with a
 * call into C (fmod), a few per switch on a workload that rolls over that often. For a
 * positive number `ctx - floor(ctx / 2^16) * 2^16` is exact (division and multiplication by a power
 * of two, and a difference smaller than 2^16 of multiples of the number's last bit), so both give
 * the same value; 0, -0 and a negative id (`NO_FREE_ASID`) take `%`, which keeps the sign.
 */
// Stryker disable next-line ConditionalExpression: equivalent, -> false takes % for every id, the same value (the test only picks the faster way)
export const ctxAsid = (ctx: number): number => (ctx > 0 ? ctx - Math.floor(ctx / GEN_UNIT) * GEN_UNIT : ctx % GEN_UNIT);
export const makeCtx = (gen: number, asid: number): number => gen * GEN_UNIT + asid;

/** What {@link checkAndSwitchContext} did, as bit flags (0 = the fast path). */
export const Switch = {
  /** The slow path under `cpu_asid_lock`. */
  Slow: 1,
  /** `new_context` gave the mm a context id of the current generation. */
  NewContext: 2,
  /** `new_context` rolled the generation over (`flush_context`). */
  Rollover: 4,
  /** The CPU's pending `local_flush_tlb_all` ran. */
  LocalFlush: 8,
  /** No free ASID after a rollover (the kernel would index past `asid_map`). */
  Exhausted: 16,
} as const;
/** A set of {@link Switch} flags. */
export type SwitchFlags = number;

/** Outcome of {@link mmContextGet}. */
export const PinOutcome = {
  /** First pin of this mm: a new entry in `pinned_asid_map`. */
  Pinned: 1,
  /** The mm was already pinned: refcount incremented. */
  Repinned: 2,
  /** `nr_pinned_asids >= max_pinned_asids` (or no pinning in this variant): returns 0. */
  Refused: 3,
  /** new_context found no free ASID after a rollover. */
  Exhausted: 4,
} as const;
export type PinOutcome = (typeof PinOutcome)[keyof typeof PinOutcome];

/** `arm64_mm_context_get`'s outcome and ASID, packed: `outcome * 2^17 + asid`. */
export type PinResult = number;
const PIN_UNIT = 0x20000;
export const packPin = (outcome: PinOutcome, asid: number): PinResult => outcome * PIN_UNIT + asid;
export const pinOutcome = (r: PinResult): PinOutcome => Math.floor(r / PIN_UNIT) as PinOutcome;
export const pinAsid = (r: PinResult): number => r % PIN_UNIT;

/**
 * Warm-up, once at load: the three helpers above run with context ids past 2^31, which a replay
 * reaches only after 32,768 rollovers. V8 compiles their arithmetic for the kinds of numbers it has
 * seen: had it seen only small integers, every function that inlines them (the switch and pin
 * paths) would be thrown away at the first such id and run unoptimized until compiled again,
 * about 9% of a 2x10^5-event pin-exhaustion replay (docs/performance.md). V8 keeps no such record
 * before a function's 8th call, hence the loop. Nothing is kept: the results are discarded.
 */
// Stryker disable all: equivalent, a warm-up whose results are discarded (it only changes how V8 compiles the helpers)
for (let i = 0; i < 64; i++) void (ctxAsid(makeCtx(2 ** 20 + i, i)) + ctxGen(makeCtx(2 ** 20 + i, i)));
// Stryker restore all
