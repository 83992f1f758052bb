/**
 * `asid-replay check <dir|files...>`: regression-check a trace corpus against stored expectations.
 */
import { type Command, Option } from 'commander';
import Table from 'cli-table3';
import { availableParallelism } from 'node:os';
import { checkTraces, junitXml, reportDiff, updateExpectations, writeAtomic } from '../check/check.js';
import type { CheckResult } from '../check/check-one.js';
import { expectationPath, findTraces, parseShard, shard } from '../check/corpus.js';
import { renderJson } from '../report/render.js';
import { Exit, type Io, intArg } from './main.js';

export function checkCommand(program: Command, io: Io): void {
  program
    .command('check')
    .description(
      'Replay every trace (*.csv) under the given folders/files and compare its JSON report with the\n' +
        'expectation stored beside it (<trace>.expected.json). Prints a unified diff for every change.\n' +
        'Exit 1 if any report differs or has no expectation, 2 if a trace cannot be replayed.',
    )
    .argument('<paths...>', 'trace files or folders (walked recursively)')
    .option('--update', 'write the new reports as expectations (atomically: temporary file + rename)')
    .addOption(new Option('-j, --jobs <n>', 'worker threads').default(1).argParser(intArg('--jobs', 1, 256)))
    .option('--shard <i/n>', 'check only shard i of n (1-based; traces sorted by path, every n-th one)')
    .option('--junit <file>', 'also write a JUnit XML report')
    .option('--json', 'print the results as JSON instead of tables and diffs')
    .addHelpText('after', `\nExamples:\n  asid-replay check traces\n  asid-replay check traces --jobs ${Math.max(2, availableParallelism())} --shard 1/2 --junit check.xml\n  asid-replay check traces/scenarios --update`)
    .action(async (paths: string[], o: { update?: boolean; jobs: number; shard?: string; junit?: string; json?: boolean }) => {
      let traces = await findTraces(paths);
      if (o.shard) {
        const [i, n] = parseShard(o.shard);
        traces = shard(traces, i, n);
      }
      let done = 0;
      const results = await checkTraces(traces, o.jobs, io.isTty ? () => io.err(`\rchecked ${++done}/${traces.length}`) : undefined);
      if (io.isTty && traces.length) io.err('\r\x1b[K');
      const updated = o.update ? await updateExpectations(results) : 0;
      if (o.junit) await writeAtomic(o.junit, junitXml(results));
      const count = (s: CheckResult['status']) => results.filter((r) => r.status === s).length;
      if (o.json) {
        io.out(renderJson({ traces: results.length, same: count('same'), differs: count('differs'), missing: count('missing'), errors: count('error'), updated, results: results.map(({ trace, status, message }) => ({ trace, status, expectation: expectationPath(trace), ...(message ? { message } : {}) })) }));
      } else {
        for (const r of results) {
          if (r.status === 'differs' && !o.update) io.out(reportDiff(r) + '\n');
          if (r.status === 'error') io.out(`error: ${r.message}\n`);
          if (r.status === 'missing' && !o.update) io.out(`missing: no ${expectationPath(r.trace)} (run with --update to create it)\n`);
        }
        const t = new Table({ head: ['trace', 'status', 'ms'], style: { head: [], border: [] }, chars: { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' } });
        for (const r of results) t.push([r.trace, r.status === 'same' ? 'ok' : o.update && r.actual !== undefined ? `${r.status} (updated)` : r.status, Math.round(r.ms)]);
        io.out(t.toString() + '\n');
        io.out(`${results.length} traces: ${count('same')} same, ${count('differs')} differ, ${count('missing')} missing, ${count('error')} errors${o.update ? `; ${updated} expectations written` : ''}\n`);
      }
      if (count('error') > 0) throw new Exit(2);
      if (!o.update && (count('differs') > 0 || count('missing') > 0)) throw new Exit(1);
    });
}
