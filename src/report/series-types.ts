/** The shapes of a sampled series (columns, buckets, findings on the time axis) and its options. */

/** How a column's buckets merge: counts add up; levels keep the last value or the maximum. */
export type ColumnKind = 'sum' | 'last' | 'max';

/** One series column. */
export interface ColumnSpec {
  name: string;
  kind: ColumnKind;
  /** What it shows, for legends and the CSV documentation. */
  help: string;
  /** SMMU name for per-SMMU columns. */
  smmu?: string;
  /** CPU number for per-CPU columns (the mm running at the end of the bucket, index into `mms`). */
  cpu?: number;
}

/** A finding placed on the time axis. */
export interface FindingPoint {
  /** Time (ns) or row of the event that found it. */
  x: number;
  row: number;
  /** `violation`, `stale`, `pin-failure`, `device-failure`, `rollover`. */
  class: 'violation' | 'stale' | 'pin-failure' | 'device-failure' | 'rollover';
  kind: string;
  /** Row that filled the entry (stale findings; TLB violations when known). */
  fillRow?: number;
  /** Row after which the entry had to be gone (stale findings, when known). */
  shouldHaveRow?: number;
  detail: string;
  /** Where it happened, when the finding says (stale entries, device failures, CPU violations). */
  smmu?: string;
  device?: string;
  /** SSID: the PASID, 0 for DMA without PASID. */
  pasid?: number;
  asid?: number;
  va?: number;
  /** The address space (`mm P`, `domain D1`) or the mm named. */
  mm?: string;
}

/** The series of a replay, column-major. */
export interface Series {
  /** `time`: x is trace time in ns; `row`: x is the trace row (the trace has no time). */
  axis: 'time' | 'row';
  /** Bucket width in ns or rows. */
  width: number;
  /** Start of each bucket. */
  x: number[];
  columns: ColumnSpec[];
  values: number[][];
  /** mm labels indexed by the per-CPU columns (-1 = idle or nothing yet). */
  mms: string[];
  findings: FindingPoint[];
  findingsTruncated: boolean;
  /** Findings of each class, all of them (`findings` keeps the first `MAX_FINDING_POINTS` of each). */
  findingCounts: Record<FindingPoint['class'], number>;
  /** Allocatable ASIDs, the pin limit (null: none), CPUs: the horizontal lines of the charts. */
  limits: { numAsids: number; pinLimit: number | null; cpus: number };
}

/** A closed bucket (fixed-interval mode). */
export interface Bucket {
  x: number;
  values: number[];
}

/** Per-CPU slices and instant events as they happen (the Perfetto writer implements it). */
export interface TimelineSink {
  /**
   * CPU `cpu` ran `mm` from `start` to `end` (x units): task `task` switched it in at trace row
   * `row` in ASID generation `generation`, with ASID `asid` in its TTBR (-1: none, the switch found
   * no free ASID); `endRow` is the row that switched it out (or the last row). `mmKey` is the
   * model's number for the mm (`MmState.key`: one per mm of the replay, never given to another;
   * -1 when the model has none): a sink may name labels by it instead of looking the string up.
   * Positional arguments, not an object: one call per switch of the whole trace, nothing
   * allocated for it.
   */
  slice(
    cpu: number,
    start: number,
    end: number,
    mm: string,
    task: number,
    row: number,
    endRow: number,
    generation: number,
    asid: number,
    mmKey: number,
  ): void;
  /** Something happened at x. */
  instant(x: number, p: FindingPoint): void;
}

export interface SeriesOptions {
  /** Bucket bound of the kept (adaptive) series (default {@link MAX_POINTS}). */
  maxPoints?: number;
  /**
   * A second, fixed-interval series (width in ns, or rows when the trace has no time), each bucket
   * handed to `onBucket` as it closes (not kept). Both must be given.
   */
  interval?: number;
  onBucket?: (b: Bucket) => void;
  /** Per-CPU slices and instants, streamed. */
  timeline?: TimelineSink;
  /**
   * Slots of the cache of mm indexes by mm key (a power of two; default `MM_SLOTS`; 0: no cache, the
   * label Map alone, which tests hold the cache to).
   */
  mmSlots?: number;
}
