/**
 * perf script text (`perf record -e 'sched:*' -a` / `perf sched record`, then `perf script`): the
 * default layout (`comm tid [cpu] time: sys:event: body`), `-F +pid` (`pid/tid`), `--ns`, a period
 * column, and the sched_switch plugin form. Hand-written recordings, hand-computed traces.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { importFile } from '../src/import/import.js';
import { perfToFtrace } from '../src/import/perf-script.js';
import { sniff } from '../src/import/auto.js';
import { cli, tmp, tmpFile } from './helpers/cli.js';

/** Default fields (comm, tid, cpu, time, event, trace); bash (100) forks 101, which execs ls, which exits. */
const DEFAULT = `# ========
# captured on    : Sat Nov 22 10:00:00 2026
# cmdline : /usr/bin/perf record -e sched:* -a
# ========
#
            bash   100 [000]  5000.000010: sched:sched_switch: prev_comm=bash prev_pid=100 prev_prio=120 prev_state=S ==> next_comm=swapper/0 next_pid=0 next_prio=120
         swapper     0 [001]  5000.000020: sched:sched_switch: prev_comm=swapper/1 prev_pid=0 prev_prio=120 prev_state=R ==> next_comm=bash next_pid=100 next_prio=120
            bash   100 [001]  5000.000030: task:task_newtask: pid=101 comm=bash clone_flags=1200011 oom_score_adj=0
            bash   100 [001]  5000.000040: sched:sched_process_fork: comm=bash pid=100 child_comm=bash child_pid=101
            bash   100 [001]  5000.000050: sched:sched_wakeup_new: comm=bash pid=101 prio=120 target_cpu=000
            bash   100 [001]  5000.000060: sched:sched_switch: prev_comm=bash prev_pid=100 prev_prio=120 prev_state=S ==> next_comm=bash next_pid=101 next_prio=120
            bash   101 [001]  5000.000070: sched:sched_process_exec: filename=/usr/bin/ls pid=101 old_pid=101
              ls   101 [001]  5000.000080: sched:sched_process_exit: comm=ls pid=101 prio=120
              ls   101 [001]  5000.000090: sched:sched_switch: prev_comm=ls prev_pid=101 prev_prio=120 prev_state=Z ==> next_comm=swapper/1 next_pid=0 next_prio=120
`;

/** By hand; src: the timestamp as perf prints it and the line of the sample. */
const EXPECTED = [
  '5000000010000,fork,,100,p100:bash,,,,,,,,5000.000010@L6', // first appearance
  '5000000010000,schedule,0,100,,,,,,,,,5000.000010@L6', // the CPU's first switch schedules its outgoing task
  '5000000010000,schedule,0,0,,,,,,,,,5000.000010@L6',
  '5000000020000,schedule,1,100,,,,,,,,,5000.000020@L7',
  '5000000040000,fork,,101,p101:bash,,,,,,,,5000.000040@L9', // no CLONE_VM: a process
  '5000000060000,schedule,1,101,,,,,,,,,5000.000060@L11',
  '5000000070000,exec,,101,p101#1:ls,,,,,,,,5000.000070@L12', // a fresh mm, named after the program
  '5000000080000,exit,,101,,,,,,,,,5000.000080@L13',
  '5000000090000,schedule,1,0,,,,,,,,,5000.000090@L14',
];

const events = (file: string) =>
  readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => /^\d/.test(l));

