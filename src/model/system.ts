/**
 * The whole-system model: one state object and one step function over trace v1 events.
 *
 * The CPU side (tasks, mms, ASID allocator, TLBs) lives in `model/cpu`; the SMMUv3/SVA side (SMMUs,
 * masters, DMA domains, SVA contexts, IOTLBs) in `model/smmu`, which sees the CPU only through a
 * {@link CpuPort}. This file routes events and joins the two where the kernel does: pins from binds,
 * CPU TLB flushes reaching BTM SMMUs and mmu notifiers, and the mm-release path at exit.
 */
import { createHash } from 'node:crypto';
import { type AllocatorParams, type PinLimit, ctxAsid, ctxGen, freeAsids, resolveParams } from './cpu/allocator.js';
import {
  type CpuModelState,
  type CpuObserver,
  type MmRecord,
  mmRecord,
  type PtChange,
  access,
  beginStep,
  checkTouched,
  cloneCpuModel,
  createCpuModel,
  exec,
  exit,
  fork,
  mapMm,
  mprotectMm,
  pin,
  pinMm,
  schedule,
  unmapMm,
  unpin,
  unpinMm,
  walkMm,
} from './cpu/index.js';
import { tlbCanonical } from './cpu/tlb.js';
import { pageOf } from './pages.js';
import { EventError } from './errors.js';
import * as smmu from './smmu/index.js';
import type { NotifierCall } from './smmu/index.js';
import { type ModelEvent, PROT_READ, PROT_WRITE, type RawEvent, unhandledKind } from './events.js';
import type { SystemConfig } from './config.js';
import { BASE_PARTS, type KernelParts } from './kernel/parts.js';
import { VARIANT_SOURCES } from './cpu/variants.js';
import { partsFor } from './kernel/builtins.js';

export interface SystemModel {
  readonly config: SystemConfig;
  readonly params: AllocatorParams;
  /** The kernel functions it runs (code beside the state, never in it). */
  readonly parts: KernelParts;
  cpu: CpuModelState;
  smmu: smmu.SmmuModelState;
}

export interface SystemObserver extends CpuObserver, smmu.SmmuObserver {}

/** A read-only summary of a model's state, for reports. */
export interface SystemSummary {
  readonly config: SystemConfig;
  readonly allocator: { variant: string; source: string; available: number; generation: number; pinLimit: PinLimit };
  /** Address spaces still known to the CPU side (live, or exited but pinned). */
  readonly mms: readonly MmRecord[];
  readonly smmu: smmu.SmmuSummary;
}

/** What each CPU runs now: its mm (label, or null when it never ran one) and the ASID in its TTBR. */
export function cpuView(m: SystemModel): { mm: string | null; asid: number }[] {
  const s = m.cpu;
  // Stryker disable next-line ConditionalExpression: equivalent, key < 0 -> false: mms.get(-1) is undefined, and ?? null gives the same null
  return Array.from(s.ttbrMm, (key, c) => ({ mm: key < 0 ? null : (s.mms.get(key)?.label ?? null), asid: s.ttbrAsid[c]! }));
}

/** ASIDs the allocator can still hand out in the current generation (the ASID space's free part). */
export const freeAsidCount = (m: SystemModel): number => freeAsids(m.cpu.alloc);

/** IOTLB entries cached in each SMMU, in system order. */
export const iotlbOccupancy = (m: SystemModel): number[] => smmu.iotlbOccupancy(m.smmu);

export function summarize(m: SystemModel): SystemSummary {
  const p = m.params;
  return {
    config: m.config,
    allocator: {
      variant: p.cfg.variant,
      source: VARIANT_SOURCES[p.cfg.variant].source,
      available: p.available,
      generation: m.cpu.alloc.generation,
      pinLimit: p.pinLimit,
    },
    mms: [...m.cpu.mms.values()].map(mmRecord),
    smmu: smmu.summarizeSmmu(m.smmu),
  };
}

/**
 * A system at boot.
 * @param design the kernel functions it runs: the base ones, or a design's (src/design/, docs/designs.md);
 *   the built-in designs `config.faults` names are composed over them (model/kernel/builtins.ts).
 * @throws Error (internal) when a built-in design it names was not loaded (src/design/builtins.ts).
 */
