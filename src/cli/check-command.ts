/**
 * `asid-replay check <dir|files...>`: regression-check a trace corpus against stored expectations,
 * as a snapshot test runner does.
 */
import { type Command, Option } from 'commander';
import { availableParallelism } from 'node:os';
import { stat } from 'node:fs/promises';
import type { CheckResult, CheckTask } from '../check/check-one.js';
import { findCorpus, nameFilter, parseShard, shard } from '../check/corpus.js';
import { InputError } from '../trace/errors.js';
import { openOutput } from '../util/output.js';
import { isStream, readableInput } from '../util/input.js';
import { Exit, type Io, intArg } from './shared.js';
import { failOnArg } from './replay-command.js';
import { FINDING_CLASSES, type FailOnKind, classOf } from '../report/findings.js';

/** Default `--jobs`: every core (this thread works too, so a small corpus never waits for workers). */
export const DEFAULT_JOBS = Math.max(1, Math.min(8, availableParallelism()));

interface CheckOptions {
  update?: boolean;
  ci?: boolean;
  allowEmpty?: boolean;
  filter?: string;
  failOn?: FailOnKind[];
  jobs: number;
  shard?: string;
  junit?: string;
  json?: boolean;
  expect?: string;
  reporter: 'text' | 'github';
  design?: string;
}

export function checkCommand(program: Command, io: Io): void {
  program
    .command('check')
    .description(
      'Replay every trace (*.csv, any case) under the given folders/files and compare its JSON report\n' +
        'with the expectation stored beside it (<trace>.expected.json), as JSON values: the figures\n' +
        'that changed are listed (churn.rollovers 3 -> 0), then a unified diff.\n' +
        'Exit 1 if a report differs, an expectation is missing or obsolete (its trace is gone), or\n' +
        'a --fail-on finding is present; 2 if a trace cannot be replayed, or no trace is found.',
    )
    .argument('<paths...>', 'trace files or folders (walked recursively); - reads one trace from standard input (needs --expect)')
    .option(
      '--expect <file>',
      'the expectation of the one trace given (instead of <trace>.expected.json beside it); needed for a trace read from standard input, /dev/stdin, a pipe or <(...), which is read once',
    )
    .option('--update', 'write new and changed expectations, remove obsolete ones (atomically: temporary file + rename)')
    .option('--ci', 'never write: refuse --update (use in CI so a missing expectation fails instead of being created)')
    .option('--allow-empty', 'exit 0 when no trace is found (default: exit 2)')
    .option('-f, --filter <regex>', 'check only traces whose path matches (case-insensitive regular expression)')
    .addOption(
      new Option('--fail-on <kinds>', 'also fail traces whose report has any of these findings (as replay --fail-on)').argParser(failOnArg),
    )
    .addOption(new Option('-j, --jobs <n>', 'threads (this one + workers)').default(DEFAULT_JOBS).argParser(intArg('--jobs', 1, 256)))
    .option('--shard <i/n>', 'check only shard i of n (1-based; traces sorted by path, every n-th one)')
    .option('--junit <file>', 'also write a JUnit XML report')
    .addOption(
      new Option(
        '--reporter <name>',
        'text: tables and diffs; github: the same, plus a GitHub Actions annotation (::error file=<trace>,line=<row>::...) for each failing trace and each --fail-on finding (docs/ci.md)',
      )
        .choices(['text', 'github'])
        .default('text'),
    )
    .option('--json', 'print the results as JSON instead of tables and diffs')
    .option(
      '--design <file.mjs>',
      'replay every trace with this design (a patch as a file, docs/designs.md) on its own system: the traces that differ are the answers the patch changes (never with --update)',
    )
    .addHelpText(
      'after',
      `\nA trace from standard input has no file beside it: --expect names its expectation, and the report\n` +
        `is named after it (build.expected.json: build.csv), so a piped trace matches the expectation of\n` +
        `its file; --update writes that file.\n` +
        `\nExamples:\n  asid-replay check traces\n  asid-replay check traces --ci --jobs 2 --shard 1/2 --junit check.xml\n  asid-replay check traces --ci --fail-on violations,stale --reporter github   # in a GitHub Actions job\n  asid-replay check traces --filter scenarios/pin --update\n` +
        `  asid-replay import auto trace.dat -o - | asid-replay check - --expect traces/real/rtapp.expected.json`,
    )
    .action(async (paths: string[], o: CheckOptions) => {
      if (o.ci && o.update) throw new InputError('--ci never writes expectations: drop --update (or --ci)');
      if (o.design !== undefined) {
        if (o.update) throw new InputError("--update would write the design's answers as the expectations: drop --update (or --design)");
        const d = await (await import('../design/load.js')).loadDesignOnce(o.design); // a broken design is exit 2 before any trace
        io.err(
          `asid-replay: check under the design ${d.name} (${d.file}, sha256 ${d.hash}, replaces ${d.replaced.join(', ') || 'nothing'}): a trace that differs is an answer the patch changes\n`,
        );
      }
      const keep = o.filter === undefined ? () => true : nameFilter(o.filter);
      // `-`, /dev/stdin, pipes: one trace, read once, compared with --expect
      const streams: string[] = [];
      const files: string[] = [];
      for (const p of paths) ((await isStream(p)) ? streams : files).push(p);
      if (streams.length > 1) {
        throw new InputError('only one trace can come from standard input or a pipe (its expectation is --expect)', streams.join(' '));
      }
      if (streams.length === 1 && o.expect === undefined) {
        throw new InputError(
          'a trace read from standard input or a pipe has no expectation beside it: give --expect <file> (--update writes it)',
          streams[0],
        );
      }
      if (o.expect !== undefined) {
        if (files.length === 1 && !(await stat(files[0]!).catch(() => undefined))) throw new InputError('no such file', files[0]);
        const one = streams.length + files.length === 1 && (streams.length === 1 || (await isFile(files[0]!)));
        if (!one)
          throw new InputError(
            '--expect names the expectation of one trace: give one trace file, or - for standard input',
            paths.join(' '),
          );
        return checkOneWithExpectation(streams[0] ?? files[0]!, o.expect, o, io);
      }
      const corpus = await findCorpus(files);
      let traces = corpus.traces.filter(keep);
      // An obsolete expectation belongs to no shard's trace: the first shard reports it.
      let obsolete = corpus.obsolete.filter((x) => keep(x.replace(/\.expected\.json$/i, '.csv')));
      if (o.shard) {
        const [i, n] = parseShard(o.shard);
        traces = shard(traces, i, n);
        if (i !== 1) obsolete = [];
      }
      if (traces.length === 0 && !o.allowEmpty) {
        throw new InputError(
          `no trace (*.csv) found${o.filter ? ` matching --filter ${o.filter}` : ''}${o.shard ? ` in shard ${o.shard}` : ''} (--allow-empty accepts that)`,
          paths.join(' '),
        );
      }
      const tasks: CheckTask[] = traces.map((trace) => ({ trace, failOn: o.failOn, design: o.design }));
      await runChecks(tasks, obsolete, o, io);
    });
}