describe('perf script text', () => {
  it('default layout: fork, exec, exit used; other sched events counted; hand-computed trace', async () => {
    const out = join(tmp(), 'p.csv');
    const s = await importFile('perf-script', tmpFile(DEFAULT, 'perf.txt'), out);
    expect(events(out)).toEqual(EXPECTED);
    expect(s.sched_switch).toBe(4);
    expect(s.otherEvents).toEqual({ sched_wakeup_new: 1 });
    expect(s.unparsedLines).toBe(0);
    expect(s.cpus).toBe(2);
  });

  it('-F +pid (pid/tid), --ns, a period column and the sched_switch plugin form give the same trace', async () => {
    const variant = DEFAULT.split('\n')
      .map((l) => {
        if (l.startsWith('#') || l === '') return l;
        let v = l.replace(/^(\s*\S+\s+)(\d+)( \[)/, (_, a, tid, b) => `${a}${tid}/${tid}${b}`); // -F +pid
        v = v.replace(/(\d+\.\d{6}):/, '$1000:'); // --ns
        v = v.replace(/: (sched|task):/, ':          1 $1:'); // period
        return v.replace(
          /prev_comm=(\S+) prev_pid=(\d+) prev_prio=(\d+) prev_state=(\S+) ==> next_comm=(\S+) next_pid=(\d+) next_prio=(\d+)/,
          '$1:$2 [$3] $4 ==> $5:$6 [$7]',
        );
      })
      .join('\n');
    expect(variant).toContain('bash   100/100 [001]  5000.000060000:          1 sched:sched_switch: bash:100 [120] S ==> bash:101 [120]');
    const out = join(tmp(), 'v.csv');
    await importFile('perf-script', tmpFile(variant, 'perf-v.txt'), out);
    // the same events; src keeps the timestamps as printed (nanoseconds under --ns)
    expect(events(out)).toEqual(EXPECTED.map((l) => l.replace(/(\.\d{6})@/, '$1000@')));
  });

  it('rewrites a sample into the ftrace form (comm with spaces, pid/tid as TGID)', () => {
    expect(perfToFtrace('  Web Content  2001/2007 [003]  12.345678: sched:sched_switch: x', 'f', 1)).toBe(
      'Web Content-2007 (2001) [003] 12.345678: sched_switch: x',
    );
    expect(perfToFtrace('# comment', 'f', 1)).toBe('# comment');
  });

  it('is recognised by import auto, and import ftrace on it says to use import perf-script', async () => {
    expect(sniff(Buffer.from(DEFAULT)).kind).toBe('perf-script');
    const f = tmpFile(DEFAULT, 'perf.txt');
    const r = await cli('import', 'auto', f, '-o', join(tmp(), 'a.csv'), '--json');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out).kind).toBe('perf-script');
    const w = await cli('import', 'ftrace', f, '-o', join(tmp(), 'b.csv'));
    expect(w.code).toBe(2);
    expect(w.err).toContain('this is perf script text');
    expect(w.err).toContain('use `import perf-script`');
  });

  it('samples without the CPU column: exit 2 at the line, saying which -F to use', async () => {
    const noCpu =
      '            bash   100  5000.000010: sched:sched_switch: prev_comm=bash prev_pid=100 prev_prio=120 prev_state=S ==> next_comm=swapper/0 next_pid=0 next_prio=120\n';
    const f = tmpFile(DEFAULT.replace(/^( +bash +100) \[000\]/m, '$1'), 'nocpu.txt');
    expect(readFileSync(f, 'utf8')).toContain(noCpu.trimEnd());
    const r = await cli('import', 'perf-script', f, '-o', join(tmp(), 'c.csv'));
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/nocpu\.txt:6:1: a perf script sample without the CPU column/);
    expect(r.err).toContain('-F comm,pid,tid,cpu,time,event,trace');
  });
});

/**
 * `perf script --show-task-events` (tools/perf/util/event.c: perf_event__fprintf_comm "%s: %s:%d/%d",
 * " exec" when the record has PERF_RECORD_MISC_COMM_EXEC; perf_event__fprintf_task "(%d:%d):(%d:%d)",
 * pid:tid then ppid:ptid), with tracepoint names printed without their `sched:` system. bash (100)
 * forks 101 (a process: another pid), which execs ls; ls starts a thread 102 (same pid, its TGID),
 * which names itself (a COMM without exec: a rename); both exit.
 */
const TASKS = `            bash   100 [000]  7000.000010: sched_switch: prev_comm=bash prev_pid=100 prev_prio=120 prev_state=S ==> next_comm=swapper/0 next_pid=0 next_prio=120
         swapper     0 [001]  7000.000020: sched_switch: prev_comm=swapper/1 prev_pid=0 prev_prio=120 prev_state=R ==> next_comm=bash next_pid=100 next_prio=120
            bash   100 [001]  7000.000030: PERF_RECORD_FORK(101:101):(100:100)
            bash   100 [001]  7000.000040: sched_switch: prev_comm=bash prev_pid=100 prev_prio=120 prev_state=S ==> next_comm=bash next_pid=101 next_prio=120
              ls   101 [001]  7000.000050: PERF_RECORD_COMM exec: ls:101/101
              ls   101 [001]  7000.000060: PERF_RECORD_FORK(101:102):(101:101)
              ls   102 [001]  7000.000070: PERF_RECORD_COMM: ls-worker:101/102
              ls   101 [001]  7000.000080: sched_switch: prev_comm=ls prev_pid=101 prev_prio=120 prev_state=R+ ==> next_comm=ls-worker next_pid=102 next_prio=120
       ls-worker   102 [001]  7000.000090: PERF_RECORD_EXIT(101:102):(101:101)
       ls-worker   102 [001]  7000.000100: sched_switch: prev_comm=ls-worker prev_pid=102 prev_prio=120 prev_state=X ==> next_comm=ls next_pid=101 next_prio=120
              ls   101 [001]  7000.000110: PERF_RECORD_EXIT(101:101):(100:100)
              ls   101 [001]  7000.000120: sched_switch: prev_comm=ls prev_pid=101 prev_prio=120 prev_state=X ==> next_comm=swapper/1 next_pid=0 next_prio=120
`;

