/**
 * `asid-replay shrink <trace> -o small.csv`: cut a failing trace down to a 1-minimal reproducer of
 * one finding kind (delta debugging, then dense names; docs/explore.md).
 */
import { type Command, InvalidArgumentError, Option } from 'commander';
import { CPU_VIOLATION_KINDS, STALE_KINDS } from '../model/findings.js';
import { EventError, InputError } from '../trace/errors.js';
import type { TraceEvent } from '../trace/events.js';
import { Exit, type Io } from './shared.js';
import { addSystemOptions, systemOverrides } from './replay-command.js';
import { designSummary, loadDesignFlag } from './design-flag.js';
import { readableInput } from '../util/input.js';
import { signalsStopAtOnce } from './process.js';

const KINDS = [...CPU_VIOLATION_KINDS, ...STALE_KINDS] as readonly string[];

function findingArg(v: string): string {
  if (!KINDS.includes(v)) throw new InvalidArgumentError(`unknown finding kind "${v}"; expected one of: ${KINDS.join(', ')}`);
  return v;
}

/** Register `shrink` on `program`. */
export function shrinkCommand(program: Command, io: Io): void {
  const c = program
    .command('shrink')
    .description(
      'Cut a trace with a finding down to a minimal reproducer: whole tasks and address spaces first,\n' +
        'then delta debugging (ddmin) over events, then dense names (tasks 1.., mms A.., CPUs 0..) and\n' +
        'only the columns used. The result keeps the finding kind and is 1-minimal: removing any one\n' +
        'event loses it. The system is the trace\'s "# system:" line with the flags applied.',
    )
    .argument('<trace>', 'trace v1 CSV file (imported, generated or written by hand; - for standard input)');
  addSystemOptions(c)
    .requiredOption('-o, --output <file>', 'where to write the small trace (- for stdout)')
    .addOption(
      new Option('--finding <kind>', `finding kind to keep (default: the first one the trace shows): ${KINDS.join(', ')}`).argParser(
        findingArg,
      ),
    )
    .option('--keep-names', 'do not rename tasks, mms and CPUs')
    .option('--json', 'print the outcome as JSON')
    .addHelpText(
      'after',
      '\nExamples:\n  asid-replay shrink big.csv --allocator pin-v1 -o small.csv\n  asid-replay shrink sva.csv --kernel 6.1 --finding S-UNMAP -o small.csv',
    )
    .action(async (arg: string, o: ShrinkFlags) => {
      // `-`, /dev/stdin, a pipe: read once into a temporary file; messages name the argument.
      const input = await readableInput(arg);
      try {
        await shrinkFile(input.path, input.name, o);
      } catch (e) {
        if (e instanceof InputError && input.copied && e.file === input.path) e.file = input.name;
        throw e;
      } finally {
        await input.dispose();
      }
    });

  /** Shrink the trace in `trace` (named `name` in what is written: the argument as given). */
  async function shrinkFile(trace: string, name: string, o: ShrinkFlags): Promise<void> {
    const { systemOfTrace } = await import('../replay/engine.js');
    const { readEventBatches, readPreamble, readSources, located, readHeader } = await import('../trace/reader.js');
    const { findingKinds, shrink } = await import('../shrink/ddmin.js');
    const { traceText } = await import('../explore/trace-text.js');
    const { writeAtomic } = await import('../util/output.js');
    const design = await loadDesignFlag(o);
    const parts = design?.parts;
    const overrides = systemOverrides(o);
    const system = await systemOfTrace(trace, overrides);
    const events: TraceEvent[] = [];
    for await (const batch of readEventBatches(trace)) for (const e of batch) events.push(e);
    // Provenance stays with the events it belongs to, so the reproducer still points at the
    // recording's lines (an event a rewrite made carries the source of the one it replaced).
    const sources = await readSources(
      trace,
      events.map((e) => e.row),
    );
    for (const e of events) {
      const src = sources.get(e.row);
      if (src !== undefined) e.src = src;
    }
    let kinds: string[];
    try {
      kinds = findingKinds(system, events, parts);
    } catch (e) {
      if (e instanceof EventError) throw await located(trace, e.row, await readHeader(trace), e.field ?? 'event', e.message);
      throw e;
    }
    const kind = o.finding ?? kinds[0];
    if (kind === undefined) throw new InputError('the trace has no finding to keep (no violation, no stale entry) on this system', trace);
    if (!kinds.includes(kind))
      throw new InputError(`the trace has no ${kind} finding on this system (it has: ${kinds.join(', ') || 'none'})`, trace);
    const t0 = Date.now();
    let shown = false;
    const busy = signalsStopAtOnce(); // a synchronous shrink: Ctrl-C must not wait for it
    const small = shrink(system, events, kind, {
      keepNames: o.keepNames,
      parts,
      onProgress: io.isTty
        ? (p) => {
            shown = true;
            io.err(`\r\x1b[K${p.phase}: ${p.events.toLocaleString('en')} events, ${p.tests.toLocaleString('en')} tests`);
          }
        : undefined,
    });
    busy.end();
    if (shown) io.err('\r\x1b[K');
    const pre = await readPreamble(trace);
    const preamble: Record<string, unknown> = { ...((pre.system as Record<string, unknown> | undefined) ?? {}) };
    for (const [k, v] of Object.entries(overrides)) if (v !== undefined) preamble[k] = v;
    const text = traceText(preamble, small, [
      `Shrunk by asid-replay shrink from ${events.length} events of ${name}: keeps ${kind}.`,
      ...(design ? [`Under the design ${design.name} (sha256 ${design.hash}): replay with --design ${design.file}.`] : []),
    ]);
    await writeAtomic(o.output, text);
    const ms = Date.now() - t0;
    if (o.json)
      io.out(
        JSON.stringify(
          {
            trace,
            finding: kind,
            events: events.length,
            shrunk: small.length,
            elapsedMs: ms,
            output: o.output,
            ...(design ? { design: designSummary(design, system.kernel) } : {}),
          },
          null,
          2,
        ) + '\n',
      );
    else if (o.output !== '-')
      io.out(
        `${events.length.toLocaleString('en')} -> ${small.length} events, still ${kind} (${(ms / 1000).toFixed(1)} s); written to ${o.output}\n`,
      );
    if (small.length === 0) throw new Exit(3);
  }
}

type ShrinkFlags = Parameters<typeof systemOverrides>[0] & { output: string; finding?: string; keepNames?: boolean; json?: boolean };
