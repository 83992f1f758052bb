/**
 * `asid-replay replay <trace>`: replay one trace v1 file and print the report.
 */
import { stat } from 'node:fs/promises';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { ALLOCATOR_VARIANTS } from '../model/cpu/variants.js';
import { DEFAULT_KERNEL, DRIVER_DESIGNS, KERNEL_HELP, resolveKernel } from '../model/kernel/eras.js';
import { CPU_VIOLATIONS, STALE } from '../model/findings.js';
import { FAULTS, type Fault } from '../model/config.js';
import type { SystemInput } from '../trace/system.js';
import { FAIL_ON_KINDS, type FailOnKind, failingKinds, findingCount, parseFailOn } from '../report/findings.js';
import { readableInput } from '../util/input.js';
import { LONG_TRACE_BYTES, YOUNG_GENERATION_EVENTS, closedStdout, freezeYoungGenerationAfter, tuneGarbageCollector } from './process.js';
import { systemConfigOf } from '../report/era-facts.js';
import { Exit, type Io, intArg, warnInertFaults } from './shared.js';
import { designOption, designSummary, loadDesignFlag } from './design-flag.js';

/** Picture outputs of `replay` (docs/pictures.md). */
interface PictureFlags {
  html?: string;
  perfetto?: string;
  timeseries?: string;
  interval?: number;
}

/** commander argument parser for `--fail-on`. */
export function failOnArg(v: string): FailOnKind[] {
  try {
    return parseFailOn(v);
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message);
  }
}

/** System options shared by replay and check. */
export function addSystemOptions(c: Command): Command {
  return c
    .addOption(
      new Option(
        '--kernel <version>',
        `kernel whose behaviour to model: ${KERNEL_HELP} (default ${DEFAULT_KERNEL}; see docs/kernel-eras.md)`,
      ).argParser(kernelArg),
    )
    .addOption(new Option('--cpus <n>', 'number of CPUs (num_possible_cpus)').argParser(intArg('--cpus', 1, 4096)))
    .addOption(new Option('--asid-bits <n>', 'CPU ASID width: 8 or 16 (others need --what-if)').argParser(intArg('--asid-bits', 2, 16)))
    .option('--kpti', 'KPTI in use: ASIDs in pairs, half the capacity, user ASID = asid|1')
    .option('--no-kpti', 'KPTI not in use')
    .option('--unmap-kernel-at-el0', 'kernel built with CONFIG_UNMAP_KERNEL_AT_EL0 (arm64 defconfig; the default)')
    .option('--no-unmap-kernel-at-el0', 'kernel built without it: no ASIDs reserved for KPTI at boot')
    .addOption(
      new Option(
        '--allocator <version>',
        "expert: override the kernel's ASID allocator version (each but v5.10, the model's own, is the design file examples/designs/allocators/<version>.mjs)",
      ).choices(ALLOCATOR_VARIANTS),
    )
    .addOption(new Option('--max-pinned <n>', 'what-if: override max_pinned_asids').argParser(intArg('--max-pinned')))
    .option('--what-if', 'allow ASID widths other than 8 and 16')
    .addOption(
      new Option(
        '--driver <design>',
        "expert: override the kernel's SMMUv3 SVA design: shared-asid (v5.11-v6.10), private-asid (v6.11+, the model's own), btm-2023 (the 2023 BTM proposal); each but private-asid is the design file examples/designs/drivers/<design>.mjs",
      ).choices(DRIVER_DESIGNS),
    )
    .addOption(
      new Option('--pasid-allocator <kind>', 'PASID allocator: lowest (ida, current) or cyclic (2017 RFC)').choices(['lowest', 'cyclic']),
    )
    .addOption(
      new Option(
        '--fault <bugs>',
        `inject driver bugs / hypothetical kernels (comma-separated; each is the design file examples/designs/faults/<name>.mjs): ${FAULTS.join(', ')}`,
      ).argParser(parseFaults),
    )
    .option('--multi-smmu-domains', "what-if (M. Shavit's 2023 RFC): a DMA domain may span SMMUs when its ASID fits each")
    .addOption(designOption());
}

/** `--kernel`: refused here, named by the flag, when no era has it (not later, as if the trace's `# system:` line were wrong). */
function kernelArg(v: string): string {
  try {
    resolveKernel(v);
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message);
  }
  return v;
}

