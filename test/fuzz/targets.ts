/**
 * Fuzz targets: fast-check arbitraries of whole CLI invocations ({@link FuzzCase}: files of a case
 * folder and an argument vector), one per kind of input the CLI reads:
 *
 * - `trace`: trace v1 CSV, from the shipped traces (prefixes, which stay valid, and windows, which
 *   break the model's state), from the workload generator (valid, deep) and from small random rows;
 *   mutated by line, cell, character and byte, with `# system:` lines replaced by random, mutated
 *   or junk JSON (unknown fields, wrong types, nesting); replayed with random system flags
 *   (`--kernel`, `--allocator`, `--driver`, `--fault`, `--what-if --asid-bits`, ...).
 * - `import`: ftrace / trace-cmd report text (excerpts of the recordings under traces/real/recordings
 *   and synthetic lines in every supported style) and systrace HTML (real heads, both layouts,
 *   compressed and JSON blocks), mutated; imported with random options.
 * - `check`: a corpus folder with a shipped trace and its expectation, the expectation mutated as
 *   JSON and as text (or missing, a folder, deeply nested), plus extra files and random flags.
 * - `argv`: random subcommands, known and unknown options, bad, missing and out-of-range values.
 *
 * Everything is seeded by fast-check; generated inputs are deterministic for a seed.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { ALLOCATOR_VARIANTS } from '../../src/model/cpu/variants.js';
import { FAIL_ON_KINDS } from '../../src/report/findings.js';
import { PROFILES, PROFILE_NAMES } from '../../src/generate/profiles.js';
import { generatedPreamble } from '../../src/generate/generate.js';
import { HEADER, formatEvent } from '../../src/trace/writer.js';
import { IMPORT_KINDS } from '../../src/import/kinds.js';
import { COLUMNS, type Column, EVENT_COLUMNS, EVENT_KINDS, type EventKind } from '../../src/trace/events.js';
import { DRIVER_DESIGNS, FAULTS, resolveSystem } from '../../src/trace/system.js';
import { DEFAULT_KERNEL, ERAS, RFC_BTM_2023 } from '../../src/model/kernel/eras.js';
import { type Edit, TOKENS, applyEdits, applyJsonEdits, cellToken, editArb, jsonEditArb, junkJson, stringifyJson } from './mutate.js';

export const TARGETS = ['trace', 'import', 'check', 'argv'] as const;
export type TargetName = (typeof TARGETS)[number];

/** One CLI invocation to run in a fresh folder. */
export interface FuzzCase {
  target: TargetName;
  /** Files of the case folder: path relative to it -> content. */
  files: Record<string, string | Uint8Array>;
  /** Folders to create (inputs that are folders). */
  dirs?: string[];
  /** Arguments after `asid-replay`; `@` is the case folder, `@/x` a path inside it. */
  argv: string[];
  /** `io.isTty`: progress output on. */
  isTty?: boolean;
  /** After an import that exits 0, this output (`@/...`) must replay with exit 0. */
  replayOutput?: string;
}

// ---------------------------------------------------------------------------------------------
// Seed corpus: the shipped traces and recordings, read once.

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const read = (p: string) => readFileSync(join(ROOT, p), 'utf8');
/** The first `n` lines of a text (big recordings are cut: mutations near the start matter most). */
const head = (s: string, n: number) => s.split('\n').slice(0, n).join('\n');

function walk(dir: string): string[] {
  return readdirSync(join(ROOT, dir)).flatMap((e) => {
    const p = join(dir, e);
    return statSync(join(ROOT, p)).isDirectory() ? walk(p) : [p];
  });
}

/** Every shipped trace (first 500 lines), sorted by path. */
const CSV_SEEDS = walk('traces')
  .filter((p) => p.endsWith('.csv'))
  .sort()
  .map((p) => head(read(p), 500));

/** Shipped traces under 64 KiB with their expectations (the `check` corpus seeds), smallest first. */
const CHECK_SEEDS = walk('traces')
  .filter((p) => p.endsWith('.csv') && statSync(join(ROOT, p)).size < 64 * 1024)
  .map((p) => ({ csv: read(p), expected: read(p.replace(/\.csv$/, '.expected.json')) }))
  .sort((a, b) => a.csv.length - b.csv.length);

const REC = 'traces/real/recordings/';
/** ftrace text in each style we import: raw fields, trace-cmd plugin form, TGID and irq-flags columns. */
const FTRACE_SEEDS = [
  `${REC}lisa-juno-trace-txt/trace.txt`,
  `${REC}lisa-juno-rtapp/trace.dat.report.txt`,
  `${REC}catapult-android-tegra3-systrace/atrace_data`,
  `${REC}catapult-android-tegra3-systrace/atrace_fixed_tgids`,
].map((p) => head(read(p), 1500));

