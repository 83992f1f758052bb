/**
 * Time series and timelines of a replay, for the pictures (`replay --html`, `--perfetto`,
 * `--timeseries`, `compare --html`).
 *
 * {@link SeriesCollector} is a {@link ReportCollector} (so the report is unchanged) that also sees
 * every event (the engine's `tap` hook) and samples the report counters into buckets on the time
 * axis: trace time in ns, or the trace row when the trace has no time. Two modes:
 *
 * - adaptive (always, kept): at most `maxPoints` buckets (default {@link MAX_POINTS}); when a bucket
 *   past the last is needed, neighbouring buckets are merged in pairs and the width doubles, so
 *   memory is bounded whatever the trace length;
 * - fixed `interval` (optional): one bucket per interval, each handed to `onBucket` when it closes
 *   (streamed, nothing kept).
 *
 * Counts come from what the observer is told (counters, callbacks), the same events the report
 * counts, so every output tells one story (docs/pictures.md, test/one-story.test.ts); levels the
 * observer does not carry come from the model's read-only exports (`summarize`, `freeAsidCount`,
 * `iotlbOccupancy`), the TTBR of one CPU ({@link ttbrAsid}, `cpuView` for one CPU) and, after a put,
 * the allocator's `nr_pinned_asids`. The per-CPU timeline follows the trace's `schedule` and
 * `exec` rows, each task's mm as the model holds it after the step.
 *
 * Cost: the per-event work is a bucket index and, at a change of mm on a CPU, a few typed-array
 * stores (no object per switch): a picture costs little next to the replay itself.
 */
import { PinOutcome } from '../model/cpu/allocator.js';
import { mmOfTask } from '../model/cpu/state.js';
import type { CpuViolation } from '../model/cpu/index.js';
import { type SystemModel, freeAsidCount, iotlbOccupancy, summarize } from '../model/system.js';
import { type DeviceFailure, type SmmuCounters, type StaleFinding, newSmmuCounters } from '../model/smmu/index.js';
import type { SystemConfig } from '../model/config.js';
import type { TraceEvent } from '../trace/events.js';
import { ReportCollector } from './report.js';

/** SMMU command opcodes, in the order the report lists them. */
const OPCODES = Object.keys(newSmmuCounters().commands) as (keyof SmmuCounters['commands'])[];

/** Most buckets an adaptive series holds (so a picture stays small whatever the trace length). */
export const MAX_POINTS = 2000;
/** Most findings of each class (rollovers, violations, stale entries, pin and device failures) kept for the time axis. */
export const MAX_FINDING_POINTS = 2000;
/** Most distinct mm labels the per-CPU timeline names (later ones are shown as "other"). */
export const MAX_MM_LABELS = 4096;
/** Slots of the cache of mm indexes by mm key (see `SeriesCollector.slotKey`). */
export const MM_SLOTS = 8192;

export * from './series-types.js';
import type { ColumnKind, ColumnSpec, FindingPoint, Series, SeriesOptions } from './series-types.js';
import { Bucketer, type Getter } from './bucketer.js';

/** The fields of an event the collector reads (any event kind). */
interface EventView {
  row: number;
  kind: string;
  cpu?: number;
  task?: number;
}

/**
 * The ASID in CPU `cpu`'s TTBR when the mm installed there is labelled `mm`; -1 otherwise (the CPU
 * runs another mm: the switch found no free ASID; or there is no such CPU). Equal to
 * `cpuView(m)[cpu]`'s ASID when its mm is `mm` (test/perfetto.test.ts compares them after every
 * event of the corpus), without building the view of every CPU: the timeline reads it at every
 * change of mm on a CPU, and `cpuView` there cost about a tenth of a picture run's time.
 */
export function ttbrAsid(m: SystemModel, cpu: number, mm: string): number {
  const s = m.cpu;
  if (!(cpu < s.ttbrMm.length)) return -1;
  const key = s.ttbrMm[cpu]!;
  if (key < 0 || s.mms.get(key)?.label !== mm) return -1;
  return s.ttbrAsid[cpu]!;
}

