/**
 * Comm changes: a task's name changing in its events is an exec or a rename (lifecycle.ts, docs/recordings.md
 * "Comm changes"). The kernel renames a task in `__set_task_comm` (fs/exec.c), from `begin_new_exec`
 * on every exec (then `exec_binprm` emits sched_process_exec) and from prctl(PR_SET_NAME)
 * (kernel/sys.c) or a write to /proc/<pid>/comm. Each rule is checked on both sides, on hand-written
 * recordings whose expected traces are worked out by hand in the comments, and on the LISA Juno
 * recording, whose address spaces are counted by hand from trace.txt.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { importFile } from '../src/import/import.js';
import { replayFile } from '../src/replay/engine.js';
import { cli, tmp, tmpFile } from './helpers/cli.js';

/** [event, task, mm, src line] of the rows that are not `schedule`. */
const lifeRows = (file: string) =>
  readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => /^\d/.test(l) && !l.includes(',schedule,'))
    .map((l) => {
      const c = l.split(',');
      return [c[1], c[3], c[4], c[12]!.replace(/^.*@L/, 'L')].join(' ').replace(/ +/g, ' ');
    });

const sw = (pc: string, pp: number, ps: string, nc: string, np: number) =>
  `sched_switch: prev_comm=${pc} prev_pid=${pp} prev_prio=120 prev_state=${ps} ==> next_comm=${nc} next_pid=${np} next_prio=120`;

/**
 * Process 500 (leader, "app") and its thread 501 ("worker"). The thread renames itself to
 * "renamed" (line 3 shows it), then the leader's name becomes "newprog" (line 4).
 */
const GROUP = [
  'cpus=1',
  `             app-500   (  500) [000]     1.000000: ${sw('app', 500, 'S', 'worker', 501)}`,
  `          worker-501   (  500) [000]     1.000010: ${sw('renamed', 501, 'S', 'app', 500)}`,
  `             app-500   (  500) [000]     1.000020: ${sw('newprog', 500, 'S', 'swapper/0', 0)}`,
  '',
].join('\n');
/** The same recording without the TGID column. */
const NO_TGID = GROUP.replace(/ \(\s*\d+\) /g, ' ');

describe('group leader vs thread (TGID column) and no TGID', () => {
  it('TGIDs: the thread renames (same mm, whatever its name); the leader execs, and de_thread ends the thread', async () => {
    const out = join(tmp(), 'g.csv');
    const s = await importFile('ftrace', tmpFile(GROUP, 'g.txt'), out);
    expect(lifeRows(out)).toEqual([
      'fork 500 p500:app L2',
      'fork 501 p500:app L2', // a thread: the group's mm
      // line 3: 501's new name is a rename: nothing written
      'exit 501 L4', // line 4: the leader's exec (exec_mmap after de_thread: the other threads are gone)
      'exec 500 p500#1:newprog L4',
    ]);
    expect(s.commChanges).toEqual({
      execs: { 'group leader (pid = TGID)': 1 },
      renames: { 'a thread of its group (pid != TGID)': 1 },
      shown: ['501 worker -> renamed (rename)', '500 app -> newprog (exec)'],
      more: 0,
    });
    const r = await replayFile(out);
    expect([r.churn.mms.created, r.churn.allocations]).toEqual([2, 2]);
  });

  it('no TGID: every pid is its own process and each comm change an exec', async () => {
    const out = join(tmp(), 'n.csv');
    const s = await importFile('ftrace', tmpFile(NO_TGID, 'n.txt'), out);
    expect(lifeRows(out)).toEqual([
      'fork 500 p500:app L2',
      'fork 501 p501:worker L2',
      'exec 501 p501#1:renamed L3',
      'exec 500 p500#1:newprog L4',
    ]);
    expect(s.commChanges?.execs).toEqual({ 'no TGID in the recording (each pid is its own process)': 2 });
    const r = await replayFile(out);
    expect([r.churn.mms.created, r.churn.allocations]).toEqual([4, 4]);
  });

  it('--comm-change rename: no exec; the summary names the flag', async () => {
    const out = join(tmp(), 'r.csv');
    const r = await cli('import', 'ftrace', tmpFile(NO_TGID, 'n.txt'), '-o', out, '--comm-change', 'rename');
    expect(r.code, r.err).toBe(0);
    expect(lifeRows(out)).toEqual(['fork 500 p500:app L2', 'fork 501 p501:worker L2']);
    expect(r.err).toContain('comm changes without an exec event: 0 execs, 2 renames (--comm-change rename: 2)');
    expect(r.err).toContain('501 worker -> renamed (rename), 500 app -> newprog (rename)');
    const bad = await cli('import', 'ftrace', tmpFile(NO_TGID, 'n.txt'), '-o', out, '--comm-change', 'maybe');
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/--comm-change.*maybe/);
  });

  it("the line's leading comm (trace-cmd's saved cmdlines, printed at report time) is not an event's name", async () => {
    // trace-cmd prints the last name it knows before every line of the pid: only the fields count
    const stale = GROUP.replace('             app-500   (  500) [000]     1.000000', '         newprog-500   (  500) [000]     1.000000');
    const out = join(tmp(), 's.csv');
    await importFile('ftrace', tmpFile(stale, 's.txt'), out);
    expect(lifeRows(out)).toContain('exec 500 p500#1:newprog L4');
    expect(lifeRows(out)).toHaveLength(4);
  });
});

