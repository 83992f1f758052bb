/**
 * `replay --timeseries out.csv [--interval N]`: the series of {@link SeriesCollector} as CSV, one row
 * per bucket, for pandas / LISA. The first column is `time_ns` (bucket start, trace time) or `row`
 * (bucket start, trace row, when the trace has no time); then one column per series (counts per
 * bucket, or levels at the end of the bucket: see {@link ColumnSpec.kind}); the per-CPU columns name
 * the mm running at the end of the bucket (empty: idle).
 */
import type { Writable } from 'node:stream';
import type { Bucket, ColumnSpec, Series } from './series.js';

const quote = (s: string): string => (/[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);

/** The header line of the CSV. */
export function csvHeader(axis: 'time' | 'row', columns: readonly ColumnSpec[]): string {
  return [axis === 'time' ? 'time_ns' : 'row', ...columns.map((c) => quote(c.name))].join(',') + '\n';
}

/** One CSV line; per-CPU columns are written as the mm label (`mmLabel` of the index). */
export function csvLine(x: number, values: readonly number[], columns: readonly ColumnSpec[], mmLabel: (i: number) => string): string {
  const cells = [String(x)];
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    cells.push(columns[i]!.cpu !== undefined ? (v < 0 ? '' : quote(mmLabel(v))) : String(v));
  }
  return cells.join(',') + '\n';
}

/** The whole CSV of an adaptive series. */
export function seriesCsv(s: Series): string {
  const out = [csvHeader(s.axis, s.columns)];
  const row = new Array<number>(s.columns.length);
  const label = (i: number) => s.mms[i] ?? 'other';
  for (let j = 0; j < s.x.length; j++) {
    for (let i = 0; i < s.columns.length; i++) row[i] = s.values[i]![j]!;
    out.push(csvLine(s.x[j]!, row, s.columns, label));
  }
  return out.join('');
}

/**
 * A bucket sink writing CSV lines to `out` as buckets close (fixed-interval mode), buffered in
 * 64 KiB pieces; the header is written with the first bucket, when the axis is known.
 */
export class CsvBucketWriter {
  private buf = '';
  private started = false;

  /**
   * @param out where the CSV goes
   * @param columns the collector's columns
   * @param axis the collector's axis once the first event is seen
   * @param mmLabel the collector's mm label of an index
   */
  constructor(
    private readonly out: Writable,
    private readonly columns: () => readonly ColumnSpec[],
    private readonly axis: () => 'time' | 'row',
    private readonly mmLabel: (i: number) => string,
  ) {}

  /** Write one bucket. */
  bucket(b: Bucket): void {
    if (!this.started) {
      this.started = true;
      this.buf += csvHeader(this.axis(), this.columns());
    }
    this.buf += csvLine(b.x, b.values, this.columns(), this.mmLabel);
    if (this.buf.length > 65536) this.flush();
  }

  /** Hand what is buffered to the stream (the header alone when no bucket was written). */
  flush(): void {
    if (!this.started) {
      this.started = true;
      this.buf += csvHeader(this.axis(), this.columns());
    }
    if (this.buf) this.out.write(this.buf);
    this.buf = '';
  }
}
