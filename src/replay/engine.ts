/**
 * The replay engine: streams a trace through the system model and collects the report.
 */
import { basename } from 'node:path';
import { builtinsOf } from '../model/kernel/builtins.js';
import type { KernelParts } from '../model/kernel/parts.js';
import { type SystemModel, createSystem, step, summarize } from '../model/system.js';
import { type Report, ReportCollector } from '../report/report.js';
import { findingRows, withSources } from '../report/sources.js';
import { type TraceEvent, newRefillEvent } from '../trace/events.js';
import { EventError, InputError, TraceHeaderError } from '../trace/errors.js';
import { located, readHeader, readPackedBatches, readPreamble, readSources } from '../trace/reader.js';
import { type SystemConfig, type SystemInput, resolveSystem } from '../trace/system.js';

export interface ReplayOptions {
  /**
   * The name errors and the report give the trace (default: the file's path, and its base name in
   * the report); the CLI names a trace read from standard input `-`.
   */
  name?: string;
  /** Command-line overrides of the trace's `# system:` preamble. */
  overrides?: Partial<SystemInput>;
  /** Called every `progressEvery` events with the number replayed so far. */
  onProgress?: (events: number) => void;
  progressEvery?: number;
  /**
   * Worker threads that parse the CSV (0 = parse in this thread). Default: {@link DEFAULT_PARSE_THREADS} (in-thread).
   */
  parseThreads?: number;
  /** Bytes per parser chunk (tests make it small); default: parallel-reader.ts `CHUNK_BYTES`. */
  chunkBytes?: number;
  /**
   * Optional observer hook (time series, timelines): builds the collector, a {@link ReportCollector}
   * that may also see each event just before and just after its step. Absent: nothing extra is done.
   */
  tap?: (system: SystemConfig, model: SystemModel) => TapCollector;
  /** The kernel functions to run: a design's (src/design/, `--design`); the base ones when absent. */
  parts?: KernelParts;
}

/** A report collector that also sees every event (see {@link ReplayOptions.tap}). */
export interface TapCollector extends ReportCollector {
  /**
   * Called before the event's step (the model still holds the state after the previous event).
   * `e` is refilled for the next row after {@link afterEvent}: read its fields, keep none of it.
   * Its trace time has been noted ({@link ReportCollector.noteTime}: `now`): `e.time` may be left out.
   */
  beforeEvent(e: TraceEvent): void;
  /** Called after the event's step (the same object as {@link beforeEvent}'s). */
  afterEvent(e: TraceEvent): void;
}

/**
 * Parser threads when the caller does not say: none. With the reader's fast path, parsing costs
 * less than the model, which runs on this thread anyway: on 2 cores, 2 worker threads were slower
 * than none at 2x10^5, 10^6 and 10^7 events (kernel-build: 0.39x, 0.69x and 0.76x the speed, in
 * wall time under load), for 2.2-2.4x the peak memory (each worker's heap, chunks in flight), so they
 * are opt-in (`replay --parse-threads N`).
 */
export const DEFAULT_PARSE_THREADS = 0;

/**
 * Replay events already in memory (tests, generators). Rows are taken from the events, and so are
 * the sources shown beside the findings' rows (the events' `src`).
 * @throws EventError for an event impossible in the model's state.
 */
export function replayEvents(events: Iterable<TraceEvent>, system: SystemConfig, name = '(events)', parts?: KernelParts): Report {
  const model = createSystem(system, parts);
  const col = new ReportCollector(system.smmus.length);
  const sources = new Map<number, string>();
  for (const e of events) {
    if (e.src !== undefined) sources.set(e.row, e.src);
    col.noteTime(e.time ?? -1);
    feed(model, col, e);
  }
  return withSources(col.finish(name, summarize(model)), sources);
}

/** One event, its time already noted ({@link ReportCollector.noteTime}): the step. */
function feed(model: ReturnType<typeof createSystem>, col: ReportCollector, e: TraceEvent): void {
  col.events++;
  step(model, e, col);
}

/** {@link feed} between the tap's two hooks. */
function feedTapped(model: ReturnType<typeof createSystem>, col: TapCollector, e: TraceEvent): void {
  // the buckets beforeEvent closes count the events before this one
  col.beforeEvent(e);
  col.events++;
  step(model, e, col);
  col.afterEvent(e);
}