/** The part of each systrace HTML file before its trace data (cut to 4 KiB at a line end). */
const HTML_HEADS = [
  `${REC}catapult-android-tegra3-systrace/android_systrace.html`,
  `${REC}trappy-android-msm8998-systrace/trace_surfaceflinger.html`,
].map((p) => {
  const s = read(p);
  const end = Math.min(s.search(/<script class="trace-data"|var linuxPerfData/), 4096);
  return s.slice(0, s.lastIndexOf('\n', end) + 1);
});

/** `xs[i mod length]` (seed lists are never empty). */
const pick = <T>(xs: readonly T[], i: number): T => xs[i % xs.length]!;

/** Lines `[start, start+len)` of the data rows of `text`, after all of its preamble and header (start 0 = a valid prefix). */
function window(text: string, start: number, len: number): string {
  const lines = text.split('\n');
  let h = lines.findIndex((l) => l.trim() !== '' && !l.startsWith('#'));
  if (h < 0) h = lines.length - 1;
  const rows = lines.slice(h + 1);
  const s = start % (rows.length + 1);
  return [...lines.slice(0, h + 1), ...rows.slice(s, s + len)].join('\n') + '\n';
}

// ---------------------------------------------------------------------------------------------
// Shared pieces.

/** Mostly-valid values with a junk alternative (weight 9 : 1). */
const mostly = <T>(valid: fc.Arbitrary<T>, junk: fc.Arbitrary<unknown> = junkJson) =>
  fc.oneof({ weight: 9, arbitrary: valid as fc.Arbitrary<unknown> }, { weight: 1, arbitrary: junk });

/** An integer option value: small, at the documented edges, or any cell token. */
const intish = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom('0', '1', '2', '3', '4', '8', '16', '64', '256', '4096', '4097', '65536', '0x10') },
  { weight: 1, arbitrary: cellToken },
);

/** `--kernel` / `"kernel"` values: every era's first and last version, spellings, and versions outside every era. */
const kernelArb = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.constantFrom(
      ...ERAS.flatMap((e) => [e.from, e.to ?? [7, 0]].map(([a, b]) => `${a}.${b}`)),
      RFC_BTM_2023.id,
      DEFAULT_KERNEL,
      '6.12.3',
      'v6.1',
      '6.1-rc3',
    ),
  },
  {
    weight: 1,
    arbitrary: fc.oneof(
      fc.constantFrom('4.18', '3.0', '99.99', '6', '6.1.2.3', 'v', 'rfc', ' 6.1 ', '06.01', '6.99999999999999999999'),
      cellToken,
    ),
  },
);

/** A comma-separated list drawn from `items`, sometimes with a junk element or empty parts. */
const list = (items: readonly string[]) =>
  fc.oneof(
    { weight: 4, arbitrary: fc.array(fc.constantFrom(...items), { minLength: 1, maxLength: 3 }).map((xs) => xs.join(',')) },
    { weight: 1, arbitrary: fc.array(fc.oneof(fc.constantFrom(...items), cellToken), { maxLength: 3 }).map((xs) => xs.join(',')) },
  );

/** `# system:` JSON: mostly valid fields (CPUs, ASID bits, allocator, SMMUs, devices, faults...), some junk, then JSON edits (unknown keys, wrong types, nesting). */
export const systemArb: fc.Arbitrary<unknown> = fc
  .tuple(
    fc.record(
      {
        kernel: mostly(kernelArb),
        unmapKernelAtEl0: mostly(fc.boolean()),
        cpus: mostly(fc.integer({ min: 1, max: 8 })),
        asidBits: mostly(fc.constantFrom(8, 16, 2, 3, 4, 17)),
        kpti: mostly(fc.boolean()),
        allocator: mostly(fc.constantFrom(...ALLOCATOR_VARIANTS)),
        driver: mostly(fc.constantFrom(...DRIVER_DESIGNS)),
        whatIf: mostly(fc.boolean()),
        maxPinnedAsids: mostly(fc.nat(20)),
        pasidAllocator: mostly(fc.constantFrom('lowest', 'cyclic')),
        multiSmmuDomains: mostly(fc.boolean()),
        faults: mostly(fc.array(fc.constantFrom(...FAULTS), { maxLength: 2 })),
        smmus: mostly(
          fc.array(
            fc.record(
              {
                name: mostly(fc.constantFrom('smmu0', 'smmu1')),
                asidBits: mostly(fc.constantFrom(8, 16)),
                btm: mostly(fc.boolean()),
                ssidBits: mostly(fc.nat(20)),
                rangeInvalidation: mostly(fc.boolean()),
              },
              { requiredKeys: ['name'] },
            ),
            { maxLength: 2 },
          ),
        ),
        devices: mostly(
          fc.array(
            fc.record(
              {
                name: mostly(fc.constantFrom('devA', 'devB', 'gpu')),
                smmu: mostly(fc.constantFrom('smmu0', 'smmu1')),
                pasidBits: mostly(fc.nat(20)),
                streamIds: mostly(fc.array(fc.nat(4), { maxLength: 2 })),
                ats: mostly(fc.boolean()),
              },
              { requiredKeys: ['name', 'smmu'] },
            ),
            { maxLength: 3 },
          ),
        ),
      },
      { requiredKeys: [] },
    ),
    fc.oneof({ weight: 3, arbitrary: fc.constant([]) }, { weight: 1, arbitrary: fc.array(jsonEditArb, { minLength: 1, maxLength: 3 }) }),
  )
  .map(([sys, edits]) => applyJsonEdits(sys, edits));

