/**
 * `asid-replay` command line (commander). Exit codes (README.md): 0 replayed, nothing to fail on;
 * 1 findings the user asked to fail on (`--fail-on`), or a corpus that differs; 2 unusable input or
 * usage, with `file:line:column: message`; 3 an internal error (a bug: please report it).
 */
import { Command, CommanderError } from 'commander';
import { Exit, type Io, processIo } from './shared.js';
import { InputError } from '../trace/errors.js';
import { isClosedPipe } from '../util/output.js';

export { type Io, processIo, intArg, Exit } from './shared.js';

/** What a command module exports: the function that adds the command to the program. */
type Define = (program: Command, io: Io) => void;

/**
 * The subcommands, in the order `--help` lists them, each loaded only when the command line can
 * need it: a command module pulls in its option tables (kernel eras, profiles, finding kinds) and
 * the modules those load, which a bare `--version` or another command does not use.
 */
export const COMMANDS: Readonly<Record<string, () => Promise<Define>>> = {
  replay: async () => (await import('./replay-command.js')).replayCommand,
  import: async () => (await import('./import-command.js')).importCommand,
  generate: async () => (await import('./generate-command.js')).generateCommand,
  check: async () => (await import('./check-command.js')).checkCommand,
  explore: async () => (await import('./explore-command.js')).exploreCommand,
  shrink: async () => (await import('./shrink-command.js')).shrinkCommand,
  compare: async () => (await import('./compare-command.js')).compareCommand,
  schema: async () => (await import('./schema-command.js')).schemaCommand,
};

/**
 * The subcommands that parsing `argv` can reach, so that only those are loaded.
 *
 * The program's own options are `-V, --version` and `-h, --help`, neither with a value, so the
 * first word is either one of them or the command's name:
 * - `--version` / `-V` first: commander prints the version as soon as it meets the flag, before
 *   it looks at a command (whatever follows), so none is needed;
 * - a command's name first: that command alone (its help, its errors and its run read nothing of
 *   the others);
 * - anything else (no word, `--help`, `help`, an unknown command and its "did you mean", an unknown
 *   option): every command, as the program's help and errors list them.
 * @returns command names, a subset of {@link COMMANDS} in its order.
 */
export function commandsFor(argv: readonly string[]): string[] {
  const first = argv[0];
  if (first === '--version' || first === '-V') return [];
  if (first !== undefined && Object.hasOwn(COMMANDS, first)) return [first];
  return Object.keys(COMMANDS);
}

/** The program with the subcommands `names` (see {@link commandsFor}). */
async function program(io: Io, names: readonly string[]): Promise<Command> {
  const defines = await Promise.all(names.map((n) => COMMANDS[n]!()));
  const p = new Command('asid-replay')
    // Descriptions are written as paragraphs; commander wraps them to the terminal. A line break
    // is kept only before a blank line or an indented list line.
    .configureHelp({ commandDescription: (cmd) => cmd.description().replace(/\n(?![\n ])(?<!\n\n)/g, ' ') })
    .description(
      'Replay arm64 memory-management traces through a model of the CPU ASID allocator\n' +
        '(arch/arm64/mm/context.c, with pinning) and report ASID churn, pin failures and\n' +
        'invariant violations (the properties the kernel-tla asidalloc model checks).',
    )
    .version('0.1.0')
    .configureOutput({ writeOut: io.out, writeErr: io.err, outputError: (str, write) => write(usageMessage(str)) })
    .exitOverride()
    .showHelpAfterError('(run with --help for usage)')
    .addHelpText(
      'after',
      `
Examples:
  asid-replay replay traces/real/juno-trace-txt.csv
  asid-replay replay traces/real/juno-trace-txt.csv --asid-bits 8 --kpti --allocator pin-v1 --json
  asid-replay import ftrace trace.txt -o trace.csv
  asid-replay generate kernel-build -n 1000000 --seed 7 -o build.csv
  asid-replay check traces --jobs 2
  asid-replay schema > report.schema.json

Exit codes: 0 ok, 1 findings selected by --fail-on, 2 bad input or usage, 3 internal error.
Trace format v1 and the system preamble: see README.md.`,
    );
  for (const define of defines) define(p, io);
  return p;
}

/**
 * A commander error as every other error reads: `asid-replay: ` first, and a flag's bad value named
 * by the flag and the value (`asid-replay: --kernel 99.1: kernel 99.1 is newer than ...`) instead of
 * commander's `error: option '--kernel <version>' argument '99.1' is invalid. ...`.
 */
export function usageMessage(str: string): string {
  const text = str.replace(/^error: /, '');
  const opt = /^option '(-[^ ',]+)(?:, (--[^ ']+))?[^']*' argument '(.*)' is invalid\. ?([\s\S]*)$/.exec(text);
  if (opt) {
    const flag = opt[2] ?? opt[1]!;
    const value = /^[^\s"']+$/.test(opt[3]!) ? opt[3]! : JSON.stringify(opt[3]);
    const reason = opt[4]!.trim();
    return `asid-replay: ${reason.startsWith(`${flag} `) ? reason : `${flag} ${value}: ${reason}`}\n`;
  }
  const arg = /^command-argument value '(.*)' is invalid for argument '([^']+)'\. ?([\s\S]*)$/.exec(text);
  if (arg) return `asid-replay: <${arg[2]}> ${arg[1]}: ${arg[3]!.trim()}\n`;
  return `asid-replay: ${text}`;
}

/**
 * Run the CLI on `argv` (without `node` and the script) and return the exit status.
 * Never throws, never prints a stack trace (set ASID_REPLAY_DEBUG=1 to see one for internal errors).
 */
export async function main(argv: string[], io: Io = processIo): Promise<number> {
  try {
    await (await program(io, commandsFor(argv))).parseAsync(argv, { from: 'user' });
    return 0;
  } catch (e) {
    if (e instanceof Exit) return e.code;
    if (isClosedPipe(e)) return 0; // the reader of our output has gone (`| head`): nothing left to do
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return 0;
      return 2;
    }
    if (e instanceof InputError) {
      io.err(`asid-replay: ${e.format()}\n`);
      return 2;
    }
    io.err(`asid-replay: internal error: ${(e as Error)?.message ?? String(e)}\n`);
    if (process.env.ASID_REPLAY_DEBUG) io.err(`${(e as Error)?.stack}\n`);
    return 3;
  }
}
