/**
 * The picture outputs of a replay (`--html`, `--perfetto`, `--timeseries`): opened before the
 * replay (so an unwritable path is exit 2 before any work), fed by a {@link SeriesCollector} through
 * the engine's tap, written after it.
 */
import { openOutput, type Output, probeOutput, unwritable, writeAtomic } from '../util/output.js';
import type { SystemModel } from '../model/system.js';
import type { SystemConfig } from '../model/config.js';
import type { Report } from './report.js';
import { type Series, SeriesCollector } from './series.js';
import { PerfettoThread, PerfettoWriteError } from './perfetto-thread.js';
import { CsvBucketWriter, seriesCsv } from './timeseries.js';
import { excerptRows, readExcerpts, renderHtml } from './html.js';

export interface PictureOptions {
  html?: string;
  /** The Perfetto JSON; gzip-compressed when the name ends with `.gz` ({@link isGzipName}). */
  perfetto?: string;
  timeseries?: string;
  /** Bucket width of the CSV (ns, or rows without time); default: the adaptive series. */
  interval?: number;
  /**
   * Called at once when `--perfetto -` finds standard output's reader gone (EPIPE); without it
   * (or when it returns), the replay fails at its end, naming `-` (exit 2).
   */
  onClosedStdout?: () => void;
}

/** Outputs in progress: `tap` goes to the engine, `finish` after the replay. */
export interface Pictures {
  tap: (system: SystemConfig, model: SystemModel) => SeriesCollector;
  /** Write every output; returns the series. */
  finish(report: Report): Promise<Series>;
  /** Drop the outputs (the replay failed). */
  discard(): Promise<void>;
}

/** Whether an output named `path` is written gzip-compressed: its name ends with `.gz` (any case). */
export const isGzipName = (path: string): boolean => /\.gz$/i.test(path);

/**
 * zlib's level for `--perfetto x.json.gz`: 1, the fastest. The timeline's lines repeat their keys,
 * so even level 1 makes about 21 bytes per event of a kernel-build trace (level 6, zlib's default,
 * 17 bytes for twice the CPU time), well under the 40 the Perfetto UI's loading of a 10^6-event
 * trace was budgeted at. Compressed beside the replay, memory bounded: {@link GzipSegments}.
 */
export const GZIP_LEVEL = 1;

/**
 * The Perfetto timeline on standard output (`--perfetto -`) is written by the worker to descriptor
 * 1, as it writes a file: a full pipe makes it wait, and through it the replay (the bytes came
 * back to this thread before, where a pipe that did not keep up left them queued in memory: about
 * 220 MB of RSS at 10^6 kernel-build events, against 100-110 now). A reader that has gone (`| head`)
 * is told to {@link PictureOptions.onClosedStdout}.
 */
const STDOUT = 1;
/**
 * How long the replay waits for the worker to free a slot when the timeline goes to standard
 * output (ms; a file's: perfetto-thread.ts `SLOT_WAIT_MS`). The replay's thread cannot take a
 * signal while it waits, and a reader that stops (`| less`) would hold a Ctrl-C that long; after
 * one wait that ran out the batches are queued instead (memory then grows with the trace, bounded
 * by the cap on slices).
 */
const STDOUT_SLOT_WAIT_MS = 1000;

/**
 * Open the picture outputs of `trace`; null when none is asked for.
 * @throws InputError for an output path that cannot be written.
 */
export async function openPictures(trace: string, o: PictureOptions): Promise<Pictures | null> {
  if (!o.html && !o.perfetto && !o.timeseries) return null;
  const opened: Output[] = [];
  const open = async (p: string) => {
    const out = await openOutput(p);
    opened.push(out);
    return out;
  };
  let perfOut: Output | undefined;
  let csvOut: Output | undefined;
  try {
    if (o.perfetto) perfOut = await open(o.perfetto);
    if (o.timeseries && o.interval !== undefined) csvOut = await open(o.timeseries);
    // Probe the other paths now (written whole at the end).
    if (o.html) await probeOutput(o.html);
    if (o.timeseries && o.interval === undefined) await probeOutput(o.timeseries);
  } catch (e) {
    for (const x of opened) await x.discard();
    throw e;
  }
  let col: SeriesCollector | undefined;
  let perf: PerfettoThread | undefined;
  let csv: CsvBucketWriter | undefined;
  return {
    tap: (system, model) => {
      const axis = () => col!.axisName;
      if (perfOut)
        perf = new PerfettoThread(
          // a file the worker writes itself (gzip too), or standard output
          perfOut.fd !== undefined
            ? { fd: perfOut.fd, ...(isGzipName(o.perfetto!) ? { gzipLevel: GZIP_LEVEL } : {}) }
            : { fd: STDOUT, ...(o.onClosedStdout ? { onClosedPipe: o.onClosedStdout } : {}) },
          system.cpus,
          system.smmus.map((s) => s.name),
          axis,
          perfOut.fd !== undefined ? {} : { slotWaitMs: STDOUT_SLOT_WAIT_MS },
        );
      if (csvOut)
        csv = new CsvBucketWriter(
          csvOut.stream,
          () => col!.columns,
          axis,
          (i) => col!.mmLabel(i),
        );
      col = new SeriesCollector(system, model, {
        timeline: perf,
        interval: csv ? o.interval : undefined,
        onBucket: csv ? (b) => csv!.bucket(b) : undefined,
      });
      return col;
    },
    async finish(report) {
      const series = col!.end();
      // The Perfetto worker closes its JSON (the counters, the last batches) while this thread
      // makes the HTML page; the page is written once the timeline is (a failed write of either
      // leaves no file behind).
      const perfDone = perf?.finish(series);
      perfDone?.catch(() => {}); // awaited below
      const page = o.html
        ? renderHtml(report.trace.name, [{ label: report.trace.name, report, series }], await readExcerpts(trace, excerptRows(series)))
        : null;
      if (perfDone)
        await perfDone.catch(async (e: unknown) => {
          for (const x of opened) await x.discard();
          // the worker's write to the file failed (no space left, a closed pipe, ...): the file's error, exit 2
          throw e instanceof PerfettoWriteError ? unwritable(o.perfetto!, e) : e;
        });
      if (csv) csv.flush();
      for (const x of opened) await x.commit();
      if (o.timeseries && !csvOut) await writeAtomic(o.timeseries, seriesCsv(series));
      if (page !== null) await writeAtomic(o.html!, page);
      return series;
    },
    async discard() {
      await perf?.abort();
      for (const x of opened) await x.discard();
    },
  };
}
