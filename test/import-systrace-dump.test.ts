/**
 * Android systrace HTML as systrace.py writes it on Android 11 (catapult output_generator.py: one
 * `<script class="trace-data" type="application/text">` block per agent): the PROCESS DUMP of
 * android_process_data_agent.py (`ps -A -o USER,PID,PPID,VSIZE,RSS,WCHAN,ADDR=PC,S,NAME,COMM` and
 * `ps -AT -o USER,PID,TID,CMD`, at the start and at the end), the atrace ftrace text with its TGID
 * column, and the controller's JSON. test/fixtures/android11-systrace.html.txt is such a file (.txt: kept out of prettier, which would re-indent it), written by
 * hand (the 8 MB trace viewer left out): every task, address space and decision below is worked out
 * from its lines.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { importFile } from '../src/import/import.js';
import { parseProcessDump } from '../src/import/process-dump.js';
import { replayFile } from '../src/replay/engine.js';
import { cli, tmp, tmpFile } from './helpers/cli.js';

const HTML = 'test/fixtures/android11-systrace.html.txt';

/** [event task mm L<line>] of the rows that are not `schedule`. */
const lifeRows = (file: string) =>
  readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => /^\d/.test(l) && !l.includes(',schedule,'))
    .map((l) => {
      const c = l.split(',');
      return [c[1], c[3], c[4], c[12]!.replace(/^.*@L/, 'L')].filter((x) => x !== '').join(' ');
    });

/** By hand, from the fixture's lines (numbers in the HTML file). */
const EXPECTED = [
  'fork 620 p620:surfaceflinger L102',
  // six threads of com.example.gallery (TGID 3560), each seen once until it ends: the leader (not
  // scheduled in the trace) exists and holds the group's mm, named after its thread in the dump
  'fork 3560 p3560:example.gallery L110',
  'fork 3601 p3560:example.gallery L110',
  'exit 3601 L111',
  'fork 3602 p3560:example.gallery L112',
  'exit 3602 L113',
  'fork 3603 p3560:example.gallery L114',
  'exit 3603 L115',
  'fork 3604 p3560:example.gallery L116',
  'exit 3604 L117',
  'fork 3605 p3560:example.gallery L118',
  'exit 3605 L119',
  'fork 3606 p3560:example.gallery L120',
  'exit 3606 L121',
  'fork 1100 p1100:system_server L122', // android.bg's group
  'fork 1130 p1100:system_server L122',
  'fork 3612 p3560:example.gallery L126', // Thread-5, renamed glide-source-th on line 127: a thread, no exec
  'fork 690 p690:zygote64 L129',
  'fork 4210 p4210:zygote64 L130', // task_newtask of zygote64 (no CLONE_VM): a process; named droid.launcher3 on line 133 (zygote child: no exec)
  'fork 4170 p4170:sh L136',
  'exec 4170 p4170#1:cat L137', // task_rename sh -> cat of a group leader, no exec tracepoint: begin_new_exec's rename
  'exit 4170 L138',
];

