/**
 * Expectations without the feature table (issue 21, item 7; docs/report.md "Versions"): the report
 * names the kernel and era and carries answers, not what the model's tables say of them, so
 * - the rewrite of the corpus to report version 3 changed nothing but the version-2 table fields;
 * - adding a feature flag (or a source) to the era table leaves every expectation file as it is;
 * - `check` still passes a version-2 expectation with the same answers, and `--update` rewrites it;
 * - the text report still prints the era's lines, looked up from the table.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkOne } from '../src/check/check-one.js';
import { figureChanges } from '../src/check/check.js';
import { comparable, isOldShape } from '../src/check/compat.js';
import { VARIANT_SOURCES } from '../src/model/cpu/variants.js';
import { ERAS, RFC_BTM_2023, resolveKernel } from '../src/model/kernel/eras.js';
import { replayFile, systemOfTrace } from '../src/replay/engine.js';
import { renderJson, renderText } from '../src/report/render.js';
import { cli, tmp } from './helpers/cli.js';

// A parsed report, changed field by field.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

/** Every `*.expected.json` of the shipped corpus, sorted. */
const EXPECTATIONS = readdirSync('traces', { withFileTypes: true, recursive: true })
  .filter((e) => e.isFile() && e.name.endsWith('.expected.json'))
  .map((e) => join(e.parentPath, e.name))
  .sort();

/** main when this branch began: every expectation in the version-2 shape. */
const BEFORE = 'f077ae85ba6f94944e11cc74823ed7df192622f8';
/** The commit that rewrote them with `check traces --update` (version 3). */
const REWRITE = 'dd332c799a6309d0fdc34b0622bd62c8515284cc';

const git = (...args: string[]): string => execFileSync('git', args, { encoding: 'utf8', maxBuffer: 64 << 20 });

/** The contents of `<commit>:<path>` objects, in one `git cat-file --batch` (one process, not one per file). */
function gitShowAll(objects: readonly string[]): string[] {
  const out = execFileSync('git', ['cat-file', '--batch'], { input: objects.join('\n') + '\n', maxBuffer: 64 << 20 });
  const texts: string[] = [];
  let at = 0;
  for (const o of objects) {
    const eol = out.indexOf(10, at);
    const [, type, size] = out.subarray(at, eol).toString().split(' ');
    if (type !== 'blob') throw new Error(`${o}: ${out.subarray(at, eol).toString()}`);
    texts.push(out.subarray(eol + 1, eol + 1 + Number(size)).toString('utf8'));
    at = eol + 1 + Number(size) + 1; // the blob, then a newline
  }
  return texts;
}
/** Whether both commits are in this checkout's history (not in a tarball or a shallow clone). */
const hasHistory = (() => {
  try {
    git('cat-file', '-e', `${BEFORE}^{commit}`);
    git('cat-file', '-e', `${REWRITE}^{commit}`);
    return true;
  } catch {
    return false;
  }
})();

/** A version-2 report as version 3 would say it: the table fields and the version removed (by hand, not compat.ts). */
function withoutTable(v2: Json): Json {
  const r = structuredClone(v2);
  delete r.version;
  delete r.system.features;
  delete r.system.sources;
  delete r.allocator.source;
  return r;
}

/**
 * The version-2 form of a version-3 report, as the earlier version wrote it: the era's features and
 * sources after `system.driver`, the allocator's provenance after `allocator.variant`.
 */
function asVersion2(v3: Json, featureKeys?: readonly string[]): Json {
  const era = resolveKernel(v3.system.kernel).era;
  // The era table as a version-2 file held it: `featureKeys` leaves out the features added since.
  const features = featureKeys ? Object.fromEntries(Object.entries(era.features).filter(([k]) => featureKeys.includes(k))) : era.features;
  const system: Json = {};
  for (const [k, x] of Object.entries(v3.system)) {
    system[k] = x;
    if (k === 'driver') Object.assign(system, structuredClone({ features, sources: era.sources }));
  }
  const { variant, ...allocator } = v3.allocator;
  return {
    ...v3,
    version: 2,
    system,
    allocator: { variant, source: VARIANT_SOURCES[v3.system.allocator as keyof typeof VARIANT_SOURCES].source, ...allocator },
  };
}

