/**
 * Lifecycle events in a hand-written recording (ftrace text; the same recording as systrace HTML):
 * fork (task_newtask clone_flags: CLONE_VM makes a thread), exec (a fresh mm; the other threads of
 * the group exit), exit, free, rename, and kernel threads known from kthreadd rather than names.
 * Expected mm assignments computed by hand (comments beside each row).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { importFile } from '../src/import/import.js';
import { replayFile } from '../src/replay/engine.js';
import { cli, tmp, tmpFile } from './helpers/cli.js';

const LIFE = `# tracer: nop
cpus=2
            bash-100   [000]    10.000000: sched_switch: prev_comm=bash prev_pid=100 prev_prio=120 prev_state=S ==> next_comm=kthreadd next_pid=2 next_prio=120
        kthreadd-2     [000]    10.000010: task_newtask: pid=50 comm=kthreadd clone_flags=800711 oom_score_adj=0
        kthreadd-2     [000]    10.000020: sched_process_fork: comm=kthreadd pid=2 child_comm=kthreadd child_pid=50
        kthreadd-2     [000]    10.000030: task_rename: pid=50 oldcomm=kthreadd newcomm=nvme-wq oom_score_adj=0
        kthreadd-2     [000]    10.000040: sched_switch: prev_comm=kthreadd prev_pid=2 prev_prio=120 prev_state=S ==> next_comm=nvme-wq next_pid=50 next_prio=120
         nvme-wq-50    [000]    10.000050: sched_switch: prev_comm=nvme-wq prev_pid=50 prev_prio=120 prev_state=S ==> next_comm=bash next_pid=100 next_prio=120
            bash-100   [000]    10.000060: task_newtask: pid=101 comm=bash clone_flags=1200011 oom_score_adj=0
            bash-100   [000]    10.000070: sched_process_fork: comm=bash pid=100 child_comm=bash child_pid=101
            bash-100   [000]    10.000080: sched_process_fork: comm=bash pid=100 child_comm=thermald child_pid=300
            bash-100   [000]    10.000090: sched_switch: prev_comm=bash prev_pid=100 prev_prio=120 prev_state=S ==> next_comm=bash next_pid=101 next_prio=120
            bash-101   [000]    10.000100: sched_process_exec: filename=/usr/bin/make pid=101 old_pid=101
            make-101   [000]    10.000110: task_newtask: pid=102 comm=make clone_flags=3d0f00 oom_score_adj=0
            make-101   [000]    10.000120: sched_process_fork: comm=make pid=101 child_comm=make child_pid=102
            make-101   [000]    10.000130: task_newtask: pid=103 comm=make clone_flags=3d0f00 oom_score_adj=0
            make-101   [000]    10.000140: sched_process_fork: comm=make pid=101 child_comm=make child_pid=103
            make-101   [000]    10.000150: sched_switch: prev_comm=make prev_pid=101 prev_prio=120 prev_state=R+ ==> next_comm=thermald next_pid=300 next_prio=120
        thermald-300   [000]    10.000160: sched_switch: prev_comm=thermald prev_pid=300 prev_prio=120 prev_state=S ==> next_comm=make next_pid=102 next_prio=120
            make-102   [001]    10.000165: sched_switch: prev_comm=swapper/1 prev_pid=0 prev_prio=120 prev_state=R ==> next_comm=make next_pid=103 next_prio=120
            make-102   [000]    10.000170: sched_process_exit: comm=make pid=102 prio=120
            make-102   [000]    10.000180: sched_switch: prev_comm=make prev_pid=102 prev_prio=120 prev_state=X ==> next_comm=make next_pid=101 next_prio=120
            make-101   [000]    10.000190: sched_process_exec: filename=/usr/bin/cc pid=101 old_pid=101
              cc-101   [000]    10.000200: sched_switch: prev_comm=cc prev_pid=101 prev_prio=120 prev_state=S ==> next_comm=swapper/0 next_pid=0 next_prio=120
            make-103   [001]    10.000210: sched_switch: prev_comm=make prev_pid=103 prev_prio=120 prev_state=X ==> next_comm=swapper/1 next_pid=0 next_prio=120
          <idle>-0     [001]    10.000220: sched_process_free: comm=make pid=102 prio=120
`;

/** By hand: [time offset µs, event, cpu, task, mm, line of the recording it comes from (its src)]. */
const EXPECTED: [number, string, string, string, string, number][] = [
  [0, 'fork', '', '100', 'p100:bash', 3], // bash, alive before the recording: first appearance, its own mm
  [0, 'schedule', '0', '100', '', 3], // the CPU's first switch also schedules the outgoing task
  [0, 'schedule', '0', '0', '', 3], // kthreadd (pid 2): a kernel thread, lazy TLB
  [40, 'schedule', '0', '0', '', 7], // nvme-wq (pid 50): forked by kthreadd, so a kernel thread whatever its name
  [50, 'schedule', '0', '100', '', 8],
  [70, 'fork', '', '101', 'p101:bash', 10], // clone_flags 0x1200011: no CLONE_VM, a process with a fresh mm
  [80, 'fork', '', '300', 'p300:thermald', 11], // thermald forked by bash: a user task although its name looks like a kernel thread's
  [90, 'schedule', '0', '101', '', 12],
  [100, 'exec', '', '101', 'p101#1:make', 13], // exec /usr/bin/make: a fresh mm, named after the program
  [120, 'fork', '', '102', 'p101#1:make', 15], // clone_flags 0x3d0f00: CLONE_VM | CLONE_THREAD, a thread in make's mm
  [140, 'fork', '', '103', 'p101#1:make', 17],
  [150, 'schedule', '0', '300', '', 18],
  [160, 'schedule', '0', '102', '', 19],
  [165, 'schedule', '1', '103', '', 20],
  [170, 'exit', '', '102', '', 21], // sched_process_exit (its last switch, prev_state X, adds nothing)
  [180, 'schedule', '0', '101', '', 22],
  [190, 'exit', '', '103', '', 23], // exec again: de_thread, the other thread of the group is gone
  [190, 'exec', '', '101', 'p101#2:cc', 23],
  [200, 'schedule', '0', '0', '', 24],
  [210, 'schedule', '1', '0', '', 25], // 103's last switch: it already exited, it runs lazily (task 0)
];

