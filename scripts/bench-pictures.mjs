#!/usr/bin/env node
// Picture outputs (figures printed, never asserted): whole `asid-replay replay --json` processes with
// and without --html / --perfetto (.json and .json.gz) / --timeseries, as ratios to the plain replay
// of the same trace timed in the same run, on generated kernel-build traces (8 CPUs, 8-bit ASIDs:
// many rollovers) and on the sva-btm profile (SMMU series). The cases run in turn, round after round
// (a change of the machine's load hits all alike); each figure is the best (least) wall time of the
// rounds, peak RSS the largest, and the size of each file in MB and bytes per event.
// Uses the compiled dist/ (npm run build first).
//   node scripts/bench-pictures.mjs                 10^6 events, 3 rounds
//   BENCH_RUNS=5 node scripts/bench-pictures.mjs    more rounds (a busy machine)
//   BENCH_BIG=1 node scripts/bench-pictures.mjs     also 10^7 events (about 400 MB of CSV in bench-out/)
//   BENCH_PROFILES=kernel-build node scripts/bench-pictures.mjs
import { existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { loadavg } from 'node:os';

const OUT = 'bench-out';
mkdirSync(OUT, { recursive: true });
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const sizes = [1e6, ...(process.env.BENCH_BIG ? [1e7] : [])];
const profiles = (process.env.BENCH_PROFILES ?? 'kernel-build,sva-btm').split(',');
const now = () => Number(process.hrtime.bigint()) / 1e9;
const mb = (b) => (b / 1e6).toFixed(1);

function ensure(events, profile) {
  // Named apart from scripts/bench.mjs's files (another seed): the CLI's generate with its defaults.
  const f = `${OUT}/pictures-${profile}-${events}.csv`;
  if (!existsSync(f))
    spawnSync(
      process.execPath,
      ['bin/asid-replay.js', 'generate', profile, '-n', String(events), '--cpus', '8', '--asid-bits', '8', '-o', f],
      { stdio: 'inherit' },
    );
  return f;
}

/** One whole process: wall seconds and peak RSS (MB, from /usr/bin/time when present). */
function run(args) {
  const time = existsSync('/usr/bin/time');
  const t = now();
  const r = time
    ? spawnSync('/usr/bin/time', ['-f', '%M', process.execPath, 'bin/asid-replay.js', ...args], { encoding: 'utf8', maxBuffer: 1 << 28 })
    : spawnSync(process.execPath, ['bin/asid-replay.js', ...args], { encoding: 'utf8', maxBuffer: 1 << 28 });
  const s = now() - t;
  if (r.status !== 0) throw new Error(`asid-replay ${args.join(' ')}: exit ${r.status}: ${r.stderr}`);
  const rss = time ? Number(r.stderr.trim().split('\n').at(-1)) / 1024 : NaN;
  return { s, rss };
}

console.log(
  `node ${process.version}; best wall time of ${RUNS} rounds, the cases in turn; load average ${loadavg()[0].toFixed(2)} at the start`,
);
console.log('| events | profile | output | best wall s | ratio to report only | peak RSS MB | file MB | file B/event |');
console.log('|---:|---|---|---:|---:|---:|---:|---:|');
for (const events of sizes) {
  for (const profile of profiles) {
    const trace = ensure(events, profile);
    const cases = [
      ['report only', [], null],
      ['--html', ['--html', `${OUT}/p.html`], `${OUT}/p.html`],
      ['--perfetto .json', ['--perfetto', `${OUT}/p.json`], `${OUT}/p.json`],
      ['--perfetto .json.gz', ['--perfetto', `${OUT}/p.json.gz`], `${OUT}/p.json.gz`],
      ['--timeseries', ['--timeseries', `${OUT}/p.csv`], `${OUT}/p.csv`],
      ['--html --perfetto .json', ['--html', `${OUT}/p.html`, '--perfetto', `${OUT}/p.json`], null],
      ['--html --perfetto .json.gz', ['--html', `${OUT}/p.html`, '--perfetto', `${OUT}/p.json.gz`], null],
      ['all three', ['--html', `${OUT}/p.html`, '--perfetto', `${OUT}/p.json`, '--timeseries', `${OUT}/p.csv`], null],
    ];
    const best = cases.map(() => ({ s: Infinity, rss: 0, size: NaN }));
    for (let round = 0; round < RUNS; round++) {
      cases.forEach(([, args, file], k) => {
        const { s, rss } = run(['replay', trace, '--json', ...args]);
        best[k].s = Math.min(best[k].s, s);
        best[k].rss = Math.max(best[k].rss, rss);
        if (file) best[k].size = statSync(file).size;
      });
    }
    cases.forEach(([name], k) => {
      const { s, rss, size } = best[k];
      const file = Number.isNaN(size) ? ['', ''] : [mb(size), (size / events).toFixed(1)];
      console.log(
        `| ${events.toExponential(0)} | ${profile} | ${name} | ${s.toFixed(2)} | ${(s / best[0].s).toFixed(2)} | ${Number.isNaN(rss) ? '?' : rss.toFixed(0)} | ${file[0]} | ${file[1]} |`,
      );
    });
    for (const f of ['p.html', 'p.json', 'p.json.gz', 'p.csv']) rmSync(`${OUT}/${f}`, { force: true });
  }
}