/** One trace (a file, or standard input copied once) against the expectation `expect`. */
async function checkOneWithExpectation(trace: string, expect: string, o: CheckOptions, io: Io): Promise<void> {
  const input = await readableInput(trace);
  try {
    await runChecks(
      [{ trace: input.path, name: input.copied ? input.name : undefined, expectation: expect, failOn: o.failOn, design: o.design }],
      [],
      o,
      io,
    );
  } finally {
    await input.dispose();
  }
}

async function isFile(p: string): Promise<boolean> {
  return (await stat(p).catch(() => undefined))?.isFile() ?? false;
}

/** Check `tasks`, report as the options say, and end with the exit status (throws {@link Exit} for 1 and 2). */
async function runChecks(tasks: CheckTask[], obsolete: string[], o: CheckOptions, io: Io): Promise<void> {
  const traces = tasks.map((t) => t.name ?? t.trace);
  const { checkTraces, junitXml, reportDiff, updateExpectations } = await import('../check/check.js'); // loaded when used
  const { githubAnnotations } = await import('../check/github.js');
  const [{ default: Table }, { renderJson }] = await Promise.all([import('cli-table3'), import('../report/render.js')]);
  const junit = o.junit ? await openOutput(o.junit) : undefined; // a bad path fails before the work
  let done = 0;
  let results: Awaited<ReturnType<typeof checkTraces>>;
  let updated = { written: 0, removed: 0 };
  try {
    results = await checkTraces(tasks, o.jobs, io.isTty ? () => io.err(`\rchecked ${++done}/${traces.length}`) : undefined);
    if (io.isTty && traces.length) io.err('\r\x1b[K');
    if (o.update) updated = await updateExpectations(results, obsolete);
  } catch (e) {
    await junit?.discard(); // no half-written report, no temporary file left behind
    throw e;
  }
  if (junit) {
    junit.stream.write(junitXml(results));
    await junit.commit();
  }
  const count = (s: CheckResult['status']) => results.filter((r) => r.status === s).length;
  const withFindings = results.filter((r) => r.findings.length > 0);
  if (o.json) {
    io.out(
      renderJson({
        traces: results.length,
        same: count('same'),
        differs: count('differs'),
        missing: count('missing'),
        errors: count('error'),
        obsolete,
        findings: withFindings.length,
        findingClasses: Object.fromEntries(
          FINDING_CLASSES.map((k) => [k, results.filter((r) => r.classes?.some((c) => c.kind === k)).length]),
        ),
        written: updated.written,
        removed: updated.removed,
        results: results.map(({ trace, expectation, status, message, findings, oldShape }) => ({
          trace,
          status,
          expectation,
          ...(oldShape ? { oldShape } : {}),
          ...(findings.length ? { findings } : {}),
          ...(message ? { message } : {}),
        })),
      }),
    );
  } else {
    for (const r of results) {
      if (r.status === 'differs' && !o.update) io.out(reportDiff(r) + '\n');
      if (r.status === 'error') io.out(`error: ${r.message}\n`);
      if (r.status === 'missing' && !o.update) io.out(`missing: no ${r.expectation} (run with --update to create it)\n`);
      if (r.findings.length) io.out(`findings: ${r.trace}: ${r.findings.join(', ')} (--fail-on: the trace fails)\n`);
    }
    for (const x of obsolete) io.out(`obsolete: ${x} (its trace is gone; ${o.update ? 'removed' : '--update removes it'})\n`);
    const t = new Table({
      head: ['trace', 'status', 'findings', 'ms'],
      style: { head: [], border: [] },
      chars: { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' },
    });
    for (const r of results) {
      const status =
        r.status === 'same'
          ? `ok${r.oldShape ? (o.update ? ' (rewritten in the new shape)' : ' (old shape)') : ''}`
          : o.update && r.actual !== undefined
            ? `${r.status} (updated)`
            : r.status;
      const failing = r.findings.length ? ', failing on --fail-on' : '';
      t.push([r.trace, status + failing, (r.classes ?? []).map((c) => `${c.kind} ${c.count}`).join(', '), Math.round(r.ms)]);
    }
    if (results.length) io.out(t.toString() + '\n');
    const tail = o.update ? `; ${updated.written} expectations written, ${updated.removed} removed` : '';
    io.out(
      `${results.length} traces: ${count('same')} same, ${count('differs')} differ, ${count('missing')} missing, ${count('error')} errors, ` +
        `${obsolete.length} obsolete expectations${tail}\n`,
    );
    const old = results.filter((r) => r.status === 'same' && r.oldShape).length;
    if (old > 0 && !o.update)
      io.out(
        `${plural(old, 'expectation')} in an earlier version's shape (report version 2, with the era's feature table): ` +
          'compared on their answers, and the same; --update rewrites them\n',
      );
    io.out(findingsSummary(results, o.failOn) + '\n');
  }
  if (o.reporter === 'github') io.out(githubAnnotations(results, obsolete, o.failOn, o.update));
  if (count('error') > 0 && results.some((r) => r.status === 'error' && !(o.update && r.actual !== undefined))) throw new Exit(2);
  if (withFindings.length > 0) throw new Exit(1);
  if (!o.update && (count('differs') > 0 || count('missing') > 0 || obsolete.length > 0)) throw new Exit(1);
}

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/**
 * What the traces' reports found, by class, and what `--fail-on` makes of it: without it, which
 * classes are present and which `--fail-on` would fail on them; with it, which traces fail and which
 * classes are present but not selected.
 */
export function findingsSummary(results: readonly CheckResult[], failOn: readonly FailOnKind[] | undefined): string {
  const present = FINDING_CLASSES.map((kind) => {
    const traces = results.filter((r) => r.classes?.some((c) => c.kind === kind));
    const n = traces.reduce((a, r) => a + r.classes!.find((c) => c.kind === kind)!.count, 0);
    return { kind, traces: traces.length, n };
  }).filter((c) => c.traces > 0);
  const list = (cs: typeof present) => cs.map((c) => `${c.kind} ${c.n} in ${plural(c.traces, 'trace')}`).join(', ');
  const withAny = results.filter((r) => (r.classes?.length ?? 0) > 0).length;
  if (!failOn) {
    if (present.length === 0) return 'findings: none (no violation, refused pin, stale entry or device failure)';
    return (
      `findings (they fail nothing without --fail-on): ${list(present)}; ` +
      `--fail-on ${present.map((c) => c.kind).join(',')} would fail ${plural(withAny, 'trace')}`
    );
  }
  const failing = results.filter((r) => r.findings.length > 0);
  const head =
    failing.length === 0
      ? `--fail-on ${failOn.join(',')}: no trace has these findings`
      : `--fail-on ${failOn.join(',')}: ${plural(failing.length, 'trace')} ${failing.length === 1 ? 'fails' : 'fail'} on ${failOn.filter((k) => failing.some((r) => r.findings.includes(k))).join(', ')}`;
  // Classes none of whose kinds is selected (a selected kind such as S-UNMAP counts for its class).
  const selected = new Set(failOn.map(classOf));
  const other = present.filter((c) => !selected.has(c.kind));
  return other.length ? `${head}; also found, not selected: ${list(other)}` : head;
}
