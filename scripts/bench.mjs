#!/usr/bin/env node
// Benchmarks (figures printed, never asserted): replay next to its anchors measured in the same
// run (a plain line split and csv-parse alone, whole processes over the same generated file), the
// model alone, and peak memory by trace length. Uses the compiled dist/.
//   npm run bench                 2x10^5 and 10^6 events (kernel-build, pin-exhaustion)
//   BENCH_BIG=1 npm run bench     also 10^7 events (about 350 MB of CSV in bench-out/) and the RSS ratio 10^7 / 10^6
//   BENCH_RUNS=9                  rounds of the interleaved whole-process runs (default 5; 2 at 10^7)
//   BENCH_ONLY=replay             the whole-process replay figures only
//   BENCH_ONLY=model              the model-alone figures only (step() in-process, no files replayed)
import { createReadStream, existsSync, mkdirSync, statSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { parse } from 'csv-parse';
import { generateToFile, generatedSystem } from '../dist/generate/generate.js';
import { PROFILES } from '../dist/generate/profiles.js';
import { availableParallelism, loadavg } from 'node:os';
import { replayFile } from '../dist/replay/engine.js';
import { createSystem, step } from '../dist/model/system.js';
import { loadBuiltins } from '../dist/design/builtins.js';
import { ReportCollector } from '../dist/report/report.js';

// The built-in designs (the --driver and --fault ones) a system may name, as the CLI loads them.
await loadBuiltins();

const OUT = 'bench-out';
mkdirSync(OUT, { recursive: true });
const sizes = [1e5, 1e6, ...(process.env.BENCH_BIG ? [1e7] : [])];
const opts = (events) => ({ events, seed: 42, cpus: 8, asidBits: 8, kpti: false });
const fmt = (n) => Math.round(n).toLocaleString('en');
const now = () => Number(process.hrtime.bigint()) / 1e9;

async function ensure(events, profile = 'kernel-build') {
  const f = `${OUT}/${profile}-${events}.csv`;
  if (!existsSync(f)) await generateToFile(profile, opts(events), f);
  return f;
}

/** csv-parse alone in this process, its fastest options (as scripts/csv-only.mjs). */
async function csvOnly(file) {
  const t = now();
  let n = 0;
  const p = createReadStream(file).pipe(parse({ comment: '#' }));
  for await (const _ of p) n++;
  return { rows: n, s: now() - t };
}

/** Run a whole process (start-up included) once: wall and CPU (user + sys) seconds, peak RSS (MB). */
function processRun(args) {
  const r = spawnSync('/usr/bin/time', ['-f', '%e %U %S %M', process.execPath, ...args], {
    encoding: 'utf8',
    stdio: ['ignore', 'ignore', 'pipe'],
    maxBuffer: 1 << 26,
  });
  if (r.status !== 0) throw new Error(`${args.join(' ')}: exit ${r.status}: ${r.stderr}`);
  const [wall, user, sys, rss] = r.stderr.trim().split('\n').at(-1).split(' ').map(Number);
  return { wall, cpu: user + sys, rss: rss / 1024 };
}

/**
 * The commands of `cmds` run in turn, `runs` rounds (each round in another order, so that a slow
 * spell of the machine falls on all of them): per command the best (least) wall and CPU time, the
 * largest peak RSS and every round's figures (`rounds`: ratios of two commands taken round by round
 * hold when the machine's speed drifts).
 */
function interleaved(cmds, runs) {
  const names = Object.keys(cmds);
  const best = Object.fromEntries(names.map((k) => [k, { wall: Infinity, cpu: Infinity, rss: 0, rounds: [] }]));
  for (let r = 0; r < runs; r++) {
    for (let k = 0; k < names.length; k++) {
      const name = names[(k + r) % names.length];
      const x = processRun(cmds[name]);
      const b = best[name];
      b.wall = Math.min(b.wall, x.wall);
      b.cpu = Math.min(b.cpu, x.cpu);
      b.rss = Math.max(b.rss, x.rss);
      b.rounds.push(x);
    }
  }
  return best;
}

/** Median over the rounds of `a`'s figure / `b`'s (`what`: wall or cpu). */
function pairedMedian(a, b, what) {
  const r = a.rounds.map((x, i) => x[what] / b.rounds[i][what]).sort((x, y) => x - y);
  return r.length % 2 ? r[(r.length - 1) / 2] : (r[r.length / 2 - 1] + r[r.length / 2]) / 2;
}

const load = () =>
  loadavg()
    .map((x) => x.toFixed(1))
    .join(' ');

// Whole processes, start-up included, as a user runs them, interleaved and the best of RUNS each:
// the anchors (a plain line split, csv-parse alone with its fastest options: scripts/csv-only.mjs)
// and `replay` in-thread (the default) and with parser threads (--parse-threads N), on the same
// file. A ratio is anchor time / replay time: 1.50 = replay takes two thirds of the anchor's time.
// CPU is user + sys of every thread (V8 collects garbage on helper threads too); on a loaded
// machine the wall time of a process that allocates much waits for those threads as well.
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const threads = Math.min(4, availableParallelism());
console.log(
  `node ${process.version}, ${process.arch}, ${availableParallelism()} cores; 8 CPUs, 8-bit ASIDs; whole processes, best of ${RUNS} interleaved runs (2 at 10^7)`,
);
console.log(`replay in-thread (default) and with --parse-threads ${threads}; ratio = anchor time / replay time\n`);
console.log(
  'profile        events     | CSV MB | best wall s: split / csv / replay / threads | replay vs csv: wall best, wall paired median, CPU best, CPU paired median (threads: wall best) | replay vs split: wall best, paired median | peak RSS MB: csv / replay / threads | load before -> after',
);
const rss = {};
const onlyModel = process.env.BENCH_ONLY === 'model';
const replayCases = onlyModel
  ? []
  : [...[2e5, 1e6, ...sizes.filter((n) => n > 1e6)].map((n) => ['kernel-build', n]), ['pin-exhaustion', 2e5], ['pin-exhaustion', 1e6]];
for (const [profile, events] of replayCases) {
  const file = await ensure(events, profile);
  const mb = statSync(file).size / 2 ** 20;
  const before = load();
  const b = interleaved(
    {
      split: ['scripts/csv-only.mjs', file, 'split'],
      csv: ['scripts/csv-only.mjs', file],
      replay: ['bin/asid-replay.js', 'replay', file, '--json'],
      threads: ['bin/asid-replay.js', 'replay', file, '--json', '--parse-threads', String(threads)],
    },
    events >= 1e7 ? Math.min(RUNS, 2) : RUNS,
  );
  if (profile === 'kernel-build') rss[events] = b.replay.rss;
  const r2 = (x) => x.toFixed(2);
  const { split, csv, replay, threads: thr } = b;
  console.log(
    [
      `${profile.padEnd(14)} ${fmt(events).padEnd(10)}`,
      mb.toFixed(1).padStart(6),
      [split, csv, replay, thr].map((x) => r2(x.wall)).join(' / '),
      `${r2(csv.wall / replay.wall)}, ${r2(pairedMedian(csv, replay, 'wall'))}, ${r2(csv.cpu / replay.cpu)}, ${r2(pairedMedian(csv, replay, 'cpu'))} (${r2(csv.wall / thr.wall)})`,
      `${r2(split.wall / replay.wall)}, ${r2(pairedMedian(split, replay, 'wall'))}`,
      [csv, replay, thr].map((x) => x.rss.toFixed(0)).join(' / '),
      `${before} -> ${load()}`,
    ].join(' | '),
  );
}
if (rss[1e7] !== undefined) console.log(`replay peak RSS at 10^7 events / at 10^6: ${(rss[1e7] / rss[1e6]).toFixed(2)}`);

if (process.env.BENCH_ONLY === 'replay') process.exit(0);

// Device-heavy traces (SMMUv3/SVA model): replay next to csv-parse alone, at 10^6 events.
console.log('\ndevice profile | driver       | csv-parse only ev/s | replay ev/s | replay/csv | binds | DMA | stale');
if (!onlyModel) await replayFile(await ensure(1e6, 'dma-collide'), { parseThreads: 0 }); // warm-up (JIT), not timed
for (const profile of onlyModel ? [] : ['dma-collide', 'sva-btm']) {
  const file = await ensure(1e6, profile);
  const c = await csvOnly(file);
  for (const driver of ['shared-asid', 'private-asid', 'btm-2023']) {
    const t = now();
    const r = await replayFile(file, { overrides: { driver }, parseThreads: 0 });
    const rs = now() - t;
    const dma = r.devices.smmus.reduce((a, m) => a + m.hits + m.misses + m.atcHits, 0);
    console.log(
      `${profile.padEnd(14)} | ${driver.padEnd(12)} | ${fmt(c.rows / c.s).padStart(19)} | ${fmt(1e6 / rs).padStart(11)} | ${(c.s / rs).toFixed(2).padStart(10)} | ${String(r.devices.sva.binds).padStart(5)} | ${String(dma).padStart(6)} | ${r.stale.total}`,
    );
  }
}

// The model alone: step() timed over events pre-generated in batches of 4096 (the shape the reader
// builds), best and median of 5 runs; then the generator and the model together in-process.
const norm = (e, row) => ({
  row,
  kind: e.kind,
  time: e.time,
  cpu: e.cpu,
  task: e.task,
  mm: e.mm,
  device: e.device,
  domain: e.domain,
  pasid: e.pasid,
  va: e.va,
  size: e.size,
  prot: e.prot,
  op: e.op,
});
console.log('\nmodel alone (1e6 events) | step only, best / median of 5 (ev/s) | generator + model in-process (ev/s)');
for (const profile of ['kernel-build', 'mixed', 'pin-exhaustion', 'dma-collide', 'sva-btm', 'hetero-smmu']) {
  const o = opts(1e6);
  const sys = generatedSystem(profile, o);
  const rates = [];
  for (let run = 0; run < 5; run++) {
    const m = createSystem(sys);
    const col = new ReportCollector(sys.smmus.length);
    let s = 0;
    let row = 1;
    let batch = [];
    const flush = () => {
      const t = now();
      for (const e of batch) step(m, e, col);
      s += now() - t;
      batch = [];
    };
    for (const e of PROFILES[profile].events(o)) {
      batch.push(norm(e, row++));
      if (batch.length === 4096) flush();
    }
    flush();
    rates.push((row - 1) / s);
  }
  rates.sort((a, b) => b - a);
  const m2 = createSystem(sys);
  const col2 = new ReportCollector(sys.smmus.length);
  const t2 = now();
  let row = 1;
  for (const e of PROFILES[profile].events(o)) step(m2, norm(e, row++), col2);
  const s2 = now() - t2;
  console.log(`${profile.padEnd(24)} | ${`${fmt(rates[0])} / ${fmt(rates[2])}`.padStart(37)} | ${fmt((row - 1) / s2).padStart(35)}`);
}

if (onlyModel) process.exit(0);

// check --jobs 1 vs --jobs 2: on the shipped corpus alone (small: must not be slower), and on a
// corpus of 50+ traces (the shipped one, forty copies of a 2*10^4-event trace and ten of 10^5).
{
  const { checkTraces } = await import('../dist/check/check.js');
  const { findTraces } = await import('../dist/check/corpus.js');
  const { cpSync } = await import('node:fs');
  const dir = `${OUT}/corpus`;
  mkdirSync(dir, { recursive: true });
  const big = await ensure(1e5);
  const mid = await ensure(2e4);
  for (let i = 0; i < 10; i++) cpSync(big, `${dir}/big-${i}.csv`);
  for (let i = 0; i < 40; i++) cpSync(mid, `${dir}/mid-${i}.csv`);
  const shipped = (await findTraces(['traces'])).map((trace) => ({ trace }));
  const large = [...shipped, ...(await findTraces([dir])).map((trace) => ({ trace }))];
  for (const [name, tasks] of [
    ['shipped', shipped],
    ['50+', large],
  ]) {
    const secs = [];
    for (const jobs of [1, 2]) {
      const t = now();
      await checkTraces(tasks, jobs);
      secs.push(now() - t);
    }
    console.log(
      `check ${name} corpus (${tasks.length} traces): --jobs 1 ${secs[0].toFixed(2)} s, --jobs 2 ${secs[1].toFixed(2)} s: ${(secs[0] / secs[1]).toFixed(2)}x`,
    );
  }
}
