/**
 * `asid-replay compare <trace> --kernel 6.1,6.12 [--asid-bits 8,16] [--kpti off,on] [--driver ...]`:
 * the trace replayed under the cross product of the settings, one table with a column per system,
 * the figures that differ between systems marked (`*`, and in colour on a terminal unless NO_COLOR
 * is set); `--json`; `--html` with the series of every system overlaid.
 */
import { type Command, InvalidArgumentError, Option } from 'commander';
import Table from 'cli-table3';
import { DRIVER_DESIGNS, FAULTS, type Fault, type SystemInput } from '../trace/system.js';
import type { Report } from '../report/report.js';
import type { Series, SeriesCollector } from '../report/series.js';
import { InputError } from '../trace/errors.js';
import { readableInput } from '../util/input.js';
import { systemConfigOf } from '../report/era-facts.js';
import { Exit, type Io, intArg, warnInertFaults } from './shared.js';
import type { LoadedDesign } from '../design/load.js';
import { designSummary } from './design-flag.js';

/** One system of the comparison: its settings (overrides of the trace's preamble) and label. */
export interface CompareSystem {
  label: string;
  overrides: Partial<SystemInput>;
  /** The design this system runs (`--design`), if any. */
  design?: LoadedDesign;
}

/** A comma-separated option value. */
function listArg<T>(name: string, parse: (v: string) => T) {
  return (v: string): T[] => {
    const items = v
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    if (items.length === 0) throw new InvalidArgumentError(`${name} needs at least one value`);
    return items.map(parse);
  };
}

const kptiValue = (v: string): boolean => {
  if (v === 'on' || v === 'true' || v === 'yes') return true;
  if (v === 'off' || v === 'false' || v === 'no') return false;
  throw new InvalidArgumentError(`--kpti takes a list of on and off, got "${v}"`);
};

const driverValue = (v: string): (typeof DRIVER_DESIGNS)[number] => {
  if (!(DRIVER_DESIGNS as readonly string[]).includes(v))
    throw new InvalidArgumentError(`unknown driver design "${v}"; expected some of: ${DRIVER_DESIGNS.join(', ')}`);
  return v as (typeof DRIVER_DESIGNS)[number];
};

/** `--fault a,b`: injected driver bugs, the same for every system. */
const faultList = (v: string): Fault[] => {
  const list = v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const k of list)
    if (!(FAULTS as readonly string[]).includes(k))
      throw new InvalidArgumentError(`unknown fault "${k}"; expected some of: ${FAULTS.join(', ')}`);
  return list as Fault[];
};

interface CompareFlags {
  kernel?: string[];
  design?: string[];
  fault?: Fault[];
  asidBits?: number[];
  kpti?: boolean[];
  driver?: (typeof DRIVER_DESIGNS)[number][];
  cpus?: number[];
  json?: boolean;
  html?: string;
}

/**
 * `--design a.mjs,b.mjs`: every system once on the designs' base release without a design, then
 * once with each design. The designs must patch one release, and `--kernel` cannot name another;
 * designs without a base run on each system's kernel (`--kernel`, or the trace's).
 * @throws InputError / DesignError (exit 2).
 */
async function withDesigns(systems: CompareSystem[], o: CompareFlags): Promise<CompareSystem[]> {
  const { loadDesign } = await import('../design/load.js');
  const designs: LoadedDesign[] = [];
  for (const f of o.design!) designs.push(await loadDesign(f));
  const based = designs.filter((d) => d.base !== undefined);
  const base = based[0]?.base;
  if (base !== undefined && o.kernel)
    throw new InputError('--design compares a base release with its patches: drop --kernel (the designs name their base)');
  const other = based.find((d) => d.base !== base);
  if (other)
    throw new InputError(`the designs patch different releases (${base} and ${other.base}): compare them one base at a time`, other.file);
  const join = (a: string, b: string) => (a ? `${a} ${b}` : b);
  const pinned = base === undefined ? {} : { kernel: base };
  return systems.flatMap((s) => [
    { label: join(s.label, base ?? 'base'), overrides: { ...s.overrides, ...pinned } },
    ...designs.map((d) => ({ label: join(s.label, d.name), overrides: { ...s.overrides, ...pinned }, design: d })),
  ]);
}

/** Most systems one comparison replays (the cross product grows fast). */
export const MAX_SYSTEMS = 32;

/**
 * The cross product of the settings, in the order kernel, ASID bits, KPTI, driver, CPUs; labels
 * name only the settings given.
 */
