/**
 * `replay --perfetto trace.json`: the Chrome Trace Event Format (JSON object form) that
 * ui.perfetto.dev and chrome://tracing open.
 *
 * - process 1 "CPUs": a thread per CPU (tid = CPU + 1) with a complete slice (`ph: "X"`) for each
 *   stretch an mm runs, named `<mm> gen <generation>`, args: mm, task, row (the schedule that
 *   switched it in), endRow, generation;
 * - process 2 "ASID allocator": instant events (`ph: "i"`) for rollovers, pin failures, violations,
 *   stale entries and device failures, one thread each, args with the trace row (and fill row,
 *   should-have row); counter tracks (`ph: "C"`) for the generation, ASIDs in use and free, pinned
 *   ASIDs (end of bucket, most in it) against the limit, pins / pin failures / unpins, allocations and
 *   switches per bucket;
 * - process 3 + i: counters of SMMU i (IOTLB occupancy, hits / misses / fills, SMMU ASIDs
 *   allocated / freed / moved, commands by opcode).
 *
 * Every count comes from the series (the observer's events): the instants of a class are the
 * series' findings of it, as many as the report counts (`otherData.findings`).
 *
 * `ts` and `dur` are microseconds: trace time (ns) / 1000, or the trace row when the trace has no
 * time. Slices and instants are streamed as the replay goes (memory flat in trace length); at most
 * {@link MAX_SLICES} slices and {@link MAX_INSTANTS} instants of each class are written; counters
 * are the bucketed series.
 */
import type { Writable } from 'node:stream';
import type { FindingPoint, Series, TimelineSink } from './series.js';

/** Most instant events written per class (rollover, violation, ...); the counters cover all. */
export const MAX_INSTANTS = 100_000;
/**
 * Most slices written (about 120 bytes each: the file stays under about 250 MB, which the Perfetto
 * UI's JSON importer still opens); later slices are counted in `otherData.slicesDropped`.
 */
export const MAX_SLICES = 2_000_000;

const CLASSES: FindingPoint['class'][] = ['rollover', 'pin-failure', 'violation', 'stale', 'device-failure'];
const CLASS_NAMES: Record<FindingPoint['class'], string> = {
  rollover: 'rollovers',
  'pin-failure': 'pin failures',
  violation: 'violations',
  stale: 'stale IOTLB/ATC entries',
  'device-failure': 'device failures',
};

/** Trace Event JSON writer; a {@link TimelineSink} for the series collector. */
export class PerfettoWriter implements TimelineSink {
  private buf = '';
  private first = true;
  private axis: 'time' | 'row' | null = null;
  private readonly instants = new Map<string, number>();
  private dropped = 0;
  private slices = 0;
  private slicesDropped = 0;

  /**
   * @param out the stream the JSON goes to
   * @param cpus number of CPUs (one thread each)
   * @param smmus SMMU names (one process each)
   * @param axis the collector's axis (read when the first event is written)
   */
  constructor(
    private readonly out: Writable,
    cpus: number,
    private readonly smmus: readonly string[],
    private readonly axisOf: () => 'time' | 'row',
  ) {
    this.buf = '{"traceEvents":[\n';
    this.meta(1, 0, 'process_name', { name: 'CPUs' });
    this.meta(1, 0, 'process_sort_index', { sort_index: 1 });
    for (let c = 0; c < cpus; c++) {
      this.meta(1, c + 1, 'thread_name', { name: `CPU ${c}` });
      this.meta(1, c + 1, 'thread_sort_index', { sort_index: c });
    }
    this.meta(2, 0, 'process_name', { name: 'ASID allocator' });
    this.meta(2, 0, 'process_sort_index', { sort_index: 2 });
    CLASSES.forEach((k, i) => this.meta(2, i + 1, 'thread_name', { name: CLASS_NAMES[k] }));
    smmus.forEach((name, i) => {
      this.meta(3 + i, 0, 'process_name', { name: `SMMU ${name}` });
      this.meta(3 + i, 0, 'process_sort_index', { sort_index: 3 + i });
    });
  }

  private meta(pid: number, tid: number, name: string, args: object): void {
    this.push({ ph: 'M', pid, tid, name, args });
  }

  private push(ev: object): void {
    this.line(JSON.stringify(ev));
  }

  private line(json: string): void {
    this.buf += (this.first ? '' : ',\n') + json;
    this.first = false;
    if (this.buf.length > 65536) {
      this.out.write(this.buf);
      this.buf = '';
    }
  }

  /** x (ns or row) as microseconds. */
  private ts(x: number): number {
    this.axis ??= this.axisOf();
    return this.axis === 'time' ? x / 1000 : x;
  }