/** zygote64 (690) runs its child 4210, which is still named zygote64, then the child names itself. */
const ZYGOTE = [
  'cpus=1',
  `        zygote64-690   (  690) [000]     1.000000: ${sw('zygote64', 690, 'S', 'zygote64', 4210)}`,
  ` droid.launcher3-4210  ( 4210) [000]     1.000010: ${sw('droid.launcher3', 4210, 'S', 'swapper/0', 0)}`,
  '',
].join('\n');

describe('Android: a child of zygote names itself (prctl PR_SET_NAME), it does not exec', () => {
  it('zygote64 -> droid.launcher3 of a leader is a rename; the same change from sh is an exec', async () => {
    const out = join(tmp(), 'z.csv');
    const s = await importFile('ftrace', tmpFile(ZYGOTE, 'z.txt'), out);
    expect(lifeRows(out)).toEqual(['fork 690 p690:zygote64 L2', 'fork 4210 p4210:zygote64 L2']);
    expect(s.commChanges?.renames).toEqual({ 'an Android app process forked by zygote (renames itself, no exec)': 1 });
    const sh = ZYGOTE.replace(/zygote64(?=[ -])/g, 'sh').replace(/droid\.launcher3/g, 'cat');
    const out2 = join(tmp(), 'sh.csv');
    await importFile('ftrace', tmpFile(sh, 'sh.txt'), out2);
    expect(lifeRows(out2)).toEqual(['fork 690 p690:sh L2', 'fork 4210 p4210:sh L2', 'exec 4210 p4210#1:cat L3']);
  });

  it('--comm-change exec overrides the zygote rule', async () => {
    const out = join(tmp(), 'z.csv');
    expect((await cli('import', 'ftrace', tmpFile(ZYGOTE, 'z.txt'), '-o', out, '--comm-change', 'exec')).code).toBe(0);
    expect(lifeRows(out)).toEqual(['fork 690 p690:zygote64 L2', 'fork 4210 p4210:zygote64 L2', 'exec 4210 p4210#1:droid.launcher3 L3']);
  });
});

describe('the exec tracepoint settles every comm change', () => {
  /** 300 execs cat (recorded); 4170's change sh -> cat has no exec event. */
  const TRACED = [
    'cpus=1',
    `              sh-300   [000]     1.000000: ${sw('sh', 300, 'R+', 'sh', 4170)}`,
    `              sh-4170  [000]     1.000010: ${sw('cat', 4170, 'S', 'sh', 300)}`,
    `              sh-300   [000]     1.000020: sched_process_exec: filename=/bin/cat pid=300 old_pid=300`,
    `             cat-300   [000]     1.000030: ${sw('cat', 300, 'S', 'swapper/0', 0)}`,
    '',
  ].join('\n');
  it('a change without sched_process_exec is a rename, even with --comm-change exec; the exec event is an exec', async () => {
    const out = join(tmp(), 't.csv');
    const r = await cli('import', 'ftrace', tmpFile(TRACED, 't.txt'), '-o', out, '--comm-change', 'exec', '--json');
    expect(r.code, r.err).toBe(0);
    expect(lifeRows(out)).toEqual(['fork 300 p300:sh L2', 'fork 4170 p4170:sh L2', 'exec 300 p300#1:cat L4']);
    expect(JSON.parse(r.out).commChanges).toEqual({
      execs: {},
      renames: { 'the recording has the exec tracepoint and no exec event for it': 1 },
      shown: ['4170 sh -> cat (rename)'],
      more: 0,
    });
  });

  it("task_rename: exec's own (followed by sched_process_exec) is no rename; without the exec tracepoint a leader's is an exec at its line", async () => {
    const withExec = [
      'cpus=1',
      `              sh-300   [000]     1.000000: ${sw('sh', 300, 'R+', 'swapper/0', 0)}`,
      `          <idle>-0     [000]     1.000010: ${sw('swapper/0', 0, 'R', 'sh', 300)}`,
      '             cat-300   [000]     1.000020: task_rename: pid=300 oldcomm=sh newcomm=cat oom_score_adj=0',
      '             cat-300   [000]     1.000030: sched_process_exec: filename=/bin/cat pid=300 old_pid=300',
      `             cat-300   [000]     1.000040: ${sw('cat', 300, 'S', 'swapper/0', 0)}`,
      '',
    ].join('\n');
    const out = join(tmp(), 'e.csv');
    const s = await importFile('ftrace', tmpFile(withExec, 'e.txt'), out);
    expect(lifeRows(out)).toEqual(['fork 300 p300:sh L2', 'exec 300 p300#1:cat L5']);
    expect(s.commChanges).toBeUndefined();
    const noExec = withExec.replace(/.*sched_process_exec.*\n/, '');
    const out2 = join(tmp(), 'ne.csv');
    const s2 = await importFile('ftrace', tmpFile(noExec, 'ne.txt'), out2);
    // no TGID column: pid 300 is its own group's leader only by default (rule: no TGID)
    expect(lifeRows(out2)).toEqual(['fork 300 p300:sh L2', 'exec 300 p300#1:cat L4']);
    expect(s2.commChanges?.execs).toEqual({ 'no TGID in the recording (each pid is its own process)': 1 });
  });
});