/**
 * A report collector that also samples the series (see the file comment). Pass it to the engine
 * through `replayFile(..., { tap: (system, model) => new SeriesCollector(system, model, opts) })`.
 */
export class SeriesCollector extends ReportCollector {
  private readonly opts: SeriesOptions;
  private readonly model: SystemModel;
  private readonly getters: Getter[] = [];
  readonly columns: ColumnSpec[];
  private readonly limits: Series['limits'];
  /** The adaptive series (kept), and the fixed-interval one when asked for (streamed). */
  private readonly main: Bucketer;
  private readonly fixed: Bucketer | undefined;
  private readonly maxCols: number[];
  private axis: 'time' | 'row' | null = null;
  private lastX = 0;
  // Observed quantities (cumulative) the counters do not hold.
  private acc = {
    violations: 0,
    staleHits: 0,
    staleLatent: 0,
    pinRequests: 0,
    pinFailures: 0,
    deviceFailures: 0,
    unpins: 0,
    rollovers: 0,
  };
  private generation: number;
  /** `nr_pinned_asids` after the last pin or unpin. */
  private pinned = 0;
  private lastRow = 0;
  private findingList: FindingPoint[] = [];
  private findingsDropped = 0;
  /** Findings of each class, all of them (the list keeps at most {@link MAX_FINDING_POINTS} of each). */
  private findingCounts: Record<FindingPoint['class'], number> = {
    rollover: 0,
    'pin-failure': 0,
    violation: 0,
    stale: 0,
    'device-failure': 0,
  };
  // Per-CPU timeline, from the trace's schedule and exec rows; a task's mm is the model's
  // (`mmOfTask`, its label the trace's mm, or `<task>@<row>` for a fork or exec without
  // one): a map of the collector's own, set at every fork and exec, doubled the replay's
  // medium-lived garbage.
  private cpuTask: Int32Array;
  /**
   * What each CPU runs since its last change of mm (a slice of the timeline), one array per field
   * indexed by CPU: the mm's label (null: idle, or nothing yet), the task that switched it in, at which x,
   * row and generation, and the ASID in the CPU's TTBR then (-1: none; only read with a timeline).
   */
  private runMm: (string | null)[];
  /** The model's key of each CPU's mm ({@link TimelineSink.slice}'s `mmKey`). */
  private runKey: Float64Array;
  private runTask: Float64Array;
  private runStart: Float64Array;
  private runRow: Float64Array;
  private runGen: Float64Array;
  private runAsid: Int32Array;
  private mmIndex = new Map<string, number>();
  private mmLabels: string[] = [];
  /**
   * The index of each mm by the model's key, a direct-mapped cache in front of {@link mmIndex}
   * (slot `key & mask`, `mask` the slots less one; key -1: empty). An mm's label, and so its index,
   * never changes; most switches are to an mm that ran before, and the string Map cost about a
   * tenth of a picture's price.
   */
  private readonly slotKey: Float64Array;
  private readonly slotIdx: Int32Array;
  private readonly mask: number;
  private cpuMmIdx: Float64Array;

