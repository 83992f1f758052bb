/**
 * `asid-replay explore`: search the model's state space for an event sequence that breaks an
 * invariant or leaves a stale entry, and write it as a trace v1 file (docs/explore.md).
 */
import { type Command, InvalidArgumentError, Option } from 'commander';
import { readInputText } from '../util/input.js';
import { signalsStopAtOnce } from './process.js';
import { CPU_VIOLATION_KINDS, STALE_KINDS } from '../model/findings.js';
import { builtinsOf } from '../model/kernel/builtins.js';
import { EVENT_KINDS, type EventKind, protName } from '../trace/events.js';
import { InputError } from '../trace/errors.js';
import { type SystemInput, resolveSystem } from '../trace/system.js';
import { Exit, type Io, intArg, warnInertFaults } from './shared.js';
import { ALPHABET_KINDS, DEFAULT_CPU_KINDS, DEFAULT_KINDS_WITH_DEVICES } from '../explore/kinds.js';
import { addSystemOptions, systemOverrides } from './replay-command.js';
import { designSummary, loadDesignFlag } from './design-flag.js';

/** Finding kinds `--find` accepts: `violations`, `stale`, or single kinds. */
const FIND_KINDS = [...CPU_VIOLATION_KINDS, ...STALE_KINDS] as const;

function findArg(v: string): string[] {
  const out = new Set<string>();
  for (const k of v
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean)) {
    if (k === 'violations') CPU_VIOLATION_KINDS.forEach((x) => out.add(x));
    else if (k === 'stale') STALE_KINDS.forEach((x) => out.add(x));
    else if ((FIND_KINDS as readonly string[]).includes(k)) out.add(k);
    else throw new InvalidArgumentError(`unknown finding kind "${k}"; expected violations, stale or some of: ${FIND_KINDS.join(', ')}`);
  }
  if (out.size === 0) throw new InvalidArgumentError('--find needs at least one kind');
  return [...out];
}

const ALPHABET: readonly string[] = ALPHABET_KINDS;

function eventsArg(v: string): EventKind[] {
  const list = v
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);
  for (const k of list) {
    if (!ALPHABET.includes(k)) {
      const why = (EVENT_KINDS as readonly string[]).includes(k) ? ' (not in the search alphabet)' : '';
      throw new InvalidArgumentError(`unknown event kind "${k}"${why}; expected some of: ${ALPHABET.join(', ')}`);
    }
  }
  if (list.length === 0) throw new InvalidArgumentError('--events needs at least one kind');
  return list as EventKind[];
}

/** `i/n` with 1 <= i <= n. */
export function shardArg(v: string): [number, number] {
  const m = /^(\d+)\/(\d+)$/.exec(v);
  const i = m ? Number(m[1]) : NaN;
  const n = m ? Number(m[2]) : NaN;
  if (!m || n < 1 || i < 1 || i > n) throw new InvalidArgumentError(`--shard must be i/n with 1 <= i <= n, got "${v}"`);
  return [i, n];
}

function secondsArg(v: string): number {
  if (!/^\d+(\.\d+)?$/.test(v)) throw new InvalidArgumentError(`--time-limit must be a number of seconds, got "${v}"`);
  return Number(v);
}

interface ExploreFlags {
  kernel?: string;
  unmapKernelAtEl0?: boolean;
  cpus?: number;
  asidBits?: number;
  kpti?: boolean;
  allocator?: SystemInput['allocator'];
  maxPinned?: number;
  whatIf?: boolean;
  driver?: SystemInput['driver'];
  pasidAllocator?: 'lowest' | 'cyclic';
  fault?: SystemInput['faults'];
  multiSmmuDomains?: boolean;
  system?: string;
  tasks: number;
  mms: number;
  depth: number;
  pins: number;
  devices?: number;
  domains: number;
  generations?: number;
  events?: EventKind[];
  find?: string[];
  maxStates: number;
  bfsStates: number;
  timeLimit: number;
  strategy: 'auto' | 'bfs' | 'random';
  seed: number;
  walks: number;
  shard?: [number, number];
  symmetry: boolean;
  output?: string;
  json?: boolean;
  design?: string;
}

