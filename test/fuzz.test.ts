/**
 * Fuzzing every input of the CLI (trace v1, the importers' formats, `# system:` JSON, expectation
 * files, command lines): see test/fuzz/targets.ts for what is generated and test/fuzz/runner.ts
 * for the oracle (exit 0/1/2 only, no stack trace, no hang, exit 2 names the file or argument).
 *
 * Per input format, in process (test/fuzz/formats.ts): one fast-check property per format (trace
 * v1, ftrace text, trace.dat v6 and v7, perf script, systrace HTML) over mutated real samples, a
 * few cases each here; `npm run fuzz -- --format <f> -n 100000` is the long run (worker threads,
 * a time limit per case). Two cases go through the real CLI process for the exit status and the
 * message shape.
 *
 * In `npm test` a bounded run with a fixed seed. `npm run fuzz` (scripts/fuzz.mjs) runs this file
 * with FUZZ_RUNS (total cases, split over the targets), FUZZ_SEED, FUZZ_TARGETS, FUZZ_PATH,
 * FUZZ_TIMEOUT (ms per case) and FUZZ_STATE (a folder for progress, the current case and the results).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { importFile } from '../src/import/import.js';
import { replayFile } from '../src/replay/engine.js';
import { renderText } from '../src/report/render.js';
import { InputError } from '../src/trace/errors.js';
import { FORMATS, type FormatDeps, describeFormatCase, formatCaseArb, inputName, runFormatCase } from './fuzz/formats.js';
import { type CampaignResult, campaign, cleanup, describeFailure, runCase } from './fuzz/runner.js';
import { FORMAT_REGRESSIONS, REGRESSIONS } from './fuzz/regressions.js';
import { TARGETS, type TargetName } from './fuzz/targets.js';

const env = process.env;
// npm run fuzz sets FUZZ_RUNS for a long run: that run does the random cases only (the regressions ran in npm test).
const LONG = env.FUZZ_RUNS !== undefined;
/** Share of the long run's cases per target (cases of `check` cost more). */
const SHARE: Record<TargetName, number> = { trace: 0.35, import: 0.25, check: 0.15, argv: 0.25 };
/** Cases per target in `npm test`: a few seconds in all. */
const BOUNDED: Record<TargetName, number> = { trace: 40, import: 20, check: 10, argv: 60 };
/** Cases per input format in `npm test` (the per-format properties below). */
const FORMAT_RUNS = 15;
/** More descriptors open after a campaign than before it: a leak (a few may be caches, workers). */
const FD_LEAK = 32;
const targets = (env.FUZZ_TARGETS ? env.FUZZ_TARGETS.split(',') : [...TARGETS]) as TargetName[];
const state = env.FUZZ_STATE;
if (state) mkdirSync(state, { recursive: true });

/** Long run: progress (throttled) and the case in flight go to FUZZ_STATE for scripts/fuzz.mjs. */
let lastWrite = 0;
const progress = (r: CampaignResult) => {
  if (!state || Date.now() - lastWrite < 1000) return;
  lastWrite = Date.now();
  const rssMb = Math.round(process.memoryUsage().rss / 2 ** 20);
  const fds = existsSync('/proc/self/fd') ? readdirSync('/proc/self/fd').length : undefined; // a leak of file handles shows here
  writeFileSync(
    join(state, 'progress.json'),
    JSON.stringify({
      target: r.target,
      cases: r.cases,
      shrinkRuns: r.shrinkRuns,
      ms: r.ms,
      failures: r.failures.length,
      rssMb,
      fds,
      at: Date.now(),
    }),
  );
};
const results: unknown[] = [];

afterAll(() => cleanup());

describe.skipIf(LONG)('fuzz regressions: inputs of fixed bugs', () => {
  it.each(REGRESSIONS)('$name', async ({ case: c, code, err }) => {
    const v = await runCase(c);
    expect(v.problem).toBeUndefined();
    expect(v.outcome.err).toMatch(err);
    expect(v.outcome.code).toBe(code);
  });

  it('replays that stop at an error close their files', async () => {
    const c = REGRESSIONS.find((r) => r.name.startsWith('a malformed row after'))!.case;
    const fds = () => readdirSync('/proc/self/fd').length;
    await runCase(c);
    const before = fds();
    for (let i = 0; i < 40; i++) await runCase(c);
    await new Promise((res) => setTimeout(res, 100));
    expect(fds() - before).toBeLessThan(10);
  }, 30_000);
});

