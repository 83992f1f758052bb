/**
 * `asid-replay import <kind> <file> -o <out>`: convert a real recording to trace v1.
 */
import type { Command } from 'commander';
import { Option } from 'commander';
import { COMM_CHANGES, type CommChange, IMPORT_KINDS, type ImportKind, type ImportSummary, lostEventsText } from '../import/kinds.js';
import { renderJson } from '../report/render.js';
import { Exit, type Io, intArg } from './shared.js';

export function importCommand(program: Command, io: Io): void {
  program
    .command('import')
    .description(
      [
        'Convert a recording to trace v1: trace-cmd trace.dat (file versions 6 and 7, read without',
        'trace-cmd), ftrace / trace-cmd report text (raw-field or "==>" styles, with or without',
        'TGID and irq-flags columns), perf script text, or Android systrace HTML; `auto` recognises',
        'the kind from the content, `-` reads standard input.',
        '\n',
        'Lifecycle events are used when recorded (sched_process_fork/exec/exit/free, task_newtask',
        "clone_flags, task_rename): exec gives a fresh mm, CLONE_VM a thread, kthreadd's",
        "descendants are kernel threads. Without them: threads share their TGID's mm when the TGID",
        "is known; a pid's first appearance is its fork; prev_state X/x/Z/64 is its exit; kernel",
        'threads are known by the names the kernel gives its own threads (kworker/, irq/N-name,',
        '*-wq, ...: thermald or kvm are user tasks), and the summary lists the names so decided;',
        "systrace's PROCESS DUMP gives parents, thread groups and kernel threads (PPID 2).",
        '\n',
        "A task's name changing in its events (sched_switch, task_rename, PERF_RECORD_COMM) is an",
        'exec or a rename: with the exec tracepoint recorded, a rename unless an exec event says so;',
        'else --comm-change when given; else a rename for an Android app forked by zygote, an exec',
        'for the leader of a thread group and a rename for another thread, an exec without TGIDs.',
        'An address space belongs to a thread group (p<tgid>, p<pid>#<n> after an exec): threads',
        'share it whatever their names.',
        '\n',
        'A recording that lost events (CPU:N [LOST n EVENTS], [n EVENTS DROPPED], a trace.dat page',
        'with the missed-events flags) is refused unless --allow-lost-events.',
        '\n',
        'A file of another kind, or one without scheduling events, is refused (exit 2). Every line',
        'that is not a scheduling event is counted by kind in the summary (stderr, or stdout with',
        '--json).',
        '\n',
        'Provenance: every event written has a src cell, the timestamp and line of the recording it',
        'comes from (2094.163981@L5173; for a trace.dat the line is the event number as `trace-cmd',
        'report` prints it); replay shows it beside each finding. mm labels carry the process name:',
        'p<tgid>:<comm>, p<pid>#<n>:<comm> after the n-th exec.',
      ]
        .join(' ')
        .replace(/ ?\n ?/g, '\n'),
    )
    .argument('<kind>', `input kind: auto | ${IMPORT_KINDS.join(' | ')}`)
    .argument('<file>', 'recording to import (- for standard input)')
    .requiredOption('-o, --output <file>', 'trace v1 CSV to write (- for standard output)')
    .option('--kernel-threads <regex>', 'tasks whose name matches are kernel threads (overrides the evidence and the names)')
    .option('--user-tasks <regex>', 'tasks whose name matches are user tasks (checked before --kernel-threads)')
    .addOption(
      new Option(
        '--comm-change <what>',
        'a task name change that no exec event settles is an exec or a rename (default: by the rules above; ignored when the recording has the exec tracepoint)',
      ).choices([...COMM_CHANGES]),
    )
    .option(
      '--allow-lost-events',
      'import a recording that lost events (ring-buffer overruns: "CPU:N [LOST n EVENTS]", a trace.dat page with missed events), with a warning in the summary and the trace (default: refused, exit 2)',
    )
    .addOption(
      new Option('--cpus <n>', 'CPU count for the # system: line (default: from the recording)').argParser(intArg('--cpus', 1, 4096)),
    )
    .option('--json', 'print the import summary as JSON on stdout')
    .option(
      '--overlay <processes>',
      'bind these processes to a device and give them DMA and unmap traffic: top:N (the N address spaces switched in most often), or comma-separated process names (surfaceflinger), mm labels (p594:surfaceflinger) or their p<tgid> keys (p594); a name several processes have is refused with the list',
    )
    .addOption(new Option('--overlay-dma <n>', 'overlay: DMA accesses per switch-in').default(2).argParser(intArg('--overlay-dma', 0, 64)))
    .addOption(
      new Option('--overlay-unmap-every <n>', 'overlay: unmap+remap a page every N switch-ins (0: never)')
        .default(8)
        .argParser(intArg('--overlay-unmap-every', 0)),
    )
    .option('--overlay-btm', 'overlay: the SMMU has BTM')
    .option('--overlay-ats', 'overlay: the device uses ATS (has an ATC)')
    .addHelpText(
      'after',
      '\nExample: asid-replay import auto trace.dat -o real.csv --overlay top:2\n         asid-replay import auto trace.dat -o sf.csv --overlay surfaceflinger\n         asid-replay replay real.csv --driver shared-asid\n' +
        '         trace-cmd report -i trace.dat | asid-replay import ftrace - -o real.csv',
    )
    .action(
      async (
        kind: string,
        file: string,
        o: {
          output: string;
          cpus?: number;
          json?: boolean;
          overlay?: string;
          overlayDma: number;
          overlayUnmapEvery: number;
          overlayBtm?: boolean;
          overlayAts?: boolean;
          kernelThreads?: string;
          userTasks?: string;
          allowLostEvents?: boolean;
          commChange?: CommChange;
        },
      ) => {
        if (kind !== 'auto' && !(IMPORT_KINDS as readonly string[]).includes(kind)) {
          io.err(`asid-replay: unknown import kind "${kind}"; expected one of auto, ${IMPORT_KINDS.join(', ')}\n`);
          throw new Exit(2);
        }
        const kernelThreads = regexOption(io, '--kernel-threads', o.kernelThreads);
        const userTasks = regexOption(io, '--user-tasks', o.userTasks);
        const overlay =
          o.overlay === undefined
            ? undefined
            : { processes: o.overlay, dmaPerSwitch: o.overlayDma, unmapEvery: o.overlayUnmapEvery, btm: o.overlayBtm, ats: o.overlayAts };
        const { importFile } = await import('../import/import.js'); // loaded when used
        const summary = await importFile(kind as ImportKind | 'auto', file, o.output, {
          cpus: o.cpus,
          overlay,
          kernelThreads,
          userTasks,
          allowLostEvents: o.allowLostEvents,
          commChange: o.commChange,
        });
        if (o.json) io.out(renderJson(summary));
        else io.err(formatSummary(summary));
      },
    );
}