const STOP_FLAG: Record<string, string> = {
  'time-limit': '--time-limit',
  'max-states': '--max-states',
  walks: '--walks',
  depth: '--depth',
};

/**
 * The line for a search that found nothing: what was tried, phase by phase (breadth-first levels
 * are complete; random walks sample), and why it stopped.
 */
function noneFound(
  phases: { strategy: 'bfs' | 'random'; result: { stop: string; depth: number; states: number; walks: number } }[],
  exhausted: boolean,
  depth: number,
  states: number,
  edges: number,
  elapsedMs: number,
): string {
  const last = phases[phases.length - 1]!;
  const figures = `${states.toLocaleString('en')} distinct states, ${edges.toLocaleString('en')} edges`;
  const why =
    (exhausted
      ? 'bounds exhausted'
      : last.strategy === 'bfs' && last.result.stop === 'depth'
        ? // Every sequence up to --depth was tried: complete within the bounds, though the space goes on.
          `every sequence of up to ${depth} actions tried; raise --depth to go further`
        : `search incomplete: stopped at ${STOP_FLAG[last.result.stop] ?? last.result.stop}`) + `; ${(elapsedMs / 1000).toFixed(1)} s`;
  const bfs = phases.find((p) => p.strategy === 'bfs')?.result;
  const random = phases.find((p) => p.strategy === 'random')?.result;
  if (!random) return `no violation up to depth ${bfs?.depth ?? 0}: ${figures} (${why})`;
  const walks = `${random.walks.toLocaleString('en')} random walks of up to ${depth} actions (longest ${random.depth})`;
  return bfs
    ? `no violation found: every sequence of up to ${completeToDepth(phases)} actions (breadth-first, ${bfs.states.toLocaleString('en')} states), then ${walks}; ${figures} in all (${why})`
    : `no violation found in ${walks}: ${figures} (${why})`;
}

/** Breadth-first levels completed (a level where a counterexample was found is not complete). */
function completeToDepth(phases: { strategy: string; result: { stop: string; depth: number } }[]): number {
  const b = phases.find((p) => p.strategy === 'bfs')?.result;
  return b ? (b.stop === 'found' ? b.depth - 1 : b.depth) : 0;
}