export function createSystem(config: SystemConfig, design: KernelParts = BASE_PARTS): SystemModel {
  const parts = partsFor(config, design);
  const params = resolveParams(
    {
      cpus: config.cpus,
      asidBits: config.asidBits,
      kpti: config.kpti,
      unmapKernelAtEl0: config.unmapKernelAtEl0,
      variant: config.allocator,
      maxPinnedOverride: config.maxPinnedAsids,
    },
    parts,
  );
  return { config, params, parts, cpu: createCpuModel(params), smmu: smmu.createSmmuModel(config, parts) };
}

/** A deep copy sharing nothing mutable with `m` (for state-space search). */
export function cloneSystem(m: SystemModel): SystemModel {
  return { config: m.config, params: m.params, parts: m.parts, cpu: cloneCpuModel(m.cpu), smmu: smmu.cloneSmmuModel(m.smmu) };
}

/** JSON-able canonical form: Maps and Sets become arrays sorted by key, so fill order does not matter. */
function canonical(v: unknown): unknown {
  // Stryker disable next-line EqualityOperator: equivalent, the keys of one Map are distinct strings: <= / >= give the same order as < / >, or the reverse one, as canonical
  const cmp = (x: [unknown, unknown], y: [unknown, unknown]) => (String(x[0]) < String(y[0]) ? -1 : String(x[0]) > String(y[0]) ? 1 : 0);
  if (v instanceof Map) return [...v].map(([k, x]) => [k, canonical(x)] as [unknown, unknown]).sort(cmp);
  if (v instanceof Set) return [...v].map((x) => canonical(x)).sort();
  // Stryker disable next-line ConditionalExpression: equivalent, -> false: no typed array reaches canonical() (the CPU side hashes its own as bytes, the SMMU state holds none)
  if (ArrayBuffer.isView(v)) return Array.from(v as unknown as ArrayLike<number>);
  // Stryker disable next-line ConditionalExpression: equivalent, -> false: an array becomes an object of its indices, same contents in the same order, so equal and different states stay so
  if (Array.isArray(v)) return v.map(canonical);
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, canonical(x)]));
  return v;
}

/**
 * A digest of the model state (SHA-1, hex): equal states give equal digests, whatever order Maps
 * were filled in. For state-space search (visited sets) and for comparing runs.
 */
export function digestSystem(m: SystemModel): string {
  const h = createHash('sha1');
  const s = m.cpu;
  const a = s.alloc;
  h.update(JSON.stringify([a.generation, a.nrPinned, a.curIdx, s.nextKey, s.ownersGen, [...s.owners].sort((x, y) => x[0] - y[0])]));
  for (const arr of [a.asidMap, a.pinnedMap ?? new Uint8Array(0), a.active, a.reserved, a.flushPending, s.curTask, s.ttbrMm, s.ttbrAsid]) {
    h.update(new Uint8Array(arr.buffer, arr.byteOffset, arr.byteLength));
  }
  h.update(JSON.stringify(canonical([s.tasks, s.labels, s.zombies, s.mms])));
  s.tlb.cpus.forEach((_, c) => h.update(JSON.stringify([c, tlbCanonical(s.tlb, c)])));
  h.update(JSON.stringify(canonical(m.smmu)));
  return h.digest('hex');
}

/** The CPU side as the SMMU model may use it (pins, current ASID, page-table walks). */
function cpuPort(m: SystemModel, obs: SystemObserver): smmu.CpuPort {
  const s = m.cpu;
  const p = m.params;
  return {
    pin: (key, row) => pinMm(p, s, s.mms.get(key)!, row, obs),
    unpin: (key, row) => {
      const mm = s.mms.get(key);
      // Stryker disable next-line ConditionalExpression: equivalent, -> true: the SMMU side puts only pins it holds, and a held pin keeps the mm in mms (a zombie once exited)
      if (mm) unpinMm(p, s, mm, row, obs);
    },
    putWithoutGet: (key, row) => {
      const mm = s.mms.get(key);
      // Stryker disable next-line ConditionalExpression: equivalent, -> true: putWithoutGet follows a refused pin, which keeps the mm in mms (refusedPins) from then on
      if (mm) unpinMm(p, s, mm, row, obs, false);
    },
    currentAsid: (key) => {
      const mm = s.mms.get(key);
      if (!mm || mm.ctx === 0 || ctxGen(mm.ctx) !== s.alloc.generation) return 0;
      return ctxAsid(mm.ctx) | (p.cfg.kpti ? 1 : 0);
    },
    walk: (key, page) => {
      const mm = s.mms.get(key);
      return mm ? walkMm(mm, page) : { prot: 0, epoch: -1, row: 0 };
    },
    liveMm: (label) => s.labels.get(label) ?? -1,
    // Stryker disable next-line OptionalChaining,StringLiteral: equivalent, label() is asked only for the mm of a map/unmap/mprotect, which is in mms (live, or an exited pinned mm)
    label: (key) => s.mms.get(key)?.label ?? `#${key}`,
  };
}