export function systemsOf(o: Pick<CompareFlags, 'kernel' | 'asidBits' | 'kpti' | 'driver' | 'cpus'>): CompareSystem[] {
  let out: CompareSystem[] = [{ label: '', overrides: {} }];
  const dim = <T>(values: T[] | undefined, set: (v: T) => Partial<SystemInput>, name: (v: T) => string) => {
    if (!values) return;
    out = out.flatMap((s) =>
      values.map((v) => ({ label: s.label ? `${s.label} ${name(v)}` : name(v), overrides: { ...s.overrides, ...set(v) } })),
    );
  };
  dim(
    o.kernel,
    (kernel) => ({ kernel }),
    (k) => k,
  );
  dim(
    o.asidBits,
    (asidBits) => ({ asidBits }),
    (b) => `${b}-bit`,
  );
  dim(
    o.kpti,
    (kpti) => ({ kpti }),
    (k) => (k ? 'KPTI' : 'no-KPTI'),
  );
  dim(
    o.driver,
    (driver) => ({ driver }),
    (d) => d,
  );
  dim(
    o.cpus,
    (cpus) => ({ cpus }),
    (c) => `${c}cpu`,
  );
  return out;
}

/** The figures of the table: label and how to read it from a report. */
const FIGURES: [string, (r: Report) => string | number][] = [
  ['kernel era', (r) => r.system.era],
  ['allocator', (r) => r.allocator.variant],
  ['ASID bits', (r) => `${r.system.asidBits}${r.system.kpti ? ' KPTI' : ''}`],
  ['allocatable ASIDs', (r) => r.allocator.numAsids - 1],
  ['switch_mm', (r) => r.churn.switches],
  ['slow path', (r) => r.churn.slowPath],
  ['fresh allocations', (r) => r.churn.allocations],
  ['re-used rsv/pin/free', (r) => `${r.churn.reused.reserved}/${r.churn.reused.pinned}/${r.churn.reused.free}`],
  ['rollovers', (r) => r.churn.rollovers],
  ['local TLB flushes', (r) => r.churn.localTlbFlushes],
  ['TLBI ASID / VA', (r) => `${r.churn.tlbi.asid}/${r.churn.tlbi.va}`],
  ['mms changed ASID', (r) => r.churn.mms.changedAsid],
  ['pin limit', (r) => (r.pins.limit === null ? 'none' : r.pins.limit)],
  ['pin failures', (r) => r.pins.failures],
  ['most pins held', (r) => r.pins.maxHeld],
  ['violations', (r) => Object.values(r.violationCounts).reduce((a, b) => a + b, 0)],
  ['SMMU driver', (r) => (r.system.smmus.length ? r.system.driver : '-')],
  ['device failures', (r) => r.devices.failureCounts.attach + r.devices.failureCounts.bind + r.devices.failureCounts.map],
  ['stale entries', (r) => r.stale.total],
  ['SMMU TLBI ASID/VA', (r) => (r.devices.smmus.length ? `${sum(r, (m) => m.tlbiAsid)}/${sum(r, (m) => m.tlbiVa)}` : '-')],
  ['IOTLB hits/misses', (r) => (r.devices.smmus.length ? `${sum(r, (m) => m.hits)}/${sum(r, (m) => m.misses)}` : '-')],
];

const sum = (r: Report, f: (m: Report['devices']['smmus'][number]) => number) => r.devices.smmus.reduce((a, m) => a + f(m), 0);

/** Figure rows of the comparison; `differs` when the systems disagree. */
export function compareRows(reports: readonly Report[]): { figure: string; values: (string | number)[]; differs: boolean }[] {
  const rows = FIGURES.map(([figure, get]) => {
    const values = reports.map(get);
    return { figure, values, differs: values.some((v) => String(v) !== String(values[0])) };
  });
  // Violation and stale kinds that any system has, one row each.
  const kinds = (pick: (r: Report) => Record<string, number>) => [
    ...new Set(
      reports.flatMap((r) =>
        Object.entries(pick(r))
          .filter(([, n]) => n > 0)
          .map(([k]) => k),
      ),
    ),
  ];
  for (const k of kinds((r) => r.violationCounts)) {
    const values = reports.map((r) => (r.violationCounts as Record<string, number>)[k] ?? 0);
    rows.push({ figure: `  ${k}`, values, differs: values.some((v) => v !== values[0]) });
  }
  for (const k of kinds((r) => Object.fromEntries(Object.entries(r.stale.counts).map(([x, c]) => [x, c.hit + c.latent])))) {
    const values = reports.map((r) => {
      const c = (r.stale.counts as Record<string, { hit: number; latent: number }>)[k];
      return c ? `${c.hit}+${c.latent}` : '0+0';
    });
    rows.push({ figure: `  ${k} hit+latent`, values, differs: values.some((v) => v !== values[0]) });
  }
  return rows;
}