/** Register `explore` on `program`. */
export function exploreCommand(program: Command, io: Io): void {
  const c = program
    .command('explore')
    .description(
      'Search the model for an event sequence that breaks a CPU invariant or leaves a stale IOTLB/ATC\n' +
        'entry: breadth-first over canonical states (symmetry over tasks, mms and CPUs) for a shortest\n' +
        'counterexample, then swarm random walks (shrunk with ddmin) for spaces too big to exhaust.\n' +
        'Writes the counterexample as a trace v1 file that `replay` reproduces; exit 1 when one is found,\n' +
        '0 when none exists within the bounds or limits. Default system: 2 CPUs, 3-bit ASIDs, no\n' +
        'CONFIG_UNMAP_KERNEL_AT_EL0 (small spaces roll over quickly; see docs/explore.md).',
    );
  addSystemOptions(c);
  // Small widths are what make a search possible: explore takes any width 2-16 without --what-if.
  const width = c.options.find((x) => x.long === '--asid-bits');
  if (width) width.description = 'CPU ASID width, 2-16 (default 3: 7 ASIDs roll over quickly; 16 never does)';
  c.option(
    '--system <json-file>',
    'system as a JSON object (the "# system:" fields: SMMUs, devices, ...); flags override it; - reads standard input',
  )
    .addOption(new Option('--tasks <n>', 'most live tasks').default(10).argParser(intArg('--tasks', 1, 64)))
    .addOption(new Option('--mms <n>', 'most live address spaces').default(10).argParser(intArg('--mms', 1, 64)))
    .addOption(
      new Option('--depth <n>', 'most events on a path (a fork folded into the first use of its task is not counted)')
        .default(300)
        .argParser(intArg('--depth', 1, 100000)),
    )
    .addOption(new Option('--pins <n>', 'most pins held at once').default(2).argParser(intArg('--pins', 0, 64)))
    .addOption(
      new Option('--devices <n>', 'devices of the system used (the first N; default all, at most 2)').argParser(intArg('--devices', 0, 64)),
    )
    .addOption(new Option('--domains <n>', 'DMA domains used (D1..DN)').default(1).argParser(intArg('--domains', 0, 8)))
    .addOption(
      new Option('--generations <n>', "do not expand states past this ASID generation (as TLC's constraint in asidalloc.cfg)").argParser(
        intArg('--generations', 1),
      ),
    )
    .addOption(
      new Option(
        '--events <kinds>',
        `event alphabet (comma-separated): ${ALPHABET.join(', ')} (default: every kind the system can use, map of an mm aside)`,
      ).argParser(eventsArg),
    )
    .addOption(
      new Option('--find <kinds>', 'finding kinds that make a counterexample: violations, stale, or single kinds (default: all)').argParser(
        findArg,
      ),
    )
    .addOption(
      new Option('--max-states <n>', 'stop after this many distinct states').default(5_000_000).argParser(intArg('--max-states', 1)),
    )
    .addOption(
      new Option('--bfs-states <n>', 'auto: distinct states of the breadth-first phase before the random walks')
        .default(10_000)
        .argParser(intArg('--bfs-states', 1)),
    )
    .addOption(new Option('--time-limit <seconds>', 'stop after this long (0: no limit)').default(60).argParser(secondsArg))
    .addOption(
      new Option('--strategy <s>', 'auto (breadth-first, then random walks), bfs, random')
        .default('auto')
        .choices(['auto', 'bfs', 'random']),
    )
    .addOption(new Option('--seed <n>', 'random walks: first seed').default(1).argParser(intArg('--seed')))
    .addOption(new Option('--walks <n>', 'random walks: most walks').default(1_000_000).argParser(intArg('--walks', 1)))
    .addOption(
      new Option(
        '--shard <i/n>',
        'search shard i of n: a deterministic part of the breadth-first frontier, every n-th random walk',
      ).argParser(shardArg),
    )
    .option('--no-symmetry', 'no symmetry reduction (slower; for checking the reduction)')
    .option('-o, --output <file>', 'write the counterexample as a trace v1 file (- for stdout)')
    .option('--json', 'print the outcome as JSON')
    .addHelpText(
      'after',
      `
Examples:
  asid-replay explore --allocator pin-v1 --cpus 2 --asid-bits 3 -o cex.csv   # the 2018 pinning bug
  asid-replay replay cex.csv --fail-on violations                            # exit 1
  asid-replay explore --allocator v5.10 --cpus 2 --asid-bits 3 --time-limit 30   # exit 0
  asid-replay explore --asid-bits 2 --max-pinned 1 --allocator pin-v1 --strategy bfs --find active-asid-mismatch
  asid-replay explore --strategy bfs --shard 3/8 --time-limit 600             # one machine of eight
  asid-replay explore --system sys.json --kernel 6.1 --strategy bfs --find S-UNMAP   # an SMMU race (sys.json: SMMUs, devices)
  asid-replay explore --system sys.json --kernel 6.11 --tasks 1 --mms 1 --strategy bfs \\
      --events fork,schedule,attach,map,unmap,dma,bind,resume              # none: bounds exhausted
  asid-replay explore --system traces/kernel-bugs/systems/sva.json --kernel 6.5 --find S-PERM \\
      --events fork,schedule,map,unmap,mprotect,bind,dma --tasks 1 --mms 1 --strategy bfs
                                      # the pre-v6.6 permission-upgrade livelock (docs/kernel-bugs.md)`,
    )
    .action(async (o: ExploreFlags) => {
      if (o.json && o.output === '-')
        throw new InputError('--json and -o - would both write standard output: give -o a file (or drop --json)');
      let base: Record<string, unknown> = {};
      if (o.system !== undefined) {
        let text: string;
        try {
          text = await readInputText(o.system); // - reads standard input
        } catch (e) {
          throw new InputError(`cannot read the system file: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, o.system);
        }
        try {
          base = JSON.parse(text) as Record<string, unknown>;
        } catch (e) {
          throw new InputError(`not JSON: ${(e as Error).message}`, o.system);
        }
        if (typeof base !== 'object' || base === null || Array.isArray(base))
          throw new InputError('the system file must hold a JSON object', o.system);
      }
      const design = await loadDesignFlag(o);
      const flags = systemOverrides(o);
      // explore's own defaults: a small system; no CONFIG_UNMAP_KERNEL_AT_EL0 unless KPTI is asked for.
      const input: Record<string, unknown> = { cpus: 2, asidBits: 3, ...base };
      for (const [k, v] of Object.entries(flags)) if (v !== undefined) input[k] = v;
      if (input.unmapKernelAtEl0 === undefined) input.unmapKernelAtEl0 = input.kpti === true;
      if (input.asidBits !== 8 && input.asidBits !== 16) input.whatIf = true;
      let system;
      try {
        system = resolveSystem(input, {});
      } catch (e) {
        throw new InputError((e as Error).message, o.system);
      }
      warnInertFaults(io, system);
      if (builtinsOf(system).length > 0) await (await import('../design/builtins.js')).loadBuiltinsFor(system);
      const devices = system.devices.length > 0;
      const kinds = o.events ?? (devices ? DEFAULT_KINDS_WITH_DEVICES : DEFAULT_CPU_KINDS);
      const find = o.find ?? [...FIND_KINDS];
      const { explore } = await import('../explore/explore.js'); // loaded when used
      const started = Date.now();
      let lastProgress = 0;
      const busy = signalsStopAtOnce(); // a synchronous search: Ctrl-C must not wait for it
      const outcome = explore({
        system,
        ...(design ? { parts: design.parts } : {}),
        kinds,
        bounds: {
          tasks: o.tasks,
          mms: o.mms,
          pins: o.pins,
          devices: o.devices ?? Math.min(2, system.devices.length),
          domains: devices ? o.domains : 0,
        },
        depth: o.depth,
        ...(o.generations !== undefined ? { generations: o.generations } : {}),
        find,
        maxStates: o.maxStates,
        bfsStates: o.bfsStates,
        ...(o.timeLimit > 0 ? { timeLimitMs: o.timeLimit * 1000 } : {}),
        strategy: o.strategy,
        seed: o.seed,
        walks: o.walks,
        ...(o.shard ? { shard: o.shard } : {}),
        symmetry: o.symmetry,
        onProgress: io.isTty
          ? (p) => {
              lastProgress = Date.now();
              const rate = Math.round(p.states / Math.max(0.001, p.elapsedMs / 1000));
              const what =
                p.phase === 'shrink'
                  ? `shrinking: ${p.depth} events, ${p.states} tests`
                  : p.phase === 'random'
                    ? `random walks: ${(o.walks - p.queue).toLocaleString('en')} walks, ${p.states.toLocaleString('en')} states (${rate.toLocaleString('en')}/s), longest ${p.depth} actions`
                    : `${p.phase}: ${p.states.toLocaleString('en')} states (${rate.toLocaleString('en')}/s), ${p.edges.toLocaleString('en')} edges, depth ${p.depth}, queue ${p.queue.toLocaleString('en')}`;
              io.err(`\r\x1b[K${what}`);
            }
          : undefined,
      });
      busy.end();
      if (lastProgress) io.err('\r\x1b[K');
      const elapsedMs = Date.now() - started;
      const states = outcome.phases.reduce((a, p) => a + p.result.states, 0);
      const edges = outcome.phases.reduce((a, p) => a + p.result.edges, 0);
      const last = outcome.phases[outcome.phases.length - 1]!.result;
      // The preamble `replay` needs: what was asked for, explore's defaults made explicit.
      const preamble: Record<string, unknown> = { ...input };
      for (const k of Object.keys(preamble)) if (preamble[k] === undefined) delete preamble[k];
      const { traceText } = await import('../explore/trace-text.js');
      const found = outcome.events.length > 0;
      const text = found
        ? traceText(preamble, outcome.events, [
            `Found by asid-replay explore (${outcome.phases.map((p) => p.strategy).join(' then ')}): ${outcome.finding!.kind} at event ${outcome.finding!.row}.`,
            outcome.finding!.detail,
            ...(design
              ? [
                  `Under the design ${design.name} (sha256 ${design.hash}): replay with --design ${design.file}; without it this is base ${design.base ?? system.kernel}.`,
                ]
              : []),
          ])
        : '';
      if (found && o.output) {
        const { writeAtomic } = await import('../util/output.js');
        await writeAtomic(o.output, text);
      }
      const summary = {
        found,
        finding: outcome.finding ?? null,
        events: outcome.events.length,
        eventsBeforeShrinking: outcome.rawEvents,
        exhausted: outcome.exhausted,
        // Breadth-first levels completed: every sequence of this many actions (within the bounds) was tried.
        completeToDepth: completeToDepth(outcome.phases),
        stop: last.stop,
        phases: outcome.phases.map((p) => ({
          strategy: p.strategy,
          stop: p.result.stop,
          states: p.result.states,
          edges: p.result.edges,
          depth: p.result.depth,
          walks: p.result.walks,
          elapsedMs: p.result.elapsedMs,
          bytesPerState: Math.round(p.result.bytesPerState * 10) / 10,
          ...(p.result.shardLevel !== undefined ? { shardLevel: p.result.shardLevel } : {}),
        })),
        states,
        edges,
        elapsedMs,
        statesPerSecond: Math.round(states / Math.max(0.001, elapsedMs / 1000)),
        system: preamble,
        ...(design ? { design: designSummary(design, system.kernel) } : {}),
        ...(o.shard ? { shard: `${o.shard[0]}/${o.shard[1]}` } : {}),
        ...(o.output && found ? { output: o.output } : {}),
      };
      if (o.json) {
        io.out(JSON.stringify({ ...summary, trace: found ? outcome.events.map(({ row: _row, ...e }) => e) : [] }, null, 2) + '\n');
      } else if (found) {
        const Table = (await import('cli-table3')).default;
        const cols = (['cpu', 'task', 'mm', 'device', 'domain', 'pasid', 'va', 'size', 'prot', 'op'] as const).filter((k) =>
          outcome.events.some((e) => e[k] !== undefined),
        );
        const t = new Table({
          head: ['#', 'event', ...cols],
          style: { head: [], border: [] },
          chars: { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' },
        });
        for (const e of outcome.events)
          t.push([
            String(e.row),
            e.kind,
            ...cols.map((k) =>
              e[k] === undefined
                ? ''
                : k === 'va' || k === 'size'
                  ? '0x' + (e[k] as number).toString(16)
                  : k === 'prot'
                    ? protName(e[k] as number)
                    : String(e[k]),
            ),
          ]);
        io.out(t.toString() + '\n');
        io.out(`${outcome.finding!.kind} at event ${outcome.finding!.row}: ${outcome.finding!.detail}\n`);
        io.out(
          `counterexample: ${outcome.events.length} events` +
            (outcome.rawEvents !== outcome.events.length ? ` (shrunk from ${outcome.rawEvents})` : '') +
            `; ${states.toLocaleString('en')} distinct states, ${edges.toLocaleString('en')} edges, ${(elapsedMs / 1000).toFixed(1)} s\n`,
        );
        if (o.output && o.output !== '-') io.out(`written to ${o.output} (asid-replay replay ${o.output})\n`);
        if (o.output === '-') io.out(text);
      } else {
        io.out(`${noneFound(outcome.phases, outcome.exhausted, o.depth, states, edges, elapsedMs)}\n`);
      }
      if (found) throw new Exit(1);
    });
}