/** A step's context, its row set per event (the SMMU side never keeps one past its step). */
type MutableCtx = { -readonly [K in keyof smmu.Ctx]: smmu.Ctx[K] };

/**
 * One context per (model, observer) pair, reused: device events are frequent, and neither the port's
 * closures nor the context object are made again for each.
 */
const contexts = new WeakMap<SystemObserver, { m: SystemModel; ctx: MutableCtx }>();

function ctxOf(m: SystemModel, obs: SystemObserver, row: number): smmu.Ctx {
  let p = contexts.get(obs);
  if (!p || p.m !== m || p.ctx.st !== m.smmu) {
    contexts.set(obs, (p = { m, ctx: { st: m.smmu, cpu: cpuPort(m, obs), obs, row, parts: m.parts } }));
  }
  p.ctx.row = row;
  return p.ctx;
}

/**
 * ASIDs a CPU broadcast TLBI for `key` carries (both halves under KPTI: `__tlbi_user`): `ASID(mm)`,
 * 0 for an mm that never ran (its TLBIs still go out, model/cpu/mappings.ts). `key` is the mm a
 * map, unmap or mprotect just changed: live, or exited and still pinned, so in `mms`.
 */
function broadcastAsids(m: SystemModel, key: number): number[] {
  const a = ctxAsid(m.cpu.mms.get(key)!.ctx);
  return m.params.cfg.kpti ? [a, a | 1] : [a];
}

/** CPUs whose TTBR0 holds mm `key` now. */
function cpusRunning(m: SystemModel, key: number): number {
  const t = m.cpu.ttbrMm;
  let n = 0;
  // Stryker disable next-line EqualityOperator: equivalent, c <= length reads undefined, never an mm key
  for (let c = 0; c < t.length; c++) if (t[c] === key) n++;
  return n;
}

/**
 * The SMMU side of a CPU page-table change of mm `key` over pages [first, last]: the BTM snoop of
 * the CPU's broadcast TLBIs, the SVA mmu notifier calls the kernel path makes, the latent check.
 *
 * - `munmap` (`unmap_region`). Before v6.6 `->invalidate_range` runs twice: first from
 *   `tlb_end_vma` -> `tlb_flush_mmu_tlbonly` (`mmu_notifier_invalidate_range`) with the mmu_gather's
 *   [tlb->start, tlb->end), only if a PTE was cleared, then from `mmu_notifier_invalidate_range_end`
 *   (`mn_hlist_invalidate_end`) with the range unmapped (a freed page table adds a call for its span:
 *   not modelled). From v6.6 (ec8832d007cb "mmu_notifiers: don't invalidate secondary TLBs as part
 *   of mmu_notifier_invalidate_range_end()", 6bbd42e2df8f "mmu_notifiers: call invalidate_range()
 *   when invalidating TLBs") only arm64's `__flush_tlb_range` calls it, once, with the flushed
 *   range, or `flush_tlb_mm` with the whole address space.
 * - `mprotect` (`change_protection`): before v6.6 from `mmu_notifier_invalidate_range_end` of
 *   `change_pmd_range`, with the range, whether or not a PTE changed, and from v6.0 (4a18419f71cd)
 *   also from the mmu_gather flush of the changed PTEs; from v6.6 from the CPU flush only.
 * - a fault that raises rights (`ptep_set_access_flags` -> `flush_tlb_page`): no notifier before
 *   v6.6; from v6.6 one call per page.
 */
