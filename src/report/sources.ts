/**
 * Provenance in the report: the `src` cell (the recording's timestamp and line, docs/trace-format.md
 * "Provenance") of every trace row a finding names, placed beside that row.
 *
 * It is report metadata keyed by trace row: the model never sees it. After the replay, the rows the
 * findings name are collected ({@link findingRows}), their `src` cells looked up in the trace, and
 * {@link withSources} puts `src` after `row`, `fillSrc` after `fillRow`, `shouldHaveSrc` after
 * `shouldHaveRow` and `firstFailureSrc` after the pins' `firstFailureRow`. A trace without a `src`
 * column gives a report without these fields, byte for byte as before.
 */
import type { Report } from './report.js';

/** The row fields of findings, and the field each one's source goes in. */
const ROW_FIELDS = [
  ['row', 'src'],
  ['fillRow', 'fillSrc'],
  ['shouldHaveRow', 'shouldHaveSrc'],
  ['firstFailureRow', 'firstFailureSrc'],
] as const;

/** The objects of a report that name trace rows: violations, stale entries, device failures, operations in flight, pins. */
function holders(r: Report): object[] {
  return [...r.violations, ...r.stale.findings, ...r.devices.failures, ...r.devices.opsInFlight, r.pins];
}

/** Every trace row the report's findings name (the rows whose source the report shows). */
export function findingRows(r: Report): Set<number> {
  const rows = new Set<number>();
  for (const h of holders(r)) {
    for (const [field] of ROW_FIELDS) {
      const v = (h as Record<string, unknown>)[field];
      if (typeof v === 'number') rows.add(v);
    }
  }
  return rows;
}

/** A copy of `o` with `srcField: source` right after `rowField` for each row field whose row has a source. */
function annotate<T extends object>(o: T, sources: ReadonlyMap<number, string>): T {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) {
    out[k] = v;
    const pair = ROW_FIELDS.find(([row]) => row === k);
    if (pair && typeof v === 'number') {
      const src = sources.get(v);
      if (src !== undefined) out[pair[1]] = src;
    }
  }
  return out as T;
}

/**
 * The report with the source of each finding's rows beside them (`src` after `row`, ...).
 * @param sources `src` cell by trace row; rows without one get no field.
 */
export function withSources(r: Report, sources: ReadonlyMap<number, string>): Report {
  if (sources.size === 0) return r;
  return {
    ...r,
    pins: annotate(r.pins, sources),
    violations: r.violations.map((v) => annotate(v, sources)),
    devices: {
      ...r.devices,
      failures: r.devices.failures.map((f) => annotate(f, sources)),
      opsInFlight: r.devices.opsInFlight.map((o) => annotate(o, sources)),
    },
    stale: { ...r.stale, findings: r.stale.findings.map((f) => annotate(f, sources)) },
  };
}

/** The sources a report shows, by trace row (for pictures that list findings). */
export function reportSources(r: Report): Map<number, string> {
  const out = new Map<number, string>();
  for (const h of holders(r)) {
    const o = h as Record<string, unknown>;
    for (const [row, src] of ROW_FIELDS) {
      if (typeof o[row] === 'number' && typeof o[src] === 'string') out.set(o[row], o[src]);
    }
  }
  return out;
}

/** Whether the report shows any source (the trace had a `src` column and a finding names a row). */
export function hasSources(r: Report): boolean {
  return holders(r).some((h) => ROW_FIELDS.some(([, src]) => typeof (h as Record<string, unknown>)[src] === 'string'));
}
