/**
 * Importers on the real recordings of shared/traces-real (figures from each SOURCE.md), and the
 * shipped traces/real/*.csv are exactly what the importer produces.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { importFile } from '../src/import/import.js';
import { isExitState, isKernelThread, parseFtraceLine, parseSchedSwitch } from '../src/import/ftrace-line.js';
import { replayFile } from '../src/replay/engine.js';
import { commLabel, mmKey, mmLabel, mmName } from '../src/import/lifecycle.js';
import { NAME_RE } from '../src/trace/row-schema.js';
import { cli, tmp, tmpFile } from './helpers/cli.js';

/** Copies of the recordings in shared/traces-real (each folder keeps its SOURCE.md: origin, licence). */
const REAL = 'traces/real/recordings';

describe('ftrace line forms', () => {
  it('raw fields with ==>, TGID and irq-flags columns (systrace)', () => {
    const l = parseFtraceLine(
      'kworker/u17:1-959   (  959) [006] d..3   538.064659: sched_switch: prev_comm=kworker/u17:1 prev_pid=959 prev_prio=100 prev_state=S ==> next_comm=swapper/6 next_pid=0 next_prio=120',
    )!;
    expect(l).toMatchObject({ comm: 'kworker/u17:1', pid: 959, tgid: 959, cpu: 6, time: 538064659000, event: 'sched_switch' });
    expect(parseSchedSwitch(l.body)).toEqual({
      prevComm: 'kworker/u17:1',
      prevPid: 959,
      prevState: 'S',
      nextComm: 'swapper/6',
      nextPid: 0,
    });
  });
  it('unknown TGID "(-----)" and a <pid> comm', () => {
    expect(parseFtraceLine('<7952>-7952  (-----) [000] ...1   538.064761: tracing_mark_write: x')).toMatchObject({
      pid: 7952,
      tgid: undefined,
      cpu: 0,
    });
  });
  it('raw fields without ==> and with integer prev_state (trace-cmd report, pre-4.14)', () => {
    const l = parseFtraceLine(
      '           <...>-1701  [001]    76.211513: sched_switch:          prev_comm=trace-cmd prev_pid=1701 prev_prio=120 prev_state=64 next_comm=swapper/1 next_pid=0 next_prio=120',
    )!;
    expect(l.tgid).toBeUndefined();
    const s = parseSchedSwitch(l.body)!;
    expect([s.prevPid, s.prevState, s.nextPid]).toEqual([1701, '64', 0]);
  });
  it('trace-cmd plugin form; comm containing ":" takes the pid after the last one', () => {
    const s = parseSchedSwitch('         kworker/2:1:2923 [120] x ==> swapper/2:0 [120]')!;
    expect([s.prevComm, s.prevPid, s.prevState, s.nextComm, s.nextPid]).toEqual(['kworker/2:1', 2923, 'x', 'swapper/2', 0]);
  });
  it('exit states: X, x, Z, 16/32/64; not S, R+, D, 4096 (preempted)', () => {
    expect(['X', 'x', 'Z', '64', '16', '32'].map(isExitState)).toEqual([true, true, true, true, true, true]);
    expect(['S', 'R+', 'D', '4096', '1', '0'].map(isExitState)).toEqual([false, false, false, false, false, false]);
  });
  it('kernel threads', () => {
    expect(isKernelThread(0, 'swapper/1')).toBe(true);
    expect(isKernelThread(46, 'kworker/u12:1')).toBe(true);
    expect(isKernelThread(1642, 'sh')).toBe(false);
  });
  it("kernel thread names are the kernel's own, anchored: user programs sharing a prefix are not kernel threads", () => {
    // names mainline gives its threads (kthread_create formats in the comments of ftrace-line.ts)
    const kernel = [
      'kthreadd',
      'kworker/3:1H',
      'kworker/R-nvme-wq',
      'ksoftirqd/5',
      'migration/0',
      'cpuhp/2',
      'idle_inject/1',
      'watchdog/4',
      'rcu_preempt',
      'rcu_tasks_kthre',
      'rcuop/7',
      'rcuog/0',
      'irq/35-foo',
      'irq/9-s-acpi',
      'kswapd0',
      'kcompactd0',
      'khugepaged',
      'jbd2/sda2-8',
      'mmcqd/0boot0',
      'sugov:4',
      'spi0',
      'hci0',
      'nvme-wq',
      'nvme-reset-wq',
      'mm_percpu_wq',
      'devfreq_wq',
      'ufs_eh_wq_0',
      'kblockd',
      'writeback',
      'scsi_eh_1',
      'usb-storage',
      'kvm-pit/2171',
    ];
    // user programs: daemons and tools whose names start like some kernel threads
    const user = [
      'thermald',
      'kvm',
      'qemu-kvm',
      'ufsd',
      'mmcli',
      'spidev_test',
      'hcitool',
      'hciattach',
      'cpufreqd',
      'cpuidle-tool',
      'kthermal',
      'rcu',
      'kworker',
      'irqbalance',
      'watchdogd',
      'loop',
      'crypto-policy',
      'mdadm',
      'kgsl-test',
      'scsi_id',
      'f2fs_io',
      'wq',
      'sh',
    ];
    expect(kernel.filter((c) => !isKernelThread(9, c))).toEqual([]);
    expect(user.filter((c) => isKernelThread(9, c))).toEqual([]);
  });
});

