/**
 * Fuzzing every input of the CLI (trace v1, the importers' formats, `# system:` JSON, expectation
 * files, command lines): see test/fuzz/targets.ts for what is generated and test/fuzz/runner.ts
 * for the oracle (exit 0/1/2 only, no stack trace, no hang, exit 2 names the file or argument).
 *
 * In `npm test` a bounded run with a fixed seed. `npm run fuzz` (scripts/fuzz.mjs) runs this file
 * with FUZZ_RUNS (total cases, split over the targets), FUZZ_SEED, FUZZ_TARGETS, FUZZ_PATH,
 * FUZZ_TIMEOUT (ms per case) and FUZZ_STATE (a folder for progress, the current case and the results).
 */
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type CampaignResult, campaign, cleanup, describeFailure, runCase } from './fuzz/runner.js';
import { REGRESSIONS } from './fuzz/regressions.js';
import { TARGETS, type TargetName } from './fuzz/targets.js';

const env = process.env;
// npm run fuzz sets FUZZ_RUNS for a long run: that run does the random cases only (the regressions ran in npm test).
const LONG = env.FUZZ_RUNS !== undefined;
/** Share of the long run's cases per target (cases of `check` cost more). */
const SHARE: Record<TargetName, number> = { trace: 0.35, import: 0.25, check: 0.15, argv: 0.25 };
/** Cases per target in `npm test`: a few seconds in all. */
const BOUNDED: Record<TargetName, number> = { trace: 150, import: 80, check: 40, argv: 150 };
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