/** How a trace's `# system:` line is changed. */
const systemLineArb = fc.oneof(
  { weight: 4, arbitrary: fc.record({ how: fc.constant('keep' as const) }) },
  { weight: 2, arbitrary: fc.record({ how: fc.constant('replace' as const), sys: systemArb }) },
  { weight: 2, arbitrary: fc.record({ how: fc.constant('edit' as const), edits: fc.array(jsonEditArb, { minLength: 1, maxLength: 3 }) }) },
  {
    weight: 1,
    arbitrary: fc.record({
      how: fc.constant('raw' as const),
      text: fc.oneof(
        cellToken,
        fc.constantFrom('{', '{"cpus":2,}', '{"cpus":2}}', 'null', '[]', '1', '"x"', '{"cpus":1e400}', "{'cpus':2}"),
      ),
    }),
  },
  { weight: 1, arbitrary: fc.record({ how: fc.constant('second' as const), sys: systemArb }) },
  { weight: 1, arbitrary: fc.record({ how: fc.constant('drop' as const) }) },
);
type SystemLine = typeof systemLineArb extends fc.Arbitrary<infer T> ? T : never;

const SYSTEM_LINE = /^#\s*system:\s*(.*)$/;

/** Apply a {@link SystemLine} change to the text of a trace. */
function withSystemLine(text: string, s: SystemLine): string {
  if (s.how === 'keep') return text;
  const lines = text.split('\n');
  let i = lines.findIndex((l) => SYSTEM_LINE.test(l));
  if (s.how === 'drop') return i < 0 ? text : [...lines.slice(0, i), ...lines.slice(i + 1)].join('\n');
  let old: unknown = {};
  const sysLine = lines[i] ?? '';
  if (i >= 0 && sysLine.length < 10_000) {
    // (a longer line is a nested-array junk value: structuredClone would overflow the stack)
    try {
      old = JSON.parse(SYSTEM_LINE.exec(sysLine)?.[1] ?? '{}');
    } catch {
      // keep {}
    }
  }
  const json =
    s.how === 'replace' || s.how === 'second'
      ? stringifyJson(s.sys)
      : s.how === 'edit'
        ? stringifyJson(applyJsonEdits(old, s.edits))
        : s.text;
  const line = `# system: ${json}`;
  if (s.how === 'second' || i < 0) {
    i = Math.max(0, i + 1);
    return [...lines.slice(0, i), line, ...lines.slice(i)].join('\n');
  }
  lines[i] = line;
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------------
// trace: generated rows.

/** A plausible value per column (a few tasks, mms, devices, pages), or a junk cell once in ten. */
const CELL_VALUES: Record<Exclude<Column, 'event' | 'time'>, fc.Arbitrary<string>> = {
  cpu: fc.nat(3).map(String),
  task: fc.nat(4).map(String),
  mm: fc.constantFrom('P', 'Q', 'R'),
  device: fc.constantFrom('devA', 'devB', 'gpu'),
  domain: fc.constantFrom('D1', 'D2'),
  pasid: fc.nat(3).map(String),
  va: fc.oneof(
    fc.nat(16).map((k) => `0x${(0x1000 * k).toString(16)}`),
    fc.constantFrom('0x400000', '0xfffffffff000', '0x1fffffffffffff'),
  ),
  size: fc.oneof(
    fc.integer({ min: 1, max: 4 }).map((k) => `0x${(0x1000 * k).toString(16)}`),
    fc.constantFrom('0x1', '0x201000', '0x10000000000', '0x1fffffffffffff'),
  ),
  prot: fc.constantFrom('r', 'w', 'rw'),
  op: fc.constantFrom('b1', 'b2'),
  src: fc.oneof(
    fc
      .tuple(fc.nat(99999), fc.nat(999999), fc.integer({ min: 1, max: 99999 }))
      .map(([s, f, l]) => `${s}.${String(f).padStart(6, '0')}@L${l}`),
    fc.constantFrom('1@L1', '0.000000000001@L999999999999999', '1.5@L0', '1.@L2', '@L3', '1.5', '1.5@3'),
  ),
};

/** One row: an event kind, a time step, and per column a roll (required columns always filled, optional ones 40 %, others 3 %) and a value. */
const rowArb = fc.record({
  kind: fc.oneof({ weight: 19, arbitrary: fc.constantFrom(...EVENT_KINDS) as fc.Arbitrary<string> }, { weight: 1, arbitrary: cellToken }),
  dt: fc.oneof({ weight: 9, arbitrary: fc.nat(1000) }, { weight: 1, arbitrary: fc.constantFrom(-1, 2 ** 53) }),
  cells: fc.record(
    Object.fromEntries(
      Object.entries(CELL_VALUES).map(([c, a]) => [
        c,
        fc.tuple(fc.nat(99), fc.oneof({ weight: 9, arbitrary: a }, { weight: 1, arbitrary: cellToken })),
      ]),
    ) as Record<string, fc.Arbitrary<[number, string]>>,
  ),
});

/** A small trace built from rows: optional system line, a shuffled header, times that mostly increase. */
const generatedTraceArb = fc
  .record({
    system: fc.option(systemArb, { freq: 4 }),
    rows: fc.array(rowArb, { maxLength: 40 }),
    order: fc.shuffledSubarray([...COLUMNS], { minLength: COLUMNS.length }),
    extra: fc.subarray([...COLUMNS]),
    time: fc.boolean(),
  })
  .map(({ system, rows, order, extra, time }) => {
    let t = 0;
    const used = new Set<string>(['event', ...extra, ...(time ? ['time'] : [])]);
    const cells = rows.map((r) => {
      const rule = Object.hasOwn(EVENT_COLUMNS, r.kind) ? EVENT_COLUMNS[r.kind as EventKind] : { required: [], optional: [] };
      const row: Record<string, string> = { event: r.kind, time: String((t = Math.max(0, t + r.dt))) };
      for (const [c, [roll, v]] of Object.entries(r.cells)) {
        if (rule.required.includes(c as Column) || (rule.optional.includes(c as Column) && roll < 40) || roll < 3) {
          row[c] = v;
          used.add(c);
        }
      }
      return row;
    });
    const header = order.filter((c) => used.has(c));
    const lines = [
      ...(system === null ? [] : [`# system: ${stringifyJson(system)}`]),
      header.join(','),
      ...cells.map((r) => header.map((c) => r[c] ?? '').join(',')),
    ];
    return lines.join('\n') + '\n';
  });

/**
 * A valid trace from the product's own workload generator (any profile, seed, CPU count, ASID width,
 * KPTI; up to 400 events): replays reach deep model states (rollovers, pin limits, ASID moves) that
 * random rows, which fail at their first impossible event, do not.
 */
const profileTraceArb = fc
  .record({
    profile: fc.constantFrom(...PROFILE_NAMES),
    seed: fc.nat(1000),
    events: fc.integer({ min: 1, max: 400 }),
    cpus: fc.integer({ min: 1, max: 8 }),
    asidBits: fc.constantFrom(3, 4, 5, 8, 16),
    kpti: fc.boolean(),
  })
  .map((o) => {
    const p = PROFILES[o.profile]!;
    const rows: string[] = [];
    for (const e of p.events(o)) if (rows.push(formatEvent(e)) >= o.events) break;
    let system = '';
    try {
      const pre = generatedPreamble(o.profile, o);
      resolveSystem(pre, {}); // a combination the generator refuses (throws): keep the rows, without a system line
      system = `# system: ${JSON.stringify(pre)}\n`;
    } catch {
      // (see above)
    }
    return system + [HEADER, ...rows].join('\n') + '\n';
  });

/** A trace row as text, for inserted lines. */
const rowLineArb = fc.oneof(
  fc
    .tuple(
      fc.constantFrom(...EVENT_KINDS),
      fc.array(fc.oneof(fc.constantFrom('', '', '1', 'P', '0x1000', 'devA', 'D1', 'rw', 'b1'), cellToken), { maxLength: 11 }),
    )
    .map(([k, cs]) => [k, ...cs].join(',')),
  fc.constantFrom('# a comment', '#', 'event,cpu,task', ...COLUMNS),
);

/** Flags of `replay` (system overrides, output, --fail-on), mostly valid; `--parse-threads` (workers, slow) is rare. */
const replayFlagArb: fc.Arbitrary<string[]> = fc.oneof(
  {
    weight: 20,
    arbitrary: fc.tuple(fc.constantFrom('--cpus', '--asid-bits', '--max-pinned', '--max-violations'), intish).map((x) => [...x]),
  },
  {
    weight: 10,
    arbitrary: fc.constantFrom<string[]>(
      ['--kpti'],
      ['--no-kpti'],
      ['--what-if'],
      ['--multi-smmu-domains'],
      ['--unmap-kernel-at-el0'],
      ['--no-unmap-kernel-at-el0'],
      ['--json'],
    ),
  },
  { weight: 8, arbitrary: fc.tuple(fc.constant('--kernel'), kernelArb).map((x) => [...x]) },
  { weight: 6, arbitrary: fc.integer({ min: 2, max: 6 }).map((b) => ['--what-if', '--asid-bits', String(b)]) },
  {
    weight: 6,
    arbitrary: fc.tuple(fc.constant('--allocator'), fc.oneof(fc.constantFrom(...ALLOCATOR_VARIANTS), cellToken)).map((x) => [...x]),
  },
  { weight: 6, arbitrary: fc.tuple(fc.constant('--driver'), fc.oneof(fc.constantFrom(...DRIVER_DESIGNS), cellToken)).map((x) => [...x]) },
  {
    weight: 3,
    arbitrary: fc.tuple(fc.constant('--pasid-allocator'), fc.oneof(fc.constantFrom('lowest', 'cyclic'), cellToken)).map((x) => [...x]),
  },
  { weight: 6, arbitrary: fc.tuple(fc.constant('--fault'), list(FAULTS)).map((x) => [...x]) },
  { weight: 6, arbitrary: fc.tuple(fc.constant('--fail-on'), list(FAIL_ON_KINDS)).map((x) => [...x]) },
);

/** `--parse-threads` (worker threads: the parallel reader; slow to start, so rare). */
const parseThreadsArb = fc.oneof(
  { weight: 199, arbitrary: fc.constant([] as string[]) },
  { weight: 1, arbitrary: fc.constantFrom<string[]>(['--parse-threads', '1'], ['--parse-threads', '2']) },
);

/** Mostly a few edits; sometimes none. */
const editsArb = (line: fc.Arbitrary<string>) =>
  fc.oneof(
    { weight: 1, arbitrary: fc.constant([] as Edit[]) },
    { weight: 4, arbitrary: fc.array(editArb(line), { minLength: 1, maxLength: 6 }) },
  );

/** Target `trace`: a shipped or generated trace, its system line changed, mutated, replayed with random flags. */
export const traceCase: fc.Arbitrary<FuzzCase> = fc
  .record({
    text: fc.oneof(
      fc
        .record({ seed: fc.nat(), start: fc.oneof(fc.constant(0), fc.nat()), len: fc.nat(300) })
        .map(({ seed, start, len }) => window(pick(CSV_SEEDS, seed), start, len)),
      generatedTraceArb,
      profileTraceArb,
    ),
    system: systemLineArb,
    edits: editsArb(rowLineArb),
    flags: fc.array(replayFlagArb, { maxLength: 3 }),
    threads: parseThreadsArb,
    isTty: fc.boolean(),
  })
  .map(({ text, system, edits, flags, threads, isTty }) => ({
    target: 'trace' as const,
    files: { 't.csv': applyEdits(withSystemLine(text, system), edits) },
    argv: ['replay', '@/t.csv', ...flags.flat(), ...threads],
    isTty,
  }));

// ---------------------------------------------------------------------------------------------
// import: ftrace text and systrace HTML.

/** A `sched_switch` body in the raw-field form (with or without `==>`) or the trace-cmd plugin form. */
const switchBodyArb = fc
  .record({
    style: fc.constantFrom('raw', 'raw-no-arrow', 'plugin'),
    prev: fc.nat(6),
    next: fc.nat(6),
    prevComm: fc.constantFrom('sh', 'app', 'kworker/u12:1', 'swapper/1', 'a b', 'x:y', 'app-1', ''),
    nextComm: fc.constantFrom('sh', 'app', 'rcu_sched', 'swapper/2', 'a b', 'x:y', 'app-1', ''),
    state: fc.oneof(fc.constantFrom('S', 'R', 'R+', 'D', 'X', 'x', 'Z', '0', '1', '16', '32', '64', '4096', '2048', '64 '), cellToken),
    prio: fc.constantFrom('120', '-1', '49', '99999999999999999999'),
  })
  .map((b) =>
    b.style === 'plugin'
      ? `${b.prevComm}:${b.prev} [${b.prio}] ${b.state} ==> ${b.nextComm}:${b.next} [120]`
      : `prev_comm=${b.prevComm} prev_pid=${b.prev} prev_prio=${b.prio} prev_state=${b.state}${b.style === 'raw' ? ' ==>' : ''} next_comm=${b.nextComm} next_pid=${b.next} next_prio=120`,
  );

/** A synthetic ftrace event line; `dt` advances the clock (or `time` is a raw token). */
const ftraceEventArb = fc.record({
  comm: fc.oneof(fc.constantFrom('sh', 'app', '<idle>', '<...>', 'kworker/u12:1', 'my-app', 'a b', 'sugov:4', 'swapper/0'), cellToken),
  pid: fc.oneof(
    { weight: 8, arbitrary: fc.nat(6).map(String) },
    { weight: 1, arbitrary: fc.constantFrom('1642', '99999999999999999999', '-1') },
  ),
  tgid: fc.option(fc.constantFrom('( 1)', '(  2)', '(-----)', '(3)', '( 99999999999999999999)', '()'), { freq: 3 }),
  cpu: fc.oneof(
    { weight: 8, arbitrary: fc.constantFrom('000', '001', '2', '003') },
    { weight: 1, arbitrary: fc.constantFrom('4095', '4096', '99999', '99999999999999999999', '-1', '') },
  ),
  flags: fc.option(fc.constantFrom('d..3', '...2', 'dNh.', 'd..4.', '....', 'zzzz'), { freq: 2 }),
  dt: fc.nat(2000),
  time: fc.option(fc.oneof(fc.constantFrom('0.0', '1.5', '99999999999999999999999.000001', '76.2115130000001', '1e3.5', '.5'), cellToken), {
    freq: 10,
  }),
  event: fc.oneof(
    { weight: 6, arbitrary: fc.constant('sched_switch') },
    {
      weight: 2,
      arbitrary: fc.constantFrom('sched_wakeup', 'bprint', 'print', 'tracing_mark_write', 'cpu_idle', '__proto__', 'constructor'),
    },
    { weight: 1, arbitrary: cellToken },
  ),
  body: fc.oneof({ weight: 6, arbitrary: switchBodyArb }, { weight: 1, arbitrary: cellToken }),
});

/** Header lines of ftrace, trace-cmd and atrace output (CPU counts, comments). */
const ftraceHeaderArb = fc.array(
  fc.oneof(
    fc.constantFrom(
      '# tracer: nop',
      '#',
      'version = 6',
      'cpus=4',
      'cpus=0',
      'cpus=4097',
      'cpus=99999999999999999999',
      '# entries-in-buffer/entries-written: 1/1   #P:2',
      '#P:99999999999999999999',
      'CPU 3 is empty',
      'TRACE:',
    ),
    cellToken,
  ),
  { maxLength: 4 },
);

/** ftrace text: an excerpt of a recording (kept from its start, or a window) or synthetic lines. */
const ftraceTextArb = fc.oneof(
  fc
    .record({ seed: fc.nat(), start: fc.oneof(fc.constant(0), fc.nat()), len: fc.integer({ min: 1, max: 300 }), keepHeader: fc.boolean() })
    .map(({ seed, start, len, keepHeader }) => {
      const lines = pick(FTRACE_SEEDS, seed).split('\n');
      const h = lines.findIndex((l) => /\[\d+\]/.test(l));
      const s = start % lines.length;
      return (
        [...(keepHeader ? lines.slice(0, Math.max(0, h)) : []), ...lines.slice(Math.max(s, keepHeader ? h : 0), s + len)].join('\n') + '\n'
      );
    }),
  fc.tuple(ftraceHeaderArb, fc.array(ftraceEventArb, { maxLength: 40 }), fc.constantFrom('  ', '')).map(([hdr, evs, pad]) => {
    let t = 100_000_000;
    const lines = evs.map((e) => {
      t += e.dt;
      const time = e.time ?? `${Math.floor(t / 1e6)}.${String(t % 1e6).padStart(6, '0')}`;
      return `${pad}${e.comm}-${e.pid} ${e.tgid ?? ''} [${e.cpu}] ${e.flags ?? ''} ${time}: ${e.event}: ${e.body}`.replace(/ {2,}/g, ' ');
    });
    return [...hdr, ...lines].join('\n') + '\n';
  }),
);

/** A systrace HTML page: a real head, then the ftrace text in one layout (or none), then the end. */
const systraceArb = fc
  .record({
    head: fc.nat(),
    layout: fc.constantFrom('trace-data', 'json-then-trace-data', 'linuxPerfData', 'compressed', 'unterminated', 'none'),
    text: ftraceTextArb,
  })
  .map(({ head, layout, text }) => {
    const top = pick(HTML_HEADS, head);
    const block = (body: string, end = '  </script>\n') => `  <script class="trace-data" type="application/text">\n${body}${end}`;
    const perf = `  var linuxPerfData = "\\\n${text
      .split('\n')
      .map((l) => `${l.replace(/(["\\])/g, '\\$1')}\\n\\`)
      .join('\n')}\n";\n`;
    const body = {
      'trace-data': block(text),
      'json-then-trace-data': block('{"traceEvents": []}\n') + block(text),
      linuxPerfData: perf,
      compressed: block('eJzt' + 'QUJD'.repeat(80) + '\n'),
      unterminated: block(text, ''),
      none: '<p>no trace</p>\n',
    }[layout];
    return `${top}${body}<!-- END TRACE -->\n</body>\n</html>\n`;
  });

/** An ftrace line as text, for inserted lines. */
const ftraceLineArb = ftraceTextArb.map((t) => t.split('\n')[0] ?? '');

/** Target `import`: a recording (either format, given as either kind), mutated, imported with random options. */
export const importCase: fc.Arbitrary<FuzzCase> = fc
  .record({
    html: fc.boolean(),
    kind: fc.oneof(
      { weight: 9, arbitrary: fc.constant('match') },
      { weight: 1, arbitrary: fc.oneof(fc.constantFrom(...IMPORT_KINDS), cellToken) },
    ),
    text: ftraceTextArb,
    page: systraceArb,
    edits: editsArb(ftraceLineArb),
    output: fc.oneof(
      { weight: 12, arbitrary: fc.constant('@/out.csv') },
      { weight: 1, arbitrary: fc.constantFrom('@/nodir/out.csv', '@', '@/rec', '-', '') },
    ),
    flags: fc.array(
      fc.oneof(
        fc.tuple(fc.constantFrom('--cpus', '--overlay-dma', '--overlay-unmap-every'), intish).map((x) => [...x]),
        fc
          .tuple(
            fc.constant('--overlay'),
            fc.oneof(
              fc.constantFrom('top:1', 'top:2', 'top:0', 'top:99999999999999999999', 'p1', 'p2,p3', 'p1,,p1', ',', 'top:', 'top:-1'),
              cellToken,
            ),
          )
          .map((x) => [...x]),
        fc.constantFrom<string[]>(['--json'], ['--overlay-btm'], ['--overlay-ats']),
      ),
      { maxLength: 3 },
    ),
  })
  .map(({ html, kind, text, page, edits, output, flags }) => {
    const k = kind === 'match' ? (html ? 'systrace' : 'ftrace') : kind;
    return {
      target: 'import' as const,
      files: { rec: applyEdits(html ? page : text, edits) },
      argv: ['import', k, '@/rec', '-o', output, ...flags.flat()],
      replayOutput: output === '@/out.csv' ? output : undefined,
    };
  });

// ---------------------------------------------------------------------------------------------
// check: a corpus folder with an expectation to mutate.

/** Flags of `check`; `--jobs` above 1 (worker threads, slow) is rare. */
const checkFlagArb: fc.Arbitrary<string[]> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom<string[]>(['--update'], ['--ci'], ['--allow-empty'], ['--json'], ['--json']) },
  {
    weight: 2,
    arbitrary: fc
      .tuple(fc.constantFrom('--filter', '-f'), fc.oneof(fc.constantFrom('t', 'T\\.CSV', '(', '[', '.*', 'nomatch', 'c/'), cellToken))
      .map((x) => [...x]),
  },
  { weight: 2, arbitrary: fc.tuple(fc.constant('--fail-on'), list(FAIL_ON_KINDS)).map((x) => [...x]) },
  {
    weight: 2,
    arbitrary: fc
      .tuple(
        fc.constantFrom('--jobs', '-j'),
        fc.oneof({ weight: 12, arbitrary: fc.constant('1') }, { weight: 1, arbitrary: fc.constantFrom('2', '0', '257', 'x', '-1') }),
      )
      .map((x) => [...x]),
  },
  {
    weight: 2,
    arbitrary: fc
      .tuple(
        fc.constant('--shard'),
        fc.oneof(fc.constantFrom('1/1', '1/2', '2/2', '0/1', '3/2', '1/0', 'a/b', '1/99999999999999999999', '1/2/3', ' 1/2'), cellToken),
      )
      .map((x) => [...x]),
  },
  {
    weight: 1,
    arbitrary: fc.tuple(fc.constant('--junit'), fc.constantFrom('@/j.xml', '@/nodir/j.xml', '@', '@/c', '@/c/t.csv')).map((x) => [...x]),
  },
);

/** How the stored expectation is changed. */
const expectationArb = fc.oneof(
  { weight: 1, arbitrary: fc.record({ how: fc.constant('keep' as const) }) },
  { weight: 4, arbitrary: fc.record({ how: fc.constant('json' as const), edits: fc.array(jsonEditArb, { minLength: 1, maxLength: 4 }) }) },
  {
    weight: 2,
    arbitrary: fc.record({ how: fc.constant('text' as const), edits: fc.array(editArb(cellToken), { minLength: 1, maxLength: 4 }) }),
  },
  { weight: 1, arbitrary: fc.record({ how: fc.constantFrom('missing' as const, 'folder' as const, 'empty' as const) }) },
);

/** Target `check`: a shipped trace and its expectation (mutated), extra corpus files, random flags. */
export const checkCase: fc.Arbitrary<FuzzCase> = fc
  .record({
    seed: fc.nat(),
    traceEdits: fc.oneof(
      { weight: 3, arbitrary: fc.constant([] as Edit[]) },
      { weight: 1, arbitrary: fc.array(editArb(rowLineArb), { minLength: 1, maxLength: 3 }) },
    ),
    expected: expectationArb,
    extras: fc.subarray(['obsolete', 'upper', 'second', 'nested', 'emptycsv', 'dircsv'] as const),
    paths: fc.constantFrom(['@/c'], ['@/c/t.csv'], ['@/c', '@/c/t.csv'], ['@/missing'], ['@']),
    flags: fc.array(checkFlagArb, { maxLength: 3 }),
    isTty: fc.boolean(),
  })
  .map(({ seed, traceEdits, expected, extras, paths, flags, isTty }) => {
    const s = pick(CHECK_SEEDS, seed);
    const files: Record<string, string | Uint8Array> = { 'c/t.csv': applyEdits(s.csv, traceEdits) };
    const dirs: string[] = [];
    if (expected.how === 'keep') files['c/t.expected.json'] = s.expected;
    else if (expected.how === 'json') files['c/t.expected.json'] = stringifyJson(applyJsonEdits(JSON.parse(s.expected), expected.edits), 2);
    else if (expected.how === 'text') files['c/t.expected.json'] = applyEdits(s.expected, expected.edits);
    else if (expected.how === 'folder') dirs.push('c/t.expected.json');
    else if (expected.how === 'empty') files['c/t.expected.json'] = '';
    for (const x of extras) {
      if (x === 'obsolete') files['c/gone.expected.json'] = '{}';
      if (x === 'upper') files['c/U.CSV'] = s.csv;
      if (x === 'second') Object.assign(files, { 'c/b.csv': pick(CHECK_SEEDS, 0).csv, 'c/b.expected.json': pick(CHECK_SEEDS, 0).expected });
      if (x === 'nested') files['c/sub/n.csv'] = 'event,task\nfork,1\n';
      if (x === 'emptycsv') files['c/e.csv'] = '';
      if (x === 'dircsv') dirs.push('c/d.csv');
    }
    // --jobs 1 unless a flag says otherwise: the default (one per core) starts worker threads, slow
    return { target: 'check' as const, files, dirs, argv: ['check', ...paths, '-j', '1', ...flags.flat()], isTty };
  });

// ---------------------------------------------------------------------------------------------
// argv: the command line itself.

const OPTIONS = [
  '--cpus',
  '--asid-bits',
  '--kpti',
  '--no-kpti',
  '--allocator',
  '--max-pinned',
  '--what-if',
  '--driver',
  '--pasid-allocator',
  '--fault',
  '--multi-smmu-domains',
  '--kernel',
  '--unmap-kernel-at-el0',
  '--no-unmap-kernel-at-el0',
  '--json',
  '--fail-on',
  '--max-violations',
  '--parse-threads',
  '-o',
  '--output',
  '--overlay',
  '--overlay-dma',
  '--overlay-unmap-every',
  '--overlay-btm',
  '--overlay-ats',
  '-n',
  '--events',
  '--seed',
  '--tasks',
  '--update',
  '--ci',
  '--allow-empty',
  '-f',
  '--filter',
  '-j',
  '--jobs',
  '--shard',
  '--junit',
  '--help',
  '-h',
  '--version',
  '-V',
  '--',
  '-',
  '--foo',
  '-x',
  '--cpus=4',
  '--json=1',
  '-n5',
  '--CPUS',
  '---cpus',
  '--no-json',
  '-oj',
];
const PATHS = ['@/t.csv', '@/missing.csv', '@', '@/empty.csv', '@/rec.txt', '@/page.html', '@/nodir/x.csv', '@/out.csv', '-'];

/** One command-line word: an option (known or not), a value, a path, a kind, a list or a shard. */
const wordArb = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...OPTIONS) },
  { weight: 4, arbitrary: intish },
  { weight: 3, arbitrary: fc.constantFrom(...PATHS) },
  {
    weight: 2,
    arbitrary: fc.constantFrom(...IMPORT_KINDS, ...PROFILE_NAMES, ...ALLOCATOR_VARIANTS, ...DRIVER_DESIGNS, 'lowest', 'cyclic', 'top:2'),
  },
  { weight: 1, arbitrary: kernelArb },
  { weight: 1, arbitrary: list([...FAIL_ON_KINDS, ...FAULTS]) },
  { weight: 1, arbitrary: fc.constantFrom('1/2', '0/0', '2/1', 'x/y') },
  { weight: 1, arbitrary: fc.constantFrom(...TOKENS) },
);

