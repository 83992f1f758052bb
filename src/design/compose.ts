/**
 * A design's parts composed over the base ones, each replacement guarded: an exception thrown by the
 * design's code, a result of the wrong type or a state it leaves broken (a field of the wrong type or
 * size) ends the run with a {@link DesignError} naming the design's file and line, never a stack
 * trace of ours. The model's own {@link EventError}s (an impossible event) pass through unchanged.
 * Only the replaced parts are wrapped: a system without a design runs the base parts directly.
 */
import { type AllocatorConfig, type AllocatorParams, type AllocatorState, type MmContext, NO_FREE_ASID } from '../model/cpu/allocator.js';
import { EventError } from '../model/errors.js';
import { registerRecipe } from '../model/kernel/builtins.js';
import { BASE_PARTS, type KernelParts, type PartName } from '../model/kernel/parts.js';
import { type Ctx, SMMU_PARTS, type SmmuModelState } from '../model/smmu/index.js';
import { InputError } from '../trace/errors.js';
import { DESIGN_API, type Design } from './api.js';

/** An error of a design's code (exit 2, at the design's file:line). */
export class DesignError extends InputError {}

/** Where a design's code was when it failed: the first stack frame in `url` (1-based line and column). */
export function frameIn(e: unknown, url: string): { line: number; column: number } | undefined {
  const stack = e instanceof Error ? (e.stack ?? '') : '';
  for (const l of stack.split('\n')) {
    const i = l.indexOf(url);
    if (i < 0) continue;
    const m = /^:(\d+):(\d+)/.exec(l.slice(i + url.length));
    if (m) return { line: Number(m[1]), column: Number(m[2]) };
  }
  return undefined;
}

/** Where the design defines part `name` (the first line naming it), for errors about what it returned. */
function partLine(source: string, name: string): number | undefined {
  const i = source.search(new RegExp(`\\b${name}\\b`));
  return i < 0 ? undefined : source.slice(0, i).split('\n').length;
}

const isInt = (v: unknown): v is number => Number.isSafeInteger(v);

/** What is wrong with an allocator state's types and sizes (not its values: that is the invariants' job), or undefined. */
export function allocatorShapeProblem(p: AllocatorParams, s: AllocatorState, mm?: MmContext): string | undefined {
  const typed = (what: string, v: unknown, ctor: { name: string; prototype: object }, n: number) =>
    v instanceof (ctor as unknown as typeof Uint8Array) && (v as Uint8Array).length === n
      ? undefined
      : `${what} is ${describe(v)}, not a ${ctor.name} of ${n} entries`;
  return (
    (isInt(s.generation) && s.generation >= 1 ? undefined : `s.generation is ${describe(s.generation)}, not an integer >= 1`) ??
    (isInt(s.used) && s.used >= 0 && s.used <= p.numIdx ? undefined : `s.used is ${describe(s.used)}, not an integer in 0..${p.numIdx}`) ??
    (isInt(s.curIdx) && s.curIdx >= 0 && s.curIdx <= p.numIdx
      ? undefined
      : `s.curIdx is ${describe(s.curIdx)}, not an index in 0..${p.numIdx}`) ??
    (isInt(s.nrPinned) && s.nrPinned >= 0 ? undefined : `s.nrPinned is ${describe(s.nrPinned)}, not an integer >= 0`) ??
    typed('s.asidMap', s.asidMap, Uint8Array, p.numIdx) ??
    (s.pinnedMap === null ? undefined : typed('s.pinnedMap', s.pinnedMap, Uint8Array, p.numIdx)) ??
    typed('s.active', s.active, Float64Array, p.cfg.cpus) ??
    typed('s.reserved', s.reserved, Float64Array, p.cfg.cpus) ??
    typed('s.flushPending', s.flushPending, Uint8Array, p.cfg.cpus) ??
    (mm === undefined || (isInt(mm.ctx) && mm.ctx >= 0)
      ? undefined
      : `mm.ctx is ${describe(mm.ctx)}, not a context id (an integer >= 0)`) ??
    (mm === undefined || (isInt(mm.pinned) && mm.pinned >= 0)
      ? undefined
      : `mm.pinned is ${describe(mm.pinned)}, not a count (an integer >= 0)`)
  );
}

function describe(v: unknown): string {
  if (v === null || v === undefined) return String(v);
  if (typeof v === 'object') return `a ${(v as object).constructor?.name ?? 'object'}`;
  return typeof v === 'number' ? String(v) : `${typeof v} ${JSON.stringify(v)?.slice(0, 20)}`;
}

