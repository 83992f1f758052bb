/**
 * A lightweight {@link SystemObserver} for search and shrinking: it keeps only the findings of the
 * kinds asked for (violations and stale entries), and throws every counter away.
 */
import { newCounters } from '../model/cpu/allocator.js';
import type { CpuViolation } from '../model/findings.js';
import { type SmmuCounters, type StaleFinding, newSmmuCounters, newSvaCounters } from '../model/smmu/index.js';
import type { SystemObserver } from '../model/system.js';

/** One finding as the search reports it. */
export interface Finding {
  /** A violation kind (`active-asid-mismatch`, ...) or a stale kind (`S-UNMAP`, ...). */
  kind: string;
  row: number;
  detail: string;
}

/** Records findings whose kind is in `wanted` (every kind when `wanted` is null). */
export class FindingRecorder implements SystemObserver {
  counters = { ...newCounters(), switches: 0, sameMmSwitches: 0, idleSwitches: 0, accesses: 0, faults: 0, tlbiAsid: 0, tlbiVa: 0 };
  smmuCounters: SmmuCounters[];
  sva = newSvaCounters();
  /** Findings since the last {@link reset}. */
  found: Finding[] = [];

  constructor(
    smmus: number,
    private readonly wanted: ReadonlySet<string> | null,
  ) {
    this.smmuCounters = Array.from({ length: smmus }, newSmmuCounters);
  }

  /** Forget the findings recorded so far. */
  reset(): void {
    if (this.found.length) this.found = [];
  }

  violation(v: CpuViolation): void {
    if (!this.wanted || this.wanted.has(v.kind)) this.found.push({ kind: v.kind, row: v.row, detail: v.detail });
  }
  stale(f: StaleFinding): void {
    if (!this.wanted || this.wanted.has(f.kind)) this.found.push({ kind: f.kind, row: f.row, detail: f.detail });
  }
  rollover(): void {}
  pin(): void {}
  unpinned(): void {}
  retired(): void {}
  failure(): void {}
}
