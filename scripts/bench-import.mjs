#!/usr/bin/env node
// Import speed (figures printed, never asserted): a large recording made from the shipped LISA
// trace.dat (its per-CPU pages repeated COPIES times, each copy's page timestamps shifted past the
// previous copy, so the result is a valid version-6 trace.dat) and its `trace-cmd report` text
// repeated the same way.
//
// 1. The anchor: `asid-replay import trace-dat x.dat -o out.csv` against `trace-cmd report -i x.dat
//    > /dev/null` on the same file, whole processes, interleaved (A B, B A, ...) after a warm-up run
//    of each, RUNS rounds; the best (and the median) wall and CPU time (user + sys, from bash's
//    `times`) of each, and their ratio: the import's speed relative to trace-cmd report (trace-cmd's
//    time / the import's; 1.0 or more: at least as fast). Needs bash and trace-cmd (Debian:
//    `apt-get install -y trace-cmd`); without it the row says so.
// 2. In process: the raw read speed of the files, the .dat decoding alone (pages to ftrace lines),
//    and the whole import to trace v1 in events/s (the one-pass import, its definition through the
//    ftrace text of the records, and the text file).
// Uses the compiled dist/.
//   npm run build && node scripts/bench-import.mjs            (COPIES=40: about 310,000 events; RUNS=5)
//   COPIES=200 RUNS=3 node scripts/bench-import.mjs
import { spawnSync } from 'node:child_process';
import { createReadStream, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { createInterface } from 'node:readline';
import { importFile } from '../dist/import/import.js';
import { datLines, parseTraceDat } from '../dist/import/tracedat/index.js';
import { LIFECYCLE_EVENTS } from '../dist/import/lifecycle.js';

/** The events whose bodies the importer formats (the others only counted by name). */
const IMPORTED = new Set(['sched_switch', ...LIFECYCLE_EVENTS]);

const OUT = 'bench-out';
mkdirSync(OUT, { recursive: true });
const COPIES = Number(process.env.COPIES ?? 40);
const RUNS = Number(process.env.RUNS ?? 5);
const DIR = 'traces/real/recordings/lisa-juno-rtapp';
const fmt = (n) => Math.round(n).toLocaleString('en');
const now = () => Number(process.hrtime.bigint()) / 1e9;

/** The shipped v6 trace.dat with every CPU's pages repeated `copies` times (page timestamps shifted). */
function bigDat(copies) {
  const src = readFileSync(`${DIR}/trace.dat`);
  const dat = parseTraceDat(src, 'trace.dat');
  const table = src.indexOf('flyrecord\0') + 10;
  const first = Math.min(...dat.buffers.map((b) => b.fileOffset));
  let last = 0;
  for (const [, l] of datLines(dat, 'trace.dat')) {
    const m = /\] (\d+)\.(\d+):/.exec(l);
    if (m) last = Number(m[1]) * 1e9 + Number(m[2]);
  }
  const firstTs = Math.min(...dat.buffers.map((b) => Number(b.data.readBigUInt64LE(0))));
  const span = BigInt(last - firstTs + 1_000_000);
  const header = Buffer.from(src.subarray(0, first));
  const parts = [header];
  let offset = first;
  for (let cpu = 0; cpu < dat.cpus; cpu++) {
    const b = dat.buffers.find((x) => x.cpu === cpu);
    const size = b ? b.data.length * copies : 0;
    header.writeBigUInt64LE(BigInt(size ? offset : 0), table + cpu * 16);
    header.writeBigUInt64LE(BigInt(size), table + cpu * 16 + 8);
    if (!b) continue;
    for (let k = 0; k < copies; k++) {
      const copy = Buffer.from(b.data);
      for (let p = 0; p < copy.length; p += dat.pageSize) copy.writeBigUInt64LE(copy.readBigUInt64LE(p) + span * BigInt(k), p);
      parts.push(copy);
    }
    offset += size;
  }
  return { data: Buffer.concat(parts), spanNs: Number(span) };
}

/** The report text repeated `copies` times, each copy's timestamps shifted by `spanNs` (rounded to µs). */
function bigText(copies, spanNs) {
  const lines = readFileSync(`${DIR}/trace.dat.report.txt`, 'utf8').split('\n');
  const head = lines.filter((l) => l.startsWith('cpus='));
  const body = lines.filter((l) => l !== '' && !l.startsWith('cpus='));
  const out = [...head];
  const spanUs = Math.round(spanNs / 1000);
  for (let k = 0; k < copies; k++) {
    for (const l of body) {
      out.push(
        l.replace(/\] (\d+)\.(\d{6}):/, (_, s, us) => {
          const t = Number(s) * 1e6 + Number(us) + spanUs * k;
          return `] ${Math.floor(t / 1e6)}.${String(t % 1e6).padStart(6, '0')}:`;
        }),
      );
    }
  }
  return out.join('\n') + '\n';
}

async function rawRead(file) {
  const t = now();
  let lines = 0;
  for await (const _ of createInterface({ input: createReadStream(file), crlfDelay: Infinity })) lines++;
  const lineTime = now() - t;
  const t2 = now();
  readFileSync(file);
  return { bytesPerS: statSync(file).size / (now() - t2), lines, linesPerS: lines / lineTime };
}

const datFile = `${OUT}/lisa-rtapp-x${COPIES}.dat`;
const txtFile = `${OUT}/lisa-rtapp-x${COPIES}.txt`;
if (!existsSync(datFile) || !existsSync(txtFile)) {
  const { data, spanNs } = bigDat(COPIES);
  writeFileSync(datFile, data);
  writeFileSync(txtFile, bigText(COPIES, spanNs));
}

