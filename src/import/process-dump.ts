/**
 * The `PROCESS DUMP` block of an Android systrace HTML file: what catapult's
 * systrace/tracing_agents/android_process_data_agent.py writes, a snapshot at the start and one at
 * the end of the trace, each the output of
 *
 *     ps -A -o USER,PID,PPID,VSIZE,RSS,WCHAN,ADDR=PC,S,NAME,COMM && ps -AT -o USER,PID,TID,CMD
 *
 * (toybox, Android O and later: a process table, then a thread table), or on older devices of
 * `ps && ps -t` (toolbox: `USER PID PPID VSIZE RSS WCHAN PC NAME` with a state letter before the
 * name; in the thread listing the PPID column holds the thread's process). The importer reads from
 * it the parent of every process, the thread group of every thread, and which processes are kernel
 * threads: kthreadd itself (pid 2) and its children (PPID 2) without an address space (VSZ 0; a
 * program the kernel started with call_usermodehelper is also a child of kthreadd, through
 * CLONE_PARENT, but has one).
 */

export interface DumpProcess {
  pid: number;
  ppid: number;
  /** NAME (argv[0]). */
  name: string;
  /** COMM (the task name), when the table has it. */
  comm?: string;
  /** VSZ in KiB, when the table has it. */
  vsz?: number;
  /** pid 2, or a child of pid 2 without an address space. */
  kernel: boolean;
}

export interface ProcessDump {
  /** Process rows by pid (the first snapshot that lists a pid wins). */
  processes: Map<number, DumpProcess>;
  /** Thread rows: tid -> the pid of its process (its TGID). */
  tgids: Map<number, number>;
  /** Thread rows: tid -> its name (CMD: the task's comm; the leader's is its process's comm). */
  threadNames: Map<number, string>;
  /** Process tables read (two per systrace: at the start and at the end). */
  snapshots: number;
  /** Line (in the file) of the block's `PROCESS DUMP` header. */
  line: number;
}

export const PROCESS_DUMP_HEADER = 'PROCESS DUMP';

/** Whether `pid` (with `ppid`, `vsz`) is a kernel thread as ps shows it. */
function isKernel(pid: number, ppid: number, vsz: number | undefined): boolean {
  return pid === 2 || (ppid === 2 && (vsz === undefined || vsz === 0));
}

/**
 * Parse a process dump block (its lines, the first being `PROCESS DUMP`). Lines in no known form
 * are returned with their numbers, so that the importer counts them.
 */
export function parseProcessDump(lines: readonly string[], firstLine: number): { dump: ProcessDump; unparsed: [number, string][] } {
  const dump: ProcessDump = { processes: new Map(), tgids: new Map(), threadNames: new Map(), snapshots: 0, line: firstLine };
  const unparsed: [number, string][] = [];
  /** Column indexes of the table being read. */
  let table: { kind: 'processes' | 'threads' | 'legacy-threads'; col: Record<string, number>; names: string[] } | undefined;
  let legacySeen = false;
  for (let i = 1; i < lines.length; i++) {
    const raw = lines[i]!;
    const t = raw.trim();
    if (t === '') continue;
    const cols = t.split(/\s+/);
    if (cols[0] === 'USER') {
      const col: Record<string, number> = {};
      cols.forEach((c, k) => (col[c] = k));
      if (col.TID !== undefined) table = { kind: 'threads', col, names: cols };
      else if (col.PPID !== undefined) {
        // toolbox `ps` then `ps -t`: the same header twice, the second listing threads
        const legacy = col.COMM === undefined && col.S === undefined;
        if (legacy && table?.kind === 'processes' && legacySeen) table = { kind: 'legacy-threads', col, names: cols };
        else {
          table = { kind: 'processes', col, names: cols };
          dump.snapshots++;
          legacySeen = legacy;
        }
      } else table = undefined;
      continue;
    }
    const n = firstLine + i;
    const num = (name: string, at = table?.col[name]) => (at === undefined || !/^\d+$/.test(cols[at] ?? '') ? undefined : Number(cols[at]));
    if (table?.kind === 'threads') {
      const pid = num('PID');
      const tid = num('TID');
      if (pid === undefined || tid === undefined) unparsed.push([n, raw]);
      else if (!dump.tgids.has(tid) || !dump.threadNames.has(tid)) {
        if (!dump.tgids.has(tid)) dump.tgids.set(tid, pid);
        const at = table.col.CMD ?? table.names.length - 1;
        dump.threadNames.set(tid, cols.slice(at).join(' '));
      }
      continue;
    }
    if (table?.kind === 'processes' || table?.kind === 'legacy-threads') {
      const pid = num('PID');
      const ppid = num('PPID');
      const vszAt = table.col.VSZ ?? table.col.VSIZE;
      const vsz = num('VSZ', vszAt);
      // toolbox rows have a state letter the header does not name, before NAME
      const nameAt = table.col.NAME ?? table.names.length - 1;
      const extra = cols.length > table.names.length && table.col.S === undefined ? 1 : 0;
      if (pid === undefined || ppid === undefined) {
        unparsed.push([n, raw]);
        continue;
      }
      if (table.kind === 'legacy-threads') {
        // toolbox `ps -t`: a process row (known pid) or a thread row whose PPID column is its process
        if (!dump.processes.has(pid) && !dump.tgids.has(pid)) dump.tgids.set(pid, ppid);
        else if (!dump.tgids.has(pid)) dump.tgids.set(pid, pid);
        continue;
      }
      const name = cols[nameAt + extra] ?? '';
      const commAt = table.col.COMM ?? table.col.COMMAND;
      const comm = commAt !== undefined ? cols.slice(commAt + extra).join(' ') : undefined;
      if (!dump.processes.has(pid))
        dump.processes.set(pid, {
          pid,
          ppid,
          name,
          ...(comm ? { comm } : {}),
          ...(vsz !== undefined ? { vsz } : {}),
          kernel: isKernel(pid, ppid, vsz),
        });
      if (!dump.tgids.has(pid)) dump.tgids.set(pid, pid);
      continue;
    }
    unparsed.push([n, raw]);
  }
  return { dump, unparsed };
}
