/**
 * The fuzz runner: runs a {@link FuzzCase} through the CLI in this process (`main` from src/cli,
 * with captured output) in a fresh temporary folder, and judges the outcome with the oracle of
 * the issue:
 *
 * - the call returns within the time limit, and returns (never rejects);
 * - the exit status is 0, 1 or 2 (3 is "internal error": a bug);
 * - no output holds a stack trace or "internal error", no unhandled rejection or exception occurs;
 * - no temporary output file (`*.tmp`) is left behind;
 * - exit 2 names what is at fault: a file of the case, an argument or an option;
 * - a successful import writes a trace that replays with exit 0;
 * - over a campaign, the process does not keep files open (a leak would exhaust descriptors in a
 *   long `check`).
 *
 * An exit 2 that names an input file but no `:line:col` of it is a "vague" message: counted and
 * reported (by message template), not a failure, since whole-file problems have no line.
 *
 * {@link campaign} runs one target with fast-check: failures are shrunk to a minimal case, written
 * out as a reproducer folder, and the campaign goes on with a new seed for the remaining runs.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { isMainThread } from 'node:worker_threads';
import fc from 'fast-check';
import { main } from '../../src/cli/main.js';
import { type FuzzCase, TARGET_ARBS, type TargetName } from './targets.js';

process.env.ASID_REPLAY_DEBUG = '1'; // internal errors print their stack: it goes into the reproducer

/** What one CLI call did. */
export interface Outcome {
  /** Exit status, unless the call hung or threw. */
  code?: number;
  hang?: boolean;
  threw?: string;
  /** `io.out`, `io.err`, and what went to process.stdout/stderr directly (`-o -`, progress bars). */
  out: string;
  err: string;
  raw: string;
  ms: number;
  unhandled: string[];
}

/** A case's verdict: `problem` fails it; `known` is a known problem (see {@link KNOWN}); `vague` is an exit-2 message without `:line:col`. */
export interface Verdict {
  outcome: Outcome;
  argv: string[];
  problem?: string;
  known?: string;
  vague?: string;
}

/**
 * Known problems whose fix lies outside the files the fuzz work may change (reported in the fuzz
 * findings with a reproducer): counted and printed, not failed. Remove an entry once it is fixed.
 */
export const KNOWN: { id: string; test: (problem: string, argv: readonly string[]) => boolean }[] = [
  // (none open: the three found so far, fixed in src/check, src/cli and src/trace/errors.ts, were
  // an empty path not named, a deeply nested expectation overflowing check's stack, and
  // `check --junit` leaving its temporary file when the work failed)
];

let current: Outcome | undefined;
let listening = false;
/** Unhandled rejections and exceptions are charged to the case that is running. */
function listen(): void {
  if (listening) return;
  listening = true;
  const record = (e: unknown) => current?.unhandled.push(String((e as Error)?.stack ?? e));
  process.on('unhandledRejection', record);
  process.on('uncaughtException', record);
}

/** process.chdir works in a process, not in a worker thread (vitest's `threads` pool). */
const canChdir = () => typeof process.chdir === 'function' && isMainThread;

/**
 * Run `argv` through `main` with captured output, at most `timeoutMs`, in folder `cwd` (relative
 * paths among the arguments, and temporary files next to them, stay inside the case folder).
 */
export async function runCli(argv: string[], isTty: boolean, timeoutMs: number, cwd: string): Promise<Outcome> {
  listen();
  const home = process.cwd();
  const inCwd = canChdir();
  if (inCwd) process.chdir(cwd);
  const o: Outcome = { out: '', err: '', raw: '', ms: 0, unhandled: [] };
  current = o;
  const { stdout, stderr } = process;
  const w0 = stdout.write,
    w1 = stderr.write;
  const grab = (chunk: unknown, enc?: unknown, cb?: unknown) => {
    o.raw += typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString();
    const done = typeof enc === 'function' ? enc : cb;
    if (typeof done === 'function') queueMicrotask(() => done());
    return true;
  };
  stdout.write = grab as typeof stdout.write;
  stderr.write = grab as typeof stderr.write;
  const t0 = performance.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    const run = main(argv, { out: (s) => void (o.out += s), err: (s) => void (o.err += s), isTty }).then(
      (code) => void (o.code = code),
      (e: unknown) => void (o.threw = String((e as Error)?.stack ?? e)),
    );
    const late = new Promise<void>((res) => (timer = setTimeout(() => ((o.hang = true), res()), timeoutMs)));
    await Promise.race([run, late]);
    await new Promise((res) => setImmediate(res)); // let a rejection left behind by the call surface now
  } finally {
    clearTimeout(timer);
    if (inCwd) process.chdir(home);
    stdout.write = w0;
    stderr.write = w1;
    o.ms = performance.now() - t0;
    current = undefined;
  }
  return o;
}