describe('perf script --show-task-events', () => {
  it('PERF_RECORD_FORK / COMM exec / COMM / EXIT decide forks, execs, renames and exits; sched_switch: without sched:', async () => {
    expect(perfToFtrace('            bash   100 [001]  7000.000030: PERF_RECORD_FORK(101:101):(100:100)', 'f', 1)).toBe(
      'bash-100 [001] 7000.000030: perf_fork: pid=101 tid=101 ppid=100 ptid=100',
    );
    expect(perfToFtrace('              ls   101 [001]  7000.000050: PERF_RECORD_COMM exec: ls:101/101', 'f', 1)).toBe(
      'ls-101 [001] 7000.000050: perf_comm_exec: pid=101 tid=101 comm=ls',
    );
    expect(sniff(Buffer.from(TASKS)).kind).toBe('perf-script');
    const out = join(tmp(), 't.csv');
    const r = await cli('import', 'auto', tmpFile(TASKS, 'tasks.txt'), '-o', out, '--json');
    expect(r.code, r.err).toBe(0);
    // by hand: 101 a process (its pid is not its parent's), its exec a fresh mm; 102 a thread of 101's
    // group (pid 101 = its parent's TGID) in ls's mm; 102's COMM without exec: a rename
    expect(events(out).map((l) => l.split(',').slice(1, 5).join(' ').trim() + ' ' + l.split(',')[12])).toEqual([
      'fork  100 p100:bash 7000.000010@L1',
      'schedule 0 100 7000.000010@L1',
      'schedule 0 0 7000.000010@L1',
      'schedule 1 100 7000.000020@L2',
      'fork  101 p101:bash 7000.000030@L3',
      'schedule 1 101 7000.000040@L4',
      'exec  101 p101#1:ls 7000.000050@L5',
      'fork  102 p101#1:ls 7000.000060@L6',
      'schedule 1 102 7000.000080@L8',
      'exit  102 7000.000090@L9',
      'schedule 1 101 7000.000100@L10',
      'exit  101 7000.000110@L11',
      'schedule 1 0 7000.000120@L12',
    ]);
    const s = JSON.parse(r.out);
    expect(s.lifecycle).toEqual({ PERF_RECORD_FORK: 2, 'PERF_RECORD_COMM exec': 1, PERF_RECORD_COMM: 1, PERF_RECORD_EXIT: 2 });
    expect(s.lifecycleWritten).toEqual({ processes: 1, threads: 1, execs: 1, exits: 2, kernelThreads: 0 });
    // the recording says every exec (PERF_RECORD_COMM exec): the COMM without it is a rename
    expect(s.commChanges).toMatchObject({ execs: {}, renames: { 'the recording has the exec tracepoint and no exec event for it': 1 } });
    expect(s.otherEvents).toEqual({});
  });

  it('without the exec records, a COMM of a group leader is an exec and of another thread a rename (pid/tid give the groups)', async () => {
    const noExec = TASKS.replace('PERF_RECORD_COMM exec: ls:101/101', 'PERF_RECORD_COMM: ls:101/101');
    const out = join(tmp(), 'n.csv');
    const s = await importFile('perf-script', tmpFile(noExec, 'n.txt'), out);
    expect(
      events(out)
        .filter((l) => /,(exec|fork),/.test(l))
        .map((l) => l.split(',').slice(1, 5).join(' ')),
    ).toEqual(['fork  100 p100:bash', 'fork  101 p101:bash', 'exec  101 p101#1:ls', 'fork  102 p101#1:ls']);
    expect(s.commChanges).toMatchObject({
      execs: { 'group leader (pid = TGID)': 1 },
      renames: { 'a thread of its group (pid != TGID)': 1 },
    });
  });

  it('perf script --header naming sched:sched_process_exec says the tracepoint was recorded: comm changes are renames', async () => {
    const header =
      '# ========\n# event : name = sched:sched_process_exec, , id = { 31 }, type = 2, size = 136, config = 0x13a\n# ========\n';
    const noExec = TASKS.replace('PERF_RECORD_COMM exec: ls:101/101', 'PERF_RECORD_COMM: ls:101/101');
    const out = join(tmp(), 'h.csv');
    const s = await importFile('perf-script', tmpFile(header + noExec, 'h.txt'), out);
    expect(events(out).filter((l) => l.includes(',exec,'))).toEqual([]);
    expect(s.commChanges?.renames).toEqual({ 'the recording has the exec tracepoint and no exec event for it': 2 });
  });
});
