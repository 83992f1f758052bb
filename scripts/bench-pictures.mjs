#!/usr/bin/env node
// Picture outputs (figures printed, never asserted): wall time and peak RSS of a whole
// `asid-replay replay` process with and without --html / --perfetto / --timeseries, and the size of
// each file, on generated kernel-build traces (8 CPUs, 8-bit ASIDs: many rollovers) and on the
// sva-btm profile (SMMU series). Uses the compiled dist/ (npm run build first).
//   node scripts/bench-pictures.mjs              10^6 events
//   BENCH_BIG=1 node scripts/bench-pictures.mjs  also 10^7 events (about 400 MB of CSV in bench-out/)
import { existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { spawnSync } from 'node:child_process';

const OUT = 'bench-out';
mkdirSync(OUT, { recursive: true });
const sizes = [1e6, ...(process.env.BENCH_BIG ? [1e7] : [])];
const profiles = ['kernel-build', 'sva-btm'];
const now = () => Number(process.hrtime.bigint()) / 1e9;
const mb = (b) => (b / 1e6).toFixed(1);

function ensure(events, profile) {
  const f = `${OUT}/${profile}-${events}.csv`;
  // The CLI's generate, with its defaults (deterministic: same options, same bytes).
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

console.log('| events | profile | output | wall s | peak RSS MB | file MB |');
console.log('|---:|---|---|---:|---:|---:|');
for (const events of sizes) {
  for (const profile of profiles) {
    const trace = ensure(events, profile);
    const cases = [
      ['report only', [], null],
      ['--html', ['--html', `${OUT}/p.html`], `${OUT}/p.html`],
      ['--perfetto', ['--perfetto', `${OUT}/p.json`], `${OUT}/p.json`],
      ['--timeseries', ['--timeseries', `${OUT}/p.csv`], `${OUT}/p.csv`],
      ['all three', ['--html', `${OUT}/p.html`, '--perfetto', `${OUT}/p.json`, '--timeseries', `${OUT}/p.csv`], null],
    ];
    for (const [name, args, file] of cases) {
      const { s, rss } = run(['replay', trace, '--json', ...args]);
      const size = file ? mb(statSync(file).size) : '';
      console.log(
        `| ${events.toExponential(0)} | ${profile} | ${name} | ${s.toFixed(1)} | ${Number.isNaN(rss) ? '?' : rss.toFixed(0)} | ${size} |`,
      );
    }
    for (const f of ['p.html', 'p.json', 'p.csv']) rmSync(`${OUT}/${f}`, { force: true });
  }
}