  /**
   * @param system the system being replayed
   * @param model the model the engine steps (read only through `summarize`)
   */
  constructor(system: SystemConfig, model: SystemModel, opts: SeriesOptions = {}) {
    super(system.smmus.length);
    this.opts = opts;
    this.model = model;
    const sum = summarize(model);
    this.generation = sum.allocator.generation;
    const limit = sum.allocator.pinLimit.value;
    this.limits = { numAsids: sum.allocator.available, pinLimit: Number.isFinite(limit) ? limit : null, cpus: system.cpus };
    const n = this.counters;
    const a = this.acc;
    const add = (name: string, kind: ColumnKind, help: string, get: () => number, extra: Partial<ColumnSpec> = {}) =>
      this.getters.push({ spec: { name, kind, help, ...extra }, get });
    add('events', 'sum', 'events replayed', () => this.events);
    add('switches', 'sum', 'switch_mm calls (the mm changed)', () => n.switches);
    add('slow_path', 'sum', 'check_and_switch_context slow paths', () => n.slowPath);
    add('allocations', 'sum', 'fresh ASIDs from the bitmap search', () => n.allocations);
    add('reused_reserved', 'sum', 'ASIDs re-used after a rollover: reserved', () => n.reuseReserved);
    add('reused_pinned', 'sum', 'ASIDs re-used after a rollover: pinned', () => n.reusePinned);
    add('reused_free', 'sum', 'ASIDs re-used after a rollover: still free', () => n.reuseFree);
    add('rollovers', 'sum', 'generation rollovers (in switches, pins and binds)', () => a.rollovers);
    add('local_tlb_flushes', 'sum', 'local_flush_tlb_all after a rollover', () => n.localTlbFlushes);
    add('tlbi_asid', 'sum', 'CPU broadcast TLBI by ASID', () => n.tlbiAsid);
    add('tlbi_va', 'sum', 'CPU broadcast TLBI by VA', () => n.tlbiVa);
    add('pin_requests', 'sum', 'arm64_mm_context_get calls', () => a.pinRequests);
    add('pin_failures', 'sum', 'arm64_mm_context_get refused', () => a.pinFailures);
    add('unpins', 'sum', 'arm64_mm_context_put calls', () => a.unpins);
    add('violations', 'sum', 'CPU invariant violations', () => a.violations);
    add('stale_hits', 'sum', 'stale IOTLB/ATC entries used by a DMA', () => a.staleHits);
    add('stale_latent', 'sum', 'stale IOTLB/ATC entries found right after an invalidation', () => a.staleLatent);
    add('device_failures', 'sum', 'failed attach, bind and iommu_map calls', () => a.deviceFailures);
    add('generation', 'last', 'ASID generation at the end of the bucket', () => this.generation);
    add('asids_in_use', 'last', 'ASIDs the allocator holds in the current generation at the end of the bucket', () => this.inUseNow());
    add('pinned', 'last', 'pinned ASIDs (nr_pinned_asids) at the end of the bucket', () => this.pinned);
    add('pinned_max', 'max', 'most pinned ASIDs held at once in the bucket', () => this.pinned);
    add('free_asids', 'last', 'ASIDs new_context can still hand out in the generation, at the end of the bucket', () =>
      freeAsidCount(model),
    );
    system.smmus.forEach((s, i) => {
      const c = () => this.smmuCounters[i]!;
      add(`${s.name}.iotlb_hits`, 'sum', 'IOTLB hits', () => c().hits, { smmu: s.name });
      add(`${s.name}.iotlb_misses`, 'sum', 'IOTLB misses', () => c().misses, { smmu: s.name });
      add(`${s.name}.iotlb_fills`, 'sum', 'IOTLB fills', () => c().fills, { smmu: s.name });
      add(`${s.name}.atc_hits`, 'sum', 'ATC hits', () => c().atcHits, { smmu: s.name });
      add(`${s.name}.dma_faults`, 'sum', 'DMA faults', () => c().faults, { smmu: s.name });
      add(`${s.name}.iotlb_entries`, 'last', 'IOTLB entries cached at the end of the bucket', () => iotlbOccupancy(model)[i]!, {
        smmu: s.name,
      });
      add(`${s.name}.asids_allocated`, 'sum', 'SMMU ASIDs allocated', () => c().asidsAllocated, { smmu: s.name });
      add(`${s.name}.asids_freed`, 'sum', 'SMMU ASIDs freed', () => c().asidsFreed, { smmu: s.name });
      add(`${s.name}.asids_moved`, 'sum', 'SMMU ASIDs moved (arm_smmu_share_asid)', () => c().asidsMoved, { smmu: s.name });
      add(`${s.name}.cmdlists`, 'sum', 'arm_smmu_cmdq_issue_cmdlist calls', () => c().cmdlists, { smmu: s.name });
      for (const op of OPCODES) add(`${s.name}.${op}`, 'sum', `${op} commands`, () => c().commands[op], { smmu: s.name });
    });
    this.cpuMmIdx = new Float64Array(system.cpus).fill(-1);
    for (let cpu = 0; cpu < system.cpus; cpu++)
      add(
        `cpu${cpu}.mm`,
        'last',
        `mm running on CPU ${cpu} at the end of the bucket (index into the mm list; -1 idle)`,
        () => this.cpuMmIdx[cpu]!,
        { cpu },
      );
    this.columns = this.getters.map((g) => g.spec);
    this.maxCols = this.columns.flatMap((c, i) => (c.kind === 'max' ? [i] : []));
    this.main = new Bucketer(this.getters, undefined, Math.max(2, opts.maxPoints ?? MAX_POINTS), undefined);
    this.fixed =
      opts.interval !== undefined && opts.onBucket ? new Bucketer(this.getters, opts.interval, Infinity, opts.onBucket) : undefined;
    this.cpuTask = new Int32Array(system.cpus);
    this.runMm = Array.from({ length: system.cpus }, () => null);
    this.runKey = new Float64Array(system.cpus);
    const slots = opts.mmSlots ?? MM_SLOTS;
    this.slotKey = new Float64Array(slots).fill(-1);
    this.slotIdx = new Int32Array(slots);
    this.mask = slots - 1;
    this.runTask = new Float64Array(system.cpus);
    this.runStart = new Float64Array(system.cpus);
    this.runRow = new Float64Array(system.cpus);
    this.runGen = new Float64Array(system.cpus);
    this.runAsid = new Int32Array(system.cpus);
  }

