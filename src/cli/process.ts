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
  process.once('SIGINT', onSignal(130));
  process.once('SIGTERM', onSignal(143));
}