const rows = (file: string) =>
  readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => /^\d/.test(l))
    .map((l) => l.split(','));

/** The expected rows; `first` is the line number of LIFE's first line in the recording (1 in a text file). */
const expectedRows = (first = 1) =>
  EXPECTED.map(([us, ev, cpu, task, mm, line]) => [
    String(10_000_000_000 + us * 1000),
    ev,
    cpu,
    task,
    mm,
    '',
    '',
    '',
    '',
    '',
    '',
    '',
    `10.${String(us).padStart(6, '0')}@L${line + first - 1}`, // src: the timestamp as printed, the line
  ]);

describe('lifecycle events decide tasks, mms and kernel threads', () => {
  it('ftrace text: the hand-computed trace, and the summary names the rules', async () => {
    const out = join(tmp(), 'life.csv');
    const s = await importFile('ftrace', tmpFile(LIFE, 'life.txt'), out);
    expect(rows(out)).toEqual(expectedRows());
    expect(s.lifecycle).toEqual({
      task_newtask: 4,
      sched_process_fork: 5,
      task_rename: 1,
      sched_process_exec: 2,
      sched_process_exit: 1,
      sched_process_free: 1,
    });
    expect(s.lifecycleWritten).toEqual({ processes: 2, threads: 2, execs: 2, exits: 2, kernelThreads: 1 });
    // nvme-wq's task_rename (kthreadd -> nvme-wq, no exec follows) is a rename: the recording has the exec tracepoint
    expect(s.commChanges).toEqual({
      execs: {},
      renames: { 'the recording has the exec tracepoint and no exec event for it': 1 },
      shown: ['50 kthreadd -> nvme-wq (rename)'],
      more: 0,
    });
    expect(s.taskRules).toEqual({
      kernel: { 'kthreadd (pid 2)': 1, 'forked by kthreadd or another kernel thread': 1 },
      user: { 'not a kernel thread name (no lifecycle event for it)': 1, 'forked by a user task': 4 },
    });
    expect(s.otherEvents).toEqual({});
  });

  it('systrace HTML holding the same text gives the same trace (import auto finds the block after 300 kB of script)', async () => {
    const html = `<!DOCTYPE html>\n<html>\n<body>\n<script>\n${'var x = 1;\n'.repeat(30000)}</script>\n<script class="trace-data" type="application/text">\n${LIFE}</script>\n</body>\n</html>\n`;
    const out = join(tmp(), 'life.csv');
    const s = await importFile('auto', tmpFile(html, 'life.html'), out);
    expect(s.kind).toBe('systrace');
    // src lines are the HTML file's: LIFE starts on line 30007, after 4 lines, 30000 of script, 2 more
    expect(rows(out)).toEqual(expectedRows(30007));
  });

  it('exec gives a fresh ASID in the replay: 5 mms, 5 allocations; without the exec events, the comm changes of the leader say the same', async () => {
    const out = join(tmp(), 'life.csv');
    await importFile('ftrace', tmpFile(LIFE, 'life.txt'), out);
    const r = await replayFile(out, {});
    expect(r.violations).toEqual([]);
    expect(r.churn.mms.created).toBe(5); // p100:bash, p101:bash, p300:thermald, p101#1:make, p101#2:cc
    expect(r.churn.allocations).toBe(5); // exec while running installs the new mm at once: a new ASID each time
    const noExec = LIFE.split('\n')
      .filter((l) => !l.includes('sched_process_exec'))
      .join('\n');
    const out2 = join(tmp(), 'noexec.csv');
    await importFile('ftrace', tmpFile(noExec, 'noexec.txt'), out2);
    const r2 = await replayFile(out2, {});
    // 101 is a process (clone_flags without CLONE_THREAD: its own group's leader): bash -> make and
    // make -> cc are execs, at the first event that gives the new name: make's fork of 102 (LIFE's
    // line 15, line 14 once line 13 is gone) and cc's switch (LIFE's line 24, now 22); 102 is then
    // forked into make's mm
    expect(r2.churn.mms.created).toBe(5);
    expect(r2.churn.allocations).toBe(5);
    expect(
      rows(out2)
        .filter((c) => c[1] === 'exec')
        .map((c) => [c[3], c[4], c[12]]),
    ).toEqual([
      ['101', 'p101#1:make', '10.000120@L14'],
      ['101', 'p101#2:cc', '10.000200@L22'],
    ]);
  });

  it('--kernel-threads and --user-tasks override the evidence and the names; the summary says so', async () => {
    const out = join(tmp(), 'o.csv');
    const r = await cli(
      'import',
      'ftrace',
      tmpFile(LIFE, 'life.txt'),
      '-o',
      out,
      '--kernel-threads',
      '^thermald$',
      '--user-tasks',
      '^nvme-wq$',
    );
    expect(r.code).toBe(0);
    const csv = readFileSync(out, 'utf8');
    expect(csv).not.toContain(',fork,,300,');
    expect(csv).toContain(',fork,,50,p50:nvme-wq,');
    expect(r.err).toContain('--kernel-threads: 1');
    expect(r.err).toContain('--user-tasks: 1');
    const bad = await cli('import', 'ftrace', tmpFile(LIFE, 'life.txt'), '-o', out, '--kernel-threads', '(');
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('--kernel-threads "(" is not a regular expression');
  });

  it('--overlay by process name follows execs: make is bound at its exec and unbound when the task execs cc', async () => {
    const out = join(tmp(), 'ov.csv');
    const r = await cli('import', 'ftrace', tmpFile(LIFE, 'life.txt'), '-o', out, '--overlay', 'make', '--overlay-unmap-every', '0');
    expect(r.code).toBe(0);
    const dev = rows(out).filter((c) => ['bind', 'unbind', 'dma'].includes(c[1]!));
    // by hand: bound after the exec (line 13); DMA at the switch-ins of 102, 103 (line 19, 20) and 101
    // (line 22); 102 and 103 exit, then the exec of cc (line 23) drops the last user: unbind
    expect(dev.map((c) => [c[1], c[4] || c[7], c[12]])).toEqual([
      ['bind', 'p101#1:make', '10.000100@L13'],
      ['dma', '1', '10.000160@L19'],
      ['dma', '1', '10.000160@L19'],
      ['dma', '1', '10.000165@L20'],
      ['dma', '1', '10.000165@L20'],
      ['dma', '1', '10.000180@L22'],
      ['dma', '1', '10.000180@L22'],
      ['unbind', 'p101#1:make', '10.000190@L23'],
    ]);
    const rep = await cli('replay', out, '--kernel', '6.1', '--json', '--fail-on', 'violations,stale,device-failures');
    expect(rep.code).toBe(0);
    expect(JSON.parse(rep.out).devices.sva).toMatchObject({ binds: 1, unbinds: 1 });
  });

  it('without lifecycle events, names decide: thermald and nvme-wq by their names, the trace has no fork of nvme-wq', async () => {
    const only = LIFE.split('\n')
      .filter((l) => !/(task_|sched_process_)/.test(l))
      .join('\n');
    const out = join(tmp(), 'n.csv');
    const s = await importFile('ftrace', tmpFile(only, 'n.txt'), out);
    const text = readFileSync(out, 'utf8');
    expect(text).toContain(',fork,,300,p300:thermald,'); // a user daemon, whatever its name looks like
    expect(text).not.toMatch(/,fork,,50,/); // nvme-wq: a workqueue rescuer, a kernel thread
    expect(s.lifecycle).toBeUndefined();
    expect(s.decidedByName?.kernel).toEqual(['nvme-wq']); // kthreadd is pid 2: decided by its pid, not its name
    expect(s.decidedByName?.user).toEqual(expect.arrayContaining(['thermald', 'bash', 'make']));
  });
});