/** `generate` always gets `-n 50` last (before any `--`): a large valid count is a long run, not a bug. */
function capEvents(argv: string[]): string[] {
  if (argv[0] !== 'generate') return argv;
  const end = argv.includes('--') ? argv.indexOf('--') : argv.length;
  return [...argv.slice(0, end), '-n', '50', ...argv.slice(end)];
}

/** Target `argv`: a subcommand (or junk) and up to 8 words, against a folder of small valid and invalid inputs. */
export const argvCase: fc.Arbitrary<FuzzCase> = fc
  .record({
    sub: fc.oneof(
      { weight: 8, arbitrary: fc.constantFrom('replay', 'import', 'generate', 'check') },
      { weight: 1, arbitrary: fc.constantFrom('help', '', 'Replay', '--help', '-h', '--version', '-V', 'replay ') },
      { weight: 1, arbitrary: cellToken },
    ),
    words: fc.array(wordArb, { maxLength: 8 }),
    isTty: fc.boolean(),
  })
  .map(({ sub, words, isTty }) => ({
    target: 'argv' as const,
    files: {
      't.csv': pick(CHECK_SEEDS, 0).csv,
      't.expected.json': pick(CHECK_SEEDS, 0).expected,
      'empty.csv': '',
      'rec.txt': head(pick(FTRACE_SEEDS, 0), 40),
      'page.html': `<html>\n  <script class="trace-data" type="application/text">\n${head(pick(FTRACE_SEEDS, 3), 30)}\n  </script>\n</html>\n`,
    },
    argv: capEvents([sub, ...words]),
    isTty,
  }));

/** The arbitrary of each target. */
export const TARGET_ARBS: Record<TargetName, fc.Arbitrary<FuzzCase>> = {
  trace: traceCase,
  import: importCase,
  check: checkCase,
  argv: argvCase,
};
