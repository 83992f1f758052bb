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
    err: /kernel \(set on the command line\): kernel 3\.0 is older/,
  },
];