/** A regular expression option; exit 2 naming the option when it does not compile. */
function regexOption(io: Io, name: string, v: string | undefined): RegExp | undefined {
  if (v === undefined) return undefined;
  try {
    return new RegExp(v);
  } catch (e) {
    io.err(`asid-replay: ${name} ${JSON.stringify(v)} is not a regular expression: ${(e as Error).message}\n`);
    throw new Exit(2);
  }
}

function formatSummary(s: ImportSummary): string {
  const lines = [
    `imported ${s.input} (${s.kind}) -> ${s.output}: ${s.eventsWritten} events (${Object.entries(s.eventsByKind)
      .map(([k, n]) => `${k} ${n}`)
      .join(', ')})`,
    `  lines: ${s.lines} (${s.sched_switch} sched_switch, ${s.commentLines} comment/header, ${s.unparsedLines} unparsed)`,
    `  other ftrace events (not replayed): ${
      Object.entries(s.otherEvents)
        .map(([k, n]) => `${k} ${n}`)
        .join(', ') || 'none'
    }`,
    ...(s.lostEvents ? [`  WARNING: ${lostEventsText(s.lostEvents)}`] : []),
    `  tasks: ${s.tasks} user tasks, ${s.kernelThreads} kernel threads (run as lazy-TLB task 0), ${s.exits} exits, cpus ${s.cpus}`,
  ];
  if (s.unparsedExamples.length) lines.push(`  unparsed lines, first: ${s.unparsedExamples.join(', ')}`);
  s.unparsedQuotes?.forEach((q, i) => lines.push(`    line ${s.unparsedExamples[i]}: ${q}`));
  if (s.systrace) {
    const d = s.systrace.processDump;
    lines.push(
      `  systrace blocks: ${s.systrace.blocks.map((b) => `${b.kind} (line ${b.line}, ${b.lines} lines)`).join(', ')}` +
        (d
          ? `; process dump: ${d.snapshots} snapshots, ${d.processes} processes (${d.kernelThreads} kernel threads), ${d.threads} other threads`
          : ''),
    );
  }
  if (s.lifecycle) {
    const w = s.lifecycleWritten;
    lines.push(
      `  lifecycle events used: ${Object.entries(s.lifecycle)
        .map(([k, n]) => `${k} ${n}`)
        .join(', ')}`,
      `  decided from them: ${
        [
          plural(w?.processes ?? 0, 'process forked', 'processes forked'),
          plural(w?.threads ?? 0, 'thread forked', 'threads forked'),
          plural(w?.kernelThreads ?? 0, 'kernel thread (run as task 0)', 'kernel threads (run as task 0)'),
          plural(w?.execs ?? 0, 'exec', 'execs'),
          plural(w?.exits ?? 0, 'exit', 'exits'),
        ]
          .filter((x) => !x.startsWith('0 '))
          .join(', ') || 'no fork, exec or exit (renames and frees only)'
      }`,
    );
  }
  const cc = s.commChanges;
  if (cc) {
    const side = (r: Record<string, number>) =>
      Object.entries(r)
        .map(([k, n]) => `${k}: ${n}`)
        .join('; ');
    const total = (r: Record<string, number>) => Object.values(r).reduce((a, n) => a + n, 0);
    const [e, r] = [total(cc.execs), total(cc.renames)];
    lines.push(
      `  comm changes without an exec event: ${plural(e, 'exec', 'execs')}${e ? ` (${side(cc.execs)})` : ''}, ${plural(r, 'rename', 'renames')}${r ? ` (${side(cc.renames)})` : ''}`,
      `    ${cc.shown.join(', ')}${cc.more ? `, and ${cc.more} more` : ''}` + (e + r ? ' (if wrong: --comm-change exec|rename)' : ''),
    );
  }
  if (s.taskRules) {
    const side = (r: Record<string, number>) =>
      Object.entries(r)
        .map(([k, n]) => `${k}: ${n}`)
        .join('; ') || 'none';
    lines.push(`  kernel threads decided by: ${side(s.taskRules.kernel)}`, `  user tasks decided by: ${side(s.taskRules.user)}`);
  }
  const byName = s.decidedByName;
  if (byName && (byName.kernel.length || byName.user.length)) {
    const names = (l: string[], more = 0) => (l.length ? l.join(', ') + (more ? `, and ${more} more` : '') : 'none');
    lines.push(
      `  by name alone: kernel threads ${names(byName.kernel, byName.more?.kernel)}; user tasks ${names(byName.user, byName.more?.user)}` +
        ' (if one is wrong: --kernel-threads <regex>, --user-tasks <regex>)',
    );
  }
  return lines.join('\n') + '\n';
}

/** "1 exec", "2 execs". */
function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}