/** What `asids_init` must return for `cfg`: an `AsidSpace` the allocator can be built from, or what is wrong. */
function asidSpaceProblem(r: unknown, cfg: AllocatorConfig): string | undefined {
  const want = 'an AsidSpace { idxShift, available, oddReservedAtBoot, oddReservedAlways, maxPinnedAsids }';
  if (typeof r !== 'object' || r === null) return want;
  const o = r as Record<string, unknown>;
  const bits = cfg.asidBits;
  if (!isInt(o.idxShift) || o.idxShift < 0 || o.idxShift >= bits) return `${want} with idxShift an integer in 0..${bits - 1}`;
  if (!isInt(o.available) || o.available < 1 || o.available > 2 ** bits) return `${want} with available an integer in 1..${2 ** bits}`;
  if (typeof o.oddReservedAtBoot !== 'boolean' || typeof o.oddReservedAlways !== 'boolean')
    return `${want} with oddReservedAtBoot and oddReservedAlways booleans`;
  if (o.maxPinnedAsids !== null && !isInt(o.maxPinnedAsids)) return `${want} with maxPinnedAsids an integer or null (no pinning)`;
  return undefined;
}

/** The check of a part that returns nothing. */
const nothing = (r: unknown): string | undefined => (r === undefined ? undefined : 'nothing (undefined)');

/** Whether `r` is `[errno, reason]`: an errno name the model reports and a string. */
const errnoPair = (r: unknown): boolean =>
  Array.isArray(r) && r.length === 2 && typeof r[0] === 'string' && /^E[A-Z]+$/.test(r[0]) && typeof r[1] === 'string';

/** The SMMU parts (their first argument is the step's context). */
const SMMU_PART: ReadonlySet<PartName> = new Set(Object.keys(SMMU_PARTS) as PartName[]);

/** What is wrong with the SMMU state's types (the containers a step reads), or undefined. */
export function smmuShapeProblem(st: SmmuModelState): string | undefined {
  for (const k of ['masters', 'domains', 'domainIds', 'svaContexts', 'svaIndex', 'svaMms', 'mmLabels', 'ops'] as const)
    if (!(st[k] instanceof Map)) return `c.st.${k} is ${describe(st[k])}, not a Map`;
  if (!Array.isArray(st.smmus) || !Array.isArray(st.pools)) return 'c.st.smmus and c.st.pools must stay arrays';
  if (!isInt(st.nextId) || st.nextId < 0) return `c.st.nextId is ${describe(st.nextId)}, not an integer >= 0`;
  return undefined;
}

/** The check of an SVA context allocation: a context id, -1 (a stepped bind installs it later) or `[errno, reason]`. */
const svaAlloc = (r: unknown): string | undefined =>
  (isInt(r) && r >= -1) || errnoPair(r) ? undefined : 'an SVA context id (an integer >= 0), -1 (installed by a resume) or [errno, reason]';

/** Parts called once at boot with the SMMU state itself (not a step's context). */
const INIT_PART: ReadonlySet<PartName> = new Set(['arm_smmu_device_hw_probe', 'arm_smmu_init_structures']);

/** What each part must return, as a check of the result and the arguments: undefined when fine, else what was expected. */
const RESULT: { [K in PartName]: (r: unknown, args: Parameters<KernelParts[K]>) => string | undefined } = {
  asids_init: (r, [cfg]) => asidSpaceProblem(r, cfg),
  new_context: (r) => (isInt(r) && (r > 0 || r === NO_FREE_ASID) ? undefined : 'a context id (an integer > 0) or api.NO_FREE_ASID'),
  flush_context: (r) => (r === undefined ? undefined : 'nothing (undefined)'),
  check_update_reserved_asid: (r) => (typeof r === 'boolean' ? undefined : 'a boolean'),
  check_and_switch_context: (r) => (isInt(r) && r >= 0 ? undefined : 'Switch flags (an integer >= 0)'),
  arm64_mm_context_get: (r) => (isInt(r) && r > 0 ? undefined : 'a PinResult (api.packPin(outcome, asid))'),
  arm64_mm_context_put: (r) => (typeof r === 'boolean' ? undefined : 'a boolean'),
  arm_smmu_domain_finalise_s1: (r) =>
    (isInt(r) && r >= 0) || errnoPair(r) ? undefined : 'an ASID (an integer >= 0) or [errno, reason] (such as ["EBUSY", "..."])',
  arm_smmu_attach_dev: nothing,
  arm_smmu_detach_dev: nothing,
  arm_smmu_domain_free: nothing,
  arm_smmu_write_ctx_desc: nothing,
  iommu_map: nothing,
  iommu_unmap: nothing,
  iommu_sva_bind_device: nothing,
  iommu_sva_unbind_device: nothing,
  iommu_sva_alloc_pasid: (r) => (r === null || errnoPair(r) ? undefined : 'null (sva.pasid set) or [errno, reason]'),
  arm_smmu_alloc_shared_cd: (r) =>
    r === null ||
    (typeof r === 'object' &&
      isInt((r as { asid?: unknown }).asid) &&
      (r as { asid: number }).asid >= 0 &&
      typeof (r as { pinned?: unknown }).pinned === 'boolean')
      ? undefined
      : 'null (-ESRCH) or { asid, pinned } (asid an integer >= 0, pinned a boolean)',
  arm_smmu_share_asid: nothing,
  arm_smmu_device_hw_probe: nothing,
  arm_smmu_init_structures: nothing,
  arm_smmu_sva_domain_alloc: svaAlloc,
  arm_smmu_mmu_notifier_get: svaAlloc,
  arm_smmu_sva_btm_domain_alloc: svaAlloc,
  arm_smmu_sva_unbind: nothing,
  arm_smmu_mmu_notifier_put: nothing,
  arm_smmu_mm_release: nothing,
  arm_smmu_mm_arch_invalidate_secondary_tlbs: (r) =>
    typeof r === 'string' ? undefined : "a string ('' when every invalidation removed what it had to)",
  __flush_tlb_range: nothing,
  __arm_smmu_tlb_inv_range: (r) => (typeof r === 'boolean' ? undefined : 'a boolean (false: the commands removed nothing)'),
  arm_smmu_tlb_inv_asid: nothing,
  arm_smmu_atc_inv_domain: nothing,
};

