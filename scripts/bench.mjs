#!/usr/bin/env node
// Benchmarks (figures printed, never asserted): replay throughput next to csv-parse alone on the
// same generated file, the model alone, and peak memory by trace length. Uses the compiled dist/.
//   npm run bench                 10^5 and 10^6 events
//   BENCH_BIG=1 npm run bench     also 10^7 events (about 400 MB of CSV in bench-out/)
import { createReadStream, existsSync, mkdirSync, statSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { parse } from 'csv-parse';
import { generateToFile, generatedSystem } from '../dist/generate/generate.js';
import { PROFILES } from '../dist/generate/profiles.js';
import { availableParallelism } from 'node:os';
import { replayFile } from '../dist/replay/engine.js';
import { createSystem, step } from '../dist/model/system.js';
import { ReportCollector } from '../dist/report/report.js';

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

async function csvOnly(file) {
  const t = now();
  let n = 0;
  const p = createReadStream(file).pipe(parse({ bom: true, comment: '#', comment_no_infix: true, skip_empty_lines: true, trim: true }));
  for await (const _ of p) n++;
  return { rows: n, s: now() - t };
}

/** Run a whole process (start-up included) `runs` times: median wall seconds and peak RSS (MB). */
function processFigures(args, runs = 3) {
  const walls = [];
  let rss = 0;
  for (let i = 0; i < runs; i++) {
    const t = now();
    const r = spawnSync('/usr/bin/env', ['time', '-f', '%M', process.execPath, ...args], {
      encoding: 'utf8',
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    if (r.status !== 0) throw new Error(`${args.join(' ')}: exit ${r.status}: ${r.stderr}`);
    walls.push(now() - t);
    const out = r.stderr;
    rss = Math.max(rss, Number(out.trim().split('\n').at(-1)) / 1024);
  }
  walls.sort((a, b) => a - b);
  return { s: walls[Math.floor(runs / 2)], rss };
}

// Whole processes, start-up included, as a user runs them: csv-parse alone over the file (the
// floor), `replay` in-thread (the default) and with parser threads (--parse-threads N).
const threads = Math.min(4, availableParallelism());
console.log(
  `node ${process.version}, ${process.arch}, ${availableParallelism()} cores; kernel-build profile, 8 CPUs, 8-bit ASIDs; medians of 3 whole processes`,
);
console.log(
  `replay in-thread (default) and with --parse-threads ${threads}; speed ratio = csv-parse time / replay time (1.00 = as fast as parsing alone)\n`,
);
console.log(
  'events      | CSV MB | csv-parse only ev/s | replay ev/s (in-thread / threads) | speed vs csv (in-thread / threads) | peak RSS MB (csv / in-thread / threads)',
);
for (const events of [1e5, 2e5, ...sizes.filter((n) => n > 1e5)]) {
  const file = await ensure(events);
  const mb = statSync(file).size / 2 ** 20;
  const c = processFigures(['scripts/csv-only.mjs', file]);
  const a = processFigures(['bin/asid-replay.js', 'replay', file, '--json']);
  const b = processFigures(['bin/asid-replay.js', 'replay', file, '--json', '--parse-threads', String(threads)]);
  const rate = `${fmt(events / a.s)} / ${fmt(events / b.s)}`;
  const ratio = `${(c.s / a.s).toFixed(2)} / ${(c.s / b.s).toFixed(2)}`;
  const rss = [c.rss, a.rss, b.rss].map((x) => x.toFixed(0)).join(' / ');
  console.log(
    `${fmt(events).padEnd(11)} | ${mb.toFixed(1).padStart(6)} | ${fmt(events / c.s).padStart(19)} | ${rate.padStart(33)} | ${ratio.padStart(34)} | ${rss.padStart(39)}`,
  );
}

// Device-heavy traces (SMMUv3/SVA model): replay next to csv-parse alone, at 10^6 events.
console.log('\ndevice profile | driver       | csv-parse only ev/s | replay ev/s | replay/csv | binds | DMA | stale');
await replayFile(await ensure(1e6, 'dma-collide'), { parseThreads: 0 }); // warm-up (JIT), not timed
for (const profile of ['dma-collide', 'sva-btm']) {
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