/**
 * The comparison as text: one table (more only when the systems do not fit `width` columns),
 * differing figures marked with `*`, and in colour when `colour`.
 */
export function renderCompare(
  trace: string,
  systems: readonly CompareSystem[],
  reports: readonly Report[],
  width: number,
  colour: boolean,
): string {
  const rows = compareRows(reports);
  const labelW = Math.max(...rows.map((r) => r.figure.length)) + 2;
  const colW = systems.map(
    (s, i) => Math.max(...s.label.split(' ').map((w) => w.length), ...rows.map((r) => String(r.values[i]).length)) + 2,
  );
  // Split the systems into groups that fit the width (each column costs its width + 1 border).
  const groups: number[][] = [];
  let cur: number[] = [];
  let used = labelW + 2;
  systems.forEach((_, i) => {
    if (cur.length > 0 && used + colW[i]! + 1 > width) {
      groups.push(cur);
      cur = [];
      used = labelW + 2;
    }
    cur.push(i);
    used += colW[i]! + 1;
  });
  groups.push(cur);
  const red = (s: string) => (colour ? `\x1b[1;33m${s}\x1b[0m` : s);
  const out = [`asid-replay compare: ${trace}: ${reports[0]?.trace.events ?? 0} events, ${systems.length} systems (* = differs)`];
  for (const g of groups) {
    const t = new Table({
      head: ['', ...g.map((i) => systems[i]!.label.split(' ').join('\n'))],
      chars: { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' },
      style: { head: [], border: [], 'padding-left': 1, 'padding-right': 1 },
    });
    for (const r of rows) {
      const mark = r.differs ? '*' : ' ';
      t.push([
        r.differs ? red(`${mark}${r.figure}`) : `${mark}${r.figure}`,
        ...g.map((i) => (r.differs ? red(String(r.values[i])) : String(r.values[i]))),
      ]);
    }
    out.push(t.toString());
  }
  const diff = rows.filter((r) => r.differs).length;
  out.push(diff === 0 ? 'No figure differs.' : `${diff} figures differ.`);
  return out.join('\n') + '\n';
}

/** Whether to colour standard output: a terminal, and NO_COLOR unset (https://no-color.org). */
export function useColour(io: Io): boolean {
  const noColor = process.env.NO_COLOR;
  return io.isTty && Boolean(process.stdout.isTTY) && (noColor === undefined || noColor === '');
}

export function compareCommand(program: Command, io: Io): void {
  program
    .command('compare')
    .description(
      'Replay one trace under several systems (the cross product of the lists given) and print one\n' +
        'table with a column per system; figures that differ are marked. See docs/pictures.md.',
    )
    .argument('<trace>', 'trace v1 CSV file; - reads standard input (as do /dev/stdin, pipes and <(...): read once)')
    .addOption(new Option('--kernel <versions>', 'kernels, comma-separated (e.g. 6.1,6.12)').argParser(listArg('--kernel', (v) => v)))
    .addOption(
      new Option('--asid-bits <list>', 'CPU ASID widths, comma-separated (e.g. 8,16)').argParser(
        listArg('--asid-bits', intArg('--asid-bits', 2, 16)),
      ),
    )
    .addOption(new Option('--kpti <list>', 'KPTI off and/or on, comma-separated (e.g. off,on)').argParser(listArg('--kpti', kptiValue)))
    .addOption(
      new Option('--driver <designs>', `SMMUv3 SVA designs, comma-separated: ${DRIVER_DESIGNS.join(', ')}`).argParser(
        listArg('--driver', driverValue),
      ),
    )
    .addOption(new Option('--cpus <list>', 'CPU counts, comma-separated').argParser(listArg('--cpus', intArg('--cpus', 1, 4096))))
    .addOption(
      new Option(
        '--fault <bugs>',
        `inject driver bugs / hypothetical kernels into every system (comma-separated): ${FAULTS.join(', ')}`,
      ).argParser(faultList),
    )
    .option('--json', 'print the comparison as JSON (every report in full)')
    .option(
      '--html <file>',
      'also write an HTML page with the series of every system overlaid (- : to standard output, and the comparison then to standard error)',
    )
    .addOption(
      new Option(
        '--design <files>',
        'designs (patches as files, docs/designs.md), comma-separated, on one base release: compares the base with each design',
      ).argParser(listArg('--design', (v) => v)),
    )
    .addHelpText(
      'after',
      `
Examples:
  asid-replay compare traces/real/juno-trace-txt.csv --kernel 6.1,6.12 --asid-bits 8,16
  asid-replay compare traces/scenarios/asid-move-race.csv --kernel 6.1,6.11,rfc-btm-2023 --html race.html`,
    )
    .action(async (arg: string, o: CompareFlags) => {
      let systems = systemsOf(o);
      if (o.design) systems = await withDesigns(systems, o);
      if (o.fault) for (const s of systems) s.overrides.faults = o.fault;
      if (!o.kernel && !o.asidBits && !o.kpti && !o.driver && !o.cpus && !o.design) {
        io.err('asid-replay: compare needs at least one list to vary: --kernel, --asid-bits, --kpti, --driver, --cpus or --design\n');
        throw new Exit(2);
      }
      if (systems.length > MAX_SYSTEMS) {
        io.err(`asid-replay: ${systems.length} systems: at most ${MAX_SYSTEMS} (shorten the lists)\n`);
        throw new Exit(2);
      }
      // `-`, /dev/stdin, a pipe: read once into a temporary file (messages and the report name the argument)
      const input = await readableInput(arg);
      try {
        await compareInput(input.path, input.copied ? input.name : undefined, systems, o);
      } catch (e) {
        if (e instanceof InputError && input.copied && e.file === input.path) e.file = input.name;
        throw e;
      } finally {
        await input.dispose();
      }
    });

  /** The comparison of the trace in `trace` (named `name` in messages when it is a copy of standard input). */
  async function compareInput(trace: string, name: string | undefined, systems: CompareSystem[], o: CompareFlags): Promise<void> {
    const { replayFile, systemOfTrace } = await import('../replay/engine.js');
    // Every system must resolve before any replay (a bad kernel name is exit 2 at once).
    for (const s of systems) {
      try {
        await systemOfTrace(trace, s.overrides);
      } catch (e) {
        if (e instanceof InputError)
          throw new InputError(`system ${s.label}: ${e.message}`, e.file === trace ? (name ?? trace) : e.file, e.line, e.column);
        throw e;
      }
    }
    let Collector: typeof SeriesCollector | undefined;
    if (o.html) {
      const { probeOutput } = await import('../util/output.js');
      await probeOutput(o.html); // an unwritable path is exit 2 before any work
      Collector = (await import('../report/series.js')).SeriesCollector;
    }
    const reports: Report[] = [];
    const series: Series[] = [];
    for (const s of systems) {
      let col: SeriesCollector | undefined;
      const report = await replayFile(trace, {
        name,
        overrides: s.overrides,
        parts: s.design?.parts,
        tap: Collector ? (system, model) => (col = new Collector!(system, model)) : undefined,
      });
      if (s.design) report.design = designSummary(s.design, report.system.kernel);
      reports.push(report);
      warnInertFaults(io, systemConfigOf(report.system), ` on ${s.label}`);
      if (col) series.push(col.end());
    }
    if (o.html) {
      const { excerptRows, readExcerpts, renderHtml } = await import('../report/html.js');
      const { writeAtomic } = await import('../util/output.js');
      const excerpts = await readExcerpts(trace, series.flatMap(excerptRows));
      const runs = systems.map((s, i) => ({ label: s.label, report: reports[i]!, series: series[i]! }));
      await writeAtomic(o.html, renderHtml(reports[0]!.trace.name, runs, excerpts));
    }
    // the page on standard output has it to itself: the comparison goes to standard error
    const say = o.html === '-' ? io.err : io.out;
    if (o.json) {
      const rows = compareRows(reports);
      say(
        JSON.stringify(
          {
            schema: 'asid-replay/compare',
            version: 1,
            trace: reports[0]!.trace.name,
            systems: systems.map((s, i) => ({ label: s.label, settings: s.overrides, report: reports[i] })),
            differences: rows.filter((r) => r.differs).map((r) => ({ figure: r.figure.trim(), values: r.values })),
          },
          null,
          2,
        ) + '\n',
      );
      return;
    }
    say(renderCompare(reports[0]!.trace.name, systems, reports, Math.max(60, process.stdout.columns || 80), useColour(io)));
  }
}