/**
 * A recording of sched_switch only: nothing but the names says which tasks are kernel threads.
 * By hand: nvme-wq (the rescuer of the nvme workqueue, kernel/workqueue.c), kworker/0:1 and
 * irq/35-foo (a threaded handler, kernel/irq/manage.c "irq/%d-%s") are kernel threads, run as task 0;
 * thermald, kvm (qemu-kvm's process) and ufsd are user programs, forked into their own mm.
 */
const NAMES = `cpus=1
        thermald-300   [000]     1.000000: sched_switch: prev_comm=thermald prev_pid=300 prev_prio=120 prev_state=S ==> next_comm=nvme-wq next_pid=50 next_prio=100
         nvme-wq-50    [000]     1.000010: sched_switch: prev_comm=nvme-wq prev_pid=50 prev_prio=100 prev_state=I ==> next_comm=kvm next_pid=400 next_prio=120
             kvm-400   [000]     1.000020: sched_switch: prev_comm=kvm prev_pid=400 prev_prio=120 prev_state=S ==> next_comm=ufsd next_pid=500 next_prio=120
            ufsd-500   [000]     1.000030: sched_switch: prev_comm=ufsd prev_pid=500 prev_prio=120 prev_state=S ==> next_comm=kworker/0:1 next_pid=60 next_prio=120
     kworker/0:1-60    [000]     1.000040: sched_switch: prev_comm=kworker/0:1 prev_pid=60 prev_prio=120 prev_state=I ==> next_comm=irq/35-foo next_pid=70 next_prio=49
      irq/35-foo-70    [000]     1.000050: sched_switch: prev_comm=irq/35-foo prev_pid=70 prev_prio=49 prev_state=S ==> next_comm=thermald next_pid=300 next_prio=120
`;

