/**
 * `asid-replay schema`: the JSON Schema (draft 2020-12) of the report, checked as a user would use
 * it: every report of the shipped corpus (replayed now) and every stored expectation validates with
 * ajv's 2020-12 validator; a report with a wrong, missing or unknown field does not; docs/report.md
 * names every field of the schema.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { cli } from './helpers/cli.js';

/** Every `*.csv` under `dir`, sorted. */
function csvUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && /\.csv$/i.test(e.name))
    .map((e) => join(e.parentPath, e.name))
    .sort();
}

const CORPUS = csvUnder('traces');

/** A parsed JSON value (reports are mutated field by field). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

let schema: Record<string, unknown>;
let validate: ValidateFunction;

beforeAll(async () => {
  const r = await cli('schema');
  expect(r.code).toBe(0);
  expect(r.err).toBe('');
  schema = JSON.parse(r.out);
  validate = new Ajv2020({ allErrors: true, strict: true }).compile(schema);
});

const errorsOf = (v: ValidateFunction) => (v.errors ?? []).map((e) => `${e.instancePath} ${e.message}`).join('\n');

describe('asid-replay schema', () => {
  it('prints a draft 2020-12 JSON Schema named asid-replay/report that closes every object', () => {
    expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(schema.title).toBe('asid-replay/report');
    expect(schema.additionalProperties).toBe(false);
    expect((schema.properties as Record<string, { const?: unknown }>).schema!.const).toBe('asid-replay/report');
  });

  it('is in the help of the program', async () => {
    expect((await cli('--help')).out).toMatch(/schema\b.*JSON Schema/);
  });

  it('the shipped corpus is there to validate', () => {
    expect(CORPUS.length).toBeGreaterThanOrEqual(30);
  });

  it.each(CORPUS)('the report of %s (replay --json, now) validates', async (trace) => {
    const r = await cli('replay', trace, '--json');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.out);
    expect(validate(report), errorsOf(validate)).toBe(true);
  });

  it('every stored expectation validates', () => {
    for (const trace of CORPUS) {
      const expected = JSON.parse(readFileSync(trace.replace(/\.csv$/i, '.expected.json'), 'utf8'));
      expect(validate(expected), `${trace}: ${errorsOf(validate)}`).toBe(true);
    }
  });

  describe('a report with a wrong field fails', () => {
    // An imported trace: its findings carry src, the optional fields are present.
    let good: Record<string, Json>;
    beforeAll(async () => {
      good = JSON.parse(
        (await cli('replay', 'traces/real/juno-trace-txt-sva.csv', '--json', '--kernel', 'rfc-btm-2023', '--fault', 'no-dvm')).out,
      );
    });
    const mutated = (f: (r: Record<string, Json>) => void) => {
      const r = structuredClone(good);
      f(r);
      return r;
    };

    it('the unmutated report validates (and has stale findings with sources)', () => {
      expect(good.stale.findings.length).toBeGreaterThan(0);
      expect(validate(good), errorsOf(validate)).toBe(true);
    });

    it.each([
      ['a count as a string', (r: Json) => (r.churn.rollovers = '3'), '/churn/rollovers'],
      ['a negative count', (r: Json) => (r.pins.failures = -1), '/pins/failures'],
      ['a fractional count', (r: Json) => (r.trace.events = 1.5), '/trace/events'],
      ['a missing field', (r: Json) => delete r.stale.total, '/stale'],
      ['an unknown field', (r: Json) => (r.churn.rollover = 3), '/churn'],
      ['an unknown stale kind', (r: Json) => (r.stale.findings[0].kind = 'S-OTHER'), '/stale/findings/0/kind'],
      ['another schema name', (r: Json) => (r.schema = 'asid-replay/other'), '/schema'],
      ['another version', (r: Json) => (r.version = 2), '/version'],
      ['a violation kind missing from the counts', (r: Json) => delete r.violationCounts['tlb-alias'], '/violationCounts'],
    ])('%s', (_what, f, path) => {
      const bad = mutated(f);
      expect(validate(bad)).toBe(false);
      expect(validate.errors!.map((e) => e.instancePath)).toContain(path);
    });
  });

  it('docs/report.md documents every field of the schema', () => {
    const doc = readFileSync('docs/report.md', 'utf8');
    const missing: string[] = [];
    const walk = (s: Record<string, Json>, path: string): void => {
      for (const alt of s.anyOf ?? []) walk(alt, path);
      if (s.items) walk(s.items, `${path}[]`);
      for (const [k, sub] of Object.entries(s.properties ?? {})) {
        const p = path ? `${path}.${k}` : k;
        if (!doc.includes('`' + p + '`')) missing.push(p);
        walk(sub as Record<string, unknown>, p);
      }
    };
    walk(schema, '');
    expect(missing).toEqual([]);
  });
});