  /**
   * ASIDs the allocator holds in the current generation (`asid_map` entries: handed out, or kept
   * across the rollover as reserved or pinned), ASID 0 and the odd ASIDs KPTI reserves left out: at
   * most the allocatable ASIDs, and with `free_asids` exactly them after the first rollover. In
   * generation 1 nothing is kept, so it is the fresh allocations (a kernel built with
   * CONFIG_UNMAP_KERNEL_AT_EL0 reserves the odd ASIDs until the first rollover: fewer are free).
   */
  private inUseNow(): number {
    const n = this.counters;
    if (this.generation === 1) return n.allocations + n.reuseFree;
    return this.limits.numAsids - 1 - freeAsidCount(this.model);
  }

  // --- observer callbacks (the report keeps its own counts: call super) ---

  override violation(v: CpuViolation): void {
    super.violation(v);
    this.acc.violations++;
    this.find({
      x: this.lastX,
      row: v.row,
      class: 'violation',
      kind: v.kind,
      fillRow: v.fillRow,
      detail: v.detail,
      ...(v.asid !== undefined ? { asid: v.asid } : {}),
      ...(v.mm !== undefined ? { mm: v.mm } : {}),
    });
  }

  override stale(f: StaleFinding): void {
    super.stale(f);
    if (f.latent) this.acc.staleLatent++;
    else this.acc.staleHits++;
    this.find({
      x: this.lastX,
      row: f.row,
      class: 'stale',
      kind: f.kind + (f.latent ? ' (latent)' : ''),
      fillRow: f.fillRow,
      shouldHaveRow: f.shouldHaveRow ?? undefined,
      detail: f.detail,
      smmu: f.smmu,
      device: f.device,
      pasid: f.pasid,
      asid: f.asid,
      va: f.va,
      mm: f.owner,
    });
  }

  override failure(f: DeviceFailure): void {
    super.failure(f);
    this.acc.deviceFailures++;
    this.find({
      x: this.lastX,
      row: f.row,
      class: 'device-failure',
      kind: `${f.call} -${f.errno}`,
      detail: f.detail,
      ...(f.smmu !== null ? { smmu: f.smmu } : {}),
      ...(f.device !== null ? { device: f.device } : {}),
    });
  }

