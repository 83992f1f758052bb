/**
 * Minimal inputs of the bugs the fuzzer found and that were fixed (shrunk by fast-check, then
 * trimmed by hand): each runs through the fuzz oracle in `npm test` and must also print what `err`
 * says, so that a regression fails even where the random search would not reach it again.
 */
import type { FuzzCase } from './targets.js';

export interface Regression {
  name: string;
  case: FuzzCase;
  code: number;
  /** What stderr must match (file:line:col or the argument at fault). */
  err: RegExp;
}

const trace = (text: string, ...flags: string[]): FuzzCase => ({
  target: 'trace',
  files: { 't.csv': text },
  argv: ['replay', '@/t.csv', ...flags],
});
const ftrace = (text: string): FuzzCase => ({
  target: 'import',
  files: { rec: text },
  argv: ['import', 'ftrace', '@/rec', '-o', '@/out.csv'],
  replayOutput: '@/out.csv',
});
const SWITCH = 'sched_switch: prev_comm=a prev_pid=1 prev_prio=120 prev_state=S ==> next_comm=b next_pid=2 next_prio=120';

export const REGRESSIONS: Regression[] = [
  {
    name: 'replay: an iommu_map of 69 million pages exhausted a Map after 30 s (internal error, exit 3); now refused at its cell',
    case: trace(
      [
        '# system: {"kernel": "6.15", "smmus": [{"name": "smmu0", "asidBits": 16}], "devices": [{"name": "d0", "smmu": "smmu0"}]}',
        'event,device,domain,va,size',
        'attach,d0,D,,',
        'map,,D,0x2000,0x4294967295',
        'unmap,,D,0x0,0xfffffffffffff',
      ].join('\n') + '\n',
    ),
    code: 2,
    err: /t\.csv:4:15: iommu_map of 69814632 pages into domain D .*at most 8388608 per domain/,
  },
  {
    name: 'import: a timestamp beyond 2^53 ns was written as 1e+32 (the trace did not replay)',
    case: ftrace(`a-1 [000] 99999999999999999999999.000001: ${SWITCH}\n`),
    code: 2,
    err: /rec:1:11: the timestamp is out of range/,
  },
  {
    name: 'import: a CPU beyond 4096 was declared in the # system: line',
    case: ftrace(`a-1 [99999] 1.000001: ${SWITCH}\n`),
    code: 2,
    err: /rec:1:6: CPU 99999 is out of range/,
  },
  {
    name: 'replay "": the empty path was not named',
    case: { target: 'argv', files: {}, argv: ['replay', ''] },
    code: 2,
    err: /file name is empty \(""\)/,
  },
  {
    name: 'a stray CR inside a comment hid the # system: line (the trace was replayed on the default system)',
    case: trace('# a\n# b\rc\n# system: {"cpus":1}\nevent,cpu,task\nfork,,1\nschedule,1,1\n'),
    code: 2,
    err: /t\.csv:7:10: cpu 1 does not exist/,
  },
  {
    name: 'a quoted header lost the column of replay errors',
    case: trace('"event","cpu","task"\nschedule,0,7\n'),
    code: 2,
    err: /t\.csv:2:12: task 7 is not alive/,
  },
  {
    name: 'a malformed row after the error lost the column of replay errors',
    case: trace(`event,cpu,task\nschedule,0,7\n${'fork,,1\n'.repeat(5)}fork,1\n`),
    code: 2,
    err: /t\.csv:2:12: task 7 is not alive/,
  },
  {
    name: 'map without mm and domain columns had no column',
    case: trace('event,va,size\nmap,0x1000,0x1000\n'),
    code: 2,
    err: /t\.csv:2:1: event map needs exactly one of mm/,
  },
  { name: 'a ragged row had a line but no column', case: trace('event,cpu,task\nfork,,1,9\n'), code: 2, err: /t\.csv:2:9: malformed CSV/ },
  {
    name: 'a quote inside a cell was "cannot read" without a line',
    case: trace('event,task\nfork,1"x"\n'),
    code: 2,
    err: /t\.csv:2:6: malformed CSV: a quote is found/,
  },
  {
    name: 'a bad --kernel was reported as a problem of the trace',
    case: trace('event,task\nfork,1\n', '--kernel', '3.0'),
    code: 2,
    err: /(kernel \(set on the command line\)|--kernel 3\.0): kernel 3\.0 is older/,
  },
];

/** A fixed bug found by the per-format fuzzer (test/fuzz/formats.ts): the input, and what the error must say. */
export interface FormatRegression {
  name: string;
  format: 'trace-v1' | 'ftrace' | 'trace-dat-v6' | 'trace-dat-v7' | 'perf-script' | 'systrace';
  text: string;
  /** InputError.format() must match (the file is named `<dir>/in.txt`, ...). */
  err: RegExp;
}

const PERF_SWITCH = (t: string, prev: number, next: number) =>
  `bash ${prev} [001] 7000.${t}: sched:sched_switch: prev_comm=bash prev_pid=${prev} prev_prio=120 prev_state=S ==> next_comm=bash next_pid=${next} next_prio=120`;

export const FORMAT_REGRESSIONS: FormatRegression[] = [
  {
    name: 'perf-script: a task record earlier than the switch before it wrote a trace whose times decrease (it did not replay)',
    format: 'perf-script',
    text: `${PERF_SWITCH('000040', 100, 100)}\nbash 100 [001] 7000.000030: PERF_RECORD_FORK(101:101):(100:100)\n${PERF_SWITCH('000050', 100, 101)}\n`,
    err: /in\.txt:2:1: timestamp goes backwards \(line 1 is later\)/,
  },
  {
    name: 'perf-script: a task record with a pid of 2^53 wrote a task trace v1 refuses (it did not replay)',
    format: 'perf-script',
    text: `${PERF_SWITCH('000010', 100, 100)}\nbash 100 [001] 7000.000030: PERF_RECORD_FORK(9007199254740992:9007199254740992):(100:100)\n${PERF_SWITCH('000050', 100, 101)}\n`,
    err: /in\.txt:2:1: the pid 9007199254740992 is out of range/,
  },
  {
    name: 'perf-script: a task record at 2^31 s (beyond 2^53 ns) wrote a time trace v1 refuses (it did not replay)',
    format: 'perf-script',
    text: `${PERF_SWITCH('000010', 100, 100)}\nbash 100 [001] 2147483647.000030: PERF_RECORD_FORK(101:101):(100:100)\n`,
    err: /in\.txt:2:1: the timestamp is out of range/,
  },
  {
    name: 'systrace / ftrace: task_newtask pid=0 wrote a fork of task 0, the idle task (the trace did not replay)',
    format: 'ftrace',
    text:
      'a-1 [000] 1.000000: sched_switch: prev_comm=a prev_pid=1 prev_prio=120 prev_state=S ==> next_comm=a next_pid=1 next_prio=120\n' +
      'a-1 [000] 2.000000: task_newtask: pid=0 comm=a clone_flags=1200011 oom_score_adj=0\n',
    err: /in\.txt:2:1: pid 0 is the idle task: it cannot be forked/,
  },
  {
    name: 'ftrace: a sched_process_fork earlier than the switch before it wrote a trace whose times decrease',
    format: 'ftrace',
    text:
      'a-1 [000] 2.000000: sched_switch: prev_comm=a prev_pid=1 prev_prio=120 prev_state=S ==> next_comm=a next_pid=1 next_prio=120\n' +
      'a-1 [000] 1.000000: sched_process_fork: comm=a pid=1 child_comm=a child_pid=5\n',
    err: /in\.txt:2:1: timestamp goes backwards/,
  },
];
