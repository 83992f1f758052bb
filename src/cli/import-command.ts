/**
 * `asid-replay import <kind> <file> -o <out>`: convert a real recording to trace v1.
 */
import type { Command } from 'commander';
import { Option } from 'commander';
import { IMPORT_KINDS, type ImportKind, type ImportSummary } from '../import/kinds.js';
import { renderJson } from '../report/render.js';
import { Exit, type Io, intArg } from './shared.js';

export function importCommand(program: Command, io: Io): void {
  program
    .command('import')
    .description(
      'Convert a recording to trace v1: ftrace / trace-cmd report text (raw-field or "==>" styles,\n' +
        'with or without TGID and irq-flags columns) or Android systrace HTML. Threads share their\n' +
        "TGID's mm when the TGID is known; a pid's first appearance is its fork; prev_state X/x/Z/64\n" +
        'is its exit; pid 0 and kernel threads do not switch the user mm. Every line that is not a\n' +
        'scheduling event is counted by kind in the summary (stderr, or stdout with --json).',
    )
    .argument('<kind>', `input kind: ${IMPORT_KINDS.join(' | ')}`)
    .argument('<file>', 'recording to import')
    .requiredOption('-o, --output <file>', 'trace v1 CSV to write')
    .addOption(new Option('--cpus <n>', 'CPU count for the # system: line (default: from the recording)').argParser(intArg('--cpus', 1, 4096)))
    .option('--json', 'print the import summary as JSON on stdout')
    .option('--overlay <processes>', 'bind these processes to a device (comma-separated mm labels p<tgid>, or top:N for the N most switched-in) and give them DMA and unmap traffic')
    .addOption(new Option('--overlay-dma <n>', 'overlay: DMA accesses per switch-in').default(2).argParser(intArg('--overlay-dma', 0, 64)))
    .addOption(new Option('--overlay-unmap-every <n>', 'overlay: unmap+remap a page every N switch-ins (0: never)').default(8).argParser(intArg('--overlay-unmap-every', 0)))
    .option('--overlay-btm', 'overlay: the SMMU has BTM')
    .option('--overlay-ats', 'overlay: the device uses ATS (has an ATC)')
    .addHelpText('after', '\nExample: asid-replay import ftrace trace.txt -o real.csv --overlay top:2\n         asid-replay replay real.csv --driver shared-asid')
    .action(async (kind: string, file: string, o: { output: string; cpus?: number; json?: boolean; overlay?: string; overlayDma: number; overlayUnmapEvery: number; overlayBtm?: boolean; overlayAts?: boolean }) => {
      if (!(IMPORT_KINDS as readonly string[]).includes(kind)) {
        io.err(`asid-replay: unknown import kind "${kind}"; expected one of ${IMPORT_KINDS.join(', ')}\n`);
        throw new Exit(2);
      }
      const overlay = o.overlay === undefined ? undefined : { processes: o.overlay, dmaPerSwitch: o.overlayDma, unmapEvery: o.overlayUnmapEvery, btm: o.overlayBtm, ats: o.overlayAts };
      const { importFile } = await import('../import/import.js'); // loaded when used
      const summary = await importFile(kind as ImportKind, file, o.output, { cpus: o.cpus, overlay });
      if (o.json) io.out(renderJson(summary));
      else io.err(formatSummary(summary));
    });
}

function formatSummary(s: ImportSummary): string {
  const lines = [
    `imported ${s.input} -> ${s.output}: ${s.eventsWritten} events (${Object.entries(s.eventsByKind).map(([k, n]) => `${k} ${n}`).join(', ')})`,
    `  lines: ${s.lines} (${s.sched_switch} sched_switch, ${s.commentLines} comment/header, ${s.unparsedLines} unparsed)`,
    `  other ftrace events (not replayed): ${Object.entries(s.otherEvents).map(([k, n]) => `${k} ${n}`).join(', ') || 'none'}`,
    `  tasks: ${s.tasks} user tasks, ${s.kernelThreads} kernel threads (run as lazy-TLB task 0), ${s.exits} exits, cpus ${s.cpus}`,
  ];
  if (s.unparsedExamples.length) lines.push(`  unparsed lines, first: ${s.unparsedExamples.join(', ')}`);
  return lines.join('\n') + '\n';
}