/** A loaded design file: what composing needs to name it in errors. */
export interface DesignSource {
  /** The path as the user gave it (errors name it). */
  file: string;
  /** Its file: URL (stack frames name it). */
  url: string;
  /** Its text (for the line of a part). */
  source: string;
}

/**
 * The parts a system runs under `design`: the base parts with the design's replacements, each
 * wrapped to turn what goes wrong in the design's code into a {@link DesignError}.
 * @throws DesignError when a replacement factory throws or returns something else than a function.
 */
export function composeParts(design: Design, src: DesignSource, base: KernelParts = BASE_PARTS): KernelParts {
  const parts: Record<string, unknown> = { ...base };
  for (const [name, make] of Object.entries(design.parts) as [PartName, (b: unknown, api: typeof DESIGN_API) => unknown][]) {
    if (make === undefined) continue;
    let impl: unknown;
    try {
      impl = make(base[name], DESIGN_API);
    } catch (e) {
      throw designError(e, src, name, 'building the replacement');
    }
    if (typeof impl !== 'function')
      throw new DesignError(
        `parts.${name} must be a function (base, api) => replacement returning the new ${name}; it returned ${describe(impl)}`,
        src.file,
        partLine(src.source, name),
      );
    parts[name] = guard(name, impl as (...a: unknown[]) => unknown, src);
  }
  const out = parts as unknown as KernelParts;
  // A system composes its driver design (`--driver`, the kernel's) under the design: made again over those parts.
  registerRecipe(out, (b) => composeParts(design, src, b));
  return out;
}

function designError(e: unknown, src: DesignSource, name: string, doing: string): DesignError {
  const at = frameIn(e, src.url);
  const what = e instanceof Error ? `${e.name}: ${e.message}` : `threw ${describe(e)}`;
  return new DesignError(`${name} (${doing}): ${what}`, src.file, at?.line ?? partLine(src.source, name), at?.column);
}

/** Part `name`'s replacement, checked: its exceptions, its result, and the allocator state it leaves. */
function guard(name: PartName, impl: (...a: unknown[]) => unknown, src: DesignSource): (...a: unknown[]) => unknown {
  const check = RESULT[name] as (r: unknown, args: unknown[]) => string | undefined;
  const smmu = SMMU_PART.has(name);
  return (...args: unknown[]) => {
    let r: unknown;
    try {
      r = impl(...args);
    } catch (e) {
      if (e instanceof EventError || e instanceof DesignError) throw e;
      throw designError(e, src, name, 'running');
    }
    const wrong = check(r, args);
    if (wrong !== undefined)
      throw new DesignError(`${name} returned ${describe(r)}; expected ${wrong}`, src.file, partLine(src.source, name));
    // asids_init runs before there is a state: its result is all there is to check.
    if (name === 'asids_init') return r;
    let broken: string | undefined;
    if (smmu) broken = smmuShapeProblem(INIT_PART.has(name) ? (args[0] as SmmuModelState) : (args[0] as Ctx).st);
    else {
      const [p, s, mm] = args as [AllocatorParams, AllocatorState, unknown];
      const mmArg = typeof mm === 'object' && mm !== null ? (mm as MmContext) : undefined;
      broken = allocatorShapeProblem(p, s, mmArg);
    }
    if (broken !== undefined) throw new DesignError(`${name} left the state broken: ${broken}`, src.file, partLine(src.source, name));
    return r;
  };
}