describe('kernel threads', () => {
  it("kthreadd's child takes its kernel thread name (a rename); a usermode helper execs modprobe (an exec into a user task)", async () => {
    const rec = [
      'cpus=1',
      `        kthreadd-2     [000]     1.000000: ${sw('kthreadd', 2, 'S', 'kthreadd', 60)}`,
      `        kthreadd-60    [000]     1.000010: ${sw('kworker/0:2', 60, 'I', 'kworker/u12:0', 1708)}`,
      `   kworker/u12:0-1708  [000]     1.000020: ${sw('modprobe', 1708, 'S', 'swapper/0', 0)}`,
      '',
    ].join('\n');
    const out = join(tmp(), 'k.csv');
    const s = await importFile('ftrace', tmpFile(rec, 'k.txt'), out);
    expect(lifeRows(out)).toEqual(['fork 1708 p1708#1:modprobe L4']);
    expect(s.commChanges).toMatchObject({
      execs: { "a kernel thread given a program's name (kernel_execve)": 1 },
      renames: { "a kernel thread given a kernel thread's name": 1 },
    });
    expect(s.kernelThreads).toBe(3); // kthreadd, 60 and 1708 (until its exec)
  });
});

describe('the summary', () => {
  it('lists at most 12 comm changes and names by name, then "and N more"', async () => {
    const lines = ['cpus=1'];
    for (let i = 0; i < 15; i++) {
      const pid = 1000 + i;
      const t = (k: number) => `1.${String(i * 100 + k).padStart(6, '0')}`;
      lines.push(`          <idle>-0     [000]     ${t(0)}: ${sw('swapper/0', 0, 'R', `prog${i}`, pid)}`);
      lines.push(`          <idle>-0     [000]     ${t(1)}: ${sw(`new${i}`, pid, 'S', `kworker/0:${i}`, 2000 + i)}`);
      lines.push(`          <idle>-0     [000]     ${t(2)}: ${sw(`kworker/0:${i}`, 2000 + i, 'I', 'swapper/0', 0)}`);
    }
    const r = await cli('import', 'ftrace', tmpFile(lines.join('\n') + '\n', 'many.txt'), '-o', join(tmp(), 'm.csv'));
    expect(r.code, r.err).toBe(0);
    expect(r.err).toContain('15 execs (no TGID in the recording (each pid is its own process): 15)');
    expect(r.err).toContain('1011 prog11 -> new11 (exec), and 3 more');
    expect(r.err).toContain('by name alone: kernel threads kworker/0:0, ');
    expect(r.err).toContain('kworker/0:11, and 3 more; user tasks prog0, ');
    expect(r.err).toContain('prog11, and 3 more (if one is wrong');
  });

  it("task_newtask without sched_process_fork: each is the fork of its line's task, and the summary says what they gave", async () => {
    // kthreadd (2) creates two kernel threads; bash (100) a process (no CLONE_VM) and a thread (CLONE_VM | CLONE_THREAD)
    const rec = [
      'cpus=1',
      `            bash-100   [000]     1.000000: ${sw('bash', 100, 'R+', 'kthreadd', 2)}`,
      '        kthreadd-2     [000]     1.000010: task_newtask: pid=50 comm=kthreadd clone_flags=800711 oom_score_adj=0',
      '        kthreadd-2     [000]     1.000020: task_newtask: pid=51 comm=kthreadd clone_flags=800711 oom_score_adj=0',
      `        kthreadd-2     [000]     1.000030: ${sw('kthreadd', 2, 'S', 'bash', 100)}`,
      '            bash-100   [000]     1.000040: task_newtask: pid=101 comm=bash clone_flags=1200011 oom_score_adj=0',
      '            bash-100   [000]     1.000050: task_newtask: pid=102 comm=bash clone_flags=3d0f00 oom_score_adj=0',
      `            bash-100   [000]     1.000060: ${sw('bash', 100, 'S', 'bash', 102)}`,
      '',
    ].join('\n');
    const out = join(tmp(), 'nt.csv');
    const r = await cli('import', 'ftrace', tmpFile(rec, 'nt.txt'), '-o', out);
    expect(r.code, r.err).toBe(0);
    expect(lifeRows(out)).toEqual(['fork 100 p100:bash L2', 'fork 101 p101:bash L6', 'fork 102 p100:bash L7']);
    expect(r.err).toContain('lifecycle events used: task_newtask 4');
    expect(r.err).toContain('decided from them: 1 process forked, 1 thread forked, 2 kernel threads (run as task 0)');
    expect(r.err).not.toMatch(/-> 0 processes, 0 threads/);
  });
});