describe('Android 11 systrace: every trace-data block is read', () => {
  it('the process dump, the ftrace text and the JSON block; the hand-computed trace; 7 address spaces', async () => {
    const out = join(tmp(), 'a11.csv');
    const s = await importFile('auto', HTML, out);
    expect(s.kind).toBe('systrace');
    expect(s.systrace).toEqual({
      blocks: [
        { line: 17, kind: 'process-dump', lines: 72 },
        { line: 91, kind: 'ftrace', lines: 48 },
        { line: 141, kind: 'json', lines: 1 },
      ],
      // 13 processes at the start, the launcher at the end; kthreadd, rcu_preempt, kworker/u16:2, kgsl_worker_thr,
      // crtc_commit:97; threads other than leaders: logd.writer, RenderEngine, android.bg, 6 pool threads, Thread-5, RenderThread
      processDump: { line: 17, snapshots: 2, processes: 14, threads: 11, kernelThreads: 5 },
    });
    expect(lifeRows(out)).toEqual(EXPECTED);
    expect(s.unparsedLines).toBe(0);
    expect(s.otherEvents).toEqual({ tracing_mark_write: 3, sched_waking: 1, cpu_idle: 1, sched_wakeup_new: 1 });
    // kgsl_worker_thr and crtc_commit:97 (no kernel thread name the importer knows) are children of kthreadd
    // in the dump; kworker/6:2 is in neither snapshot: decided by its name
    expect(s.taskRules?.kernel).toEqual({
      'PPID 2 in the process dump (a child of kthreadd, no address space)': 2,
      'name of a kernel thread (no lifecycle event for it)': 1,
    });
    expect(s.decidedByName).toEqual({ kernel: ['kworker/6:2'], user: [] });
    expect(s.commChanges).toEqual({
      execs: { 'group leader (pid = TGID)': 1 },
      renames: {
        'a thread of its group (pid != TGID)': 1,
        'an Android app process forked by zygote (renames itself, no exec)': 1,
      },
      shown: ['3612 Thread-5 -> glide-source-th (rename)', '4210 zygote64 -> droid.launcher3 (rename)', '4170 sh -> cat (exec)'],
      more: 0,
    });
    const r = await replayFile(out);
    expect(r.violations).toEqual([]);
    // p620, p3560, p1100, p690, p4210, p4170 and p4170#1
    expect([r.churn.mms.created, r.churn.allocations]).toEqual([7, 7]);
  });

  it('the CLI summary names the blocks, the dump and the decisions by PPID and by name', async () => {
    const r = await cli('import', 'systrace', HTML, '-o', join(tmp(), 'a11.csv'));
    expect(r.code, r.err).toBe(0);
    expect(r.err).toContain(
      'systrace blocks: process-dump (line 17, 72 lines), ftrace (line 91, 48 lines), json (line 141, 1 lines); process dump: 2 snapshots, 14 processes (5 kernel threads), 11 other threads',
    );
    expect(r.err).toContain(
      'kernel threads decided by: PPID 2 in the process dump (a child of kthreadd, no address space): 2; name of a kernel thread',
    );
    expect(r.err).toContain('lifecycle events used: task_rename 3, task_newtask 1');
    expect(r.err).toContain('decided from them: 1 process forked');
  });

  it('the ftrace block alone: the TGID column still gives the six threads one address space; the vendor kernel threads become user tasks by default', async () => {
    const lines = readFileSync(HTML, 'utf8').split('\n').slice(90, 138); // lines 91-138
    expect(lines[0]).toBe('# tracer: nop');
    const out = join(tmp(), 'alone.csv');
    const s = await importFile('ftrace', tmpFile(lines.join('\n') + '\n', 'ftrace.txt'), out);
    const rows = lifeRows(out);
    const gallery = rows.filter((l) => / p3560/.test(l));
    // no dump to name the leader: the mm is named after the first thread seen, and still shared
    expect(new Set(gallery.map((l) => l.split(' ')[2]))).toEqual(new Set(['p3560:pool-3-thread-1']));
    expect(gallery.filter((l) => l.startsWith('fork')).map((l) => l.split(' ')[1])).toEqual([
      '3560',
      '3601',
      '3602',
      '3603',
      '3604',
      '3605',
      '3606',
      '3612',
    ]);
    expect(s.decidedByName).toEqual({
      kernel: ['kworker/6:2'],
      user: [
        'surfaceflinger',
        'kgsl_worker_thr',
        'crtc_commit:97',
        'pool-3-thread-1',
        'pool-3-thread-2',
        'pool-3-thread-3',
        'pool-3-thread-4',
        'pool-3-thread-5',
        'pool-3-thread-6',
        'android.bg',
        'Thread-5',
        'zygote64',
      ],
      more: { kernel: 0, user: 1 },
    });
    const r = await replayFile(out);
    // the 7 above, and kgsl_worker_thr's and crtc_commit:97's
    expect(r.churn.mms.created).toBe(9);
  });

  it('refuses a compressed block with its line', async () => {
    const html = readFileSync(HTML, 'utf8').replace(/# tracer: nop[^]*?(?=\n {2}<\/script>)/, 'eJz'.padEnd(300, 'A'));
    const r = await cli('import', 'systrace', tmpFile(html, 'z.html'), '-o', join(tmp(), 'z.csv'));
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/z\.html:91:1: the trace-data block is compressed/);
  });
});

describe('process dump tables', () => {
  it('toybox (Android O+): kthreadd and its children without memory are kernel threads; a usermode helper (PPID 2, VSZ > 0) is not', () => {
    const { dump, unparsed } = parseProcessDump(
      [
        'PROCESS DUMP',
        'USER           PID  PPID     VSZ    RSS WCHAN            PC S NAME                       COMM',
        'root             2     0       0      0 kthreadd          0 S [kthreadd]                 kthreadd',
        'root            77     2       0      0 worker_thread     0 I [kworker/0:1H]             kworker/0:1H',
        'root          4400     2   12000   1800 do_wait           0 S /sbin/modprobe             modprobe',
        'system         620     1 10958680 24312 do_epoll_wait    0 S /system/bin/surfaceflinger surfaceflinger',
        'USER           PID   TID CMD',
        'system         620   620 surfaceflinger',
        'system         620   655 RenderEngine',
        'garbage',
      ],
      10,
    );
    expect([...dump.processes.values()].map((p) => [p.pid, p.ppid, p.kernel])).toEqual([
      [2, 0, true],
      [77, 2, true],
      [4400, 2, false],
      [620, 1, false],
    ]);
    expect(dump.tgids.get(655)).toBe(620);
    expect(dump.threadNames.get(655)).toBe('RenderEngine');
    expect(unparsed).toEqual([[19, 'garbage']]);
  });

  it('toolbox (before Android O, `ps && ps -t`): a state letter the header does not name; thread rows give their process in the PPID column', () => {
    const { dump } = parseProcessDump(
      [
        'PROCESS DUMP',
        'USER     PID   PPID  VSIZE  RSS     WCHAN    PC        NAME',
        'root      2     0     0      0     c00a2a0c 00000000 S kthreadd',
        'root      3     2     0      0     c0093db8 00000000 S ksoftirqd/0',
        'system    128   1     48100  5100  ffffffff 40056e74 S /system/bin/surfaceflinger',
        'USER     PID   PPID  VSIZE  RSS     WCHAN    PC        NAME',
        'system    128   1     48100  5100  ffffffff 40056e74 S /system/bin/surfaceflinger',
        'system    140   128   48100  5100  c0125c44 40057ef0 S Binder_1',
      ],
      1,
    );
    expect(dump.processes.get(3)?.kernel).toBe(true);
    expect(dump.processes.get(128)).toMatchObject({ ppid: 1, name: '/system/bin/surfaceflinger', vsz: 48100, kernel: false });
    expect(dump.tgids.get(140)).toBe(128);
    expect(dump.processes.has(140)).toBe(false);
    expect(dump.snapshots).toBe(1);
  });
});
