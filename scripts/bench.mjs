#!/usr/bin/env node
// Benchmarks (figures printed, never asserted): replay throughput next to csv-parse alone on the
// same generated file, the model alone, and peak memory by trace length. Uses the compiled dist/.
//   npm run bench                 10^5 and 10^6 events
//   BENCH_BIG=1 npm run bench     also 10^7 events (about 400 MB of CSV in bench-out/)
import { createReadStream, existsSync, mkdirSync, statSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { parse } from 'csv-parse';
import { generateToFile, generatedSystem } from '../dist/generate/generate.js';
import { PROFILES } from '../dist/generate/profiles.js';
import { availableParallelism } from 'node:os';
import { defaultParseThreads, replayFile } from '../dist/replay/engine.js';
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

function peakRss(file, parseThreads) {
  const code = `import('${process.cwd()}/dist/replay/engine.js').then(async (m) => { await m.replayFile('${file}', { parseThreads: ${parseThreads} }); console.log(process.resourceUsage().maxRSS); })`;
  return Number(execFileSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8' }).trim()) / 1024;
}

async function timed(f) {
  const t = now();
  const r = await f();
  return { r, s: now() - t };
}

// Replay = csv-parse + row validation + the model. "default" is what `replay` does: worker threads
// parse traces of 8 MiB or more on a machine with 2+ cores; "in-thread" is --parse-threads 0.
const threads = defaultParseThreads(1 << 30);
console.log(`node ${process.version}, ${process.arch}, ${availableParallelism()} cores; kernel-build profile, 8 CPUs, 8-bit ASIDs`);
console.log(`replay by default (${threads} parser threads from 8 MiB), and in-thread (--parse-threads 0)\n`);
console.log('events      | CSV MB | csv-parse only ev/s | replay ev/s (default / in-thread) | replay/csv (default / in-thread) | rollovers | peak RSS MB (default / in-thread)');
for (const events of sizes) {
  const file = await ensure(events);
  const mb = statSync(file).size / 2 ** 20;
  const c = await csvOnly(file);
  const dflt = defaultParseThreads(statSync(file).size);
  const a = await timed(() => replayFile(file, { parseThreads: dflt }));
  const b = await timed(() => replayFile(file, { parseThreads: 0 }));
  const rss = [peakRss(file, dflt), peakRss(file, 0)];
  const rate = `${fmt(events / a.s)} / ${fmt(events / b.s)}`;
  const ratio = `${(c.s / a.s).toFixed(2)} / ${(c.s / b.s).toFixed(2)}`;
  console.log(`${fmt(events).padEnd(11)} | ${mb.toFixed(1).padStart(6)} | ${fmt(c.rows / c.s).padStart(19)} | ${rate.padStart(33)} | ${ratio.padStart(32)} | ${String(a.r.churn.rollovers).padStart(9)} | ${rss.map((x) => x.toFixed(0)).join(' / ').padStart(33)}`);
}

// Device-heavy traces (SMMUv3/SVA model): replay next to csv-parse alone, at 10^6 events.
console.log('\ndevice profile | driver       | csv-parse only ev/s | replay ev/s | replay/csv | binds | DMA | stale');
await replayFile(await ensure(1e6, 'dma-collide'), { parseThreads: threads }); // warm-up (JIT), not timed
for (const profile of ['dma-collide', 'sva-btm']) {
  const file = await ensure(1e6, profile);
  const c = await csvOnly(file);
  for (const driver of ['shared-asid', 'private-asid', 'btm-2023']) {
    const t = now();
    const r = await replayFile(file, { overrides: { driver }, parseThreads: threads });
    const rs = now() - t;
    const dma = r.devices.smmus.reduce((a, m) => a + m.hits + m.misses + m.atcHits, 0);
    console.log(`${profile.padEnd(14)} | ${driver.padEnd(12)} | ${fmt(c.rows / c.s).padStart(19)} | ${fmt(1e6 / rs).padStart(11)} | ${(c.s / rs).toFixed(2).padStart(10)} | ${String(r.devices.sva.binds).padStart(5)} | ${String(dma).padStart(6)} | ${r.stale.total}`);
  }
}

// The model alone: step() timed over events pre-generated in batches of 4096 (the shape the reader
// builds), best and median of 5 runs; then the generator and the model together in-process.
const norm = (e, row) => ({ row, kind: e.kind, time: e.time, cpu: e.cpu, task: e.task, mm: e.mm, device: e.device, domain: e.domain, pasid: e.pasid, va: e.va, size: e.size, prot: e.prot, op: e.op });
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

// check --jobs 1 vs --jobs 2 on the shipped corpus (plus ten copies of the 10^5-event trace, so
// that the workers have something to share).
{
  const { checkTraces } = await import('../dist/check/check.js');
  const { findTraces } = await import('../dist/check/corpus.js');
  const { cpSync } = await import('node:fs');
  const dir = `${OUT}/corpus`;
  mkdirSync(dir, { recursive: true });
  const big = await ensure(1e5);
  for (let i = 0; i < 10; i++) cpSync(big, `${dir}/copy-${i}.csv`);
  const traces = [...(await findTraces(['traces'])), ...(await findTraces([dir]))];
  for (const jobs of [1, 2]) {
    const t = now();
    await checkTraces(traces, jobs);
    console.log(`check --jobs ${jobs}: ${traces.length} traces in ${(now() - t).toFixed(2)} s`);
  }
}
