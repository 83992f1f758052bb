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
 *
 * Per input format, in process (test/fuzz/formats.ts: real samples of bounded size, mutated):
 *
 *   npm run fuzz -- --format trace-v1|ftrace|trace-dat-v6|trace-dat-v7|perf-script|systrace|all[,...] -n 100000
 *                   [--seed S] [--jobs N] [--timeout 5000 (ms per case)] [--case I (replay case I of --seed)]
 *                   [--cli 3 (process-level cases per format)] [--out DIR]
 *
 * Each format's cases are split over `--jobs` worker threads that run the readers of dist/ (no
 * process per case). A case that runs over `--timeout` is a failure: a worker whose case is still
 * running at the limit is terminated (a synchronous loop cannot be interrupted otherwise) and
 * restarted after that case. Failures are shrunk by fast-check and written to DIR/repro. Then a few
 * cases per format run through the real CLI (`bin/asid-replay.js`, a process each) to check the
 * exit status 2 and the message shape `asid-replay: file[:line[:col]]: message` without a stack.
 */
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Worker, isMainThread, workerData } from 'node:worker_threads';

const ROOT = new URL('..', import.meta.url).pathname;

if (!isMainThread && workerData?.formatWorker) {
  await formatWorker(workerData);
  process.exit(0); // ends this worker thread
}
if (process.argv.slice(2).some((a) => a === '--format' || a.startsWith('--format='))) {
  await formatMain();
  process.exit(process.exitCode ?? 0);
}

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

// ---------------------------------------------------------------------------------------------
// --format: the readers of each input format, in process (test/fuzz/formats.ts).

/** test/fuzz/formats.ts as JavaScript (it imports only types of the project: transpiled alone, no type check). */
async function transpileCore() {
  const ts = (await import('typescript')).default;
  const src = readFileSync(join(ROOT, 'test/fuzz/formats.ts'), 'utf8');
  const { outputText } = ts.transpileModule(src, {
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
    fileName: 'formats.ts',
  });
  const dir = join(ROOT, 'node_modules/.cache/asid-replay-fuzz');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `formats-${process.pid}.mjs`);
  writeFileSync(file, outputText);
  return file;
}

/** The project's functions from dist/ (what the CLI runs). */
async function distDeps() {
  const d = (p) => import(join(ROOT, 'dist', p));
  const [{ importFile }, { replayFile }, { renderText }, { InputError }] = await Promise.all([
    d('import/import.js'),
    d('replay/engine.js'),
    d('report/render.js'),
    d('trace/errors.js'),
  ]);
  return { importFile, replayFile, renderText, InputError };
}

/** A worker: cases [start, end) of one format; the case in flight and its start time in `sab` for the watchdog. */
async function formatWorker({ core: corePath, format, seed, start, end, timeoutMs, sab, dir, keep }) {
  const { parentPort } = await import('node:worker_threads');
  const core = await import(corePath);
  const deps = await distDeps();
  const slot = new Float64Array(sab);
  mkdirSync(dir, { recursive: true });
  const run = (c) => core.runFormatCase(c, dir, deps);
  const counts = {};
  const unlocated = {};
  let kept = 0;
  let last = Date.now();
  for (let i = start; i < end; i++) {
    const c = core.caseAt(format, ROOT, seed, i);
    slot[0] = i;
    slot[1] = Date.now();
    const v = await run(c);
    slot[1] = 0;
    slot[2]++; // cases finished by this worker: read by the parent, also after a termination
    counts[v.outcome] = (counts[v.outcome] ?? 0) + 1;
    if (v.unlocated) unlocated[v.unlocated] = (unlocated[v.unlocated] ?? 0) + 1;
    if (!v.problem && v.ms > timeoutMs) v.problem = `the case took ${v.ms.toFixed(0)} ms (limit ${timeoutMs} ms)`;
    if (v.problem) {
      slot[1] = Date.now() + 600_000; // shrinking: many cases in a row; the watchdog waits longer
      const s = v.problem.startsWith('the case took')
        ? undefined
        : await core.shrinkCase(format, ROOT, seed, i, run).catch(() => undefined);
      slot[1] = 0;
      const m = s ?? { case: c, verdict: v, shrinks: 0 };
      parentPort.postMessage({
        type: 'failure',
        index: i,
        problem: m.verdict.problem ?? v.problem,
        original: v.problem,
        shrinks: m.shrinks,
        text: core.describeFormatCase(m.case),
        bytes: m.case.bytes,
      });
    } else if (v.outcome === 'input-error' && kept < keep && (kept === 0 || i % 7 === 0)) {
      kept++;
      parentPort.postMessage({ type: 'cli', index: i, bytes: c.bytes, message: v.message, auto: c.auto });
    }
    if (Date.now() - last > 1000) {
      last = Date.now();
      parentPort.postMessage({ type: 'progress', counts, unlocated });
      for (const k of Object.keys(counts)) delete counts[k];
      for (const k of Object.keys(unlocated)) delete unlocated[k];
    }
  }
  parentPort.postMessage({ type: 'progress', counts, unlocated });
}

