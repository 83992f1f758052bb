/**
 * The replay report: its JSON shape (schema `asid-replay/report`, version 3) and the collector that
 * builds it from the model's observations. The report names the kernel, its era, the allocator
 * version, the driver, the design and the faults, and carries answers; it does not carry what the
 * era table says of the era (its features, its sources, the allocator's provenance), which people's
 * renderings look up from the model's tables (era-facts.ts), so adding a feature to the table
 * changes no stored expectation. Deterministic: the same trace and system give the same
 * object, with keys in a fixed order, so `--json` output is byte-identical. Its zod schema
 * (schema.ts, printed by `asid-replay schema`) is checked against {@link Report} at compile time;
 * docs/report.md documents every field.
 */
import { PinOutcome, newCounters } from '../model/cpu/allocator.js';
import type { CpuViolation, CpuViolationKind, MmRecord } from '../model/cpu/index.js';
import { CPU_VIOLATION_KINDS } from '../model/cpu/index.js';
import type { SystemObserver, SystemSummary } from '../model/system.js';
import {
  type DeviceFailure,
  type SmmuCounters,
  type StaleFinding,
  type StaleKind,
  type SvaCounters,
  STALE_KINDS,
  newSmmuCounters,
  newSvaCounters,
} from '../model/smmu/index.js';
import type { SystemConfig } from '../model/config.js';

export const REPORT_SCHEMA = 'asid-replay/report';
/**
 * The report's schema version. 3: `system.features`, `system.sources` and `allocator.source` (what the
 * era table says, not answers) left the report; version 2 had them, and `check` still accepts a
 * version-2 expectation (check/compat.ts).
 */
export const REPORT_VERSION = 3;

/** Most violations (and stale findings, device failures) listed one by one; the counts cover all. */
export const MAX_LISTED_VIOLATIONS = 10000;
/** Most rollovers listed in the time series. */
export const MAX_ROLLOVER_SERIES = 10000;
const TOP_MMS = 10;

/**
 * The source of a trace row (its `src` cell: the recording's timestamp and line), beside each row a
 * finding names, when the trace has a `src` column (report/sources.ts).
 */
export interface RowSource {
  /** Source of `row`. */
  src?: string;
  /** Source of `fillRow`. */
  fillSrc?: string;
  /** Source of `shouldHaveRow`. */
  shouldHaveSrc?: string;
}

/**
 * The system as a report names it: the {@link SystemConfig} without what the era table derives from
 * the kernel (`features`, `sources`; era-facts.ts looks them up from `kernel`).
 */
export type ReportSystem = Omit<SystemConfig, 'features' | 'sources'>;

export interface Report {
  schema: typeof REPORT_SCHEMA;
  version: typeof REPORT_VERSION;
  trace: { name: string; events: number; firstTime: number | null; lastTime: number | null };
  system: ReportSystem;
  /** The design the replay ran (`--design`, docs/designs.md); absent without one. */
  design?: { name: string; base: string; file: string; sha256: string; replaced: string[] };
  allocator: {
    variant: string;
    /** Allocatable index space: 2^asidBits, or 2^(asidBits-1) ASID pairs under KPTI. */
    numAsids: number;
    finalGeneration: number;
  };
  churn: {
    /** switch_mm calls that reached check_and_switch_context (the mm changed). */
    switches: number;
    /** schedule events that kept the CPU's mm (threads of one process, return from lazy TLB). */
    sameMmSwitches: number;
    /** schedule of task 0 / kernel threads (lazy TLB, no switch_mm). */
    idleSwitches: number;
    fastPath: number;
    slowPath: number;
    /** Fresh ASIDs from the bitmap search. */
    allocations: number;
    /** ASIDs re-used across a rollover, by new_context path. */
    reused: { reserved: number; pinned: number; free: number };
    rollovers: number;
    localTlbFlushes: number;
    tlbi: { asid: number; va: number };
    accesses: number;
    faults: number;
    mms: { created: number; changedAsid: number; asidChanges: number; top: { mm: string; asidChanges: number }[] };
    rolloverSeries: { row: number; time: number | null; generation: number }[];
    rolloverSeriesTruncated: boolean;
  };
  pins: {
    /** max_pinned_asids; null when the kernel's unsigned arithmetic underflows (no limit). */
    limit: number | null;
    limitFormula: string;
    limitReason: string;
    requests: number;
    /** First pins of an mm (a new pinned ASID). */
    pinned: number;
    /** Pins of an already-pinned mm (refcount). */
    repins: number;
    failures: number;
    firstFailureRow: number | null;
    /** Source of `firstFailureRow`, when the trace has a `src` column. */
    firstFailureSrc?: string;
    maxHeld: number;
    unpins: number;
  };
  violationCounts: Record<CpuViolationKind, number>;
  violations: (CpuViolation & Pick<RowSource, 'src' | 'fillSrc'>)[];
  violationsTruncated: boolean;
  /** The SMMUv3/SVA side (empty lists when the system declares no SMMU). */
  devices: {
    driver: string;
    /** `global` (arm_smmu_asid_xa, shared-asid and private-asid) or `per-smmu` (btm-2023). */
    asidPools: 'global' | 'per-smmu';
    smmus: ({ name: string; asidBits: number; btm: boolean; rangeInvalidation: boolean } & SmmuCounters)[];
    sva: SvaCounters & { pasidsInUse: number };
    failureCounts: { attach: number; bind: number; map: number };
    failures: (DeviceFailure & Pick<RowSource, 'src'>)[];
    failuresTruncated: boolean;
    /** Driver operations (`op` label) still in flight when the trace ended. */
    opsInFlight: ({ op: string; row: number; what: string; stepsLeft: number } & Pick<RowSource, 'src'>)[];
  };
  /** Stale IOTLB/ATC entries (docs/model.md). */
  stale: {
    /** Per kind: found at a DMA hit, and found by a latent check. */
    counts: Record<StaleKind, { hit: number; latent: number }>;
    total: number;
    findings: (StaleFinding & RowSource)[];
    truncated: boolean;
  };
}

