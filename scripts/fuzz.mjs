#!/usr/bin/env node
/**
 * `npm run fuzz`: the long fuzz run (test/fuzz.test.ts with FUZZ_RUNS; targets and oracle in
 * test/fuzz/). Runs `--jobs` vitest processes side by side (each its share of the cases, its own
 * seed), watches them (a case that blocks its process for `--hang` seconds is killed and reported
 * with its arguments and files), then prints cases, time, cases/s, failures with their shrunk
 * reproducers, vague exit-2 messages and known problems. Exit 1 on any failure.
 *
 *   npm run fuzz -- [--runs 100000] [--seed S] [--jobs N] [--target trace,import,check,argv]
 *                   [--path P (replay one counterexample: with --seed and --target)] [--timeout 10000]
 *                   [--hang 120] [--out DIR]
 *
 * `npm run fuzz` builds dist/ first (piscina workers run it); this script does not.
 */
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, statSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const ROOT = new URL('..', import.meta.url).pathname;

if (process.argv[2] === '--child') {
  // One job: vitest on the fuzz test file, no config (no global build: the parent's npm script built dist/).
  const { startVitest } = await import('vitest/node');
  const v = await startVitest('test', ['test/fuzz.test.ts'], { config: false, watch: false, reporters: ['dot'], root: ROOT });
  await v?.close();
  process.exit(process.exitCode ?? 0);
}

const { values: o } = parseArgs({
  options: {
    runs: { type: 'string', default: '100000' },
    seed: { type: 'string', default: String(Date.now() % 2 ** 31) },
    jobs: { type: 'string', default: String(Math.min(4, availableParallelism())) },
    target: { type: 'string' },
    path: { type: 'string' },
    timeout: { type: 'string', default: '10000' },
    hang: { type: 'string', default: '120' },
    out: { type: 'string' },
  },
});
const runs = Number(o.runs);
const seed = Number(o.seed);
const jobs = o.path ? 1 : Math.max(1, Math.min(Number(o.jobs), runs));
const out = o.out ?? mkdtempSync(join(tmpdir(), 'asid-replay-fuzz-run-'));
mkdirSync(out, { recursive: true });
const what = o.path ? `replaying counterexample ${o.path}` : `${runs} cases`;
console.log(`fuzz: ${what}, seed ${seed}, ${jobs} jobs${o.target ? `, targets ${o.target}` : ''}; state and reproducers in ${out}`);

const readJson = (p, fallback) => {
  try {
    return JSON.parse(readFileSync(p, 'utf8'));
  } catch {
    return fallback;
  }
};