/** A frame of a JavaScript stack trace. */
const STACK_RE = /^\s*at (?:.+ \()?(?:file:|node:|\/|<anonymous>|native)[^\n]*\)?$/m;

/** Words that name nothing: the program's own name and commander's usage hint. */
const noise = (s: string) => s.replace(/asid-replay:/g, '').replace(/\(run with --help for usage\)/g, '');

/** Judge an outcome; `dir` is the case folder, `argv` the resolved arguments. */
export function judge(c: FuzzCase, argv: string[], dir: string, o: Outcome, timeoutMs: number): Pick<Verdict, 'problem' | 'vague'> {
  if (o.hang) return { problem: `no exit within ${timeoutMs} ms` };
  if (o.threw) return { problem: `main() rejected: ${o.threw}` };
  if (o.unhandled.length) return { problem: `unhandled error: ${o.unhandled[0]}` };
  if (o.code !== 0 && o.code !== 1 && o.code !== 2) return { problem: `exit ${o.code}: ${o.err.trim()}` };
  const all = o.out + o.err + o.raw;
  if (STACK_RE.test(all)) return { problem: `stack trace in the output: ${all.trim()}` };
  if (/internal error:/i.test(all)) return { problem: `internal error: ${all.trim()}` };
  const left = walk(dir).filter((f) => f.endsWith('.tmp'));
  if (left.length) return { problem: `temporary file left behind: ${left.join(', ')}` };
  if (o.code !== 2) return {};
  // check prints trace errors on stdout (in its result list); everything else on stderr
  const msg = noise(o.out + o.err);
  const named =
    /^\s*(error: )?(missing|unknown|too many|option|required|excess|invalid).*'[^']*'/im.test(msg) || // commander's usage errors quote the option, argument or command
    msg.includes(dir) ||
    argv
      .slice(1)
      .some((a) => (a.length >= 2 && /\D/.test(a) && msg.includes(a)) || [` ${a}:`, `"${a}"`, `'${a}'`].some((q) => msg.includes(q)));
  if (!named) return { problem: `exit 2 names neither a file nor an argument: ${o.err.trim() || o.out.trim() || '(no message)'}` };
  if (
    c.target !== 'argv' &&
    msg.includes(dir) &&
    !/(^|\s)--?[a-z]|command line/.test(msg) &&
    !new RegExp(`${escape(dir)}[^\\s:]*:\\d+:\\d+`).test(msg)
  )
    return { vague: template(msg, dir) };
  return {};
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
/** A message with its variable parts blanked, to count vague messages by kind. */
const template = (msg: string, dir: string) =>
  (msg.split(/[\r\n]/).find((l) => l.includes(dir)) ?? '')
    .replace(new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*[A-Za-z]`, 'g'), '') // ANSI colour codes
    .trim()
    .split(dir)
    .join('<dir>')
    .replace(/"[^"]*"/g, '"…"')
    .replace(/\d+/g, 'N')
    .slice(0, 200);

function walk(dir: string): string[] {
  try {
    return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)]));
  } catch {
    return [];
  }
}

/** Write the case's files and folders into `dir`. */
export function materialize(c: FuzzCase, dir: string): void {
  for (const d of c.dirs ?? []) mkdirSync(join(dir, d), { recursive: true });
  for (const [p, content] of Object.entries(c.files)) {
    mkdirSync(dirname(join(dir, p)), { recursive: true });
    writeFileSync(join(dir, p), content);
  }
}

/** `@` → the folder, `@/x` → a path inside it. */
export const resolveArgv = (argv: readonly string[], dir: string): string[] =>
  argv.map((a) => (a === '@' ? dir : a.startsWith('@/') ? join(dir, a.slice(2)) : a));

let root: string | undefined;
/** The parent folder of every case folder of this process. */
function caseRoot(): string {
  return (root ??= mkdtempSync(join(process.env.FUZZ_TMP ?? tmpdir(), 'arfuzz-')));
}

/** Remove the case folders of this process (call when done). */
export function cleanup(): void {
  if (root) rmSync(root, { recursive: true, force: true });
  root = undefined;
}

/** Run one case in a fresh folder and judge it. The folder is removed, unless the call hung (it may still be in use). */
export async function runCase(c: FuzzCase, timeoutMs = 10_000, onStart?: (c: FuzzCase, dir: string) => void): Promise<Verdict> {
  const dir = mkdtempSync(join(caseRoot(), 'c-'));
  try {
    materialize(c, dir);
    const argv = resolveArgv(c.argv, dir);
    onStart?.(c, dir);
    const outcome = await runCli(argv, c.isTty ?? false, timeoutMs, dir);
    let v: Verdict = { outcome, argv, ...judge(c, argv, dir, outcome, timeoutMs) };
    if (!v.problem && outcome.code === 0 && c.replayOutput) {
      const again = resolveArgv(['replay', c.replayOutput], dir);
      const o2 = await runCli(again, false, timeoutMs, dir);
      const j = judge({ ...c, target: 'trace' }, again, dir, o2, timeoutMs);
      if (j.problem || o2.code !== 0)
        v = { ...v, problem: `the imported trace does not replay (exit ${o2.code}): ${j.problem ?? o2.err.trim()}` };
    }
    const known = v.problem ? KNOWN.find((k) => k.test(v.problem!, argv)) : undefined;
    if (known) v = { ...v, problem: undefined, known: known.id };
    if (outcome.hang) return v;
    rmSync(dir, { recursive: true, force: true });
    return v;
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}

/** A failure found by a campaign, shrunk. */
export interface Failure {
  target: TargetName;
  problem: string;
  /** The minimal case and its resolved arguments. */
  case: FuzzCase;
  stderr: string;
  /** fast-check seed and path: `--seed <seed> --path <path> --target <target>` replays it. */
  seed: number;
  path: string;
  shrinks: number;
  /** Folder holding the case files, argv.json and repro.sh. */
  repro?: string;
}

export interface CampaignResult {
  target: TargetName;
  /** Generated cases run (shrinking runs not included). */
  cases: number;
  shrinkRuns: number;
  ms: number;
  failures: Failure[];
  /** Vague exit-2 messages by template: count and the first example. */
  vague: Record<string, { count: number; argv: string[]; case: FuzzCase }>;
  /** Cases with a {@link KNOWN} problem, by id. */
  known: Record<string, number>;
  /** Open file descriptors after the campaign minus before (a leak grows with the cases; Linux only). */
  fdGrowth?: number;
}

/** Open file descriptors of this process (undefined where /proc is missing). */
const openFds = (): number | undefined => (existsSync('/proc/self/fd') ? readdirSync('/proc/self/fd').length : undefined);

export interface CampaignOptions {
  runs: number;
  seed: number;
  /** Replay one counterexample (with its seed) instead of a campaign. */
  path?: string;
  timeoutMs?: number;
  /** Stop the target after this many failures. */
  maxFailures?: number;
  shrink?: boolean;
  /** Where reproducer folders go (none when undefined). */
  reproDir?: string;
  /** Called before each case runs (the long run records it, to name a case that hangs the process). */
  onStart?: (c: FuzzCase, dir: string) => void;
  /** Called after each case with the running totals. */
  onProgress?: (r: CampaignResult) => void;
}

/** Problem kind without its variable parts (paths, numbers), to tell failures apart. */
const signature = (p: string) => (p.split('\n')[0] ?? '').replace(/\/\S+/g, '<path>').replace(/\d+/g, 'N').slice(0, 120);

/** Run `runs` cases of `target` from `seed`; shrink and record failures, then continue with the next seed. */
export async function campaign(target: TargetName, o: CampaignOptions): Promise<CampaignResult> {
  const r: CampaignResult = { target, cases: 0, shrinkRuns: 0, ms: 0, failures: [], vague: {}, known: {} };
  const timeoutMs = o.timeoutMs ?? 10_000;
  const t0 = performance.now();
  let executed = 0;
  let seed = o.seed;
  let remaining = o.path ? 1 : o.runs;
  const seen = new Set<string>();
  const fds0 = openFds();
  while (remaining > 0 && r.failures.length < (o.maxFailures ?? 3)) {
    const before = executed;
    const prop = fc.asyncProperty(TARGET_ARBS[target], async (c) => {
      const v = await runCase(c, timeoutMs, o.onStart);
      executed++;
      if (v.known) r.known[v.known] = (r.known[v.known] ?? 0) + 1;
      if (v.vague) {
        const slot = (r.vague[v.vague] ??= { count: 0, argv: v.argv, case: c });
        slot.count++;
      }
      r.ms = performance.now() - t0;
      o.onProgress?.({ ...r, cases: r.cases + executed - before });
      if (v.problem) throw new Error(v.problem);
    });
    const d = await fc.check(prop, { numRuns: remaining, seed, path: o.path, endOnFailure: o.shrink === false });
    r.cases += d.numRuns;
    r.shrinkRuns += executed - before - d.numRuns;
    remaining -= d.numRuns;
    if (!d.failed || !d.counterexample) break;
    const c = d.counterexample[0];
    const v = await runCase(c, timeoutMs);
    const problem = v.problem ?? String((d.errorInstance as Error)?.message ?? d.errorInstance);
    const f: Failure = {
      target,
      problem,
      case: c,
      stderr: v.outcome.err,
      seed: d.seed,
      path: d.counterexamplePath ?? '',
      shrinks: d.numShrinks,
    };
    if (!seen.has(signature(problem))) {
      seen.add(signature(problem));
      if (o.reproDir) f.repro = writeRepro(f, join(o.reproDir, `${target}-${r.failures.length + 1}`));
      r.failures.push(f);
    } else r.failures.push({ ...f, problem: `(again) ${problem}` });
    seed = (Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) >>> 1) | 0;
  }
  r.ms = performance.now() - t0;
  await new Promise((res) => setTimeout(res, 200)); // let streams that are closing close
  const fds1 = openFds();
  if (fds0 !== undefined && fds1 !== undefined) r.fdGrowth = fds1 - fds0;
  return r;
}

/** Write a failure's case folder with argv.json and repro.sh (run it from anywhere). */
export function writeRepro(f: Failure, dir: string): string {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  materialize(f.case, dir);
  const argv = f.case.argv.map((a) => (a === '@' ? '.' : a.startsWith('@/') ? a.slice(2) : a));
  const bin = join(dirname(new URL(import.meta.url).pathname), '../../bin/asid-replay.js');
  const sh = (a: string) => `'${a.replace(/'/g, `'\\''`)}'`;
  writeFileSync(
    join(dir, 'argv.json'),
    JSON.stringify(
      { argv, isTty: f.case.isTty ?? false, replayOutput: f.case.replayOutput, problem: f.problem, seed: f.seed, path: f.path },
      null,
      2,
    ) + '\n',
  );
  writeFileSync(
    join(dir, 'repro.sh'),
    `#!/bin/sh\n# ${f.problem.split('\n')[0]}\ncd "$(dirname "$0")" && ASID_REPLAY_DEBUG=1 node ${sh(bin)} ${argv.map(sh).join(' ')}\n`,
    { mode: 0o755 },
  );
  return dir;
}

/** A failure as text: the problem, the arguments, each file (first 300 characters, escaped), how to replay it. */
export function describeFailure(f: Failure): string {
  const files = Object.entries(f.case.files).map(([p, c]) => {
    const s = typeof c === 'string' ? c : Buffer.from(c).toString('utf8');
    return `    ${p} (${s.length} chars): ${JSON.stringify(s.slice(0, 300))}${s.length > 300 ? '…' : ''}`;
  });
  return [
    `[${f.target}] ${f.problem.split('\n').slice(0, 12).join('\n    ')}`,
    `  argv: ${JSON.stringify(f.case.argv)}${f.case.isTty ? ' (isTty)' : ''}`,
    ...(f.case.dirs?.length ? [`  folders: ${f.case.dirs.join(', ')}`] : []),
    '  files:',
    ...files,
    `  shrunk ${f.shrinks} times; replay: npm run fuzz -- --target ${f.target} --seed ${f.seed} --path ${f.path}`,
    ...(f.repro ? [`  reproducer: ${f.repro}/repro.sh`] : []),
  ].join('\n');
}
