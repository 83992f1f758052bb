/**
 * `check --reporter github`: one GitHub Actions annotation per failing trace (report differs,
 * missing expectation, trace that cannot be replayed) and per finding `--fail-on` selects, at the
 * trace row it names; JUnit is still written beside them.
 */
import { cpSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, tmp } from './helpers/cli.js';
import { annotation } from '../src/check/github.js';

/** A corpus with one trace of each failure, and one with violations whose report matches. */
function corpus(): string {
  const d = tmp();
  for (const t of ['pin-v1-ordering-bug', 'pin-limit-4bit', 'pin-bound-tight'])
    for (const ext of ['.csv', '.expected.json']) cpSync(join('traces/scenarios', t + ext), join(d, t + ext));
  // differs: a figure of the expectation changed
  const e = JSON.parse(readFileSync(join(d, 'pin-limit-4bit.expected.json'), 'utf8'));
  e.churn.rollovers += 1;
  writeFileSync(join(d, 'pin-limit-4bit.expected.json'), JSON.stringify(e));
  // missing: no expectation
  rmSync(join(d, 'pin-bound-tight.expected.json'));
  // error: an event on a CPU the system does not have, at line 4
  writeFileSync(join(d, 'broken.csv'), '# system: {"cpus": 2}\ntime,event,cpu,task\n0,fork,,1\n10,schedule,7,1\n');
  return d;
}

const lines = (out: string) => out.split('\n').filter((l) => l.startsWith('::'));

describe('check --reporter github', () => {
  it('annotates every failing trace and every --fail-on finding at its row; --junit is still written', async () => {
    const d = corpus();
    const junit = join(tmp(), 'check.xml');
    const r = await cli('check', d, '--ci', '--fail-on', 'violations', '--reporter', 'github', '--junit', junit);
    expect(r.code).toBe(2); // a trace cannot be replayed
    const a = lines(r.out);
    expect(a).toContainEqual(
      expect.stringMatching(new RegExp(`^::error file=${join(d, 'broken.csv')},line=4,col=\\d+::.*cpu 7 does not exist`)),
    );
    expect(a).toContainEqual(
      expect.stringMatching(
        new RegExp(`^::error file=${join(d, 'pin-limit-4bit.csv')},line=1::the report differs from .*pin-limit-4bit\\.expected\\.json`),
      ),
    );
    expect(a).toContainEqual(
      expect.stringMatching(
        new RegExp(`^::error file=${join(d, 'pin-bound-tight.csv')},line=1::no stored expectation .*--update creates it`),
      ),
    );
    const v1 = join(d, 'pin-v1-ordering-bug.csv');
    expect(a).toContain(
      `::error file=${v1},line=35::invariant active-asid-mismatch violated at row 35: CPU0 runs mm P with ASID 1 but the mm's context holds ASID 7 (--fail-on violations)`,
    );
    expect(a).toContainEqual(expect.stringMatching(new RegExp(`^::error file=${v1},line=36::invariant stale-tlb violated at row 36`)));
    expect(a).toHaveLength(5);
    // the pin failure of pin-limit-4bit is not selected: no annotation for it
    expect(r.out).not.toContain('pin(s) refused');
    const xml = readFileSync(junit, 'utf8');
    expect(xml).toContain('tests="4" failures="3" errors="1"');
  });

  it('a finding kind: only its findings; pin-failures: the first refused pin', async () => {
    const d = tmp();
    for (const t of ['pin-limit-4bit', 'asid-move-race'])
      for (const ext of ['.csv', '.expected.json']) cpSync(join('traces/scenarios', t + ext), join(d, t + ext));
    const r = await cli('check', d, '--fail-on', 'pin-failures,S-UNMAP', '--reporter', 'github');
    expect(r.code).toBe(1);
    const a = lines(r.out);
    expect(a).toEqual([
      `::error file=${join(d, 'asid-move-race.csv')},line=13::stale IOTLB entry S-UNMAP (latent) at row 13: entry survived the invalidation of domain D1 (--fail-on S-UNMAP)`,
      `::error file=${join(d, 'asid-move-race.csv')},line=14::stale IOTLB entry S-UNMAP at row 14: 0x1000 of domain D1 is no longer mapped (--fail-on S-UNMAP)`,
      expect.stringMatching(
        new RegExp(
          `^::error file=${join(d, 'pin-limit-4bit.csv')},line=\\d+::1 pin\\(s\\) refused \\(limit \\d+\\), the first at row \\d+ \\(--fail-on pin-failures\\)$`,
        ),
      ),
    ]);
  });

  it('nothing to annotate on a passing corpus; the text reporter writes none', async () => {
    const r = await cli('check', 'traces/scenarios', '--reporter', 'github');
    expect(r.code).toBe(0);
    expect(lines(r.out)).toEqual([]);
    expect(lines((await cli('check', corpus(), '--fail-on', 'violations')).out)).toEqual([]);
  });

  it('an unknown reporter is a usage error', async () => {
    const r = await cli('check', 'traces/scenarios', '--reporter', 'gitlab');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^asid-replay: --reporter gitlab: Allowed choices are text, github/);
  });

  it('escapes what would end the workflow command (newlines, %, and , : in properties)', () => {
    expect(annotation('a,b:c.csv', 3, 'one\ntwo 100%')).toBe('::error file=a%2Cb%3Ac.csv,line=3::one%0Atwo 100%25\n');
  });
});