describe('kernel threads by name (a recording without lifecycle events)', () => {
  const NAME_RULE = 'name of a kernel thread (no lifecycle event for it)';
  const USER_RULE = 'not a kernel thread name (no lifecycle event for it)';
  /** [event, task, mm] of each row: by hand, from the rules above. */
  const cells = (file: string) => rows(file).map((r) => [r[1], r[3], r[4]].join(' ').trim());

  it('thermald, kvm and ufsd are user tasks; nvme-wq, kworker/0:1 and irq/35-foo kernel threads; the summary says by which rule', async () => {
    const out = join(tmp(), 'names.csv');
    const s = await importFile('ftrace', tmpFile(NAMES, 'names.txt'), out);
    expect(cells(out)).toEqual([
      'fork 300 p300:thermald',
      'schedule 300', // the CPU's first switch also schedules the task it leaves
      'schedule 0', // nvme-wq
      'fork 400 p400:kvm',
      'schedule 400',
      'fork 500 p500:ufsd',
      'schedule 500',
      'schedule 0', // kworker/0:1
      'schedule 0', // irq/35-foo
      'schedule 300',
    ]);
    expect([s.tasks, s.kernelThreads]).toEqual([3, 3]);
    expect(s.taskRules).toEqual({ kernel: { [NAME_RULE]: 3 }, user: { [USER_RULE]: 3 } });
    expect(s.decidedByName).toEqual({ kernel: ['nvme-wq', 'kworker/0:1', 'irq/35-foo'], user: ['thermald', 'kvm', 'ufsd'] });
  });

  it('the CLI summary lists the names decided by name; --kernel-threads and --user-tasks override them', async () => {
    const rec = tmpFile(NAMES, 'names.txt');
    const out = join(tmp(), 'names.csv');
    const r = await cli('import', 'ftrace', rec, '-o', out);
    expect(r.code, r.err).toBe(0);
    expect(r.err).toContain(`kernel threads decided by: ${NAME_RULE}: 3`);
    expect(r.err).toContain(`user tasks decided by: ${USER_RULE}: 3`);
    expect(r.err).toContain('by name alone: kernel threads nvme-wq, kworker/0:1, irq/35-foo; user tasks thermald, kvm, ufsd');
    const o = await cli('import', 'ftrace', rec, '-o', out, '--kernel-threads', '^thermald$', '--user-tasks', '^nvme-wq$', '--json');
    expect(o.code, o.err).toBe(0);
    expect(JSON.parse(o.out).taskRules).toEqual({
      kernel: { '--kernel-threads': 1, [NAME_RULE]: 2 },
      user: { '--user-tasks': 1, [USER_RULE]: 2 },
    });
    expect(cells(out)).toContain('fork 50 p50:nvme-wq');
    expect(cells(out)).not.toContain('fork 300 p300:thermald');
  });
});