describe('mm labels carry the process name', () => {
  it('p<tgid>:<comm>, characters an identifier may not hold become _, an unknown comm gives no name', () => {
    expect(mmLabel('p6837', 'surfaceflinger')).toBe('p6837:surfaceflinger');
    expect(mmLabel('p2001#2', 'Web Content (x)')).toBe('p2001#2:Web_Content__x_');
    expect(mmLabel('p5', 'é"q,')).toBe('p5:__q_');
    expect(mmLabel('p7', '<...>')).toBe('p7');
    expect(commLabel('Binder:594_2')).toBe('Binder:594_2');
    for (const l of ['p2001#2:Web_Content__x_', 'p5:__q_']) expect(NAME_RE.test(l)).toBe(true);
    expect([mmKey('p101#1:make'), mmName('p101#1:make'), mmKey('p7'), mmName('p7')]).toEqual(['p101#1', 'make', 'p7', '']);
    expect(mmName('p1:Binder:594_2')).toBe('Binder:594_2');
  });
  it('a recording whose names have spaces imports to labels the replay accepts; threads share the leader-named mm', async () => {
    const rec = [
      'cpus=1',
      '  Web Content-2001 (2001) [000] 1.000001: sched_switch: prev_comm=Web Content prev_pid=2001 prev_prio=120 prev_state=S ==> next_comm=DOM Worker next_pid=2007 next_prio=120',
      '   DOM Worker-2007 (2001) [000] 1.000002: sched_switch: prev_comm=DOM Worker prev_pid=2007 prev_prio=120 prev_state=S ==> next_comm=swapper/0 next_pid=0 next_prio=120',
      '',
    ].join('\n');
    const out = join(tmp(), 'names.csv');
    await importFile('ftrace', tmpFile(rec, 'names.txt'), out);
    const forks = readFileSync(out, 'utf8')
      .split('\n')
      .filter((l) => l.includes(',fork,'))
      .map((l) => l.split(',').slice(3, 5).join(' '));
    expect(forks).toEqual(['2001 p2001:Web_Content', '2007 p2001:Web_Content']);
    const r = await replayFile(out);
    expect(r.churn.mms.created).toBe(1);
  });
});