function afterPtChange(
  m: SystemModel,
  obs: SystemObserver,
  key: number,
  path: 'munmap' | 'mprotect' | 'fault',
  first: number,
  last: number,
  ch: PtChange,
  row: number,
): void {
  const f = m.config.features;
  const c = ctxOf(m, obs, row);
  const asids = ch.flushed ? broadcastAsids(m, key) : [];
  // Stryker disable next-line ArrayDeclaration: equivalent, ff and fl are read only when ch.flushed is set (the BTM snoop, the flush-driven notifier calls)
  const [ff, fl] = ch.flushed ?? [first, last];
  const calls: NotifierCall[] = [];
  const range: NotifierCall = { first, last, whole: false };
  const gathered: NotifierCall = { first: ff, last: fl, whole: false };
  if (f.archNotifier) {
    // v6.6+: from the CPU flush only; a fault's flush_tlb_page once per page.
    if (ch.flushed && path === 'fault') for (let pg = ff; pg <= fl; pg++) calls.push({ first: pg, last: pg, whole: false });
    else if (ch.flushed) calls.push({ first: ff, last: fl, whole: ch.cpuWhole });
  } else if (path === 'munmap' && ch.present) {
    // tlb_end_vma -> tlb_flush_mmu_tlbonly (the cleared PTEs), then mmu_notifier_invalidate_range_end.
    // Stryker disable next-line ConditionalExpression: equivalent, -> true: unmapMm sets flushed whenever present (both are the cleared extent)
    if (ch.flushed) calls.push(gathered);
    calls.push(range);
  } else if (path === 'mprotect' && ch.present) {
    // change_pmd_range's mmu_notifier_invalidate_range_end, then (v6.0+) tlb_finish_mmu's flush.
    calls.push(range);
    if (ch.flushed && f.mprotectGather) calls.push(gathered);
  }
  const cpus = asids.length > 0 ? cpusRunning(m, key) : 0;
  smmu.invalidateSecondaryTlbs(c, key, { asids, first: ff, last: fl, cpuWhole: ch.cpuWhole, cpusRunning: cpus, calls, latent: ch.changed });
}

/*
 * The closures of an exec or exit with devices live in functions of their own: a closure in
 * `route` made V8 allocate its context at every call of `route`, whatever the event (about 74
 * bytes per event, half of a kernel-build replay's garbage).
 */
function endingExec(m: SystemModel, e: Extract<ModelEvent, { kind: 'exec' }>, obs: SystemObserver): void {
  const { task, mm, row } = e;
  endingMm(m, task, obs, row, () => exec(m.params, m.cpu, task, mm, row, obs));
}

function endingExit(m: SystemModel, e: Extract<ModelEvent, { kind: 'exit' }>, obs: SystemObserver): void {
  const { task, row } = e;
  endingMm(m, task, obs, row, () => exit(m.cpu, task, row, obs));
}

/** Run an exit/exec and, if it ended an address space, the mm-release path of the devices bound to it. */
function endingMm(m: SystemModel, task: number, obs: SystemObserver, row: number, run: () => void): void {
  const key = m.cpu.tasks.get(task);
  // Stryker disable next-line ConditionalExpression: equivalent, -> false: mms.get(undefined) is undefined too
  const mm = key === undefined ? undefined : m.cpu.mms.get(key);
  const inFlight = mm && mm.users === 1 ? smmu.bindInFlight(m.smmu, mm.key) : null;
  if (inFlight !== null) {
    // iommu_sva_bind_device runs with a reference the caller took (mmget): the address space cannot
    // be torn down before the bind returns.
    throw new EventError(
      `the last task of mm ${mm!.label} cannot end while its bind (operation ${inFlight}) is in flight: resume it first`,
      row,
      'task',
    );
  }
  run();
  if (mm && mm.users === 0 && m.smmu.svaMms.has(mm.key)) {
    const c = ctxOf(m, obs, row);
    c.parts.arm_smmu_mm_release(c, mm.key);
  }
}

/**
 * Apply one event, then check the CPU-side invariants over what it touched (`INVARIANTS`,
 * model/cpu/invariants.ts). Deterministic in (state, event).
 * @param event a validated event: the fields the event table (model/events.ts) requires for its kind are present
 *   (the trace layer checks every row against that table; `map`/`unmap` name an mm or a domain).
 * @throws EventError when the event is impossible in the current state (names the column at fault);
 *   what the step did before it threw is still checked.
 */
export function step(m: SystemModel, event: RawEvent | ModelEvent, obs: SystemObserver): void {
  beginStep(m.params, event.row);
  try {
    route(m, event as ModelEvent, obs);
  } catch (e) {
    // What the step did before it threw is checked all the same. (A catch, not a finally: a
    // finally around the step measured 1-3% slower on every profile, scripts/bench-model-ab.mjs.)
    checkTouched(m.cpu, obs);
    throw e;
  }
  checkTouched(m.cpu, obs);
}