const t0 = Date.now();
const state = [];
for (let j = 0; j < jobs; j++) {
  const dir = join(out, `job-${j}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const share = Math.floor(runs / jobs) + (j < runs % jobs ? 1 : 0);
  const env = { ...process.env, FUZZ_RUNS: String(share), FUZZ_SEED: String(seed + 1000 * j), FUZZ_STATE: dir, FUZZ_TIMEOUT: o.timeout };
  if (o.target) env.FUZZ_TARGETS = o.target;
  if (o.path) env.FUZZ_PATH = o.path;
  const logPath = join(dir, 'vitest.log');
  const log = openSync(logPath, 'w');
  const child = spawn(process.execPath, [join(ROOT, 'scripts/fuzz.mjs'), '--child'], {
    cwd: ROOT,
    env,
    detached: true,
    stdio: ['ignore', log, log],
  });
  const job = { j, dir, logPath, child, code: undefined, hang: undefined, started: Date.now() };
  job.done = new Promise((res) => child.on('exit', (code, signal) => res((job.code = code ?? signal))));
  state.push(job);
}

/** Cases done by a job: finished targets plus the one in progress. */
function progress(job) {
  const results = readJson(join(job.dir, 'results.json'), []);
  const p = readJson(join(job.dir, 'progress.json'), undefined);
  const finished = results.reduce((a, r) => a + r.cases, 0);
  const current = p && !results.some((r) => r.target === p.target) ? p.cases : 0;
  return {
    cases: finished + current,
    failures: results.reduce((a, r) => a + r.failures.length, 0) + (current ? p.failures : 0),
    rssMb: p?.rssMb,
    fds: p?.fds,
  };
}

const mtime = (p) => (existsSync(p) ? statSync(p).mtimeMs : 0);
const watchdog = setInterval(() => {
  let cases = 0;
  let failures = 0;
  const health = [];
  for (const job of state) {
    const p = progress(job);
    cases += p.cases;
    failures += p.failures;
    if (p.rssMb !== undefined) health.push(`${p.rssMb} MB/${p.fds ?? '?'} fds`);
    const last = Math.max(job.started, mtime(join(job.dir, 'progress.json')), mtime(join(job.dir, 'results.json')));
    if (job.code === undefined && Date.now() - last > Number(o.hang) * 1000) {
      // Blocked: a synchronous loop (a timer would have fired). Kill the job and keep its case.
      const cur = readJson(join(job.dir, 'current.json'), {});
      job.hang = cur;
      if (cur.dir && existsSync(cur.dir)) cpSync(cur.dir, join(out, 'repro', `hang-job-${job.j}`), { recursive: true });
      process.kill(-job.child.pid, 'SIGKILL');
    }
  }
  const s = (Date.now() - t0) / 1000;
  console.log(`fuzz: ${cases} cases in ${s.toFixed(0)} s (${(cases / s).toFixed(0)}/s), ${failures} failures; jobs: ${health.join(', ')}`);
}, 10_000);

for (const sig of ['SIGINT', 'SIGTERM']) {
  process.once(sig, () => {
    for (const job of state) if (job.code === undefined) process.kill(-job.child.pid, 'SIGKILL');
    process.exit(sig === 'SIGINT' ? 130 : 143);
  });
}
await Promise.all(state.map((j) => j.done));
clearInterval(watchdog);
const wall = (Date.now() - t0) / 1000;

// Summary.
const perTarget = new Map();
const failures = [];
const vague = new Map();
const known = new Map();
let bad = false;
for (const job of state) {
  const results = readJson(join(job.dir, 'results.json'), []);
  for (const r of results) {
    const t = perTarget.get(r.target) ?? { cases: 0, shrinkRuns: 0, ms: 0, fds: 0 };
    t.fds = Math.max(t.fds, r.fdGrowth ?? 0);
    if ((r.fdGrowth ?? 0) >= 32)
      failures.push(`[${r.target}] file descriptors leak: ${r.fdGrowth} more open after ${r.cases} cases (job ${job.j})`);
    t.cases += r.cases;
    t.shrinkRuns += r.shrinkRuns;
    t.ms += r.ms;
    perTarget.set(r.target, t);
    failures.push(...r.failures.map((f) => f.text));
    for (const [k, v] of Object.entries(r.vague)) vague.set(k, { count: (vague.get(k)?.count ?? 0) + v.count, argv: v.argv });
    for (const [k, n] of Object.entries(r.known)) known.set(k, (known.get(k) ?? 0) + n);
  }
  if (job.hang) {
    failures.push(
      `[${job.hang.target}] the process blocked for over ${o.hang} s (killed) on argv ${JSON.stringify(job.hang.argv)}\n  files: ${join(out, 'repro', `hang-job-${job.j}`)}`,
    );
  } else if (job.code !== 0 && !results.some((r) => r.failures.length)) {
    bad = true;
    console.log(
      `\njob ${job.j} exited with ${job.code} without results; its vitest output (${job.logPath}):\n${readFileSync(job.logPath, 'utf8').slice(-4000)}`,
    );
  }
}
const total = [...perTarget.values()].reduce((a, t) => a + t.cases, 0);
console.log('\ntarget    cases    shrink runs   time (s, all jobs)   cases/s (one job)   fds left open');
for (const [name, t] of perTarget) {
  console.log(
    `${name.padEnd(9)} ${String(t.cases).padStart(7)} ${String(t.shrinkRuns).padStart(12)} ${(t.ms / 1000).toFixed(1).padStart(20)} ${(t.cases / (t.ms / 1000)).toFixed(0).padStart(19)} ${String(t.fds).padStart(15)}`,
  );
}
console.log(
  `\ntotal: ${total} cases in ${wall.toFixed(1)} s wall clock (${(total / wall).toFixed(0)} cases/s with ${jobs} jobs), ${failures.length} failures, seed ${seed}`,
);
if (known.size)
  console.log(`known problems (not failed; see test/fuzz/runner.ts KNOWN): ${[...known].map(([k, n]) => `${k} ×${n}`).join(', ')}`);
if (vague.size) {
  console.log(`\nexit-2 messages naming a file but no line:col (${[...vague.values()].reduce((a, v) => a + v.count, 0)} cases), by kind:`);
  for (const [k, v] of [...vague].sort((a, b) => b[1].count - a[1].count).slice(0, 20))
    console.log(`  ${String(v.count).padStart(6)}  ${k}`);
}
if (failures.length) console.log(`\nFAILURES (shrunk):\n\n${failures.join('\n\n')}`);
process.exit(failures.length || bad ? 1 : 0);
