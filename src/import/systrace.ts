/**
 * Extraction of the data inside Android systrace HTML files. Two layouts exist:
 *
 * - `<script class="trace-data" type="application/text">` blocks (systrace from ~2015 on), one per
 *   tracing agent, in the order catapult's output_generator.py writes them: on Android O and later
 *   typically a `PROCESS DUMP` (android_process_data_agent.py: `ps` output, see process-dump.ts),
 *   the ftrace text (atrace, with a TGID column), and a small JSON block (the tracing controller's
 *   clock-sync events). Every block is read: the ftrace text gives the events, the process dump the
 *   parents, thread groups and kernel threads, JSON blocks are counted; a block in no known form
 *   has its lines read as text, so the importer counts and quotes them;
 * - the older `var linuxPerfData = "\` JavaScript string whose lines end in `\n\`.
 */
import { InputError } from '../trace/errors.js';
import { PROCESS_DUMP_HEADER, type ProcessDump, parseProcessDump } from './process-dump.js';

/** One trace-data block, as the summary names it. */
export interface SystraceBlock {
  /** Line of the block's first line in the HTML file. */
  line: number;
  kind: 'ftrace' | 'process-dump' | 'json' | 'atrace-process-dump' | 'empty' | 'text';
  /** Its lines. */
  lines: number;
}

/** Text lines with their line numbers in the HTML file. */
export interface ExtractedLines {
  /** The lines the importer reads as recording text: [line number in the HTML, text]. */
  lines: [number, string][];
  layout: 'trace-data' | 'linuxPerfData';
  blocks: SystraceBlock[];
  /** The merged process dumps, when the file has any. */
  dump?: ProcessDump;
}

/** @throws InputError when the file holds no trace data in a known layout, or a block is compressed. */
export function extractSystrace(html: string, file: string): ExtractedLines {
  const all = html.split(/\r?\n/);
  const out: ExtractedLines = { lines: [], layout: 'trace-data', blocks: [] };
  let found = false;
  for (let i = 0; i < all.length; i++) {
    if (/<script class="trace-data" type="application\/text">/.test(all[i]!)) {
      found = true;
      const start = i + 1;
      let end = start;
      while (end < all.length && !/<\/script>/.test(all[end]!)) end++;
      const block = all.slice(start, end);
      // the block's last line may end in </script> (a JSON block written on one line)
      const tail = end < all.length ? all[end]!.slice(0, all[end]!.indexOf('</script>')) : '';
      if (tail.trim() !== '') block.push(tail);
      i = end;
      const firstAt = block.findIndex((l) => l.trim() !== '');
      const first = firstAt < 0 ? undefined : block[firstAt]!.trim();
      const add = (kind: SystraceBlock['kind']) => out.blocks.push({ line: start + 1, kind, lines: block.length });
      if (first === undefined) {
        add('empty');
      } else if (first.startsWith('{') || first.startsWith('[')) {
        add('json');
      } else if (first === PROCESS_DUMP_HEADER) {
        add('process-dump');
        const { dump, unparsed } = parseProcessDump(block.slice(firstAt), start + 1 + firstAt);
        out.dump = out.dump ? mergeDumps(out.dump, dump) : dump;
        out.lines.push(...unparsed);
      } else if (first.startsWith('ATRACE_PROCESS_DUMP')) {
        add('atrace-process-dump'); // atrace_process_dump.py: memory dumps (JSON after the header), not read
      } else if (/^[A-Za-z0-9+/=]{200,}$/.test(first)) {
        throw new InputError(
          'the trace-data block is compressed (zlib/base64); re-export the trace uncompressed (systrace --no-compress)',
          file,
          start + 1 + firstAt,
          1,
        );
      } else {
        add(first.startsWith('# tracer') || /^\S.*-\d+\s.*\[\d+\]/.test(first) ? 'ftrace' : 'text');
        block.forEach((l, k) => out.lines.push([start + 1 + k, l]));
      }
      continue;
    }
    if (!found && /var\s+linuxPerfData\s*=\s*"\\$/.test(all[i]!)) {
      let j = i + 1;
      for (; j < all.length; j++) {
        const l = all[j];
        const done = !l!.endsWith('\\');
        const body = done ? l!.replace(/";?\s*$/, '') : l!.slice(0, -1);
        out.lines.push([j + 1, body.replace(/\\n$/, '').replace(/\\(["\\'])/g, '$1')]);
        if (done) break;
      }
      out.blocks.push({ line: i + 2, kind: 'ftrace', lines: j - i });
      return { ...out, layout: 'linuxPerfData' };
    }
  }
  if (!found)
    throw new InputError(
      'no ftrace text found: expected a <script class="trace-data" type="application/text"> block or a "var linuxPerfData" string',
      file,
    );
  return out;
}

/** Two process dumps as one (the first one's rows win). */
function mergeDumps(a: ProcessDump, b: ProcessDump): ProcessDump {
  for (const [pid, p] of b.processes) if (!a.processes.has(pid)) a.processes.set(pid, p);
  for (const [tid, pid] of b.tgids) if (!a.tgids.has(tid)) a.tgids.set(tid, pid);
  for (const [tid, name] of b.threadNames) if (!a.threadNames.has(tid)) a.threadNames.set(tid, name);
  a.snapshots += b.snapshots;
  return a;
}