describe('fuzz: no input crashes the CLI', () => {
  for (const target of targets) {
    it(
      target,
      async () => {
        const runs = LONG ? Math.max(1, Math.round(Number(env.FUZZ_RUNS) * (targets.length === 1 ? 1 : SHARE[target]))) : BOUNDED[target];
        const r = await campaign(target, {
          runs,
          seed: Number(env.FUZZ_SEED ?? 20_260_101) + (env.FUZZ_PATH ? 0 : TARGETS.indexOf(target)),
          path: env.FUZZ_PATH,
          timeoutMs: Number(env.FUZZ_TIMEOUT ?? 10_000),
          maxFailures: LONG ? 3 : 1,
          reproDir: state ? join(state, 'repro') : undefined,
          onStart: state
            ? (c, dir) => writeFileSync(join(state, 'current.json'), JSON.stringify({ target, argv: c.argv, dir, at: Date.now() }))
            : undefined,
          onProgress: progress,
        });
        if (state) {
          results.push({ ...r, failures: r.failures.map((f) => ({ ...f, text: describeFailure(f), case: undefined })) });
          writeFileSync(join(state, 'results.json'), JSON.stringify(results));
        }
        expect(r.failures.map(describeFailure)).toEqual([]);
        expect(r.fdGrowth ?? 0, 'file descriptors left open by the cases').toBeLessThan(FD_LEAK);
      },
      LONG ? 48 * 3600_000 : 120_000,
    );
  }
});

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const DEPS: FormatDeps = { importFile, replayFile, renderText, InputError };

describe.skipIf(LONG)('fuzz: every input format, in process (test/fuzz/formats.ts)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'asid-replay-fuzz-formats-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  /** The case, or a problem after 5 s (an asynchronous stall; the long run's worker threads also bound synchronous loops). */
  const bounded = (p: Promise<Awaited<ReturnType<typeof runFormatCase>>>) => {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<{ problem: string }>((res) => (timer = setTimeout(() => res({ problem: 'no result within 5000 ms' }), 5000)));
    return Promise.race([p, late]).finally(() => clearTimeout(timer));
  };

  FORMATS.forEach((format, i) =>
    it(`${format}: a report, an import whose trace replays, or an input error with file and line (or byte offset)`, async () => {
      await fc.assert(
        fc.asyncProperty(formatCaseArb(format, ROOT), async (c) => {
          const v = await bounded(runFormatCase(c, dir, DEPS));
          if (v.problem) throw new Error(`${v.problem}\n${describeFormatCase(c)}`);
        }),
        { numRuns: FORMAT_RUNS, seed: 20_260_101 + i },
      );
    }),
  );

  it.each(FORMAT_REGRESSIONS)('regression: $name', async ({ format, text, err }) => {
    const v = await runFormatCase(
      { format, sample: 'regression', edits: [], bytes: Buffer.from(text), auto: false, allowLostEvents: false, overlay: false },
      dir,
      DEPS,
    );
    expect(v.problem).toBeUndefined();
    expect(v.outcome).toBe('input-error');
    expect(v.message).toMatch(err);
  });

  it('the CLI process: exit 2 and "asid-replay: file:line:col: message", no stack trace', () => {
    const bin = join(ROOT, 'bin/asid-replay.js');
    const r = FORMAT_REGRESSIONS[0]!;
    const file = join(dir, inputName(r.format));
    writeFileSync(file, r.text);
    const p = spawnSync(process.execPath, [bin, 'import', 'perf-script', file, '-o', join(dir, 'cli.csv')], { encoding: 'utf8' });
    expect(p.status).toBe(2);
    expect(p.stderr).toMatch(new RegExp(`^asid-replay: ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:2:1: timestamp goes backwards`));
    expect(p.stderr).not.toMatch(/^\s*at /m);
    // a trace.dat cut inside its header: the byte offset, no line
    writeFileSync(join(dir, 'cut.dat'), Buffer.from([0x17, 0x08, 0x44, ...Buffer.from('tracing6\0'), 0, 8]));
    const q = spawnSync(process.execPath, [bin, 'import', 'trace-dat', join(dir, 'cut.dat'), '-o', join(dir, 'cli.csv')], {
      encoding: 'utf8',
    });
    expect(q.status).toBe(2);
    expect(q.stderr).toMatch(/^asid-replay: \S+cut\.dat: truncated trace-cmd file: .*\(byte offset \d+\)/);
    expect(q.stderr).not.toMatch(/^\s*at /m);
  }, 30_000);
});