const mb = (f) => (statSync(f).size / 1e6).toFixed(1);

/**
 * `command` run by bash, its output thrown away: wall seconds, and CPU seconds (user + sys) of the
 * processes it waited for (bash's `times`, second line); undefined when it fails.
 */
function timed(command) {
  const t = now();
  const r = spawnSync('bash', ['-c', `${command} >/dev/null 2>&1 || exit 3; times`], { encoding: 'utf8' });
  const wall = now() - t;
  if (r.status !== 0) return undefined;
  const children = r.stdout.trim().split('\n')[1] ?? '';
  const secs = [...children.matchAll(/(\d+)m([\d.]+)s/g)].map((m) => Number(m[1]) * 60 + Number(m[2]));
  return { wall, cpu: secs.reduce((a, b) => a + b, 0) };
}

const q = (f) => `'${f.replace(/'/g, `'\\''`)}'`;
const importCmd = `${q(process.execPath)} bin/asid-replay.js import trace-dat ${q(datFile)} -o ${q(`${OUT}/import-dat-cli.csv`)}`;
const reportCmd = `trace-cmd report -i ${q(datFile)}`;
const loadBefore = loadavg()[0];
let anchor;
if (!timed('command -v trace-cmd')) anchor = 'trace-cmd is not installed (apt-get install -y trace-cmd): no ratio';
else if (!timed(reportCmd)) anchor = `\`${reportCmd}\` failed: no ratio`;
else {
  timed(importCmd); // warm-up (the report ran once above)
  const runs = { imp: [], rep: [] };
  for (let i = 0; i < RUNS; i++) {
    const order = i % 2 === 0 ? ['imp', 'rep'] : ['rep', 'imp'];
    for (const k of order) {
      const r = timed(k === 'imp' ? importCmd : reportCmd);
      if (!r) throw new Error(`${k === 'imp' ? importCmd : reportCmd} failed`);
      runs[k].push(r);
    }
  }
  const best = (xs, f) => Math.min(...xs.map(f));
  const median = (xs, f) => {
    const v = xs.map(f).sort((a, b) => a - b);
    return v.length % 2 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
  };
  const line = (what, f) => {
    const [bi, br, mi, mr] = [best(runs.imp, f), best(runs.rep, f), median(runs.imp, f), median(runs.rep, f)];
    return (
      `  ${what}: import ${bi.toFixed(2)} s, trace-cmd report ${br.toFixed(2)} s (best of ${RUNS}): ${(br / bi).toFixed(2)}x; ` +
      `medians ${mi.toFixed(2)} s / ${mr.toFixed(2)} s: ${(mr / mi).toFixed(2)}x`
    );
  };
  anchor = [line('wall', (r) => r.wall), line('CPU (user + sys)', (r) => r.cpu)].join('\n');
}
console.log(
  `import of a trace.dat against trace-cmd report, whole processes on the same file (${mb(datFile)} MB, x${COPIES}), interleaved:`,
);
console.log(anchor);
console.log(
  `  (the import's speed relative to trace-cmd report: trace-cmd's time / the import's; load average ${loadBefore.toFixed(1)} before, ${loadavg()[0].toFixed(1)} after, ${availableParallelism()} CPUs)`,
);

const rows = [];
{
  const raw = await rawRead(datFile);
  const t = now();
  const dat = parseTraceDat(readFileSync(datFile), datFile);
  let events = -1;
  for (const _ of datLines(dat, datFile)) events++;
  const decode = now() - t;
  const t1 = now();
  for (const _ of datLines(dat, datFile, IMPORTED)) void _;
  const decodeImported = now() - t1;
  const t2 = now();
  const s = await importFile('trace-dat', datFile, `${OUT}/import-dat.csv`);
  const whole = now() - t2;
  const t3 = now();
  await importFile('trace-dat', datFile, `${OUT}/import-dat-text.csv`, { datText: true });
  const viaText = now() - t3;
  rows.push([
    'trace.dat v6',
    mb(datFile),
    fmt(raw.bytesPerS / 1e6) + ' MB/s',
    fmt(events),
    `${fmt(events / decode)} (${fmt(events / decodeImported)})`,
    `${fmt(events / whole)} (${fmt(events / viaText)})`,
    fmt(s.eventsWritten),
  ]);
}
{
  const raw = await rawRead(txtFile);
  const t2 = now();
  const s = await importFile('ftrace', txtFile, `${OUT}/import-txt.csv`);
  const whole = now() - t2;
  const events = s.lines - s.commentLines;
  rows.push([
    'report text',
    mb(txtFile),
    `${fmt(raw.bytesPerS / 1e6)} MB/s, ${fmt(raw.linesPerS)} lines/s (readline)`,
    fmt(events),
    '-',
    fmt(events / whole),
    fmt(s.eventsWritten),
  ]);
}

console.log(`\nimport speed in process, LISA rt-app recording x${COPIES} (Node ${process.version})`);
const head = ['input', 'MB', 'raw read', 'events', 'decode events/s', 'import events/s', 'trace v1 rows'];
const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
for (const r of [head, ...rows]) console.log(r.map((c, i) => String(c).padEnd(widths[i])).join('  '));
console.log('events = recorded events (every ftrace event, not only sched_switch); decode = pages to ftrace lines with every body');
console.log('formatted (in brackets: only the bodies the importer reads); import = the whole import: a trace.dat in one pass from its');
console.log("records (in brackets: through the records' ftrace text, the definition it is tested against), the text file in two passes");