/** [shipped csv, kind, input, sched_switch, other event counts that SOURCE.md states, exits, cpus] */
const REAL_CASES: [string, 'ftrace' | 'systrace', string, number, Record<string, number>, number, number][] = [
  ['juno-trace-txt.csv', 'ftrace', 'lisa-juno-trace-txt/trace.txt', 1856, { sched_wakeup: 1068, print: 14, sched_overutilized: 3 }, 17, 6],
  ['juno-rtapp.csv', 'ftrace', 'lisa-juno-rtapp/trace.dat.report.txt', 1552, { bprint: 6242, print: 14, cpu_frequency: 12 }, 24, 6],
  [
    'msm8998-surfaceflinger.csv',
    'systrace',
    'trappy-android-msm8998-systrace/trace_surfaceflinger.html',
    715,
    { cpu_idle: 621, sched_wakeup: 421, sugov_set_iowait_boost: 366, tracing_mark_write: 160 },
    3,
    8,
  ],
  [
    'tegra3-systrace.csv',
    'systrace',
    'catapult-android-tegra3-systrace/android_systrace.html',
    11074,
    { sched_wakeup: 6827, tracing_mark_write: 13578 },
    0,
    2,
  ],
  ['tegra3-atrace-tgids.csv', 'ftrace', 'catapult-android-tegra3-systrace/atrace_fixed_tgids', 72, { sched_wakeup: 44 }, 1, 1],
];

describe.each(REAL_CASES)('%s', (shipped, kind, input, switches, others, exits, cpus) => {
  it('imports with the counts of its SOURCE.md and nothing unparsed, and matches the shipped file byte for byte', async () => {
    const out = join(tmp(), shipped);
    const s = await importFile(kind, join(REAL, input), out);
    expect(s.sched_switch).toBe(switches);
    expect(s.otherEvents).toMatchObject(others);
    expect(s.unparsedLines).toBe(0);
    expect(s.cpus).toBe(cpus);
    expect(s.eventsByKind.exit ?? 0).toBeLessThanOrEqual(exits);
    expect(s.eventsByKind.schedule).toBeGreaterThanOrEqual(switches);
    expect(readFileSync(out, 'utf8')).toBe(readFileSync(join('traces/real', shipped), 'utf8'));
  });
  it('replays end to end without violations (16-bit and 8-bit ASIDs)', async () => {
    for (const asidBits of [16, 8]) {
      const r = await replayFile(join('traces/real', shipped), { overrides: { asidBits } });
      expect(r.violations).toEqual([]);
      // every schedule is a switch, and so is an exec of a task running on a CPU (exec_mmap -> activate_mm)
      const current = new Map<string, string>();
      let schedules = 0;
      let execsRunning = 0;
      for (const l of readFileSync(join('traces/real', shipped), 'utf8').split('\n')) {
        const [, event, cpu, task] = l.split(',');
        if (event === 'schedule') {
          schedules++;
          current.set(cpu!, task!);
        } else if (event === 'exec' && [...current.values()].includes(task!)) execsRunning++;
      }
      expect(r.churn.switches + r.churn.sameMmSwitches + r.churn.idleSwitches).toBe(schedules + execsRunning);
    }
  });
});

describe('threads share the TGID mm', () => {
  it("msm8998: TGIDs known -> threads fork into their group's mm", async () => {
    const text = readFileSync('traces/real/msm8998-surfaceflinger.csv', 'utf8');
    const forks = text.split('\n').filter((l) => l.includes(',fork,'));
    const mms = new Set(forks.map((l) => l.split(',')[4]));
    expect(mms.size).toBeLessThan(forks.length);
  });
});

