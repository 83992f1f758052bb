/**
 * What the `asid-replay` process does on its own behalf, around {@link main}: a reader that closes
 * our standard output (`... | head`) ends the run quietly with status 0; SIGINT/SIGTERM remove the
 * temporary output files in flight, give the terminal back as it was (cursor shown, line wrapping
 * on: a progress bar turns both off) and exit 130/143 as shells expect (128 + signal number).
 */
import { createRequire } from 'node:module';
import { isClosedPipe, removeTemporaryFiles } from '../util/output.js';

/** Show the cursor and re-enable auto-wrap (DECAWM), both of which a progress bar may have turned off. */
const RESTORE_TERMINAL = '\x1b[?25h\x1b[?7h';

function restoreTerminal(): void {
  if (process.stderr.isTTY) process.stderr.write(RESTORE_TERMINAL);
  if (process.stdout.isTTY) process.stdout.write(RESTORE_TERMINAL);
}

/**
 * V8's garbage collector as a streaming job wants it: `--no-incremental-marking`, so a full collection runs
 * at once when the old generation reaches its limit, rather than interleaved with the program over
 * tens of milliseconds.
 *
 * Why, as far as `--trace-gc` shows: after a replay's first full collection nearly everything a
 * scavenge sees survives it, until the next full collection, so the old generation fills with the
 * replay's medium-lived garbage (an address space's, a TLB set's) and the young one grows past the
 * caches; every later event is slower. With incremental marking that regime set in earlier and
 * held longer (the mechanism inside V8 is not pinned down here: docs/performance.md).
 *
 * Measured (docs/performance.md, whole processes interleaved): a 10^7-event kernel-build replay in
 * 91 MB of RSS instead of 131, and no slower at 10^6 (kernel-build, pin-exhaustion). The model's
 * answers are the same (the flag changes when memory is reclaimed, never what a program computes).
 * V8 reads it each time it would start marking, so setting it at start-up, after V8 has started,
 * takes effect. `--semi-space-growth-factor=1` (a young generation kept at its start size) brought
 * the 10^7 replay to 77 MB but made pin-exhaustion, whose live set grows, 10-25% slower.
 *
 * Called by the process entry point ({@link tunesAtStart}) and by `replay` for a long trace; does
 * nothing unless the entry point allowed it ({@link allowGarbageCollectorTuning}), so tests running
 * {@link main} keep V8's defaults.
 */
export function tuneGarbageCollector(): void {
  // node:v8 is required here, not imported: its loading is start-up time `--version` need not pay
  if (tuningAllowed) (createRequire(import.meta.url)('node:v8') as typeof import('node:v8')).setFlagsFromString('--no-incremental-marking');
}

/**
 * Events after which a long replay's young generation stops growing
 * ({@link freezeYoungGenerationAfter}): by then it has grown to what a 10^6-event replay uses.
 */
export const YOUNG_GENERATION_EVENTS = 1_000_000;

/**
 * Keep V8's young generation at the size it has now (`--semi-space-growth-factor=1`, which V8
 * reads each time it would grow it). Why: a long replay's live set is flat, but V8 doubles its
 * young generation when enough survives its scavenges, and a kernel-build replay grew its
 * semi-spaces from 8 to 16 MiB at about 4 million events: 92 MB of RSS at 10^7 events against 70
 * at 10^6. Frozen after {@link YOUNG_GENERATION_EVENTS}, the 10^7 replay peaks at 73-77 MB and runs
 * no slower (docs/performance.md). Set from the start instead, the young generation stays at its
 * first size, and pin-exhaustion, whose live set grows, ran 10-25% slower. Does nothing unless the
 * entry point allowed tuning ({@link allowGarbageCollectorTuning}).
 */
export function freezeYoungGeneration(): void {
  if (tuningAllowed)
    (createRequire(import.meta.url)('node:v8') as typeof import('node:v8')).setFlagsFromString('--semi-space-growth-factor=1');
}