  /** Every rollover, whichever call rolled over (switch, pin, bind): the report's series tells the same ones. */
  protected override onRollover(row: number, generation: number): void {
    super.onRollover(row, generation);
    this.acc.rollovers++;
    this.generation = generation;
    this.find({ x: this.lastX, row, class: 'rollover', kind: 'rollover', detail: `generation ${generation}` });
  }

  override pin(row: number, mm: string, outcome: PinOutcome, asid: number, held: number): void {
    super.pin(row, mm, outcome, asid, held);
    this.acc.pinRequests++;
    if (outcome !== PinOutcome.Pinned && outcome !== PinOutcome.Repinned) {
      this.acc.pinFailures++;
      this.find({
        x: this.lastX,
        row,
        class: 'pin-failure',
        kind: outcome === PinOutcome.Exhausted ? 'no free ASID' : 'pin refused',
        detail: `pin of mm ${mm} refused (${held} pinned)`,
        mm,
      });
    }
    this.pinned = held;
    this.noteMax();
  }

  override unpinned(row: number, mm: string, held: number): void {
    super.unpinned(row, mm, held);
    this.acc.unpins++;
    // The level is nr_pinned_asids after the put, as `pin()` reports it (an SVA unbind, an exit's mm
    // release or a `resume` puts the pin of an mm the event does not name).
    this.pinned = held;
  }

  private find(p: FindingPoint): void {
    if (this.findingCounts[p.class]++ < MAX_FINDING_POINTS) this.findingList.push(p);
    else this.findingsDropped++;
    this.opts.timeline?.instant(p.x, p);
  }

  /** The x axis: trace time (ns), or the trace row when the trace has no time (known after the first event). */
  get axisName(): 'time' | 'row' {
    return this.axis ?? 'row';
  }

  /** The mm label of a per-CPU column value. */
  mmLabel(i: number): string {
    return this.mmLabels[i] ?? 'other';
  }

  // --- the event hook ---

  /** Before the step (its time noted: `nowT`, NaN for none): close the bucket if this event starts another. */
  beforeEvent(ev: TraceEvent): void {
    const e = ev as EventView;
    const time = this.nowT;
    const timed = !Number.isNaN(time);
    let x: number;
    if (this.axis === null) {
      this.axis = timed ? 'time' : 'row';
      x = this.axis === 'time' ? time : e.row;
      this.main.start(x);
      this.fixed?.start(x);
      this.lastX = x;
    } else {
      x = this.axis === 'time' ? (timed ? time : this.lastX) : e.row;
      this.lastX = x;
    }
    this.lastRow = e.row;
    // Bucketer.at(x), written out: a call V8 does not inline (its budget goes to the step) boxes
    // x, a double, once per event; advance() is called at a new bucket only.
    const b = this.main;
    const idx = Math.floor((x - b.origin) / b.width);
    // Stryker disable next-line EqualityOperator: equivalent, idx >= cur closes the open bucket and reopens it (advance: the same sums, maxima and levels), only slower
    if (idx > b.cur) b.advance(idx, x);
    const f = this.fixed;
    if (f) {
      const fIdx = Math.floor((x - f.origin) / f.width);
      if (fIdx > f.cur) f.advance(fIdx, x);
    }
  }

  /** After the step: timeline bookkeeping and running maxima. */
  afterEvent(ev: TraceEvent): void {
    const e = ev as EventView;
    switch (e.kind) {
      case 'exec': {
        for (let c = 0; c < this.cpuTask.length; c++) if (this.cpuTask[c] === e.task) this.run(c, e.task!, e.row, true);
        break;
      }
      case 'schedule':
        this.run(e.cpu!, e.task!, e.row, false);
        break;
      default:
        break;
    }
  }

  private noteMax(): void {
    for (const i of this.maxCols) {
      const v = this.getters[i]!.get();
      this.main.noteMax(i, v);
      this.fixed?.noteMax(i, v);
    }
  }