function parseFaults(v: string): Fault[] {
  const list = v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const k of list) {
    if (!(FAULTS as readonly string[]).includes(k))
      throw new InvalidArgumentError(`unknown fault "${k}"; expected some of: ${FAULTS.join(', ')}`);
  }
  return list as Fault[];
}

interface SystemFlags {
  kernel?: string;
  design?: string;
  unmapKernelAtEl0?: boolean;
  cpus?: number;
  asidBits?: number;
  kpti?: boolean;
  allocator?: (typeof ALLOCATOR_VARIANTS)[number];
  maxPinned?: number;
  whatIf?: boolean;
  driver?: (typeof DRIVER_DESIGNS)[number];
  pasidAllocator?: 'lowest' | 'cyclic';
  fault?: Fault[];
  multiSmmuDomains?: boolean;
}

/** Command-line flags as overrides of the trace's `# system:` preamble. */
export function systemOverrides(o: SystemFlags): Partial<SystemInput> {
  return {
    kernel: o.kernel,
    unmapKernelAtEl0: o.unmapKernelAtEl0,
    cpus: o.cpus,
    asidBits: o.asidBits,
    kpti: o.kpti,
    allocator: o.allocator,
    maxPinnedAsids: o.maxPinned,
    whatIf: o.whatIf,
    driver: o.driver,
    pasidAllocator: o.pasidAllocator,
    faults: o.fault,
    multiSmmuDomains: o.multiSmmuDomains,
  };
}

