/**
 * What the `asid-replay` process does on its own behalf, around {@link main}: a reader that closes
 * our standard output (`... | head`) ends the run quietly with status 0; SIGINT/SIGTERM remove the
 * temporary output files in flight, give the terminal back as it was (cursor shown, line wrapping
 * on: a progress bar turns both off) and exit 130/143 as shells expect (128 + signal number).
 */
import { setFlagsFromString } from 'node:v8';
import { isClosedPipe, removeTemporaryFiles } from '../util/output.js';

/** Show the cursor and re-enable auto-wrap (DECAWM), both of which a progress bar may have turned off. */
const RESTORE_TERMINAL = '\x1b[?25h\x1b[?7h';

function restoreTerminal(): void {
  if (process.stderr.isTTY) process.stderr.write(RESTORE_TERMINAL);
  if (process.stdout.isTTY) process.stdout.write(RESTORE_TERMINAL);
}

/**
 * V8's garbage collector as a streaming job wants it (every command but the searches), set in the
 * process entry point before the CLI loads (never in tests running {@link main}), from the command
 * line `argv` (without node and the script): `--no-incremental-marking`, so a full collection runs
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
 */
export function tuneGarbageCollector(argv: readonly string[]): void {
  // A search (explore, shrink) keeps millions of states alive: there a full collection at once is a
  // long pause of a big heap, and V8's incremental marking measured 2% faster (explore's asidalloc bounds).
  const command = argv.find((a) => !a.startsWith('-'));
  if (command === 'explore' || command === 'shrink') return;
  setFlagsFromString('--no-incremental-marking');
}

/** Install the handlers once, in the process entry point (never in tests running {@link main}). */
export function installProcessHandlers(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (e) => {
      if (!isClosedPipe(e)) throw e;
      removeTemporaryFiles();
      process.exit(0);
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