/** Resolve the system a trace file is replayed on (preamble + overrides + defaults). */
export async function systemOfTrace(file: string, overrides: Partial<SystemInput> = {}): Promise<SystemConfig> {
  const pre = await readPreamble(file);
  let system: SystemConfig;
  try {
    system = resolveSystem(pre.system, overrides);
  } catch (e) {
    throw new InputError((e as Error).message, file, pre.systemLine, pre.systemLine === undefined ? undefined : 1);
  }
  // The built-in designs the system names (its driver design, the `--fault`s), before any model is
  // built; their loader only when one is named (start-up of a plain replay on the base driver).
  if (builtinsOf(system).length > 0) await (await import('../design/builtins.js')).loadBuiltinsFor(system);
  return system;
}

/**
 * Replay a trace v1 file, streaming. When the trace has a `src` column, the report shows the source
 * of every row its findings name (read back from the file after the replay: memory stays flat).
 * @throws InputError naming file (or `opts.name`), line and column for unusable input (bad rows,
 *   impossible events).
 */
export async function replayFile(file: string, opts: ReplayOptions = {}): Promise<Report> {
  try {
    return await replayPath(file, opts);
  } catch (e) {
    if (e instanceof TraceHeaderError && e.file === file) {
      // no trace v1 header: say what the file is when it is a recording (or binary data), as `import auto` sees it
      const { notATrace } = await import('../import/auto.js');
      const why = await notATrace(file, opts.name ?? file);
      if (why) throw new InputError(why, opts.name ?? file);
    }
    if (e instanceof InputError && opts.name !== undefined && e.file === file) e.file = opts.name;
    throw e;
  }
}

async function replayPath(file: string, opts: ReplayOptions): Promise<Report> {
  const system = await systemOfTrace(file, opts.overrides);
  const model = createSystem(system, opts.parts);
  const tapped = opts.tap?.(system, model);
  const col = tapped ?? new ReportCollector(system.smmus.length);
  const every = opts.progressEvery ?? 100_000;
  try {
    let next = every;
    const threads = opts.parseThreads ?? DEFAULT_PARSE_THREADS;
    // The parallel reader (piscina, worker threads) is loaded only when asked for: start-up.
    const batches =
      threads > 0
        ? await import('../trace/parallel-reader.js').then((m) =>
            m.readPackedBatchesParallel(file, threads, opts.chunkBytes ?? m.CHUNK_BYTES),
          )
        : readPackedBatches(file);
    // One event object for the whole replay, refilled for each row: step() and the tap read an
    // event's fields and keep none of it (test/fast-path.test.ts replays the corpus both ways).
    const ev = newRefillEvent();
    let turned = performance.now();
    for await (const batch of batches) {
      const n = batch.n;
      // The time goes to the collector as a plain number read from the batch (ABSENT, -1, when
      // the row has none), here in the loop: stored in the refilled event's field, which holds
      // undefined as well, or passed to a function V8 does not inline, each time would be a new
      // heap number.
      if (tapped)
        for (let i = 0; i < n; i++) {
          tapped.noteTime(batch.time(i));
          feedTapped(model, tapped, batch.fill(ev, i, false));
        }
      else
        for (let i = 0; i < n; i++) {
          col.noteTime(batch.time(i));
          feed(model, col, batch.fill(ev, i, false));
        }
      // Batches already read resolve as microtasks: without a turn of the event loop now and then,
      // a signal handler (Ctrl-C: exit 130, temporary files removed) would wait for the next read.
      const now = performance.now();
      if (now - turned > 50) {
        await new Promise((r) => setImmediate(r));
        turned = now;
      }
      if (opts.onProgress && col.events >= next) {
        opts.onProgress(col.events);
        next = col.events + every;
      }
    }
  } catch (e) {
    if (e instanceof EventError) {
      const header = await readHeader(file);
      throw await located(file, e.row, header, e.field ?? 'event', e.message);
    }
    throw e;
  }
  const report = col.finish(opts.name ?? basename(file), summarize(model));
  const rows = findingRows(report);
  return rows.size === 0 ? report : withSources(report, await readSources(file, rows));
}