/** Run one event's kernel paths (the touches they log are checked by {@link step}). */
function route(m: SystemModel, e: ModelEvent, obs: SystemObserver): void {
  const s = m.cpu;
  const p = m.params;
  // Stryker disable next-line ConditionalExpression,EqualityOperator: equivalent, -> true / >= 0: without an SMMU, endingMm and afterPtChange find no bind, no SVA mm and no SMMU to act on
  const devices = m.smmu.smmus.length > 0;
  switch (e.kind) {
    // Most frequent first: a switch on strings tests the cases in order.
    case 'schedule':
      return schedule(p, s, e.cpu, e.task, e.row, obs);
    case 'dma':
      return smmu.dma(ctxOf(m, obs, e.row), e.device, e.pasid, e.va, e.prot ?? PROT_READ);
    case 'fork':
      return fork(s, e.task, e.mm, e.row);
    case 'exec':
      // Stryker disable next-line ConditionalExpression: equivalent, -> false: without an SMMU endingMm is exec alone (no bind in flight, no SVA mm to release)
      if (!devices) return exec(p, s, e.task, e.mm, e.row, obs);
      return endingExec(m, e, obs);
    case 'exit':
      // Stryker disable next-line ConditionalExpression: equivalent, -> false: without an SMMU endingMm is exit alone (no bind in flight, no SVA mm to release)
      if (!devices) return exit(s, e.task, e.row, obs);
      return endingExit(m, e, obs);
    case 'pin':
      pin(p, s, e.mm, e.row, obs);
      return;
    case 'unpin':
      return unpin(p, s, e.mm, e.row, obs);
    case 'access':
      return access(p, s, e.cpu, e.va, e.row, obs);
    case 'map': {
      if (e.mm !== undefined) {
        const ch = mapMm(s, e.mm, e.va, e.size, e.prot ?? PROT_READ | PROT_WRITE, e.row, obs);
        // Stryker disable next-line ConditionalExpression,LogicalOperator: equivalent, afterPtChange acts on nothing without an SMMU, nor for a map that changed no PTE (nothing flushed, nothing to notify or check)
        if (devices && ch.changed) afterPtChange(m, obs, mmKey(m, e.mm), ch.downgrade ? 'mprotect' : 'fault', ...pages(e), ch, e.row);
        return;
      }
      const c = ctxOf(m, obs, e.row);
      return c.parts.iommu_map(c, e.domain!, e.va, e.size, e.prot ?? PROT_READ | PROT_WRITE);
    }
    case 'unmap': {
      if (e.mm !== undefined) {
        const ch = unmapMm(s, e.mm, e.va, e.size, e.row, obs);
        // Stryker disable next-line ConditionalExpression: equivalent, -> true: without an SMMU afterPtChange finds no SMMU to snoop and no SVA mm to notify
        if (devices) afterPtChange(m, obs, mmKey(m, e.mm), 'munmap', ...pages(e), ch, e.row);
        return;
      }
      const c = ctxOf(m, obs, e.row);
      return c.parts.iommu_unmap(c, e.domain!, e.va, e.size);
    }
    case 'mprotect': {
      const ch = mprotectMm(s, e.mm, e.va, e.size, e.prot, m.config.features.mprotectGather, e.row, obs);
      // Stryker disable next-line ConditionalExpression: equivalent, -> true: without an SMMU afterPtChange finds no SMMU to snoop and no SVA mm to notify
      if (devices) afterPtChange(m, obs, mmKey(m, e.mm), 'mprotect', ...pages(e), ch, e.row);
      return;
    }
    case 'attach': {
      const c = ctxOf(m, obs, e.row);
      return c.parts.arm_smmu_attach_dev(c, e.device, e.domain, m.config.multiSmmuDomains);
    }
    case 'detach': {
      const c = ctxOf(m, obs, e.row);
      return c.parts.arm_smmu_detach_dev(c, e.device);
    }
    case 'bind': {
      const c = ctxOf(m, obs, e.row);
      return c.parts.iommu_sva_bind_device(c, e.device, e.mm, e.pasid, e.op);
    }
    case 'unbind': {
      const c = ctxOf(m, obs, e.row);
      return c.parts.iommu_sva_unbind_device(c, e.device, e.mm);
    }
    case 'resume':
      return smmu.resume(ctxOf(m, obs, e.row), e.op);
    default:
      return unhandledKind(e);
  }
}

/** Pages [first, last] an event's va/size cover (validated by the CPU step that ran before). */
const pages = (e: { va: number; size: number }): [number, number] => [pageOf(e.va), pageOf(e.va + e.size - 1)];

/** Key of the mm a map/unmap just changed (live, or exited but still pinned). */
const mmKey = (m: SystemModel, label: string): number => m.cpu.labels.get(label) ?? m.cpu.zombies.get(label)!;