  slice(
    cpu: number,
    start: number,
    end: number,
    mm: string,
    args: { task: number; row: number; endRow: number; generation: number; asid: number },
  ): void {
    if (this.slices >= MAX_SLICES) {
      this.slicesDropped++;
      return;
    }
    this.slices++;
    const ts = this.ts(start);
    const dur = Math.max(0, this.ts(end) - ts);
    // The hot path (one per switch): a template, not JSON.stringify of an object.
    this.line(
      `{"ph":"X","pid":1,"tid":${cpu + 1},"ts":${ts},"dur":${dur},"name":${JSON.stringify(`${mm} ${args.asid >= 0 ? `ASID ${args.asid}` : 'no ASID'} gen ${args.generation}`)},"args":{"mm":${JSON.stringify(mm)},"asid":${args.asid},"task":${args.task},"row":${args.row},"endRow":${args.endRow},"generation":${args.generation}}}`,
    );
  }

  instant(x: number, p: FindingPoint): void {
    const n = this.instants.get(p.class) ?? 0;
    if (n >= MAX_INSTANTS) {
      this.dropped++;
      return;
    }
    this.instants.set(p.class, n + 1);
    const args: Record<string, unknown> = { row: p.row, kind: p.kind, detail: p.detail };
    if (p.fillRow !== undefined) args.fillRow = p.fillRow;
    if (p.shouldHaveRow !== undefined) args.shouldHaveRow = p.shouldHaveRow;
    this.push({ ph: 'i', s: 't', pid: 2, tid: CLASSES.indexOf(p.class) + 1, ts: this.ts(x), name: p.kind, cat: p.class, args });
  }

  /** Write the counter tracks from the series and close the JSON; then end nothing (the caller commits the output). */
  finish(s: Series): void {
    this.axis ??= s.axis;
    const col = (name: string) => s.values[s.columns.findIndex((c) => c.name === name)]!;
    const counter = (pid: number, name: string, series: Record<string, number[]>) => {
      const keys = Object.keys(series);
      for (let j = 0; j < s.x.length; j++) {
        const args: Record<string, number> = {};
        for (const k of keys) args[k] = series[k]![j]!;
        this.push({ ph: 'C', pid, tid: 0, ts: this.ts(s.x[j]!), name, args });
      }
    };
    const per = s.axis === 'time' ? `per ${s.width} ns` : `per ${s.width} rows`;
    counter(2, 'generation', { generation: col('generation') });
    const pinned = col('pinned');
    counter(2, 'pinned ASIDs', {
      pinned,
      most: col('pinned_max'),
      ...(s.limits.pinLimit !== null ? { limit: pinned.map(() => s.limits.pinLimit!) } : {}),
    });
    counter(2, `pins (${per})`, { requests: col('pin_requests'), failures: col('pin_failures'), unpins: col('unpins') });
    counter(2, 'ASIDs in use', { inUse: col('asids_in_use') });
    counter(2, 'free ASIDs', { free: col('free_asids') });
    counter(2, `ASID allocations (${per})`, {
      fresh: col('allocations'),
      reserved: col('reused_reserved'),
      pinned: col('reused_pinned'),
      free: col('reused_free'),
    });
    counter(2, `switch_mm (${per})`, { switches: col('switches'), slowPath: col('slow_path') });
    this.smmus.forEach((name, i) => {
      counter(3 + i, 'IOTLB occupancy', { entries: col(`${name}.iotlb_entries`) });
      counter(3 + i, `SMMU ASIDs (${per})`, {
        allocated: col(`${name}.asids_allocated`),
        freed: col(`${name}.asids_freed`),
        moved: col(`${name}.asids_moved`),
      });
      counter(3 + i, `IOTLB (${per})`, {
        hits: col(`${name}.iotlb_hits`),
        misses: col(`${name}.iotlb_misses`),
        fills: col(`${name}.iotlb_fills`),
        atcHits: col(`${name}.atc_hits`),
      });
      const ops: Record<string, number[]> = {};
      for (const c of s.columns) if (c.smmu === name && c.name.startsWith(`${name}.CMD_`)) ops[c.name.slice(name.length + 1)] = col(c.name);
      counter(3 + i, `commands (${per})`, ops);
    });
    this.out.write(
      this.buf +
        `\n],"displayTimeUnit":"ns","otherData":${JSON.stringify({ generator: 'asid-replay', axis: s.axis === 'time' ? 'trace time' : 'trace row as microseconds', instantsDropped: this.dropped, slicesDropped: this.slicesDropped, findings: s.findingCounts })}}\n`,
    );
    this.buf = '';
  }
}
