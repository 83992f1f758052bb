/**
 * What the `asid-replay` process does on its own behalf, around {@link main}: a reader that closes
 * our standard output (`... | head`) ends the run quietly with status 0; SIGINT/SIGTERM remove the
 * temporary output files in flight, give the terminal back as it was (cursor shown, line wrapping
 * on: a progress bar turns both off) and exit 130/143 as shells expect (128 + signal number).
 */
import { isClosedPipe, removeTemporaryFiles } from '../util/output.js';

/** Show the cursor and re-enable auto-wrap (DECAWM), both of which a progress bar may have turned off. */
const RESTORE_TERMINAL = '\x1b[?25h\x1b[?7h';

function restoreTerminal(): void {
  if (process.stderr.isTTY) process.stderr.write(RESTORE_TERMINAL);
  if (process.stdout.isTTY) process.stdout.write(RESTORE_TERMINAL);
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