describe('LISA Juno trace.txt (sched_switch only, no TGID): every address space, counted by hand', () => {
  const JUNO = 'traces/real/recordings/lisa-juno-trace-txt/trace.txt';
  it('21 user pids at their first appearance, 9 execs of user tasks, 2 usermode helpers: 32 address spaces and 32 ASIDs', async () => {
    const out = join(tmp(), 'juno.csv');
    const s = await importFile('ftrace', JUNO, out);
    const rows = lifeRows(out).filter((l) => !l.startsWith('exit'));
    // the pids whose first name in a sched_switch is not a kernel thread's (trace-cmd, sh, sshd, init, syslogd, shutils, rt-app)
    const first = [
      1701, 1642, 1639, 1702, 1703, 1704, 1705, 1706, 1, 1585, 1707, 1709, 1614, 1710, 1711, 1713, 1714, 1715, 1716, 1717, 1718,
    ];
    expect(
      rows
        .filter((l) => l.startsWith('fork'))
        .map((l) => Number(l.split(' ')[1]))
        .sort((a, b) => a - b),
    ).toEqual([...first, 1708, 1712].sort((a, b) => a - b));
    // read off trace.txt: the first sched_switch that gives each pid a new name (prev_comm / next_comm)
    expect(rows.filter((l) => l.startsWith('exec') || / p\d+#/.test(l))).toEqual([
      'exec 1703 p1703#1:shutils L919', // sh -> shutils
      'exec 1704 p1704#1:busybox L945', // shutils -> busybox, switched out dead (64) on the same line
      'exec 1705 p1705#1:rt-app L1453', // sh -> rt-app
      'exec 1706 p1706#1:ramp L1472', // rt-app -> ramp (a thread of rt-app? no TGID says so: an exec by default)
      'fork 1708 p1708#1:modprobe L1859', // kworker/u12:0 -> modprobe: call_usermodehelper's kernel_execve
      'exec 1710 p1710#1:scp L2000', // sshd -> scp
      'fork 1712 p1712#1:modprobe L2309',
      'exec 1714 p1714#1:sh L2440', // sshd -> sh -> scp
      'exec 1714 p1714#2:scp L2442',
      'exec 1715 p1715#1:shutils L2631',
      'exec 1716 p1716#1:busybox L2656',
    ]);
    expect(s.commChanges?.execs).toEqual({
      'no TGID in the recording (each pid is its own process)': 9,
      "a kernel thread given a program's name (kernel_execve)": 2,
    });
    const r = await replayFile(out, { overrides: { asidBits: 8 } });
    expect([r.churn.mms.created, r.churn.allocations]).toEqual([21 + 9 + 2, 21 + 9 + 2]);
    // with --comm-change rename: the 21 first appearances (the helpers stay kernel threads; the importer
    // before comm changes were read made them user tasks when their name stopped looking like a kworker's: 23)
    const before = join(tmp(), 'juno-rename.csv');
    await importFile('ftrace', JUNO, before, { commChange: 'rename' });
    const r2 = await replayFile(before, { overrides: { asidBits: 8 } });
    expect(r2.churn.mms.created).toBe(21);
  });
});