/** Observer that accumulates a {@link Report}. */
export class ReportCollector implements SystemObserver {
  counters = { ...newCounters(), switches: 0, sameMmSwitches: 0, idleSwitches: 0, accesses: 0, faults: 0, tlbiAsid: 0, tlbiVa: 0 };
  private violations: CpuViolation[] = [];
  private violationCounts = Object.fromEntries(CPU_VIOLATION_KINDS.map((k) => [k, 0])) as Record<CpuViolationKind, number>;
  private series: Report['churn']['rolloverSeries'] = [];
  private pinsAcc = { requests: 0, pinned: 0, repins: 0, failures: 0, firstFailureRow: null as number | null, maxHeld: 0, unpins: 0 };
  private mmAcc = { created: 0, changedAsid: 0, asidChanges: 0 };
  private top: { mm: string; asidChanges: number; key: number }[] = [];
  smmuCounters: SmmuCounters[];
  sva: SvaCounters = newSvaCounters();
  private staleList: StaleFinding[] = [];
  private staleCounts = Object.fromEntries(STALE_KINDS.map((k) => [k, { hit: 0, latent: 0 }])) as Record<
    StaleKind,
    { hit: number; latent: number }
  >;
  private staleTotal = 0;
  private failureList: DeviceFailure[] = [];
  private failureCounts = { attach: 0, bind: 0, map: 0 };
  events = 0;
  /**
   * Trace time (ns) of the first and the last event that has one, and of the event being replayed
   * (for the rollover series); NaN: none. Numbers, never null: V8 keeps a field that only ever holds
   * doubles as one box written in place, where a field that may hold null allocates a number for
   * every store of a time (above 2^31), and these are written at every event.
   */
  private firstT = NaN;
  private lastT = NaN;
  /** Trace time (ns) of the event being replayed, NaN: none (see {@link now}). */
  protected nowT = NaN;

  /** The event about to be replayed has trace time `time` (ns; negative: it has none). */
  noteTime(time: number): void {
    if (time < 0) {
      this.nowT = NaN;
      return;
    }
    if (Number.isNaN(this.firstT)) this.firstT = time;
    this.lastT = time;
    this.nowT = time;
  }

  /** Trace time of the first event that had one; null if none has. */
  get firstTime(): number | null {
    return Number.isNaN(this.firstT) ? null : this.firstT;
  }

  /** Trace time of the last event that had one; null if none has. */
  get lastTime(): number | null {
    return Number.isNaN(this.lastT) ? null : this.lastT;
  }

  /** Trace time of the event being replayed; null if it has none. */
  get now(): number | null {
    return Number.isNaN(this.nowT) ? null : this.nowT;
  }

  /** @param smmus number of SMMU instances of the system */
  constructor(smmus = 0) {
    this.smmuCounters = Array.from({ length: smmus }, newSmmuCounters);
  }

  stale(f: StaleFinding): void {
    this.staleTotal++;
    this.staleCounts[f.kind][f.latent ? 'latent' : 'hit']++;
    if (this.staleList.length < MAX_LISTED_VIOLATIONS) this.staleList.push(f);
  }

  failure(f: DeviceFailure): void {
    this.failureCounts[f.call]++;
    if (this.failureList.length < MAX_LISTED_VIOLATIONS) this.failureList.push(f);
  }

  violation(v: CpuViolation): void {
    this.violationCounts[v.kind]++;
    if (this.violations.length < MAX_LISTED_VIOLATIONS) this.violations.push(v);
  }

