#!/usr/bin/env node
// Start-up (figures printed, never asserted): whole `asid-replay` processes that do almost nothing,
// as ratios to a bare `node -e 0` timed in the same run: `--version`, `--help`, and the replay of a
// 10-line trace (text report, and --json). The commands are run in turn (node, each command, node,
// ...) so a change of the machine's load hits all of them alike; each figure is the best (least) of
// the runs, the one least disturbed by other processes: wall time, and CPU time (user + system,
// from /usr/bin/time when present), which a busy machine disturbs less. Uses the compiled dist/
// (npm run build first).
//   node scripts/bench-startup.mjs                 15 rounds
//   BENCH_RUNS=40 node scripts/bench-startup.mjs   more rounds (a busy machine)
//   BENCH_BASE=/path/to/other/tree node scripts/bench-startup.mjs   also that tree's bin/asid-replay.js
//                                                   (e.g. a copy built before a change), same rounds
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { loadavg } from 'node:os';

const OUT = 'bench-out';
mkdirSync(OUT, { recursive: true });
const RUNS = Number(process.env.BENCH_RUNS ?? 15);
const TEN = `${OUT}/startup-10.csv`;
// 10 lines: the system line, the header and 8 events (fork, exec, switches, an mprotect, an exit).
writeFileSync(
  TEN,
  [
    '# system: {"cpus":4,"asidBits":8,"kpti":false}',
    'time,event,cpu,task,mm,va,size,prot',
    '100,fork,,1,A,,,',
    '200,fork,,2,B,,,',
    '300,schedule,0,1,,,,',
    '400,schedule,1,2,,,,',
    '500,exec,,2,C,,,',
    '600,mprotect,,,A,0x1000,4096,r',
    '700,schedule,0,2,,,,',
    '800,exit,,1,,,,',
  ].join('\n') + '\n',
);

const now = () => Number(process.hrtime.bigint()) / 1e9;
const TIME = existsSync('/usr/bin/time');
/** One whole process: wall and CPU seconds (its output is read and dropped; CPU NaN without /usr/bin/time). */
function run(argv) {
  const t = now();
  const r = TIME
    ? spawnSync('/usr/bin/time', ['-f', '%U %S', process.execPath, ...argv], { encoding: 'utf8', maxBuffer: 1 << 24 })
    : spawnSync(process.execPath, argv, { encoding: 'utf8', maxBuffer: 1 << 24 });
  const wall = now() - t;
  if (r.status !== 0) throw new Error(`node ${argv.join(' ')}: exit ${r.status}: ${r.stderr}`);
  const [user, sys] = TIME ? r.stderr.trim().split('\n').at(-1).split(' ').map(Number) : [NaN, NaN];
  return { wall, cpu: user + sys };
}

const trees = [
  ['', 'bin/asid-replay.js'],
  ...(process.env.BENCH_BASE ? [[' (base)', `${process.env.BENCH_BASE}/bin/asid-replay.js`]] : []),
];
const cases = [['bare node -e 0', ['-e', '0']]];
for (const [tag, bin] of trees) {
  cases.push([`--version${tag}`, [bin, '--version']]);
  cases.push([`--help${tag}`, [bin, '--help']]);
  cases.push([`replay 10 lines${tag}`, [bin, 'replay', TEN]]);
  cases.push([`replay 10 lines --json${tag}`, [bin, 'replay', TEN, '--json']]);
}
const best = cases.map(() => ({ wall: Infinity, cpu: Infinity }));
const load = loadavg()[0];
for (const [, argv] of cases) run(argv); // warm-up: the file cache, not counted
for (let i = 0; i < RUNS; i++)
  cases.forEach(([, argv], k) => {
    const { wall, cpu } = run(argv);
    best[k] = { wall: Math.min(best[k].wall, wall), cpu: Math.min(best[k].cpu, cpu) };
  });

console.log(
  `node ${process.version}; best of ${RUNS} interleaved runs; load average ${load.toFixed(2)} before, ${loadavg()[0].toFixed(2)} after`,
);
console.log('| command | best wall ms | wall ratio to bare node | best CPU ms | CPU ratio to bare node |');
console.log('|---|---:|---:|---:|---:|');
const ms = (s) => (s * 1000).toFixed(0);
cases.forEach(([name], k) =>
  console.log(
    `| ${name} | ${ms(best[k].wall)} | ${(best[k].wall / best[0].wall).toFixed(2)} | ${ms(best[k].cpu)} | ${(best[k].cpu / best[0].cpu).toFixed(2)} |`,
  ),
);
