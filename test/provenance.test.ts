/**
 * Provenance: a trace's `src` column (the recording's timestamp and line of each event) is shown
 * beside every row a finding names, in the JSON report (`src` after `row`, `fillSrc` after
 * `fillRow`, ...), the text report and the HTML findings list; a trace without it reports exactly
 * as before. End to end: a finding of an imported recording leads back to the recording's line.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { replayFile } from '../src/replay/engine.js';
import { cli, tmp, tmpFile } from './helpers/cli.js';

/** The source this test gives trace row `row`: not derivable from the row by the code under test. */
const srcOf = (row: number) => `${1000 + row}.5@L${row * 10}`;

/** `text` with a src column whose cell on line n is srcOf(n). */
function withSrcColumn(text: string): string {
  let header = false;
  return text
    .split('\n')
    .map((l, i) => {
      if (l === '' || l.startsWith('#')) return l;
      if (!header) {
        header = true;
        return `${l},src`;
      }
      return `${l},${srcOf(i + 1)}`;
    })
    .join('\n');
}

const scenario = (name: string) => readFileSync(`traces/scenarios/${name}.csv`, 'utf8');

describe('provenance in the report', () => {
  it('violations: src after row, fillSrc after fillRow; the same with parser threads; none without the column', async () => {
    const f = tmpFile(withSrcColumn(scenario('pin-v1-ordering-bug')), 'pin-v1.csv');
    const r = await replayFile(f);
    expect(r.violations.map((v) => [v.row, v.src])).toEqual([
      [35, srcOf(35)],
      [36, srcOf(36)],
    ]);
    expect(Object.keys(r.violations[1]!).slice(0, 2)).toEqual(['row', 'src']);
    const stale = r.violations[1] as unknown as Record<string, unknown>;
    expect([stale.fillRow, stale.fillSrc]).toEqual([26, srcOf(26)]);
    expect(Object.keys(stale).indexOf('fillSrc')).toBe(Object.keys(stale).indexOf('fillRow') + 1);
    expect(await replayFile(f, { parseThreads: 2, chunkBytes: 64 })).toStrictEqual(r);
    const plain = await replayFile(tmpFile(scenario('pin-v1-ordering-bug'), 'pin-v1.csv'));
    expect(JSON.stringify(plain)).not.toMatch(/"(src|fillSrc|shouldHaveSrc|firstFailureSrc)"/);
    // apart from the sources, the same report
    const strip = (x: unknown) =>
      JSON.parse(JSON.stringify(x, (k, v) => (/^(src|fillSrc|shouldHaveSrc|firstFailureSrc)$/.test(k) ? undefined : v)));
    expect(strip(r)).toEqual(plain);
  });

  it("pin failures, device failures and stale entries carry their rows' sources", async () => {
    const pins = await replayFile(tmpFile(withSrcColumn(scenario('pin-limit-4bit')), 'pins.csv'));
    expect(pins.pins.failures).toBeGreaterThan(0);
    expect(pins.pins.firstFailureSrc).toBe(srcOf(pins.pins.firstFailureRow!));
    const race = tmpFile(withSrcColumn(scenario('asid-move-race')), 'race.csv');
    const r61 = await replayFile(race, { overrides: { kernel: '6.1' } });
    expect(r61.stale.findings.length).toBeGreaterThan(0);
    for (const s of r61.stale.findings) {
      expect(s.src).toBe(srcOf(s.row));
      expect(s.fillSrc).toBe(srcOf(s.fillRow));
      if (s.shouldHaveRow !== null) expect(s.shouldHaveSrc).toBe(srcOf(s.shouldHaveRow));
    }
    const r510 = await replayFile(race, { overrides: { kernel: '5.10' } });
    expect(r510.devices.failures.length).toBeGreaterThan(0);
    for (const d of r510.devices.failures) expect(d.src).toBe(srcOf(d.row));
  });

  it('the text report shows each row with its source; the HTML findings list too', async () => {
    const f = tmpFile(withSrcColumn(scenario('pin-v1-ordering-bug')), 'pin-v1.csv');
    const html = join(tmp(), 'r.html');
    const r = await cli('replay', f, '--html', html);
    expect(r.code).toBe(0);
    expect(r.out).toContain('source of a row: <timestamp in the recording>@L<line of the recording>');
    const lines = r.out.split('\n');
    const at = lines.findIndex((l) => /│ 35 +│ active-asid-mismatch/.test(l));
    expect(lines[at + 1]).toContain(srcOf(35));
    expect(r.out).toContain('(entry filled at row 26'); // the detail wraps in its cell
    expect(r.out).toContain(`(${srcOf(26)}))`);
    expect(readFileSync(html, 'utf8')).toContain(`<small class="src">${srcOf(35)}</small>`);
    const plain = await cli('replay', tmpFile(scenario('pin-v1-ordering-bug'), 'p.csv'));
    expect(plain.out).not.toContain('source of a row');
  });

  it('an imported recording: a stale entry leads back to the recording line of the unmap that should have removed it', async () => {
    const r = await replayFile('traces/real/juno-trace-txt-sva.csv', { overrides: { kernel: 'rfc-btm-2023', faults: ['no-dvm'] } });
    const recording = readFileSync('traces/real/recordings/lisa-juno-trace-txt/trace.txt', 'utf8').split('\n');
    const trace = readFileSync('traces/real/juno-trace-txt-sva.csv', 'utf8').split('\n');
    expect(r.stale.total).toBeGreaterThan(0);
    for (const s of r.stale.findings.slice(0, 20)) {
      for (const [row, src] of [
        [s.row, s.src],
        [s.fillRow, s.fillSrc],
      ] as const) {
        const m = /^(\d+\.\d+)@L(\d+)$/.exec(src!)!;
        // the recording's line has that timestamp, and the trace row has the same time in ns
        expect(recording[Number(m[2]) - 1]).toContain(`${m[1]}: sched_switch:`);
        expect(trace[row - 1]!.startsWith(String(Math.round(Number(m[1]) * 1e6) * 1000))).toBe(true);
      }
    }
  });
});