  /**
   * A rollover, told by the model wherever `new_context` rolls over: `check_and_switch_context` (a
   * switch) and `arm64_mm_context_get` (a `pin`, or an SVA `bind` pinning the mm). Every output
   * counts rollovers from this one call.
   */
  rollover(row: number, generation: number): void {
    this.onRollover(row, generation);
  }

  /** One rollover, to `generation`, at `row` (each told once, in order; subclasses add to it). */
  protected onRollover(row: number, generation: number): void {
    if (this.series.length < MAX_ROLLOVER_SERIES) this.series.push({ row, time: this.now, generation });
  }

  pin(row: number, _mm: string, outcome: PinOutcome, _asid: number, held: number): void {
    const a = this.pinsAcc;
    a.requests++;
    if (outcome === PinOutcome.Pinned) a.pinned++;
    else if (outcome === PinOutcome.Repinned) a.repins++;
    else {
      a.failures++;
      a.firstFailureRow ??= row;
    }
    if (held > a.maxHeld) a.maxHeld = held;
  }

  unpinned(_row: number, _mm: string, _held: number): void {
    this.pinsAcc.unpins++;
  }

  retired(mm: MmRecord): void {
    this.noteMm(mm);
  }

  private noteMm(mm: MmRecord): void {
    this.mmAcc.created++;
    if (mm.asidChanges > 0) {
      this.mmAcc.changedAsid++;
      this.mmAcc.asidChanges += mm.asidChanges;
      this.considerTop(mm);
    }
  }

  private considerTop(mm: MmRecord): void {
    const t = this.top;
    if (t.length === TOP_MMS && mm.asidChanges <= t[t.length - 1]!.asidChanges) return;
    t.push({ mm: mm.label, asidChanges: mm.asidChanges, key: mm.key });
    // Most changes first; ties by creation order so the list is deterministic.
    t.sort((a, b) => b.asidChanges - a.asidChanges || a.key - b.key);
    if (t.length > TOP_MMS) t.pop();
  }

  /** Build the report from the observations and the summary of the model's final state. */
  finish(name: string, model: SystemSummary): Report {
    // The era's table (features, sources) is not an answer: the report names the kernel and era only.
    const { features: _features, sources: _sources, ...system } = model.config;
    const generation = model.allocator.generation;
    for (const mm of model.mms) this.noteMm(mm);
    const st = model.smmu;
    const n = this.counters;
    const limit = model.allocator.pinLimit;
    return {
      schema: REPORT_SCHEMA,
      version: REPORT_VERSION,
      trace: { name, events: this.events, firstTime: this.firstTime, lastTime: this.lastTime },
      system,
      allocator: {
        variant: model.allocator.variant,
        numAsids: model.allocator.available,
        finalGeneration: generation,
      },
      churn: {
        switches: n.switches,
        sameMmSwitches: n.sameMmSwitches,
        idleSwitches: n.idleSwitches,
        fastPath: n.fastPath,
        slowPath: n.slowPath,
        allocations: n.allocations,
        reused: { reserved: n.reuseReserved, pinned: n.reusePinned, free: n.reuseFree },
        rollovers: n.rollovers,
        localTlbFlushes: n.localTlbFlushes,
        tlbi: { asid: n.tlbiAsid, va: n.tlbiVa },
        accesses: n.accesses,
        faults: n.faults,
        mms: { ...this.mmAcc, top: this.top.map(({ mm, asidChanges }) => ({ mm, asidChanges })) },
        rolloverSeries: this.series,
        rolloverSeriesTruncated: n.rollovers > this.series.length,
      },
      pins: {
        limit: Number.isFinite(limit.value) ? limit.value : null,
        limitFormula: limit.formula,
        limitReason: limit.reason,
        ...this.pinsAcc,
      },
      violationCounts: this.violationCounts,
      violations: this.violations,
      violationsTruncated: this.violations.length < Object.values(this.violationCounts).reduce((a, b) => a + b, 0),
      devices: {
        driver: system.driver,
        asidPools: st.asidPools,
        smmus: st.smmus.map((m, i) => ({ ...m, ...this.smmuCounters[i]! })),
        sva: { ...this.sva, pasidsInUse: st.pasidsInUse },
        failureCounts: this.failureCounts,
        failures: this.failureList,
        failuresTruncated: this.failureList.length < this.failureCounts.attach + this.failureCounts.bind + this.failureCounts.map,
        opsInFlight: [...st.opsInFlight],
      },
      stale: {
        counts: this.staleCounts,
        total: this.staleTotal,
        findings: this.staleList,
        truncated: this.staleList.length < this.staleTotal,
      },
    };
  }
}