/**
 * A progress hook (`onProgress`: events replayed so far) that calls `freeze` once, at the first
 * count of `events` or more.
 */
export function freezeYoungGenerationAfter(events: number, freeze: () => void = freezeYoungGeneration): (replayed: number) => void {
  let frozen = false;
  return (replayed) => {
    if (frozen || replayed < events) return;
    frozen = true;
    freeze();
  };
}

/** Set by the process entry point: {@link tuneGarbageCollector} does nothing in tests running {@link main}. */
let tuningAllowed = false;

/** Let {@link tuneGarbageCollector} act (the process entry point calls it once, first). */
export function allowGarbageCollectorTuning(): void {
  tuningAllowed = true;
}

/**
 * A replay shorter than this (trace v1 bytes, about 500,000 events) ends before V8's first full
 * collection, where the default collector costs nothing, and its concurrent marking measured a few
 * per cent faster (kernel-build, 2x10^5 events): the replay command tunes the collector only past it.
 */
export const LONG_TRACE_BYTES = 16 << 20;

/**
 * Whether the entry point tunes the collector at start-up: for every command but the searches
 * (explore, shrink: their heaps hold millions of states, where incremental marking measured 2%
 * faster) and `replay`, which decides from its input's size ({@link LONG_TRACE_BYTES}); not
 * without a command (`--version`, `--help`).
 * @param argv the command line without node and the script
 */
export function tunesAtStart(argv: readonly string[]): boolean {
  const command = argv.find((a) => !a.startsWith('-'));
  // no command (`--version`, `--help`): nothing to replay, and node:v8 need not load
  return command !== undefined && command !== 'explore' && command !== 'shrink' && command !== 'replay';
}

/** Install the handlers once, in the process entry point (never in tests running {@link main}). */
export function installProcessHandlers(): void {
  installed = true;
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (e) => {
      if (!isClosedPipe(e)) throw e;
      endOnClosedPipe();
    });
  }
  const onSignal = (code: number) => () => {
    removeTemporaryFiles();
    restoreTerminal();
    process.exit(code);
  };
  handlers = { SIGINT: onSignal(130), SIGTERM: onSignal(143) };
  for (const [sig, h] of Object.entries(handlers)) process.once(sig, h);
}

/** Set by {@link installProcessHandlers}. */
let installed = false;

/** The end of a run whose standard output's reader has gone (`| head`): temporary files removed, status 0. */
function endOnClosedPipe(): never {
  removeTemporaryFiles();
  process.exit(0);
}

/**
 * For a writer that finds standard output closed (EPIPE) outside its stream (the Perfetto worker
 * writes descriptor 1 itself): end the run as the stream's handler does, when the entry point
 * installed the handlers; else (tests running `main`) do nothing and let the writer's error stand.
 */
export function closedStdout(): void {
  if (installed) endOnClosedPipe();
}

/** The handlers {@link installProcessHandlers} installed (none in tests running main()). */
let handlers: Record<'SIGINT' | 'SIGTERM', () => void> | undefined;

/**
 * Call before a long synchronous computation (a state-space search, a shrink) and `end()` after
 * it, so that Ctrl-C stops it at once. A JavaScript signal handler runs only when the event loop
 * turns, which a synchronous loop never lets it do; so meanwhile our handlers step aside and the
 * signals' default action applies: the process ends at once, killed by the signal (a shell reports
 * 130 / 143, as for the handled exit). The commands write their outputs after the computation, so
 * no partial output is left. (If the computation throws, the process is ending anyway.)
 */
export function signalsStopAtOnce(): { end(): void } {
  const h = handlers;
  if (!h) return { end: () => {} };
  for (const [sig, f] of Object.entries(h)) process.removeListener(sig, f);
  return {
    end: () => {
      for (const [sig, f] of Object.entries(h)) process.once(sig, f);
    },
  };
}