describe('device overlay (real scheduling drives the SVA model)', () => {
  const input = join(REAL, 'lisa-juno-trace-txt/trace.txt');
  it('binds the chosen processes and replays end to end from the CLI under every driver design', async () => {
    const out = join(tmp(), 'sva.csv');
    const r = await cli('import', 'ftrace', input, '-o', out, '--overlay', 'top:2', '--overlay-btm', '--overlay-ats', '--json');
    expect(r.code).toBe(0);
    const s = JSON.parse(r.out);
    expect(s.eventsByKind).toMatchObject({ bind: 2 });
    expect(s.eventsByKind.dma).toBeGreaterThan(1000);
    expect(readFileSync(out, 'utf8')).toBe(readFileSync('traces/real/juno-trace-txt-sva.csv', 'utf8'));
    for (const driver of ['shared-asid', 'private-asid', 'btm-2023']) {
      const rep = await cli('replay', out, '--driver', driver, '--json', '--fail-on', 'stale,violations');
      expect(rep.code).toBe(0);
      const j = JSON.parse(rep.out);
      expect(j.devices.sva.binds).toBe(2);
      expect(j.devices.smmus[0].atcHits).toBeGreaterThan(0);
      expect(j.stale.total).toBe(0);
    }
  });
  it('with BTM trusted but DVM off (§8.6), the unmaps of bound processes leave stale entries: exit 1 with --fail-on stale', async () => {
    const rep = await cli(
      'replay',
      'traces/real/juno-trace-txt-sva.csv',
      '--driver',
      'btm-2023',
      '--fault',
      'no-dvm',
      '--fail-on',
      'stale',
      '--json',
    );
    expect(rep.code).toBe(1);
    expect(JSON.parse(rep.out).stale.counts['S-UNMAP'].hit).toBeGreaterThan(0);
  });
  it('an unknown process: exit 2 naming the file, and the processes most switched in', async () => {
    for (const what of ['p99999', 'no-such-program']) {
      const r = await cli('import', 'ftrace', input, '-o', join(tmp(), 'x.csv'), '--overlay', what);
      expect(r.code).toBe(2);
      expect(r.err).toContain(`trace.txt: --overlay: no process "${what}" in the recording`);
      expect(r.err).toMatch(/most switched-in: p1642:sh \(\d+ switch-ins\), p1639:sshd/);
    }
  });
  it('process names: a name that several processes have is refused with all of them; a unique one, a key or a whole label binds it', async () => {
    const amb = await cli('import', 'ftrace', input, '-o', join(tmp(), 'x.csv'), '--overlay', 'sshd');
    expect(amb.code).toBe(2);
    expect(amb.err).toContain('--overlay: 8 address spaces match "sshd": ');
    for (const l of ['p1585:sshd', 'p1639:sshd', 'p1707:sshd']) expect(amb.err).toContain(l);
    expect(amb.err).toContain('name one by its label or p<tgid> key');
    // top:2 is p1642:sh and p1639:sshd: the same trace when named by key and by label
    const out = join(tmp(), 'named.csv');
    const r = await cli('import', 'ftrace', input, '-o', out, '--overlay', 'p1642,p1639:sshd', '--overlay-btm', '--overlay-ats');
    expect(r.code).toBe(0);
    expect(readFileSync(out, 'utf8')).toBe(readFileSync('traces/real/juno-trace-txt-sva.csv', 'utf8'));
    // without TGIDs, pid 1705's change sh -> rt-app and pid 1706's rt-app -> ramp are execs: two
    // address spaces are named rt-app (1705's after its exec, 1706's before its own); ramp is one
    const rt = await cli('import', 'ftrace', input, '-o', join(tmp(), 'x.csv'), '--overlay', 'rt-app');
    expect(rt.code).toBe(2);
    expect(rt.err).toContain('--overlay: 2 address spaces match "rt-app": ');
    for (const l of ['p1705#1:rt-app', 'p1706:rt-app']) expect(rt.err).toContain(l);
    const one = join(tmp(), 'ramp.csv');
    expect((await cli('import', 'ftrace', input, '-o', one, '--overlay', 'ramp')).code).toBe(0);
    const binds = readFileSync(one, 'utf8')
      .split('\n')
      .filter((l) => l.includes(',bind,'));
    expect(binds.map((l) => l.split(',')[4])).toEqual(['p1706#1:ramp']);
  });
});