describe('the rewrite of the corpus to report version 3', () => {
  it.skipIf(!hasHistory)('changed nothing but the version and the three table fields, in every expectation file', () => {
    const files = git('ls-tree', '-r', '--name-only', REWRITE, '--', 'traces')
      .split('\n')
      .filter((f) => f.endsWith('.expected.json'));
    const before = git('ls-tree', '-r', '--name-only', BEFORE, '--', 'traces')
      .split('\n')
      .filter((f) => f.endsWith('.expected.json'));
    expect(files).toEqual(before); // none added, none lost
    expect(files.length).toBeGreaterThanOrEqual(30);
    const olds = gitShowAll(files.map((f) => `${BEFORE}:${f}`));
    const nows = gitShowAll(files.map((f) => `${REWRITE}:${f}`));
    files.forEach((f, i) => {
      const old = JSON.parse(olds[i]!);
      const now = JSON.parse(nows[i]!);
      // The old file had all three (the test compares something), the new one has none.
      expect([old.version, typeof old.system.features, Array.isArray(old.system.sources), typeof old.allocator.source], f).toEqual([
        2,
        'object',
        true,
        'string',
      ]);
      expect([now.version, 'features' in now.system, 'sources' in now.system, 'source' in now.allocator], f).toEqual([
        3,
        false,
        false,
        false,
      ]);
      const { version: _version, ...answers } = now;
      expect(answers, f).toStrictEqual(withoutTable(old));
    });
  });

  it('every expectation of the working tree is in the version-3 shape', () => {
    expect(EXPECTATIONS.length).toBeGreaterThanOrEqual(30);
    for (const f of EXPECTATIONS) {
      const r = JSON.parse(readFileSync(f, 'utf8'));
      expect([r.version, isOldShape(r), 'features' in r.system, 'sources' in r.system, 'source' in r.allocator], f).toEqual([
        3,
        false,
        false,
        false,
        false,
      ]);
    }
  });
});

describe('a feature flag added to the era table', () => {
  it('changes no expectation file: check traces stays green, and the model did see the flag', async () => {
    const eras = [...ERAS, RFC_BTM_2023];
    const saved = eras.map((e) => [e.features, [...e.sources]] as const);
    const traits = Object.values(VARIANT_SOURCES) as { source: string }[];
    const savedTraits = traits.map((t) => t.source);
    try {
      for (const e of eras) {
        (e.features as unknown as Record<string, unknown>).dummyFeature = true;
        (e.sources as string[]).push('0123456789ab "a commit the table gained"');
      }
      for (const t of traits) t.source += ' (and a note the table gained)';
      // The model runs with the grown table: the flag is in the system every trace resolves to.
      const sys = await systemOfTrace('traces/real/juno-trace-txt-sva.csv');
      expect((sys.features as unknown as Record<string, unknown>).dummyFeature).toBe(true);
      expect(sys.sources.at(-1)).toContain('a commit the table gained');
      // In this thread (--jobs 1), so the replays see the grown table.
      const r = await cli('check', 'traces', '--jobs', '1', '--json');
      expect(r.err).toBe('');
      const j = JSON.parse(r.out);
      expect([j.traces, j.same, j.differs, j.errors]).toEqual([EXPECTATIONS.length, EXPECTATIONS.length, 0, 0]);
      expect(j.results.filter((x: Json) => x.oldShape)).toEqual([]);
      // And the report JSON holds none of it, byte for byte the stored expectation.
      const report = renderJson(await replayFile('traces/real/juno-trace-txt-sva.csv'));
      expect(report).not.toContain('dummyFeature');
      expect(report).not.toContain('gained');
      expect(report).toBe(readFileSync('traces/real/juno-trace-txt-sva.expected.json', 'utf8'));
    } finally {
      eras.forEach((e, i) => {
        delete (e.features as unknown as Record<string, unknown>).dummyFeature;
        (e.sources as string[]).splice(0, Infinity, ...saved[i]![1]);
      });
      traits.forEach((t, i) => (t.source = savedTraits[i]!));
    }
    expect(Object.keys(ERAS[0]!.features)).not.toContain('dummyFeature');
  });
});