async function formatMain() {
  const { values: o } = parseArgs({
    options: {
      format: { type: 'string' },
      runs: { type: 'string', short: 'n', default: '100000' },
      seed: { type: 'string', default: String(Date.now() % 2 ** 31) },
      jobs: { type: 'string', default: String(Math.min(2, availableParallelism())) },
      timeout: { type: 'string', default: '5000' },
      case: { type: 'string' },
      cli: { type: 'string', default: '3' },
      out: { type: 'string' },
    },
  });
  const corePath = await transpileCore();
  const core = await import(corePath);
  const names = o.format === 'all' ? [...core.FORMATS] : o.format.split(',').map((f) => core.FORMAT_ALIASES[f] ?? f);
  for (const f of names)
    if (!core.FORMATS.includes(f)) {
      console.error(`fuzz: unknown format "${f}"; expected all or one of ${core.FORMATS.join(', ')}`);
      process.exitCode = 2;
      return;
    }
  const seed = Number(o.seed);
  const timeoutMs = Number(o.timeout);
  const out = o.out ?? mkdtempSync(join(tmpdir(), 'asid-replay-fuzz-formats-'));
  mkdirSync(join(out, 'repro'), { recursive: true });
  const only = o.case === undefined ? undefined : Number(o.case);
  const runs = only === undefined ? Number(o.runs) : 1;
  const jobs = Math.max(1, Math.min(Number(o.jobs), runs));
  console.log(
    `fuzz: formats ${names.join(', ')}: ${only === undefined ? `${runs} cases each` : `case ${only}`}, seed ${seed}, ${jobs} worker threads, ${timeoutMs} ms per case; reproducers in ${join(out, 'repro')}`,
  );
  const rows = [];
  let failing = 0;
  for (const format of names) {
    const r = await runFormat(core, corePath, { format, seed, runs, jobs, timeoutMs, out, first: only ?? 0, keep: Number(o.cli) });
    r.cli = cliChecks(format, r.cliCases, out);
    rows.push(r);
    failing += r.failures.length + r.cli.filter((c) => c.problem).length;
    console.log(`fuzz ${format}: done, ${r.cases} cases in ${r.seconds.toFixed(1)} s, ${r.failures.length} failures`);
    writeResults(out, rows);
  }
  rmSync(corePath, { force: true });
  console.log('\nformat         cases   failures   time (s)   cases/s   outcomes');
  for (const r of rows)
    console.log(
      `${r.format.padEnd(13)} ${String(r.cases).padStart(7)} ${String(r.failures.length).padStart(10)} ${r.seconds.toFixed(1).padStart(10)} ${(r.cases / r.seconds).toFixed(0).padStart(9)}   ${Object.entries(
        r.counts,
      )
        .map(([k, n]) => `${k} ${n}`)
        .join(', ')}`,
    );
  for (const r of rows) {
    const u = Object.entries(r.unlocated).sort((a, b) => b[1] - a[1]);
    if (u.length)
      console.log(
        `\n${r.format}: input errors about the whole file (no line or offset), by kind:\n${u.map(([k, n]) => `  ${String(n).padStart(6)}  ${k}`).join('\n')}`,
      );
    console.log(
      `${r.format}: process-level cases: ${r.cli.map((c) => (c.problem ? `FAILED (${c.problem})` : `exit ${c.status} ok`)).join('; ') || 'none'}`,
    );
  }
  const fails = rows.flatMap((r) => r.failures);
  if (fails.length) console.log(`\nFAILURES:\n\n${fails.map((f) => f.report).join('\n\n')}`);
  writeResults(out, rows);
  console.log(`\nseed ${seed}; results in ${join(out, 'results.json')}`);
  process.exitCode = failing ? 1 : 0;
}

/** Each format's figures so far, in DIR/results.json. */
function writeResults(out, rows) {
  const plain = rows.map((r) => ({ ...r, cliCases: undefined, failures: r.failures.map((f) => f.report) }));
  writeFileSync(join(out, 'results.json'), JSON.stringify(plain, null, 2));
}

