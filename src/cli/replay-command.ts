/**
 * `asid-replay replay <trace>`: replay one trace v1 file and print the report.
 */
import { type Command, InvalidArgumentError, Option } from 'commander';
import { ALLOCATOR_VARIANTS } from '../model/cpu/variants.js';
import { CPU_VIOLATION_KINDS } from '../model/cpu/cpu-model.js';
import { replayFile } from '../replay/engine.js';
import type { Report } from '../report/report.js';
import { renderJson, renderText } from '../report/render.js';
import type { SystemInput } from '../trace/system.js';
import { Exit, type Io, intArg } from './main.js';

/** Finding classes `--fail-on` accepts. */
export const FAIL_ON_KINDS = ['violations', 'pin-failures', ...CPU_VIOLATION_KINDS] as const;

function parseFailOn(v: string): string[] {
  const kinds = v.split(',').map((s) => s.trim()).filter(Boolean);
  for (const k of kinds) {
    if (!(FAIL_ON_KINDS as readonly string[]).includes(k)) {
      throw new InvalidArgumentError(`unknown kind "${k}"; expected a comma-separated list of: ${FAIL_ON_KINDS.join(', ')}`);
    }
  }
  return kinds;
}

/** Whether the report has a finding of one of `kinds`. */
export function failsOn(r: Report, kinds: readonly string[]): boolean {
  const total = Object.values(r.violationCounts).reduce((a, b) => a + b, 0);
  return kinds.some((k) =>
    k === 'violations' ? total > 0 : k === 'pin-failures' ? r.pins.failures > 0 : (r.violationCounts as Record<string, number>)[k] > 0,
  );
}

/** System options shared by replay and check. */
export function addSystemOptions(c: Command): Command {
  return c
    .addOption(new Option('--cpus <n>', 'number of CPUs (num_possible_cpus)').argParser(intArg('--cpus', 1, 4096)))
    .addOption(new Option('--asid-bits <n>', 'CPU ASID width: 8 or 16 (others need --what-if)').argParser(intArg('--asid-bits', 2, 16)))
    .option('--kpti', 'KPTI in use: ASIDs in pairs, half the capacity, user ASID = asid|1')
    .option('--no-kpti', 'KPTI not in use')
    .addOption(new Option('--allocator <version>', 'allocator version').choices(ALLOCATOR_VARIANTS))
    .addOption(new Option('--max-pinned <n>', 'what-if: override max_pinned_asids').argParser(intArg('--max-pinned')))
    .option('--what-if', 'allow ASID widths other than 8 and 16');
}

interface SystemFlags {
  cpus?: number;
  asidBits?: number;
  kpti?: boolean;
  allocator?: (typeof ALLOCATOR_VARIANTS)[number];
  maxPinned?: number;
  whatIf?: boolean;
}

/** Command-line flags as overrides of the trace's `# system:` preamble. */
export function systemOverrides(o: SystemFlags): Partial<SystemInput> {
  return {
    cpus: o.cpus,
    asidBits: o.asidBits,
    kpti: o.kpti,
    allocator: o.allocator,
    maxPinnedAsids: o.maxPinned,
    whatIf: o.whatIf,
  };
}

export function replayCommand(program: Command, io: Io): void {
  const c = program
    .command('replay')
    .description(
      'Replay a trace v1 CSV file through the model and report ASID churn, pins and violations.\n' +
        'The system comes from the trace\'s "# system:" line; flags override it; defaults otherwise\n' +
        '(4 CPUs, 16-bit ASIDs, no KPTI, allocator v5.10).',
    )
    .argument('<trace>', 'trace v1 CSV file (see README.md; `asid-replay import` converts ftrace/systrace)');
  addSystemOptions(c)
    .option('--json', 'print the report as JSON (schema asid-replay/report, version 1)')
    .addOption(
      new Option('--fail-on <kinds>', `exit 1 when the report has any of these findings (comma-separated): ${FAIL_ON_KINDS.join(', ')}`).argParser(parseFailOn),
    )
    .addOption(new Option('--max-violations <n>', 'violations listed in the table').default(20).argParser(intArg('--max-violations')))
    .addHelpText(
      'after',
      `
Invariants checked after every event (spec allocator.md §4.3-4.5):
  tlb-alias             a CPU's TLB holds entries of two mms under one ASID (UniqueASIDPerCPU)
  active-asid-mismatch  a CPU runs an mm with an ASID that is not the mm's (SameASIDActiveTask)
  duplicate-asid        two mms hold the same ASID in one generation
  stale-tlb             a TLB entry survives the unmap+TLBI that should remove it (TLBEmptyInvalPTE)
  pinned-asid-changed   a pinned mm's ASID changed
  no-free-asid          no free ASID after a rollover
  unbalanced-unpin      unpin of an mm that holds no pin

Example: asid-replay replay traces/real/juno-trace-txt.csv --asid-bits 8 --fail-on violations`,
    )
    .action(async (trace: string, o: SystemFlags & { json?: boolean; failOn?: string[]; maxViolations: number }) => {
      let lastProgress = 0;
      const report = await replayFile(trace, {
        overrides: systemOverrides(o),
        onProgress: io.isTty
          ? (n) => {
              const now = Date.now();
              if (now - lastProgress > 500) {
                lastProgress = now;
                io.err(`\r${n.toLocaleString('en')} events replayed...`);
              }
            }
          : undefined,
      });
      if (lastProgress) io.err('\r\x1b[K');
      io.out(o.json ? renderJson(report) : renderText(report, o.maxViolations));
      if (o.failOn && failsOn(report, o.failOn)) throw new Exit(1);
    });
}