describe('check on a version-2 expectation', () => {
  const TRACE = 'traces/real/juno-trace-txt-sva.csv';
  /** A private copy of the trace beside the version-2 form of its expectation (changed by `edit`). */
  function v2Corpus(edit: (r: Json) => void = () => {}): { dir: string; trace: string; expectation: string } {
    const dir = tmp();
    const trace = join(dir, basename(TRACE));
    copyFileSync(TRACE, trace);
    const r = asVersion2(JSON.parse(readFileSync(TRACE.replace(/\.csv$/, '.expected.json'), 'utf8')));
    edit(r);
    const expectation = trace.replace(/\.csv$/, '.expected.json');
    writeFileSync(expectation, renderJson(r));
    return { dir, trace, expectation };
  }

  it.skipIf(!hasHistory)('the version-2 form built here is the file the earlier version wrote', () => {
    const f = 'traces/real/juno-trace-txt-sva.expected.json';
    const before = git('show', `${BEFORE}:${f}`);
    // the era table has gained features since (unbindAtcAfterRelease, ...): the file predates them
    const keys = Object.keys((JSON.parse(before) as Json).system.features as Json);
    expect(keys.length).toBeGreaterThanOrEqual(12);
    expect(renderJson(asVersion2(JSON.parse(git('show', `${REWRITE}:${f}`)), keys))).toBe(before);
  });

  it('with the same answers: same (old shape); --update rewrites it as the version-3 file, then it is plain ok', async () => {
    const c = v2Corpus();
    const r = await cli('check', c.dir);
    expect(r.code).toBe(0);
    expect(r.out).toContain('1 traces: 1 same');
    expect(r.out).toContain('ok (old shape)');
    expect(r.out).toMatch(/1 expectation in an earlier version's shape .*--update rewrites them/);
    const j = JSON.parse((await cli('check', c.dir, '--json')).out);
    expect(j.results[0]).toMatchObject({ status: 'same', oldShape: true });
    const u = await cli('check', c.dir, '--update');
    expect(u.code).toBe(0);
    expect(u.out).toContain('ok (rewritten in the new shape)');
    expect(u.out).toContain('1 expectations written');
    expect(readFileSync(c.expectation, 'utf8')).toBe(readFileSync(TRACE.replace(/\.csv$/, '.expected.json'), 'utf8'));
    const again = await cli('check', c.dir, '--update');
    expect(again.out).toContain('0 expectations written');
    expect(again.out).not.toContain('old shape');
  });

  it('the table fields are not compared: another feature value or source in the file still passes', async () => {
    const c = v2Corpus((r) => {
      r.system.features.sva = 'none';
      r.system.sources = ['another commit'];
      r.allocator.source = 'another allocator';
    });
    expect((await checkOne({ trace: c.trace })).status).toBe('same');
  });

  it('with an answer changed: differs, and the figures and the diff name the answer, not the table', async () => {
    const c = v2Corpus((r) => (r.churn.rollovers += 1));
    const res = await checkOne({ trace: c.trace });
    expect(res).toMatchObject({ status: 'differs', oldShape: true });
    expect(figureChanges(res)).toEqual(['churn.rollovers 1 -> 0']); // stored 0 + 1, replayed 0
    const r = await cli('check', c.dir);
    expect(r.code).toBe(1);
    expect(r.out).toContain('(read as version 3)');
    expect(r.out).toContain('-    "rollovers": 1,');
    expect(r.out).not.toContain('features');
    expect(r.out).not.toContain('"version"'); // 2 read as 3: no change
  });

  it('another version or schema is compared as it is, and differs', async () => {
    for (const edit of [(r: Json) => (r.version = 1), (r: Json) => (r.version = 4), (r: Json) => (r.schema = 'asid-replay/other')]) {
      const c = v2Corpus(edit);
      expect((await checkOne({ trace: c.trace })).status).toBe('differs');
    }
  });
});

describe('comparable (check/compat.ts)', () => {
  const v3 = JSON.parse(readFileSync('traces/scenarios/pin-limit-4bit.expected.json', 'utf8'));
  it('reads a version-2 report as its version-3 form, and leaves its argument as it was', () => {
    const v2 = asVersion2(v3);
    const copy = structuredClone(v2);
    expect(comparable(v2)).toStrictEqual(v3);
    expect(v2).toStrictEqual(copy);
    expect([isOldShape(v2), isOldShape(v3)]).toEqual([true, false]);
  });
  it('drops a table field from a version-3 report too (ignored on both sides)', () => {
    const r = structuredClone(v3);
    r.allocator.source = 'x';
    expect([isOldShape(r), comparable(r)]).toStrictEqual([true, v3]);
  });
  it('returns anything else as it is', () => {
    for (const v of [null, 3, 'x', [], { schema: 'asid-replay/other', version: 2 }, { ...asVersion2(v3), version: 1 }]) {
      expect(comparable(v)).toBe(v);
      expect(isOldShape(v)).toBe(false);
    }
  });
});

describe('the text report prints the era table, looked up from the kernel it names', () => {
  const TRACE = 'traces/real/juno-trace-txt-sva.csv';
  it.each([
    ['5.11', 'needs FEAT_BTM, never set (-ENODEV)', 'at the last unbind', 'TLBI_NH_VA per page, no cutoff; not on permission upgrade'],
    ['5.12', 'yes', 'at the last unbind', 'TLBI_NH_VA per page, no cutoff; not on permission upgrade'],
    ['6.5', 'yes', 'at the final mmdrop', 'TLBI_NH_VA per page, no cutoff; not on permission upgrade'],
    ['6.6', 'yes', 'at the final mmdrop', 'TLBI_NH_ASID from 512 pages; also on permission upgrade'],
  ])('kernel %s', async (kernel, sva, pasid, notifier) => {
    const r = await replayFile(TRACE, { overrides: { kernel } });
    const text = renderText(r, 20, 400).replace(/[│┌┐└┘─┬┴┼├┤]/g, ' ');
    const line = (k: string) =>
      text
        .split('\n')
        .find((l) => l.trim().startsWith(k))
        ?.slice(k.length + 2)
        .trim();
    const era = resolveKernel(kernel).era;
    expect(line('SVA bind')).toBe(sva);
    expect(line('PASID freed')).toBe(pasid);
    expect(line('SVA notifier')).toBe(notifier);
    expect(line('era sources')).toBe(era.sources.join('; '));
    expect(line('allocator')).toBe(`${era.allocator}: ${VARIANT_SOURCES[era.allocator].source}`);
  });
});