export function replayCommand(program: Command, io: Io): void {
  const c = program
    .command('replay')
    .description(
      'Replay a trace v1 CSV file through the model and report ASID churn, pins, CPU invariant\n' +
        'violations, SMMU/SVA figures and stale IOTLB/ATC entries.\n' +
        'The system comes from the trace\'s "# system:" line; flags override it; defaults otherwise\n' +
        `(4 CPUs, 16-bit ASIDs, no KPTI, kernel ${DEFAULT_KERNEL} as built by arm64 defconfig, no SMMU).\n` +
        'A kernel version selects an era: allocator, SMMU driver design, PASID lifetime, invalidation rules.',
    )
    .argument(
      '<trace>',
      'trace v1 CSV file (see README.md; `asid-replay import` converts recordings); - reads standard input (as do /dev/stdin, pipes and <(...): read once)',
    );
  addSystemOptions(c)
    .option('--json', 'print the report as JSON (schema asid-replay/report, version 2)')
    .addOption(
      new Option(
        '--fail-on <kinds>',
        `exit 1 when the report has any of these findings (comma-separated): ${FAIL_ON_KINDS.join(', ')}`,
      ).argParser(failOnArg),
    )
    .addOption(new Option('--max-violations <n>', 'violations listed in the table').default(20).argParser(intArg('--max-violations')))
    .addOption(
      new Option(
        '--parse-threads <n>',
        'worker threads parsing the CSV (default 0: in this thread; N threads are ~10-20% faster on big traces for ~4x the memory)',
      ).argParser(intArg('--parse-threads', 0, 64)),
    )
    .option(
      '--html <file>',
      'also write a self-contained HTML report with charts (docs/pictures.md); for this, --perfetto and --timeseries, - is standard output (one of the three at most; the report then goes to standard error)',
    )
    .option(
      '--perfetto <file>',
      'also write a Chrome Trace Event JSON timeline for ui.perfetto.dev (docs/pictures.md); gzip-compressed when <file> ends in .gz (about 6x smaller; the UI opens x.json.gz as it is)',
    )
    .option('--timeseries <file>', 'also write the time series as CSV (docs/pictures.md)')
    .addOption(
      new Option(
        '--interval <n>',
        '--timeseries bucket width: ns of trace time, or rows when the trace has no time (default: at most 2000 buckets)',
      ).argParser(intArg('--interval', 1)),
    )
    .addHelpText(
      'after',
      `
Invariants checked after every event (the TLA+ asidalloc invariants; docs/model.md):
${CPU_VIOLATIONS.map((v) => `  ${v.kind.padEnd(21)} ${v.meaning} (${v.property})`).join('\n')}

Stale IOTLB/ATC entries (docs/model.md), at each dma hit and latent after invalidations:
${STALE.map((v) => `  ${v.kind.padEnd(9)} ${v.meaning}`).join('\n')}

Examples:
  asid-replay replay traces/real/juno-trace-txt.csv --asid-bits 8 --fail-on violations
  asid-replay replay traces/scenarios/asid-move-race.csv --kernel 6.1      # stale IOTLB entry
  asid-replay replay traces/scenarios/asid-move-race.csv --kernel 6.11     # clean
  asid-replay import auto trace.dat -o - | asid-replay replay - --asid-bits 8   # straight from a recording

Findings name the trace row; for an imported trace (one with a src column) each row also shows
its source, <timestamp in the recording>@L<line of the recording>.`,
    )
    .action(
      async (
        trace: string,
        o: SystemFlags & { json?: boolean; failOn?: FailOnKind[]; maxViolations: number; parseThreads?: number } & PictureFlags,
      ) => {
        if (o.interval !== undefined && !o.timeseries) {
          io.err('asid-replay: --interval needs --timeseries <file>\n');
          throw new Exit(2);
        }
        // one picture at most on standard output: two would run into each other there
        const onStdout = (['html', 'perfetto', 'timeseries'] as const).filter((k) => o[k] === '-');
        if (onStdout.length > 1) {
          io.err(
            `asid-replay: ${onStdout.map((k) => `--${k}`).join(' and ')} ${onStdout.length === 2 ? 'both' : 'all'} name standard output (-): give all but one of them a file\n`,
          );
          throw new Exit(2);
        }
        // `-`, /dev/stdin, a pipe: read once into a temporary file (errors still name the argument)
        const input = await readableInput(trace);
        try {
          await replayInput(input.path, input.copied ? input.name : undefined, o);
        } finally {
          await input.dispose();
        }
      },
    );

  /** The replay of `file` (named `name` in messages and the report when it is a copy of standard input). */
  async function replayInput(
    file: string,
    name: string | undefined,
    o: SystemFlags & { json?: boolean; failOn?: FailOnKind[]; maxViolations: number; parseThreads?: number } & PictureFlags,
  ): Promise<void> {
    const design = await loadDesignFlag(o);
    // (a path that cannot be read gets its error from the replay, with the file named)
    const long = ((await stat(file).catch(() => undefined))?.size ?? 0) >= LONG_TRACE_BYTES;
    if (long) tuneGarbageCollector();
    const growing = long ? freezeYoungGenerationAfter(YOUNG_GENERATION_EVENTS) : undefined;
    // The replay's modules load here, not with the command's options (check, explore and shrink
    // share those): a command loads what it runs.
    const [{ replayFile }, { renderJson, renderText }] = await Promise.all([import('../replay/engine.js'), import('../report/render.js')]);
    const pictures =
      o.html || o.perfetto || o.timeseries
        ? await (await import('../report/pictures.js')).openPictures(file, { ...o, onClosedStdout: closedStdout })
        : null;
    let lastProgress = 0;
    const replaying = replayFile(file, {
      name,
      tap: pictures?.tap,
      overrides: systemOverrides(o),
      parts: design?.parts,
      parseThreads: o.parseThreads,
      onProgress:
        io.isTty || growing
          ? (n) => {
              growing?.(n);
              if (!io.isTty) return;
              const now = Date.now();
              if (now - lastProgress > 500) {
                lastProgress = now;
                io.err(`\r${n.toLocaleString('en')} events replayed...`);
              }
            }
          : undefined,
    });
    const report = pictures
      ? await replaying.catch(async (e: unknown) => {
          await pictures.discard();
          throw e;
        })
      : await replaying;
    if (design) report.design = designSummary(design, report.system.kernel);
    if (lastProgress) io.err('\r\x1b[K');
    warnInertFaults(io, systemConfigOf(report.system));
    if (pictures) await pictures.finish(report);
    // A picture on standard output has it to itself: the report goes to standard error (after the
    // picture, the two would not read as one JSON, one page or one CSV).
    const say = [o.html, o.perfetto, o.timeseries].includes('-') ? io.err : io.out;
    say(o.json ? renderJson(report) : renderText(report, o.maxViolations, process.stdout.isTTY ? process.stdout.columns : undefined));
    const failing = o.failOn ? failingKinds(report, o.failOn) : [];
    if (failing.length > 0) {
      io.err(`asid-replay: exit 1: findings of ${failing.map((k) => `${k} (${findingCount(report, k)})`).join(', ')} (--fail-on)\n`);
      throw new Exit(1);
    }
  }
}
