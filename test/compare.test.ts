/**
 * `asid-replay compare`: the cross product of settings, one table with a column per system that
 * fits 80 columns, differences marked, colour only on a terminal and never with NO_COLOR, --json,
 * bad lists exit 2.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { systemsOf, useColour } from '../src/cli/compare-command.js';
import { cli } from './helpers/cli.js';

const JUNO = 'traces/real/juno-trace-txt.csv';

describe('compare', () => {
  it('Juno over two kernels and two ASID widths: one table, a column per system', async () => {
    const r = await cli('compare', JUNO, '--kernel', '6.1,6.12', '--asid-bits', '8,16');
    expect(r.code, r.err).toBe(0);
    const lines = r.out.trimEnd().split('\n');
    expect(r.out.match(/┌/g)?.length).toBe(1); // one table
    for (const l of lines) expect(l.length, l).toBeLessThanOrEqual(80);
    expect(lines[0]).toMatch(/4 systems/);
    // Two header lines: kernel, then width, one cell per system.
    const head = lines.slice(2, 4).map((l) =>
      l
        .split('│')
        .map((c) => c.trim())
        .filter(Boolean),
    );
    expect(head).toEqual([
      ['6.1', '6.1', '6.12', '6.12'],
      ['8-bit', '16-bit', '8-bit', '16-bit'],
    ]);
    const row = (name: string) => lines.find((l) => l.includes(` ${name} `) || l.includes(`*${name} `))!;
    expect(row('allocatable ASIDs')).toMatch(/^│ \*allocatable ASIDs .*│ 255 .*│ 65535 .*│ 255 .*│ 65535 /);
    expect(row('switch_mm').startsWith('│  switch_mm')).toBe(true); // same under every system: not marked
    expect(r.out.includes('\u001b[')).toBe(false); // not a terminal: no colour
  });

  it('the cross product, in order, labelled by the settings given', () => {
    const s = systemsOf({ kernel: ['6.1', '6.12'], kpti: [false, true] });
    expect(s.map((x) => x.label)).toEqual(['6.1 no-KPTI', '6.1 KPTI', '6.12 no-KPTI', '6.12 KPTI']);
    expect(s[1]!.overrides).toEqual({ kernel: '6.1', kpti: true });
  });

  it('--json: every report and the figures that differ', async () => {
    const r = await cli('compare', 'traces/scenarios/asid-move-race.csv', '--kernel', '6.1,6.11', '--json');
    expect(r.code, r.err).toBe(0);
    const j = JSON.parse(r.out);
    expect(j.schema).toBe('asid-replay/compare');
    expect(j.systems.map((s: { label: string }) => s.label)).toEqual(['6.1', '6.11']);
    expect(j.systems[0].report.stale.total).toBe(2);
    expect(j.systems[1].report.stale.total).toBe(0);
    expect(j.differences.map((d: { figure: string }) => d.figure)).toContain('stale entries');
  });

  describe('colour', () => {
    const saved = process.env.NO_COLOR;
    afterEach(() => {
      if (saved === undefined) delete process.env.NO_COLOR;
      else process.env.NO_COLOR = saved;
    });
    it('never with NO_COLOR, never off a terminal', () => {
      const io = { out: () => {}, err: () => {}, isTty: true };
      process.env.NO_COLOR = '1';
      expect(useColour(io)).toBe(false);
      expect(useColour({ ...io, isTty: false })).toBe(false);
    });
  });

  it('bad lists and unknown kernels are exit 2 with a message', async () => {
    let r = await cli('compare', JUNO, '--kpti', 'off,maybe');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--kpti takes a list of on and off, got "maybe"/);
    r = await cli('compare', JUNO, '--kernel', '6.1,2.6');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/system 2\.6/);
    r = await cli('compare', JUNO);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/at least one list/);
    r = await cli('compare', JUNO, '--asid-bits', '8,x');
    expect(r.code).toBe(2);
  });
});