  private mmIdx(label: string): number {
    let i = this.mmIndex.get(label);
    if (i === undefined) {
      if (this.mmLabels.length >= MAX_MM_LABELS) return MAX_MM_LABELS;
      i = this.mmLabels.length;
      this.mmLabels.push(label);
      this.mmIndex.set(label, i);
    }
    return i;
  }

  /** CPU `cpu` now runs `task` (0: idle); a new slice when its mm changes (or `force`, exec). */
  private run(cpu: number, task: number, row: number, force: boolean): void {
    if (cpu >= this.cpuTask.length) return;
    this.cpuTask[cpu] = task;
    // after the step, the model holds the task's mm (a switch to a task it does not know throws)
    const state = task === 0 ? undefined : mmOfTask(this.model.cpu, task);
    const mm = task === 0 ? null : (state?.label ?? `task ${task}`);
    const prev = this.runMm[cpu]!;
    if (prev !== null && mm !== null && prev === mm && !force) return;
    const x = this.lastX;
    const timeline = this.opts.timeline;
    if (prev !== null)
      timeline?.slice(
        cpu,
        this.runStart[cpu]!,
        x,
        prev,
        this.runTask[cpu]!,
        this.runRow[cpu]!,
        row,
        this.runGen[cpu]!,
        this.runAsid[cpu]!,
        this.runKey[cpu]!,
      );
    this.runMm[cpu] = mm;
    if (mm === null) {
      this.cpuMmIdx[cpu] = -1;
      return;
    }
    this.runKey[cpu] = state?.key ?? -1;
    this.runTask[cpu] = task;
    this.runStart[cpu] = x;
    this.runRow[cpu] = row;
    this.runGen[cpu] = this.generation;
    // the ASID in the CPU's TTBR, if the switch installed this mm there (not after a no-free-asid)
    if (timeline) this.runAsid[cpu] = ttbrAsid(this.model, cpu, mm);
    const key = this.runKey[cpu]!;
    const slot = key & this.mask;
    // with no slots (mask -1) slotKey[slot] is undefined: never equal to a key
    // Stryker disable next-line EqualityOperator: equivalent, a running task's mm is the model's (key >= 0 always), and a miss takes the label Map
    if (key >= 0 && this.slotKey[slot] === key) this.cpuMmIdx[cpu] = this.slotIdx[slot]!;
    else {
      const i = this.mmIdx(mm);
      this.cpuMmIdx[cpu] = i;
      // Stryker disable next-line ConditionalExpression,LogicalOperator,EqualityOperator,BlockStatement: equivalent, not storing only misses more; storing a key of -1 or into no slots is never read back (a slot past the arrays is dropped)
      if (key >= 0 && this.mask >= 0) {
        this.slotKey[slot] = key;
        this.slotIdx[slot] = i;
      }
    }
  }

  /**
   * Close the last bucket and the running slices; call once after the replay (the report comes
   * from `finish`, as for any collector).
   */
  end(): Series {
    if (this.axis !== null) {
      this.main.close();
      this.fixed?.close();
      const end = this.lastX;
      this.runMm.forEach((r, cpu) => {
        if (r)
          this.opts.timeline?.slice(
            cpu,
            this.runStart[cpu]!,
            end,
            r,
            this.runTask[cpu]!,
            this.runRow[cpu]!,
            this.lastRow,
            this.runGen[cpu]!,
            this.runAsid[cpu]!,
            this.runKey[cpu]!,
          );
        this.runMm[cpu] = null;
      });
    }
    return {
      axis: this.axis ?? 'row',
      width: this.main.width,
      x: this.main.xs,
      columns: this.columns,
      values: this.main.values,
      mms: this.mmLabels.length >= MAX_MM_LABELS ? [...this.mmLabels, 'other'] : this.mmLabels,
      findings: this.findingList,
      findingsTruncated: this.findingsDropped > 0,
      findingCounts: { ...this.findingCounts },
      limits: this.limits,
    };
  }
}