/** One format over worker threads, with the per-case watchdog. */
async function runFormat(core, corePath, { format, seed, runs, jobs, timeoutMs, out, first, keep }) {
  const t0 = Date.now();
  const r = { format, cases: 0, counts: {}, unlocated: {}, failures: [], cliCases: [], seconds: 0 };
  const ext = core.inputName(format).replace(/^.*\./, '');
  const fail = (index, problem, text, bytes, shrinks = 0) => {
    const repro = join(out, 'repro', `${format}-${index}.${ext}`);
    writeFileSync(repro, bytes);
    r.failures.push({
      index,
      problem,
      report: `[${format}] case ${index}: ${problem.split('\n').slice(0, 14).join('\n    ')}\n${text}\n  input: ${repro} (shrunk ${shrinks} times)\n  replay: npm run fuzz -- --format ${format} --seed ${seed} --case ${index}`,
    });
  };
  const start = (from, to, j) =>
    new Promise((resolve) => {
      if (from >= to) return resolve();
      const sab = new SharedArrayBuffer(24);
      const slot = new Float64Array(sab);
      slots.add(slot);
      const w = new Worker(new URL(import.meta.url), {
        workerData: {
          formatWorker: true,
          core: corePath,
          format,
          seed,
          start: from,
          end: to,
          timeoutMs,
          sab,
          dir: join(out, 'work', `${format}-${j}`),
          keep,
        },
      });
      let killed = false;
      const dog = setInterval(() => {
        if (slot[1] > 0 && Date.now() - slot[1] > timeoutMs) {
          killed = true;
          clearInterval(dog);
          const i = slot[0];
          const c = core.caseAt(format, ROOT, seed, i);
          fail(i, `no result within ${timeoutMs} ms (the worker was terminated)`, core.describeFormatCase(c), c.bytes);
          r.cases += slot[2] + 1;
          slots.delete(slot);
          r.counts.killed = (r.counts.killed ?? 0) + 1;
          void w.terminate().then(() => start(i + 1, to, j).then(resolve));
        }
      }, 100);
      w.on('message', (m) => {
        if (m.type === 'progress') {
          for (const [k, n] of Object.entries(m.counts)) r.counts[k] = (r.counts[k] ?? 0) + n;
          for (const [k, n] of Object.entries(m.unlocated)) r.unlocated[k] = (r.unlocated[k] ?? 0) + n;
        } else if (m.type === 'failure') fail(m.index, m.problem, m.text, Buffer.from(m.bytes), m.shrinks);
        else if (m.type === 'cli') r.cliCases.push(m);
      });
      w.on('error', (e) => {
        if (killed) return;
        killed = true;
        clearInterval(dog);
        const i = slot[0];
        const c = core.caseAt(format, ROOT, seed, i);
        fail(i, `the worker died: ${e?.stack ?? e}`, core.describeFormatCase(c), c.bytes);
        r.cases += slot[2] + 1;
        slots.delete(slot);
        start(i + 1, to, j).then(resolve);
      });
      w.on('exit', () => {
        clearInterval(dog);
        if (killed) return;
        r.cases += slot[2];
        slots.delete(slot);
        resolve();
      });
    });
  const slots = new Set();
  const live = () => [...slots].reduce((a, x) => a + x[2], 0);
  const ticker = setInterval(() => {
    const s = (Date.now() - t0) / 1000;
    console.log(
      `fuzz ${format}: ${r.cases + live()} cases in ${s.toFixed(0)} s (${((r.cases + live()) / s).toFixed(0)}/s), ${r.failures.length} failures`,
    );
  }, 15_000);
  const per = Math.ceil(runs / jobs);
  await Promise.all(Array.from({ length: jobs }, (_, j) => start(first + j * per, first + Math.min(runs, (j + 1) * per), j)));
  clearInterval(ticker);
  r.seconds = (Date.now() - t0) / 1000;
  rmSync(join(out, 'work'), { recursive: true, force: true });
  return r;
}

/** Run a few refused inputs through the real CLI: exit 2, `asid-replay: <file>[:line[:col]]: message`, no stack trace. */
function cliChecks(format, cases, out) {
  const STACK = /^\s*at (?:.+ \()?(?:file:|node:|\/|<anonymous>|native)[^\n]*\)?$/m; // a frame of a stack trace
  const bin = join(ROOT, 'bin/asid-replay.js');
  const dir = join(out, 'cli', format);
  mkdirSync(dir, { recursive: true });
  const kind = {
    ftrace: 'ftrace',
    'trace-dat-v6': 'trace-dat',
    'trace-dat-v7': 'trace-dat',
    'perf-script': 'perf-script',
    systrace: 'systrace',
  }[format];
  return cases.map((c) => {
    const file = join(dir, `case-${c.index}.${format.startsWith('trace-dat') ? 'dat' : 'txt'}`);
    writeFileSync(file, Buffer.from(c.bytes));
    const argv = format === 'trace-v1' ? ['replay', file] : ['import', c.auto ? 'auto' : kind, file, '-o', join(dir, 'out.csv')];
    const p = spawnSync(process.execPath, [bin, ...argv], { encoding: 'utf8', timeout: 60_000 });
    const err = p.stderr ?? '';
    const first = err.split('\n')[0] ?? '';
    const esc = file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    let problem;
    if (p.status !== 2) problem = `exit ${p.status ?? p.signal}, expected 2: ${err.slice(0, 300)}`;
    else if (STACK.test(err + p.stdout)) problem = `a stack trace: ${err.slice(0, 500)}`;
    else if (!new RegExp(`^asid-replay: ${esc}(:\\d+(:\\d+)?)?: \\S`).test(first)) problem = `message shape: ${first.slice(0, 300)}`;
    else if (c.message && !err.includes(c.message.replace(/^.*?: /, '').slice(0, 60)))
      problem = `not the in-process message: ${first.slice(0, 300)}`;
    return { index: c.index, status: p.status, problem, message: first.slice(0, 200) };
  });
}
